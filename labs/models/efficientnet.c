#include "labs/models/efficientnet.h"

#include "base/error.h"
#include "labs/models/layers.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define NBLOCKS 16
#define NBN (2 + 2 + 3 * (NBLOCKS - 1))
#define FEATURES 1280

const char *const effnet_stage_names[EFFNET_NSTAGES] = {
    "conv_stem", "bn1",      "blocks.0", "blocks.1", "blocks.2", "blocks.3",    "blocks.4",
    "blocks.5",  "blocks.6", "conv_head", "bn2",     "global_pool", "logits", NULL};

/* One stage of timm's arch string for b0: ds_r1_k3_s1_e1_c16_se0.25, then
 * ir_r{2,2,3,3,4,1}_k{3,5,3,5,5,3}_s{2,2,2,1,2,1}_e6_c{24,40,80,112,192,320}. */
struct stage_def {
    int repeats, k, stride, expand, out;
};
static const struct stage_def stages[7] = {{1, 3, 1, 1, 16},  {2, 3, 2, 6, 24},  {2, 5, 2, 6, 40},  {3, 3, 2, 6, 80},
                                           {3, 5, 1, 6, 112}, {4, 5, 2, 6, 192}, {1, 3, 1, 6, 320}};

struct bn_slot {
    struct nn_bn bn;
    char name[40];
    int force_eval;
};

struct block {
    int stage, depthwise_separable, has_skip;
    double drop_path;
    struct nn_conv pw, dw, se_reduce, se_expand, pwl; /* pw unused in the first block */
    struct bn_slot *bn1, *bn2, *bn3;                  /* bn3 NULL in the first block */
};

struct effnet {
    struct effnet_config cfg;
    struct nn_conv stem, head_conv;
    struct bn_slot *bn1, *bn2;
    struct block blocks[NBLOCKS];
    struct bn_slot bns[NBN];
    int nbn;
    struct nn_linear fc;
};

static const char effnet_name[] = "efficientnet_b0";

/* timm's _init_weight_goog for convolutions: N(0, sqrt(2 / fan_out)) with
 * fan_out = k*k*cout/groups, biases 0. */
static int conv(ts_params *p, const char *prefix, int64_t cin, int64_t cout, int k, int stride, int groups, int bias,
                struct nn_conv *out)
{
    struct nn_conv_opts o = {.stride = stride, .pad = (stride - 1 + (k - 1)) / 2, .dil = 1, .groups = groups,
                             .bias = bias};
    LAB_TRY(nn_conv_init_ex(p, prefix, cin, cout, k, &o, out));
    NN_TRY(ts_normal_(out->w, 0.0, sqrt(2.0 / (double)(k * k * cout / groups))));
    if (out->b)
        NN_TRY(ts_fill_(out->b, 0.0));
    return LAB_OK;
}

static int bn(struct effnet *n, ts_params *p, const char *prefix, int64_t ch, struct bn_slot **out)
{
    if (n->nbn >= NBN)
        return lab_err(LAB_EINTERNAL, NULL, "efficientnet: more than %d BatchNorm layers", NBN);
    struct bn_slot *s = &n->bns[n->nbn++];
    snprintf(s->name, sizeof s->name, "%s", prefix);
    LAB_TRY(nn_bn_init(p, prefix, ch, &s->bn));
    *out = s;
    return LAB_OK;
}

static int block_init(struct effnet *n, ts_params *p, int stage, int index, int64_t cin, int stride, int global,
                      struct block *b)
{
    const struct stage_def *d = &stages[stage];
    char pre[32], name[64];
    snprintf(pre, sizeof pre, "blocks.%d.%d", stage, index);
    int64_t mid = cin * d->expand, rd = cin / 4; /* SE: a quarter of the block's input width */
    *b = (struct block){.stage = stage, .depthwise_separable = stage == 0};
    b->has_skip = stride == 1 && cin == d->out;
    b->drop_path = n->cfg.drop_path_rate * global / NBLOCKS;
#define NAME(leaf) (snprintf(name, sizeof name, "%s.%s", pre, leaf), name)
    if (!b->depthwise_separable) {
        LAB_TRY(conv(p, NAME("conv_pw"), cin, mid, 1, 1, 1, 0, &b->pw));
        LAB_TRY(bn(n, p, NAME("bn1"), mid, &b->bn1));
    }
    LAB_TRY(conv(p, NAME("conv_dw"), mid, mid, d->k, stride, (int)mid, 0, &b->dw));
    LAB_TRY(bn(n, p, NAME(b->depthwise_separable ? "bn1" : "bn2"), mid,
               b->depthwise_separable ? &b->bn1 : &b->bn2));
    LAB_TRY(conv(p, NAME("se.conv_reduce"), mid, rd, 1, 1, 1, 1, &b->se_reduce));
    LAB_TRY(conv(p, NAME("se.conv_expand"), rd, mid, 1, 1, 1, 1, &b->se_expand));
    if (b->depthwise_separable) {
        LAB_TRY(conv(p, NAME("conv_pw"), mid, d->out, 1, 1, 1, 0, &b->pwl));
        LAB_TRY(bn(n, p, NAME("bn2"), d->out, &b->bn2));
    } else {
        LAB_TRY(conv(p, NAME("conv_pwl"), mid, d->out, 1, 1, 1, 0, &b->pwl));
        LAB_TRY(bn(n, p, NAME("bn3"), d->out, &b->bn3));
    }
#undef NAME
    return LAB_OK;
}

void effnet_config_course(struct effnet_config *c)
{
    *c = (struct effnet_config){.num_classes = 100, .head = EFFNET_HEAD_COURSE, .head_dropout = 0.3};
}

static int bn_fwd(const struct bn_slot *s, const ts_tensor *x, int training, int act, ts_tensor **y)
{
    ts_tensor *h;
    LAB_TRY(nn_bn_fwd(&s->bn, x, training && !s->force_eval, &h));
    if (!act) {
        *y = h;
        return LAB_OK;
    }
    return nn_silu(h, y);
}

/* timm's SqueezeExcite: x * sigmoid(expand(silu(reduce(mean_hw(x))))). */
static int squeeze_excite(const struct block *b, const ts_tensor *x, ts_tensor **y)
{
    ts_tensor *m2, *m3, *r, *a, *e, *g;
    NN_TRY(ts_mean(&m2, x, 3, 1));
    NN_TRY(ts_mean(&m3, m2, 2, 1));
    LAB_TRY(nn_conv_fwd(&b->se_reduce, m3, &r));
    LAB_TRY(nn_silu(r, &a));
    LAB_TRY(nn_conv_fwd(&b->se_expand, a, &e));
    NN_TRY(ts_sigmoid(&g, e));
    NN_TRY(ts_mul(y, x, g));
    return LAB_OK;
}

static int block_fwd(const struct block *b, const ts_tensor *x, int training, ts_tensor **y)
{
    ts_tensor *h = (ts_tensor *)x, *t;
    if (!b->depthwise_separable) {
        LAB_TRY(nn_conv_fwd(&b->pw, h, &t));
        LAB_TRY(bn_fwd(b->bn1, t, training, 1, &h));
    }
    LAB_TRY(nn_conv_fwd(&b->dw, h, &t));
    LAB_TRY(bn_fwd(b->depthwise_separable ? b->bn1 : b->bn2, t, training, 1, &h));
    LAB_TRY(squeeze_excite(b, h, &t));
    LAB_TRY(nn_conv_fwd(&b->pwl, t, &h));
    LAB_TRY(bn_fwd(b->depthwise_separable ? b->bn2 : b->bn3, h, training, 0, &t));
    if (!b->has_skip) {
        *y = t;
        return LAB_OK;
    }
    ts_tensor *dp;
    LAB_TRY(nn_drop_path(t, b->drop_path, training, &dp));
    NN_TRY(ts_add(y, dp, x));
    return LAB_OK;
}

int effnet_forward_ex(struct model *m, const ts_tensor *x, int training, struct effnet_trace *trace,
                      ts_tensor **logits)
{
    const struct effnet *n = m->net;
    if (ts_dim(x) != 4 || ts_size(x, 1) != 3)
        return lab_err(LAB_EUSAGE, "feed [N, 3, H, W] images (RGB; repeat a grey channel three times)",
                       "efficientnet_b0 takes 3-channel NCHW images, got a %d-d tensor", ts_dim(x));
    ts_tensor *h, *t;
    int s = 0;
#define KEEP(v) (trace ? (void)(trace->out[s] = (v)) : (void)0, s++)
    LAB_TRY(nn_conv_fwd(&n->stem, x, &t));
    KEEP(t);
    LAB_TRY(bn_fwd(n->bn1, t, training, 1, &h));
    KEEP(h);
    for (int i = 0; i < NBLOCKS; i++) {
        LAB_TRY(block_fwd(&n->blocks[i], h, training, &h));
        if (i == NBLOCKS - 1 || n->blocks[i + 1].stage != n->blocks[i].stage)
            KEEP(h);
    }
    LAB_TRY(nn_conv_fwd(&n->head_conv, h, &t));
    KEEP(t);
    LAB_TRY(bn_fwd(n->bn2, t, training, 1, &h));
    KEEP(h);
    ts_tensor *pooled, *flat, *d1, *d2;
    NN_TRY(ts_adaptive_avg_pool2d(&pooled, h, 1, 1));
    NN_TRY(ts_flatten(&flat, pooled, 1, -1));
    KEEP(flat);
    LAB_TRY(nn_dropout(flat, n->cfg.drop_rate, training, &d1));
    LAB_TRY(nn_dropout(d1, n->cfg.head == EFFNET_HEAD_COURSE ? n->cfg.head_dropout : 0.0, training, &d2));
    LAB_TRY(nn_linear_fwd(&n->fc, d2, logits));
    KEEP(*logits);
#undef KEEP
    return LAB_OK;
}

static int effnet_forward(struct model *m, const ts_tensor *x, int training, ts_tensor **out)
{
    return effnet_forward_ex(m, x, training, NULL, out);
}

static int build(struct effnet *n, ts_params *p)
{
    LAB_TRY(conv(p, "conv_stem", 3, 32, 3, 2, 1, 0, &n->stem));
    LAB_TRY(bn(n, p, "bn1", 32, &n->bn1));
    int64_t cin = 32;
    int g = 0;
    for (int s = 0; s < 7; s++) {
        for (int i = 0; i < stages[s].repeats; i++, g++) {
            LAB_TRY(block_init(n, p, s, i, cin, i == 0 ? stages[s].stride : 1, g, &n->blocks[g]));
            cin = stages[s].out;
        }
    }
    LAB_TRY(conv(p, "conv_head", cin, FEATURES, 1, 1, 1, 0, &n->head_conv));
    LAB_TRY(bn(n, p, "bn2", FEATURES, &n->bn2));
    if (n->cfg.head == EFFNET_HEAD_COURSE)
        return nn_linear_init(p, "classifier.1", FEATURES, n->cfg.num_classes, 1, &n->fc);
    /* timm's goog init for the classifier: U(+-1/sqrt(out)), bias 0 */
    LAB_TRY(nn_linear_init(p, "classifier", FEATURES, n->cfg.num_classes, 1, &n->fc));
    double r = 1.0 / sqrt((double)n->cfg.num_classes);
    NN_TRY(ts_uniform_(n->fc.w, -r, r));
    NN_TRY(ts_fill_(n->fc.b, 0.0));
    return LAB_OK;
}

int effnet_b0_new(const struct effnet_config *c, struct model **out)
{
    if (c->num_classes < 1 || c->num_classes > 100000)
        return lab_err(LAB_EUSAGE, "set num_classes to the number of classes of the data",
                       "efficientnet_b0: %d classes", c->num_classes);
    if (c->head != EFFNET_HEAD_IMAGENET && c->head != EFFNET_HEAD_COURSE)
        return lab_err(LAB_EINTERNAL, NULL, "efficientnet_b0: unknown head %d", c->head);
    const double rates[3] = {c->head_dropout, c->drop_rate, c->drop_path_rate};
    for (int i = 0; i < 3; i++)
        if (!(rates[i] >= 0 && rates[i] < 1))
            return lab_err(LAB_EUSAGE, "set dropout and drop-path rates in [0, 1)",
                           "efficientnet_b0: a rate of %g", rates[i]);
    struct model *m;
    LAB_TRY(model_new(effnet_name, sizeof(struct effnet), &m));
    struct effnet *n = m->net;
    n->cfg = *c;
    m->forward = effnet_forward;
    int rc = build(n, m->params);
    if (rc) {
        model_free(m);
        return rc;
    }
    *out = m;
    return LAB_OK;
}

int effnet_is(const struct model *m) { return m && m->forward == effnet_forward; }

void effnet_bn_eval(struct model *m, const char *const *prefixes, size_t n)
{
    struct effnet *e = m->net;
    for (int i = 0; i < e->nbn; i++) {
        struct bn_slot *s = &e->bns[i];
        s->force_eval = 0;
        for (size_t k = 0; k < n && prefixes; k++) {
            size_t len = strlen(prefixes[k]);
            if (!strncmp(s->name, prefixes[k], len) && (len == 0 || s->name[len] == '\0' || s->name[len] == '.'))
                s->force_eval = 1;
        }
    }
}
