#include "labs/models/attention_unet.h"

#include "base/error.h"
#include "labs/models/layers.h"
#include "labs/models/unet_parts.h"

#include <stdio.h>

struct gate {
    struct nn_conv wg, wx, psi;
    struct nn_bn wg_bn, wx_bn, psi_bn;
};

/* index L-1 holds level L ("att4" is [3]) */
struct attention_unet {
    struct double_conv inc, down[4], conv_up[4];
    struct gate att[4];
    struct nn_conv_t up[4];
    struct nn_conv outc;
};

static int conv_bn_init(ts_params *p, const char *prefix, const char *part, int64_t cin, int64_t cout,
                        struct nn_conv *c, struct nn_bn *bn)
{
    char name[96];
    snprintf(name, sizeof name, "%s.%s.0", prefix, part);
    LAB_TRY(nn_conv_init(p, name, cin, cout, 1, 1, 0, 0, c));
    snprintf(name, sizeof name, "%s.%s.1", prefix, part);
    return nn_bn_init(p, name, cout, bn);
}

static int gate_init(ts_params *p, int level, int64_t gate_ch, int64_t skip_ch, int64_t inter, struct gate *g)
{
    char prefix[16];
    snprintf(prefix, sizeof prefix, "att%d", level);
    LAB_TRY(conv_bn_init(p, prefix, "W_g", gate_ch, inter, &g->wg, &g->wg_bn));
    LAB_TRY(conv_bn_init(p, prefix, "W_x", skip_ch, inter, &g->wx, &g->wx_bn));
    return conv_bn_init(p, prefix, "psi", inter, 1, &g->psi, &g->psi_bn);
}

static int conv_bn(const struct nn_conv *c, const struct nn_bn *bn, const ts_tensor *x, int training, ts_tensor **y)
{
    ts_tensor *h;
    LAB_TRY(nn_conv_fwd(c, x, &h));
    return nn_bn_fwd(bn, h, training, y);
}

/* skip * sigmoid(BN(psi(relu(W_g(resize(g)) + W_x(skip))))) */
static int gate_fwd(const struct gate *a, const ts_tensor *g, const ts_tensor *skip, int training, ts_tensor **y)
{
    ts_tensor *gr, *g1, *x1, *sum, *act, *p, *ps;
    NN_TRY(ts_interpolate(&gr, g, ts_size(skip, 2), ts_size(skip, 3), TS_BILINEAR, 1));
    LAB_TRY(conv_bn(&a->wg, &a->wg_bn, gr, training, &g1));
    LAB_TRY(conv_bn(&a->wx, &a->wx_bn, skip, training, &x1));
    NN_TRY(ts_add(&sum, g1, x1));
    NN_TRY(ts_relu(&act, sum));
    LAB_TRY(conv_bn(&a->psi, &a->psi_bn, act, training, &p));
    NN_TRY(ts_sigmoid(&ps, p));
    NN_TRY(ts_mul(y, skip, ps));
    return LAB_OK;
}

static int forward(struct model *m, const ts_tensor *x, int training, ts_tensor **out)
{
    const struct attention_unet *u = m->net;
    if (ts_dim(x) != 4)
        return lab_err(LAB_EUSAGE, "reshape the input to [N, C, H, W]", "the attention U-Net takes an NCHW batch");
    int64_t h = ts_size(x, 2), w = ts_size(x, 3);
    if (h < 16 || w < 16 || h % 16 || w % 16)
        return lab_err(LAB_EUSAGE, "resize or crop the images to a multiple of 16 (the course's 256x256 is one)",
                       "the attention U-Net's decoder does not pad, so H and W must be a multiple of 16, not %lldx%lld",
                       (long long)h, (long long)w);
    ts_tensor *skips[5], *d;
    LAB_TRY(unet_double_conv_fwd(&u->inc, x, training, &skips[0]));
    for (int i = 0; i < 4; i++) {
        ts_tensor *pooled;
        LAB_TRY(nn_max_pool(skips[i], 2, &pooled));
        LAB_TRY(unet_double_conv_fwd(&u->down[i], pooled, training, &skips[i + 1]));
    }
    d = skips[4];
    for (int level = 4; level >= 1; level--) {
        ts_tensor *att, *up, *cat;
        LAB_TRY(gate_fwd(&u->att[level - 1], d, skips[level - 1], training, &att));
        LAB_TRY(nn_conv_transpose_fwd(&u->up[level - 1], d, &up));
        const ts_tensor *parts[2] = {att, up};
        NN_TRY(ts_cat(&cat, parts, 2, 1));
        LAB_TRY(unet_double_conv_fwd(&u->conv_up[level - 1], cat, training, &d));
    }
    return nn_conv_fwd(&u->outc, d, out);
}

/* In the course's order: encoder, the four gates (att4 first), then per
 * level its transposed conv and DoubleConv, outc. */
static int build(struct model *m, int in_channels, int num_classes, int64_t w)
{
    struct attention_unet *u = m->net;
    const int64_t enc[5] = {w, 2 * w, 4 * w, 8 * w, 16 * w};
    char prefix[64];
    LAB_TRY(unet_double_conv_init(m->params, "inc", in_channels, enc[0], &u->inc));
    for (int i = 0; i < 4; i++) {
        snprintf(prefix, sizeof prefix, "down%d.maxpool_conv.1", i + 1);
        LAB_TRY(unet_double_conv_init(m->params, prefix, enc[i], enc[i + 1], &u->down[i]));
    }
    for (int level = 4; level >= 1; level--)
        LAB_TRY(gate_init(m->params, level, enc[level], enc[level - 1], enc[level - 1] / 2, &u->att[level - 1]));
    for (int level = 4; level >= 1; level--) {
        snprintf(prefix, sizeof prefix, "up%d", level);
        LAB_TRY(nn_conv_transpose_init(m->params, prefix, enc[level], enc[level - 1], 2, 2, 0, 0, 1, 1,
                                       &u->up[level - 1]));
        snprintf(prefix, sizeof prefix, "conv_up%d", level);
        LAB_TRY(unet_double_conv_init(m->params, prefix, 2 * enc[level - 1], enc[level - 1], &u->conv_up[level - 1]));
    }
    return nn_conv_init(m->params, "outc", w, num_classes, 1, 1, 0, 1, &u->outc);
}

int attention_unet_create(int in_channels, int num_classes, int width, struct model **out)
{
    /* width 2 is the least whose att1 keeps an intermediate channel */
    if (in_channels < 1 || num_classes < 1 || width < 2 || width > 4096)
        return lab_err(LAB_EUSAGE, "fix the model settings (the course's width is 64)",
                       "an attention U-Net needs at least one input channel, one class and a base width of 2-4096");
    struct model *m;
    LAB_TRY(model_new("attention-unet", sizeof(struct attention_unet), &m));
    m->forward = forward;
    int rc = build(m, in_channels, num_classes, width);
    if (rc) {
        model_free(m);
        return rc;
    }
    *out = m;
    return LAB_OK;
}
