#include "labs/models/vit.h"

#include "base/error.h"
#include "labs/models/layers.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

struct vit_block {
    struct nn_layer_norm norm1, norm2;
    struct nn_mha attn;
    struct nn_mlp mlp;
};

struct vit_net {
    struct vit_config cfg;
    int variant;
    struct nn_conv patch;
    ts_tensor *cls, *dist, *pos; /* dist NULL but for deit */
    struct vit_block blocks[VIT_MAX_DEPTH];
    struct nn_layer_norm norm;
    struct nn_linear head, dist_head;
};

static const char *const variant_names[] = {"vit", "vit-solution", "deit"};

void vit_config_course(struct vit_config *c)
{
    *c = (struct vit_config){.img_size = 32, .patch_size = 4, .in_chans = 3, .num_classes = 10, .embed_dim = 256,
                             .depth = 6, .num_heads = 8, .mlp_ratio = 4.0, .dropout = 0.1};
}

int vit_config_check(const struct vit_config *c)
{
    if (c->img_size < 1 || c->patch_size < 1 || c->img_size % c->patch_size)
        return lab_err(LAB_EUSAGE, "use a patch size that divides the image size, e.g. --set model.patch_size=4",
                       "model.patch_size=%d does not divide the %dx%d image", c->patch_size, c->img_size,
                       c->img_size);
    if (c->depth < 1 || c->depth > VIT_MAX_DEPTH)
        return lab_err(LAB_EUSAGE, "use a depth such as 4, 6, 8 or 12", "model.depth=%d is outside 1..%d", c->depth,
                       VIT_MAX_DEPTH);
    if (c->num_heads < 1 || c->embed_dim < 1 || c->embed_dim % c->num_heads)
        return lab_err(LAB_EUSAGE, "use a head count that divides the embedding width, e.g. 8 for 256",
                       "model.num_heads=%d does not divide model.embed_dim=%d", c->num_heads, c->embed_dim);
    if (c->in_chans < 1 || c->num_classes < 1 || !(c->mlp_ratio > 0))
        return lab_err(LAB_EUSAGE, NULL, "the ViT needs input channels, classes and an MLP ratio above 0");
    if (c->mean_pool != 0 && c->mean_pool != 1)
        return lab_err(LAB_EINTERNAL, NULL, "mean_pool is %d, not 0 or 1", c->mean_pool);
    if (!(c->dropout >= 0 && c->dropout < 1))
        return lab_err(LAB_EUSAGE, "use a dropout in [0, 1), e.g. 0.1", "model.dropout=%g is outside [0, 1)",
                       c->dropout);
    return LAB_OK;
}

int64_t vit_num_patches(const struct vit_config *c)
{
    int64_t side = c->img_size / c->patch_size;
    return side * side;
}

int64_t vit_num_tokens(const struct vit_config *c, int variant)
{
    return vit_num_patches(c) + (variant == VIT_DEIT ? 2 : 1);
}

static int vit_model_forward(struct model *m, const ts_tensor *x, int training, ts_tensor **out);
static int vit_model_forward_named(struct model *m, const struct model_tensors *in, int training,
                                   struct model_tensors *out);

int vit_variant_of(const struct model *m)
{
    return m && m->forward == vit_model_forward ? ((const struct vit_net *)m->net)->variant : -1;
}

const struct vit_config *vit_config_of(const struct model *m)
{
    return vit_variant_of(m) >= 0 ? &((const struct vit_net *)m->net)->cfg : NULL;
}

static int block_init(ts_params *p, const struct vit_config *c, int variant, int i, struct vit_block *b)
{
    char pre[128], a[160], f1[160], f2[160], n1[160], n2[160];
    int64_t D = c->embed_dim, hidden = (int64_t)(c->embed_dim * c->mlp_ratio);
    double drop = c->dropout;
    if (variant == VIT_COURSE) {
        snprintf(pre, sizeof pre, "blocks.%d", i);
        snprintf(n1, sizeof n1, "%s.norm1", pre);
        snprintf(a, sizeof a, "%s.attn", pre);
        snprintf(n2, sizeof n2, "%s.norm2", pre);
        snprintf(f1, sizeof f1, "%s.mlp.fc1", pre);
        snprintf(f2, sizeof f2, "%s.mlp.fc2", pre);
        /* the course's state-dict order: norm1, attn, norm2, mlp */
        LAB_TRY(nn_layer_norm_init(p, n1, D, 1e-5, &b->norm1));
        LAB_TRY(nn_mha_init(p, a, D, c->num_heads, NN_MHA_QKV, drop, 0, &b->attn));
        /* The course's module writes the attention out (q·kᵀ, softmax, dropout),
         * so on every libtorch it is the explicit math here too: the fused
         * kernel of libtorch >= 2.1 rounds otherwise under bf16 autocast and
         * draws other dropout masks. nn.MultiheadAttention (the solution's
         * and DeiT's) calls the fused kernel itself, so those keep it. */
        b->attn.explicit_math = 1;
        LAB_TRY(nn_layer_norm_init(p, n2, D, 1e-5, &b->norm2));
        LAB_TRY(nn_mlp_init(p, f1, f2, D, hidden, D, NN_ACT_GELU, drop, &b->mlp));
        LAB_TRY(nn_linear_init_trunc(&b->attn.qkv, 0.02));
        LAB_TRY(nn_linear_init_trunc(&b->attn.proj, 0.02));
        LAB_TRY(nn_linear_init_trunc(&b->mlp.fc1, 0.02));
        LAB_TRY(nn_linear_init_trunc(&b->mlp.fc2, 0.02));
        return LAB_OK;
    }
    /* nn.TransformerEncoderLayer: self_attn, linear1, linear2, norm1, norm2 */
    snprintf(pre, sizeof pre, "encoder.layers.%d", i);
    snprintf(a, sizeof a, "%s.self_attn", pre);
    snprintf(f1, sizeof f1, "%s.linear1", pre);
    snprintf(f2, sizeof f2, "%s.linear2", pre);
    snprintf(n1, sizeof n1, "%s.norm1", pre);
    snprintf(n2, sizeof n2, "%s.norm2", pre);
    LAB_TRY(nn_mha_init(p, a, D, c->num_heads, NN_MHA_TORCH, drop, drop, &b->attn));
    LAB_TRY(nn_mlp_init(p, f1, f2, D, hidden, D, NN_ACT_GELU, drop, &b->mlp));
    LAB_TRY(nn_layer_norm_init(p, n1, D, 1e-5, &b->norm1));
    LAB_TRY(nn_layer_norm_init(p, n2, D, 1e-5, &b->norm2));
    return LAB_OK;
}

/* nn.TransformerEncoder deep-copies one layer: every layer starts equal. */
static int copy_first_layer(ts_params *p, int depth)
{
    size_t n = ts_params_count(p);
    for (size_t i = 0; i < n; i++) {
        const char *name;
        ts_tensor *dst;
        int kind, group, layer;
        ts_params_at(p, i, &name, &dst, &kind, &group);
        int used = 0;
        if (sscanf(name, "encoder.layers.%d.%n", &layer, &used) != 1 || used == 0 || layer == 0 || layer >= depth)
            continue;
        char src[256];
        snprintf(src, sizeof src, "encoder.layers.0.%s", name + used);
        ts_tensor *from = ts_params_get(p, src);
        if (!from)
            return lab_err(LAB_EINTERNAL, NULL, "no %s to copy into %s", src, name);
        NN_TRY(ts_copy_(dst, from));
    }
    return LAB_OK;
}

static int build(struct model *m, const struct vit_config *c, int variant)
{
    struct vit_net *n = m->net;
    ts_params *p = m->params;
    n->cfg = *c;
    n->variant = variant;
    int64_t D = c->embed_dim, tok[3] = {1, 1, D}, pos[3] = {1, vit_num_tokens(c, variant), D};
    /* Module tensors come before submodules in a state dict. */
    LAB_TRY(nn_param_init(p, "", "cls_token", 3, tok, 0.02, &n->cls));
    if (variant == VIT_DEIT)
        LAB_TRY(nn_param_init(p, "", "dist_token", 3, tok, 0.02, &n->dist));
    LAB_TRY(nn_param_init(p, "", "pos_embed", 3, pos, 0.02, &n->pos));
    LAB_TRY(nn_conv_init(p, variant == VIT_DEIT ? "patch_embed" : "patch_embed.projection", c->in_chans, D,
                         c->patch_size, c->patch_size, 0, 1, &n->patch));
    for (int i = 0; i < c->depth; i++)
        LAB_TRY(block_init(p, c, variant, i, &n->blocks[i]));
    if (variant != VIT_COURSE)
        LAB_TRY(copy_first_layer(p, c->depth));
    LAB_TRY(nn_layer_norm_init(p, "norm", D, 1e-5, &n->norm));
    LAB_TRY(nn_linear_init(p, "head", D, c->num_classes, 1, &n->head));
    if (variant == VIT_DEIT) {
        LAB_TRY(nn_linear_init(p, "dist_head", D, c->num_classes, 1, &n->dist_head));
        /* DeiT re-draws only the head weights; the biases keep nn.Linear's. */
        LAB_TRY(nn_init_trunc_normal(n->head.w, 0.02));
        LAB_TRY(nn_init_trunc_normal(n->dist_head.w, 0.02));
    } else {
        LAB_TRY(nn_linear_init_trunc(&n->head, 0.02));
    }
    return LAB_OK;
}

int vit_new(const struct vit_config *c, int variant, struct model **out)
{
    if (variant < VIT_COURSE || variant > VIT_DEIT)
        return lab_err(LAB_EINTERNAL, NULL, "unknown ViT variant %d", variant);
    LAB_TRY(vit_config_check(c));
    if (c->mean_pool && variant != VIT_COURSE)
        return lab_err(LAB_EUSAGE, "model.pool=mean goes with model vit only", "%s reads its class tokens; it has no "
                       "mean-pooling readout", variant_names[variant]);
    struct model *m;
    LAB_TRY(model_new(variant_names[variant], sizeof(struct vit_net), &m));
    m->forward = vit_model_forward;
    if (variant == VIT_DEIT)
        m->forward_named = vit_model_forward_named;
    int rc = build(m, c, variant);
    if (rc) {
        model_free(m);
        return rc;
    }
    *out = m;
    return LAB_OK;
}

void vit_set_explicit_attention(struct model *m, int on)
{
    if (vit_variant_of(m) < 0)
        return;
    struct vit_net *n = m->net;
    for (int i = 0; i < n->cfg.depth; i++)
        n->blocks[i].attn.explicit_math = on;
}

int vit_set_mean_pool(struct model *m, int on)
{
    if (vit_variant_of(m) != VIT_COURSE)
        return lab_err(LAB_EINTERNAL, NULL, "only the course's vit has a mean-pooling readout");
    ((struct vit_net *)m->net)->cfg.mean_pool = on ? 1 : 0;
    return LAB_OK;
}

/* A [1, 1, D] token repeated over the batch, as cls_token.expand(B, -1, -1). */
static int expand_token(const ts_tensor *token, int64_t B, const ts_tensor *like, ts_tensor **y)
{
    int64_t shape[3] = {B, 1, ts_size(token, 2)};
    ts_tensor *zeros;
    NN_TRY(ts_zeros(&zeros, 3, shape, ts_dtype(like), ts_device_of(like)));
    NN_TRY(ts_add(y, zeros, token));
    return LAB_OK;
}

static int block_fwd(const struct vit_net *n, const struct vit_block *b, const ts_tensor *x, int training,
                     ts_tensor **attn, ts_tensor **y)
{
    ts_tensor *h, *a, *r, *f;
    if (n->variant == VIT_DEIT) { /* post-norm */
        LAB_TRY(nn_mha_fwd(&b->attn, x, training, &a, attn));
        NN_TRY(ts_add(&r, x, a));
        LAB_TRY(nn_layer_norm_fwd(&b->norm1, r, &h));
        LAB_TRY(nn_mlp_fwd(&b->mlp, h, training, &f));
        NN_TRY(ts_add(&r, h, f));
        return nn_layer_norm_fwd(&b->norm2, r, y);
    }
    LAB_TRY(nn_layer_norm_fwd(&b->norm1, x, &h));
    LAB_TRY(nn_mha_fwd(&b->attn, h, training, &a, attn));
    NN_TRY(ts_add(&r, x, a));
    LAB_TRY(nn_layer_norm_fwd(&b->norm2, r, &h));
    LAB_TRY(nn_mlp_fwd(&b->mlp, h, training, &f));
    NN_TRY(ts_add(y, r, f));
    return LAB_OK;
}

static int token_head(const ts_tensor *x, int index, const struct nn_linear *head, ts_tensor **y)
{
    ts_tensor *row, *flat;
    NN_TRY(ts_narrow(&row, x, 1, index, 1));
    NN_TRY(ts_squeeze(&flat, row, 1));
    return nn_linear_fwd(head, flat, y);
}

int vit_forward_ex(struct model *m, const ts_tensor *x, int training, int want_attn, struct vit_outputs *out)
{
    if (vit_variant_of(m) < 0)
        return lab_err(LAB_EINTERNAL, NULL, "%s is not a vision transformer", m ? m->name : "(null)");
    const struct vit_net *n = m->net;
    const struct vit_config *c = &n->cfg;
    *out = (struct vit_outputs){0};
    if (ts_dim(x) != 4 || ts_size(x, 1) != c->in_chans || ts_size(x, 2) != c->img_size ||
        ts_size(x, 3) != c->img_size)
        return lab_err(LAB_EUSAGE, "feed images of the size the model was built for (model.img_size)",
                       "%s expects [B, %d, %d, %d] images", m->name, c->in_chans, c->img_size, c->img_size);
    int64_t B = ts_size(x, 0);
    ts_tensor *fm, *flat, *patches, *cls, *dist = NULL, *tokens, *posed, *h;
    LAB_TRY(nn_conv_fwd(&n->patch, x, &fm));
    NN_TRY(ts_flatten(&flat, fm, 2, -1));
    NN_TRY(ts_transpose(&patches, flat, 1, 2)); /* [B, N, D] */
    LAB_TRY(expand_token(n->cls, B, patches, &cls));
    if (n->dist)
        LAB_TRY(expand_token(n->dist, B, patches, &dist));
    const ts_tensor *parts[3] = {cls, dist ? dist : patches, patches};
    NN_TRY(ts_cat(&tokens, parts, dist ? 3 : 2, 1));
    NN_TRY(ts_add(&posed, tokens, n->pos));
    LAB_TRY(nn_dropout(posed, c->dropout, training, &h));
    for (int i = 0; i < c->depth; i++) {
        ts_tensor *next;
        LAB_TRY(block_fwd(n, &n->blocks[i], h, training, want_attn && i == c->depth - 1 ? &out->attn : NULL, &next));
        h = next;
    }
    ts_tensor *normed;
    LAB_TRY(nn_layer_norm_fwd(&n->norm, h, &normed));
    if (c->mean_pool && n->variant == VIT_COURSE) {
        ts_tensor *rows, *pooled;
        NN_TRY(ts_narrow(&rows, normed, 1, 1, vit_num_patches(c)));
        NN_TRY(ts_mean(&pooled, rows, 1, 0));
        LAB_TRY(nn_linear_fwd(&n->head, pooled, &out->logits));
    } else {
        LAB_TRY(token_head(normed, 0, &n->head, &out->logits));
    }
    if (n->dist)
        LAB_TRY(token_head(normed, 1, &n->dist_head, &out->dist_logits));
    return LAB_OK;
}

static int vit_model_forward(struct model *m, const ts_tensor *x, int training, ts_tensor **y)
{
    struct vit_outputs o;
    LAB_TRY(vit_forward_ex(m, x, training, 0, &o));
    if (!o.dist_logits) {
        *y = o.logits;
        return LAB_OK;
    }
    ts_tensor *sum;
    NN_TRY(ts_add(&sum, o.logits, o.dist_logits));
    NN_TRY(ts_mul_scalar(y, sum, 0.5));
    return LAB_OK;
}

/* DeiT's heads apart for distillation: "logits" (their average, what
 * `forward` gives), "cls_logits" and "dist_logits". */
static int vit_model_forward_named(struct model *m, const struct model_tensors *in, int training,
                                   struct model_tensors *out)
{
    const ts_tensor *x = model_tensors_get(in, "pixel_values");
    if (!x)
        return lab_err(LAB_EINTERNAL, NULL, "%s takes \"pixel_values\"", m->name);
    struct vit_outputs o;
    ts_tensor *sum, *avg;
    LAB_TRY(vit_forward_ex(m, x, training, 0, &o));
    NN_TRY(ts_add(&sum, o.logits, o.dist_logits));
    NN_TRY(ts_mul_scalar(&avg, sum, 0.5));
    *out = (struct model_tensors){0};
    LAB_TRY(model_tensors_add(out, "logits", avg));
    LAB_TRY(model_tensors_add(out, "cls_logits", o.logits));
    return model_tensors_add(out, "dist_logits", o.dist_logits);
}

/* The rows of the patch positions: after CLS (and the distillation token). */
static int64_t first_patch_token(const struct vit_net *n) { return n->variant == VIT_DEIT ? 2 : 1; }

/* F.normalize(rows, dim=-1) @ its transpose. */
static int cosine_grid(const ts_tensor *rows, ts_tensor **grid)
{
    ts_tensor *sq, *ss, *norm, *safe, *unit, *unit_t;
    NN_TRY(ts_mul(&sq, rows, rows));
    NN_TRY(ts_sum(&ss, sq, 1, 1));
    NN_TRY(ts_sqrt(&norm, ss));
    NN_TRY(ts_clamp(&safe, norm, 1e-12, NAN));
    NN_TRY(ts_div(&unit, rows, safe));
    NN_TRY(ts_transpose(&unit_t, unit, 0, 1));
    NN_TRY(ts_matmul(grid, unit, unit_t));
    return LAB_OK;
}

int vit_pos_embed_similarity(const struct model *m, ts_tensor **grid)
{
    if (vit_variant_of(m) < 0)
        return lab_err(LAB_EINTERNAL, NULL, "%s is not a vision transformer", m ? m->name : "(null)");
    const struct vit_net *n = m->net;
    ts_tensor *rows, *flat;
    NN_TRY(ts_narrow(&rows, n->pos, 1, first_patch_token(n), vit_num_patches(&n->cfg)));
    NN_TRY(ts_squeeze(&flat, rows, 0)); /* [N, D] */
    int prev = ts_no_grad_push();
    int rc = cosine_grid(flat, grid);
    ts_grad_mode_pop(prev);
    return rc;
}

int vit_cls_attention_map(const struct model *m, const ts_tensor *attn, ts_tensor **map)
{
    if (vit_variant_of(m) < 0)
        return lab_err(LAB_EINTERNAL, NULL, "%s is not a vision transformer", m ? m->name : "(null)");
    const struct vit_net *n = m->net;
    int64_t T = vit_num_tokens(&n->cfg, n->variant), N = vit_num_patches(&n->cfg);
    int64_t side = n->cfg.img_size / n->cfg.patch_size;
    if (ts_dim(attn) != 4 || ts_size(attn, 2) != T || ts_size(attn, 3) != T)
        return lab_err(LAB_EINTERNAL, NULL, "attention of %s must be [B, heads, %lld, %lld]", m->name, (long long)T,
                       (long long)T);
    ts_tensor *row, *cols;
    NN_TRY(ts_narrow(&row, attn, 2, 0, 1));
    NN_TRY(ts_narrow(&cols, row, 3, first_patch_token(n), N));
    int64_t shape[4] = {ts_size(attn, 0), ts_size(attn, 1), side, side};
    NN_TRY(ts_reshape(map, cols, 4, shape));
    return LAB_OK;
}

int vit_distillation_loss(const ts_tensor *cls_logits, const ts_tensor *dist_logits, const ts_tensor *teacher_logits,
                          const ts_tensor *labels, double temperature, double alpha, ts_tensor **loss)
{
    if (!(temperature > 0) || !(alpha >= 0 && alpha <= 1))
        return lab_err(LAB_EUSAGE, "use a temperature above 0 and an alpha in [0, 1] (the course: 3.0 and 0.5)",
                       "distillation temperature %g / alpha %g out of range", temperature, alpha);
    int64_t B = ts_size(dist_logits, 0);
    if (B < 1 || ts_size(teacher_logits, 0) != B || ts_size(teacher_logits, 1) != ts_size(dist_logits, 1))
        return lab_err(LAB_EUSAGE, "the teacher must classify the same classes as the student",
                       "teacher logits do not match the student's [%lld, %lld]", (long long)B,
                       (long long)ts_size(dist_logits, 1));
    ts_tensor *hard, *teacher, *ts_, *ss, *lt, *ls, *pt, *diff, *prod, *sum, *soft, *a, *b;
    NN_TRY(ts_cross_entropy(&hard, cls_logits, labels, NULL, TS_RED_MEAN, -100, 0.0));
    NN_TRY(ts_detach(&teacher, teacher_logits));
    NN_TRY(ts_mul_scalar(&ts_, teacher, 1.0 / temperature));
    NN_TRY(ts_mul_scalar(&ss, dist_logits, 1.0 / temperature));
    NN_TRY(ts_log_softmax(&lt, ts_, -1));
    NN_TRY(ts_log_softmax(&ls, ss, -1));
    NN_TRY(ts_exp(&pt, lt));
    NN_TRY(ts_sub(&diff, lt, ls));
    NN_TRY(ts_mul(&prod, pt, diff));
    NN_TRY(ts_sum(&sum, prod, TS_ALL, 0));
    /* batchmean, times T^2 so the soft gradients keep their size */
    NN_TRY(ts_mul_scalar(&soft, sum, temperature * temperature / (double)B));
    NN_TRY(ts_mul_scalar(&a, hard, alpha));
    NN_TRY(ts_mul_scalar(&b, soft, 1.0 - alpha));
    NN_TRY(ts_add(loss, a, b));
    return LAB_OK;
}
