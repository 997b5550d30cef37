#include "labs/models/unet.h"

#include "base/error.h"
#include "labs/models/layers.h"
#include "labs/models/unet_parts.h"

#include <stdio.h>

struct unet {
    struct double_conv inc, down[4], up[4];
    struct nn_conv outc;
    struct nn_conv_t upconv[4];
    int transposed;
};

int unet_double_conv_init(ts_params *p, const char *prefix, int64_t cin, int64_t cout, struct double_conv *d)
{
    char name[128];
    snprintf(name, sizeof name, "%s.double_conv.0", prefix);
    LAB_TRY(nn_conv_init(p, name, cin, cout, 3, 1, 1, 0, &d->c1));
    snprintf(name, sizeof name, "%s.double_conv.1", prefix);
    LAB_TRY(nn_bn_init(p, name, cout, &d->b1));
    snprintf(name, sizeof name, "%s.double_conv.3", prefix);
    LAB_TRY(nn_conv_init(p, name, cout, cout, 3, 1, 1, 0, &d->c2));
    snprintf(name, sizeof name, "%s.double_conv.4", prefix);
    LAB_TRY(nn_bn_init(p, name, cout, &d->b2));
    return LAB_OK;
}

int unet_double_conv_fwd(const struct double_conv *d, const ts_tensor *x, int training, ts_tensor **y)
{
    ts_tensor *h;
    LAB_TRY(nn_conv_bn_relu(&d->c1, &d->b1, x, training, &h));
    int rc = nn_conv_bn_relu(&d->c2, &d->b2, h, training, y);
    ts_tensor_free(h);
    return rc;
}

static int unet_forward(struct model *m, const ts_tensor *x, int training, ts_tensor **out)
{
    const struct unet *u = m->net;
    if (ts_dim(x) != 4)
        return lab_err(LAB_EUSAGE, "reshape the input to [N, C, H, W]", "the U-Net takes an NCHW batch");
    ts_tensor *skips[5], *h;
    LAB_TRY(unet_double_conv_fwd(&u->inc, x, training, &skips[0]));
    for (int i = 0; i < 4; i++) {
        if (ts_size(skips[i], 2) < 2 || ts_size(skips[i], 3) < 2)
            return lab_err(LAB_EUSAGE, "resize the images to 16x16 or larger",
                           "the U-Net halves its input four times, so it needs at least 16x16 pixels");
        ts_tensor *pooled;
        LAB_TRY(nn_max_pool(skips[i], 2, &pooled));
        int rc = unet_double_conv_fwd(&u->down[i], pooled, training, &skips[i + 1]);
        ts_tensor_free(pooled);
        LAB_TRY(rc);
    }
    /* each tensor freed once its last reader has run (the skips at their
     * concatenation), as Python frees them */
    h = skips[4];
    for (int i = 0; i < 4; i++) {
        ts_tensor *up, *cat;
        int rc = u->transposed ? nn_conv_transpose_fwd(&u->upconv[i], h, &up) : nn_upsample(h, 2, TS_BILINEAR, 1, &up);
        ts_tensor_free(h);
        LAB_TRY(rc);
        rc = nn_concat_skip(skips[3 - i], up, &cat);
        ts_tensor_free(up);
        ts_tensor_free(skips[3 - i]);
        LAB_TRY(rc);
        rc = unet_double_conv_fwd(&u->up[i], cat, training, &h);
        ts_tensor_free(cat);
        LAB_TRY(rc);
    }
    int rc = nn_conv_fwd(&u->outc, h, out);
    ts_tensor_free(h);
    return rc;
}

static int unet_build_transposed(struct model *m, int in_channels, int num_classes, int64_t w)
{
    struct unet *u = m->net;
    u->transposed = 1;
    const int64_t enc[5] = {w, 2 * w, 4 * w, 8 * w, 16 * w};
    LAB_TRY(unet_double_conv_init(m->params, "inc", in_channels, enc[0], &u->inc));
    char prefix[64];
    for (int i = 0; i < 4; i++) {
        snprintf(prefix, sizeof prefix, "down%d.maxpool_conv.1", i + 1);
        LAB_TRY(unet_double_conv_init(m->params, prefix, enc[i], enc[i + 1], &u->down[i]));
    }
    for (int i = 0; i < 4; i++) {
        int64_t cin = enc[4 - i];
        snprintf(prefix, sizeof prefix, "up%d.up", i + 1);
        LAB_TRY(nn_conv_transpose_init(m->params, prefix, cin, cin / 2, 2, 2, 0, 0, 1, 1, &u->upconv[i]));
        snprintf(prefix, sizeof prefix, "up%d.conv", i + 1);
        LAB_TRY(unet_double_conv_init(m->params, prefix, cin, enc[3 - i], &u->up[i]));
    }
    return nn_conv_init(m->params, "outc", w, num_classes, 1, 1, 0, 1, &u->outc);
}

static int unet_build(struct model *m, int in_channels, int num_classes, int64_t w)
{
    struct unet *u = m->net;
    /* bilinear: the deepest level keeps 8w channels (1024 // factor), and each
     * up halves the concatenation's channels except the last */
    const int64_t enc[5] = {w, 2 * w, 4 * w, 8 * w, 8 * w};
    const int64_t dec[4] = {4 * w, 2 * w, w, w};
    LAB_TRY(unet_double_conv_init(m->params, "inc", in_channels, enc[0], &u->inc));
    char prefix[64];
    for (int i = 0; i < 4; i++) {
        snprintf(prefix, sizeof prefix, "down%d.maxpool_conv.1", i + 1);
        LAB_TRY(unet_double_conv_init(m->params, prefix, enc[i], enc[i + 1], &u->down[i]));
    }
    int64_t cin = enc[4];
    for (int i = 0; i < 4; i++) {
        snprintf(prefix, sizeof prefix, "up%d.conv", i + 1);
        LAB_TRY(unet_double_conv_init(m->params, prefix, cin + enc[3 - i], dec[i], &u->up[i]));
        cin = dec[i];
    }
    return nn_conv_init(m->params, "outc", w, num_classes, 1, 1, 0, 1, &u->outc);
}

static int create(int in_channels, int num_classes, int width, int transposed, struct model **out)
{
    if (in_channels < 1 || num_classes < 1 || width < 1 || width > 4096)
        return lab_err(LAB_EUSAGE, "fix the model settings (the course's width is 64)",
                       "a U-Net needs at least one input channel, one class and a base width of 1-4096");
    struct model *m;
    LAB_TRY(model_new("unet", sizeof(struct unet), &m));
    m->forward = unet_forward;
    int rc = transposed ? unet_build_transposed(m, in_channels, num_classes, width)
                        : unet_build(m, in_channels, num_classes, width);
    if (rc) {
        model_free(m);
        return rc;
    }
    *out = m;
    return LAB_OK;
}

int unet_create(int in_channels, int num_classes, int width, struct model **out)
{
    return create(in_channels, num_classes, width, 0, out);
}

int unet_transposed_create(int in_channels, int num_classes, int width, struct model **out)
{
    return create(in_channels, num_classes, width, 1, out);
}
