/* SAM's ViT image encoder (segment_anything/modeling/image_encoder.py):
 * tokens stay BHWC as upstream; window blocks zero-pad the grid to a
 * multiple of the window after norm1, so padded tokens take part in the
 * attention exactly as in the original. */
#include "base/error.h"
#include "labs/models/sam_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int block_init(ts_params *p, const struct sam_config *c, int i, int is_global, struct sam_vit_block *b)
{
    char pre[96], name[160];
    int64_t C = c->embed_dim, hd = C / c->heads, side = c->img_size / c->patch;
    b->window = is_global ? 0 : c->window;
    int64_t S = is_global ? side : c->window, rel[2] = {2 * S - 1, hd};
    snprintf(pre, sizeof pre, "image_encoder.blocks.%d", i);
    snprintf(name, sizeof name, "%s.norm1", pre);
    LAB_TRY(nn_layer_norm_init(p, name, C, 1e-6, &b->norm1));
    snprintf(name, sizeof name, "%s.attn", pre);
    LAB_TRY(nn_add_tensor(p, name, "rel_pos_h", TS_PARAM, 2, rel, TS_F32, 0, 0, &b->rel_h));
    LAB_TRY(nn_add_tensor(p, name, "rel_pos_w", TS_PARAM, 2, rel, TS_F32, 0, 0, &b->rel_w));
    snprintf(name, sizeof name, "%s.attn.qkv", pre);
    LAB_TRY(nn_linear_init(p, name, C, 3 * C, 1, &b->qkv));
    snprintf(name, sizeof name, "%s.attn.proj", pre);
    LAB_TRY(nn_linear_init(p, name, C, C, 1, &b->proj));
    snprintf(name, sizeof name, "%s.norm2", pre);
    LAB_TRY(nn_layer_norm_init(p, name, C, 1e-6, &b->norm2));
    snprintf(name, sizeof name, "%s.mlp.lin1", pre);
    LAB_TRY(nn_linear_init(p, name, C, 4 * C, 1, &b->lin1));
    snprintf(name, sizeof name, "%s.mlp.lin2", pre);
    LAB_TRY(nn_linear_init(p, name, 4 * C, C, 1, &b->lin2));
    return LAB_OK;
}

static int is_global(const struct sam_config *c, int i)
{
    for (int g = 0; g < c->n_global; g++)
        if (c->global_idx[g] == i)
            return 1;
    return 0;
}

int sam_encoder_init(ts_params *p, struct sam_net *n)
{
    const struct sam_config *c = &n->cfg;
    int64_t C = c->embed_dim, side = c->img_size / c->patch, pos[4] = {1, side, side, C};
    LAB_TRY(nn_add_tensor(p, "image_encoder", "pos_embed", TS_PARAM, 4, pos, TS_F32, 0, 0, &n->pos_embed));
    LAB_TRY(nn_conv_init(p, "image_encoder.patch_embed.proj", 3, C, c->patch, c->patch, 0, 1, &n->patch));
    for (int i = 0; i < c->depth; i++)
        LAB_TRY(block_init(p, c, i, is_global(c, i), &n->blocks[i]));
    LAB_TRY(nn_conv_init(p, "image_encoder.neck.0", C, SAM_EMBED, 1, 1, 0, 0, &n->neck0));
    LAB_TRY(nn_layer_norm_init(p, "image_encoder.neck.1", SAM_EMBED, 1e-6, &n->neck1));
    LAB_TRY(nn_conv_init(p, "image_encoder.neck.2", SAM_EMBED, SAM_EMBED, 3, 1, 1, 0, &n->neck2));
    LAB_TRY(nn_layer_norm_init(p, "image_encoder.neck.3", SAM_EMBED, 1e-6, &n->neck3));
    return LAB_OK;
}

/* rel_pos[i - j + size - 1] for query i, key j: [size, size, head_dim]. The
 * tables are 2*size-1 long here (upstream interpolates other lengths, which
 * no SAM configuration produces). */
static int rel_table(const ts_tensor *rel_pos, int64_t size, ts_tensor **out)
{
    if (ts_size(rel_pos, 0) != 2 * size - 1)
        return lab_err(LAB_EUSAGE, "load a checkpoint made for this encoder configuration",
                       "relative position table has %lld rows, the attention needs %lld",
                       (long long)ts_size(rel_pos, 0), (long long)(2 * size - 1));
    int64_t *idx = malloc(sizeof *idx * (size_t)(size * size));
    if (!idx)
        return lab_err(LAB_EINTERNAL, NULL, "no memory for a %lldx%lld index", (long long)size, (long long)size);
    for (int64_t i = 0; i < size; i++)
        for (int64_t j = 0; j < size; j++)
            idx[i * size + j] = i - j + size - 1;
    ts_tensor *ix, *rows;
    int64_t n = size * size, shape[3] = {size, size, ts_size(rel_pos, 1)};
    int rc = ts_from_host(&ix, idx, TS_I64, 1, &n, ts_device_of(rel_pos));
    free(idx);
    NN_TRY(rc);
    NN_TRY(ts_index_select(&rows, rel_pos, 0, ix));
    NN_TRY(ts_reshape(out, rows, 3, shape));
    return LAB_OK;
}

/* add_decomposed_rel_pos's two terms from the unscaled queries q [B, h*w,
 * hd]: eh [B, h, w, h, 1] and ew [B, h, w, 1, w], to be added to the scores
 * viewed as [B, h, w, h, w]. */
static int rel_terms(const ts_tensor *q, const ts_tensor *rel_h, const ts_tensor *rel_w, int64_t h, int64_t w,
                     ts_tensor **eh, ts_tensor **ew)
{
    int64_t B = ts_size(q, 0), hd = ts_size(q, 2);
    ts_tensor *Rh, *Rw, *RhT, *RwT, *rq, *a, *a2, *th, *b, *b2, *tw;
    LAB_TRY(rel_table(rel_h, h, &Rh));
    LAB_TRY(rel_table(rel_w, w, &Rw));
    NN_TRY(ts_transpose(&RhT, Rh, 1, 2));
    NN_TRY(ts_transpose(&RwT, Rw, 1, 2));
    int64_t s4[4] = {B, h, w, hd};
    NN_TRY(ts_reshape(&rq, q, 4, s4));
    /* rel_h[b, i, j, k] = sum_c rq[b, i, j, c] Rh[i, k, c] */
    int64_t p1[4] = {1, 0, 2, 3}, sa[3] = {h, B * w, hd}, sb[4] = {h, B, w, h};
    NN_TRY(ts_permute(&a, rq, 4, p1));
    NN_TRY(ts_reshape(&a2, a, 3, sa));
    NN_TRY(ts_bmm(&th, a2, RhT));
    NN_TRY(ts_reshape(&th, th, 4, sb));
    NN_TRY(ts_permute(&th, th, 4, p1)); /* [B, h, w, kh] */
    /* rel_w[b, i, j, k] = sum_c rq[b, i, j, c] Rw[j, k, c] */
    int64_t p2[4] = {2, 0, 1, 3}, sc[3] = {w, B * h, hd}, sd[4] = {w, B, h, w}, p3[4] = {1, 2, 0, 3};
    NN_TRY(ts_permute(&b, rq, 4, p2));
    NN_TRY(ts_reshape(&b2, b, 3, sc));
    NN_TRY(ts_bmm(&tw, b2, RwT));
    NN_TRY(ts_reshape(&tw, tw, 4, sd));
    NN_TRY(ts_permute(&tw, tw, 4, p3)); /* [B, h, w, kw] */
    NN_TRY(ts_unsqueeze(eh, th, 4));
    NN_TRY(ts_unsqueeze(ew, tw, 3));
    return LAB_OK;
}

/* x [B, h, w, C] -> [B, h, w, C] */
static int attention(const struct sam_vit_block *b, int64_t heads, const ts_tensor *x, ts_tensor **y)
{
    int64_t B = ts_size(x, 0), h = ts_size(x, 1), w = ts_size(x, 2), C = ts_size(x, 3), hd = C / heads;
    ts_tensor *qkv, *r, *perm, *flat, *parts[3], *q, *k, *v, *o;
    int n = 0;
    LAB_TRY(nn_linear_fwd(&b->qkv, x, &qkv));
    int64_t s5[5] = {B, h * w, 3, heads, hd}, p5[5] = {2, 0, 3, 1, 4}, s4[4] = {3, B * heads, h * w, hd};
    NN_TRY(ts_reshape(&r, qkv, 5, s5));
    NN_TRY(ts_permute(&perm, r, 5, p5));
    NN_TRY(ts_reshape(&flat, perm, 4, s4));
    NN_TRY(ts_chunk(parts, 3, &n, flat, 3, 0));
    NN_TRY(ts_squeeze(&q, parts[0], 0));
    NN_TRY(ts_squeeze(&k, parts[1], 0));
    NN_TRY(ts_squeeze(&v, parts[2], 0));
    /* As upstream: (q * scale) @ k^T, then the two relative-position terms
     * added to the scores in place of a materialised [B, hw, hw] bias (one
     * pass fewer over the 12 x 4096 x 4096 scores of a global block). */
    ts_tensor *eh, *ew, *qs, *kt, *sc, *sv, *s5h, *s5w, *sc3, *pr;
    LAB_TRY(rel_terms(q, b->rel_h, b->rel_w, h, w, &eh, &ew));
    NN_TRY(ts_mul_scalar(&qs, q, 1.0 / sqrt((double)hd)));
    NN_TRY(ts_transpose(&kt, k, 1, 2));
    NN_TRY(ts_bmm(&sc, qs, kt));
    int64_t q5[5] = {B * heads, h, w, h, w}, q3[3] = {B * heads, h * w, h * w};
    NN_TRY(ts_reshape(&sv, sc, 5, q5));
    NN_TRY(ts_add(&s5h, sv, eh));
    NN_TRY(ts_add(&s5w, s5h, ew));
    NN_TRY(ts_reshape(&sc3, s5w, 3, q3));
    NN_TRY(ts_softmax(&pr, sc3, -1));
    NN_TRY(ts_bmm(&o, pr, v));
    int64_t o5[5] = {B, heads, h, w, hd}, op[5] = {0, 2, 3, 1, 4}, o4[4] = {B, h, w, C};
    ts_tensor *o1, *o2, *o3;
    NN_TRY(ts_reshape(&o1, o, 5, o5));
    NN_TRY(ts_permute(&o2, o1, 5, op));
    NN_TRY(ts_reshape(&o3, o2, 4, o4));
    return nn_linear_fwd(&b->proj, o3, y);
}

static int window_partition(const ts_tensor *x, int64_t ws, ts_tensor **out)
{
    int64_t B = ts_size(x, 0), H = ts_size(x, 1), W = ts_size(x, 2), C = ts_size(x, 3);
    int64_t ph = (ws - H % ws) % ws, pw = (ws - W % ws) % ws, Hp = H + ph, Wp = W + pw;
    ts_tensor *padded = NULL, *v, *pm;
    if (ph || pw) {
        int64_t pads[6] = {0, 0, 0, pw, 0, ph};
        NN_TRY(ts_pad(&padded, x, 6, pads, 0.0));
    } else {
        NN_TRY(ts_tensor_ref(&padded, x));
    }
    int64_t s6[6] = {B, Hp / ws, ws, Wp / ws, ws, C}, p6[6] = {0, 1, 3, 2, 4, 5};
    int64_t s4[4] = {B * (Hp / ws) * (Wp / ws), ws, ws, C};
    NN_TRY(ts_reshape(&v, padded, 6, s6));
    NN_TRY(ts_permute(&pm, v, 6, p6));
    NN_TRY(ts_reshape(out, pm, 4, s4));
    return LAB_OK;
}

static int window_unpartition(const ts_tensor *win, int64_t ws, int64_t B, int64_t H, int64_t W, ts_tensor **out)
{
    int64_t C = ts_size(win, 3), Hp = H + (ws - H % ws) % ws, Wp = W + (ws - W % ws) % ws;
    int64_t s6[6] = {B, Hp / ws, Wp / ws, ws, ws, C}, p6[6] = {0, 1, 3, 2, 4, 5}, s4[4] = {B, Hp, Wp, C};
    ts_tensor *v, *pm, *full, *rows;
    NN_TRY(ts_reshape(&v, win, 6, s6));
    NN_TRY(ts_permute(&pm, v, 6, p6));
    NN_TRY(ts_reshape(&full, pm, 4, s4));
    NN_TRY(ts_narrow(&rows, full, 1, 0, H));
    NN_TRY(ts_narrow(out, rows, 2, 0, W));
    return LAB_OK;
}

static int block_fwd(const struct sam_vit_block *b, int64_t heads, const ts_tensor *x, ts_tensor **y)
{
    ts_tensor *h, *a, *r, *h2, *f1, *g, *f2;
    LAB_TRY(nn_layer_norm_fwd(&b->norm1, x, &h));
    if (b->window > 0) {
        ts_tensor *win, *aw;
        LAB_TRY(window_partition(h, b->window, &win));
        LAB_TRY(attention(b, heads, win, &aw));
        LAB_TRY(window_unpartition(aw, b->window, ts_size(x, 0), ts_size(x, 1), ts_size(x, 2), &a));
    } else {
        LAB_TRY(attention(b, heads, h, &a));
    }
    NN_TRY(ts_add(&r, x, a));
    LAB_TRY(nn_layer_norm_fwd(&b->norm2, r, &h2));
    LAB_TRY(nn_linear_fwd(&b->lin1, h2, &f1));
    NN_TRY(ts_gelu(&g, f1, 0));
    LAB_TRY(nn_linear_fwd(&b->lin2, g, &f2));
    NN_TRY(ts_add(y, r, f2));
    return LAB_OK;
}

int sam_encode(struct model *m, const ts_tensor *x, struct sam_encoder_trace *trace, ts_tensor **embeddings)
{
    const struct sam_config *c = sam_config_of(m);
    if (!c)
        return lab_err(LAB_EINTERNAL, NULL, "%s is not a SAM model", m ? m->name : "(null)");
    const struct sam_net *n = m->net;
    if (ts_dim(x) != 4 || ts_size(x, 1) != 3 || ts_size(x, 2) != c->img_size || ts_size(x, 3) != c->img_size)
        return lab_err(LAB_EUSAGE, "preprocess the image first (resize the long side to 1024, normalize, pad)",
                       "SAM's image encoder takes [B, 3, %d, %d]", c->img_size, c->img_size);
    static const int64_t to_nhwc[4] = {0, 2, 3, 1}, to_nchw[4] = {0, 3, 1, 2};
    ts_tensor *fm, *tok, *h;
    LAB_TRY(nn_conv_fwd(&n->patch, x, &fm));
    NN_TRY(ts_permute(&tok, fm, 4, to_nhwc));
    if (trace)
        trace->patch_embed = tok;
    NN_TRY(ts_add(&h, tok, n->pos_embed));
    for (int i = 0; i < c->depth; i++) {
        /* One scope a block: the attention's intermediates (12 heads of
         * 4096x4096 in vit_b's global blocks) are freed as each block ends
         * instead of all living until the caller's scope does (measured:
         * 13.3 GB peak for a vit_b encode on the CPU before). Autograd keeps
         * what backward needs by itself. */
        ts_tensor *next = NULL;
        ts_scope_begin();
        int rc = block_fwd(&n->blocks[i], c->heads, h, &next);
        if (!rc)
            ts_scope_keep(next);
        ts_scope_end();
        if (rc)
            return rc;
        h = next;
        if (trace)
            trace->blocks[i] = h;
    }
    ts_tensor *nchw, *n0, *n1, *n2;
    NN_TRY(ts_permute(&nchw, h, 4, to_nchw));
    LAB_TRY(nn_conv_fwd(&n->neck0, nchw, &n0));
    LAB_TRY(nn_layer_norm2d_fwd(&n->neck1, n0, &n1));
    LAB_TRY(nn_conv_fwd(&n->neck2, n1, &n2));
    if (trace) {
        trace->neck[0] = n0;
        trace->neck[1] = n1;
        trace->neck[2] = n2;
    }
    return nn_layer_norm2d_fwd(&n->neck3, n2, embeddings);
}
