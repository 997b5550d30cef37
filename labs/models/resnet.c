#include "labs/models/resnet.h"

#include "base/error.h"
#include "labs/models/nn.h"

#include <stdio.h>

struct block {
    struct nn_conv conv1, conv2, short_conv;
    struct nn_bn bn1, bn2, short_bn;
    int has_shortcut, has_se;
    struct nn_linear se1, se2;
};

struct resnet {
    struct nn_conv conv1;
    struct nn_bn bn1;
    struct block blocks[8];
    struct nn_linear fc;
};

static int block_init(ts_params *p, const char *prefix, int64_t cin, int64_t cout, int stride, int se,
                      struct block *b)
{
    char name[128];
    snprintf(name, sizeof name, "%s.conv1", prefix);
    LAB_TRY(nn_conv_init(p, name, cin, cout, 3, stride, 1, 0, &b->conv1));
    snprintf(name, sizeof name, "%s.bn1", prefix);
    LAB_TRY(nn_bn_init(p, name, cout, &b->bn1));
    snprintf(name, sizeof name, "%s.conv2", prefix);
    LAB_TRY(nn_conv_init(p, name, cout, cout, 3, 1, 1, 0, &b->conv2));
    snprintf(name, sizeof name, "%s.bn2", prefix);
    LAB_TRY(nn_bn_init(p, name, cout, &b->bn2));
    b->has_se = se;
    if (se) {
        snprintf(name, sizeof name, "%s.se.excite.0", prefix);
        LAB_TRY(nn_linear_init(p, name, cout, cout / 16, 0, &b->se1));
        snprintf(name, sizeof name, "%s.se.excite.2", prefix);
        LAB_TRY(nn_linear_init(p, name, cout / 16, cout, 0, &b->se2));
    }
    b->has_shortcut = stride != 1 || cin != cout;
    if (b->has_shortcut) {
        snprintf(name, sizeof name, "%s.shortcut.0", prefix);
        LAB_TRY(nn_conv_init(p, name, cin, cout, 1, stride, 0, 0, &b->short_conv));
        snprintf(name, sizeof name, "%s.shortcut.1", prefix);
        LAB_TRY(nn_bn_init(p, name, cout, &b->short_bn));
    }
    return LAB_OK;
}

/* x * sigmoid(W2 relu(W1 avgpool(x))) per channel. */
static int squeeze_excite(const struct block *b, const ts_tensor *x, ts_tensor **y)
{
    ts_tensor *pooled, *flat, *h1, *h1r, *h2, *gate, *gate4;
    NN_TRY(ts_adaptive_avg_pool2d(&pooled, x, 1, 1));
    NN_TRY(ts_flatten(&flat, pooled, 1, -1));
    LAB_TRY(nn_linear_fwd(&b->se1, flat, &h1));
    NN_TRY(ts_relu(&h1r, h1));
    LAB_TRY(nn_linear_fwd(&b->se2, h1r, &h2));
    NN_TRY(ts_sigmoid(&gate, h2));
    int64_t shape[4] = {ts_size(x, 0), ts_size(x, 1), 1, 1};
    NN_TRY(ts_reshape(&gate4, gate, 4, shape));
    NN_TRY(ts_mul(y, x, gate4));
    return LAB_OK;
}

static int block_fwd(const struct block *b, const ts_tensor *x, int training, ts_tensor **y)
{
    ts_tensor *h, *c2, *n2, *skip, *sum;
    LAB_TRY(nn_conv_bn_relu(&b->conv1, &b->bn1, x, training, &h));
    LAB_TRY(nn_conv_fwd(&b->conv2, h, &c2));
    LAB_TRY(nn_bn_fwd(&b->bn2, c2, training, &n2));
    if (b->has_se)
        LAB_TRY(squeeze_excite(b, n2, &n2));
    if (b->has_shortcut) {
        ts_tensor *sc;
        LAB_TRY(nn_conv_fwd(&b->short_conv, x, &sc));
        LAB_TRY(nn_bn_fwd(&b->short_bn, sc, training, &skip));
    } else {
        skip = (ts_tensor *)x;
    }
    NN_TRY(ts_add(&sum, n2, skip));
    NN_TRY(ts_relu(y, sum));
    return LAB_OK;
}

static int resnet_forward(struct model *m, const ts_tensor *x, int training, ts_tensor **out)
{
    const struct resnet *r = m->net;
    ts_tensor *h, *pooled, *flat;
    LAB_TRY(nn_conv_bn_relu(&r->conv1, &r->bn1, x, training, &h));
    for (int i = 0; i < 8; i++)
        LAB_TRY(block_fwd(&r->blocks[i], h, training, &h));
    NN_TRY(ts_adaptive_avg_pool2d(&pooled, h, 1, 1));
    NN_TRY(ts_flatten(&flat, pooled, 1, -1));
    return nn_linear_fwd(&r->fc, flat, out);
}

int resnet18_create(int num_classes, int squeeze_excite_blocks, struct model **out)
{
    struct model *m;
    LAB_TRY(model_new(squeeze_excite_blocks ? "se-resnet18" : "resnet18", sizeof(struct resnet), &m));
    struct resnet *r = m->net;
    m->forward = resnet_forward;
    static const int64_t widths[4] = {64, 128, 256, 512};
    int rc = nn_conv_init(m->params, "conv1", 3, 64, 3, 1, 1, 0, &r->conv1);
    if (!rc)
        rc = nn_bn_init(m->params, "bn1", 64, &r->bn1);
    int64_t cin = 64;
    for (int layer = 0; layer < 4 && !rc; layer++) {
        for (int i = 0; i < 2 && !rc; i++) {
            char prefix[32];
            snprintf(prefix, sizeof prefix, "layer%d.%d", layer + 1, i);
            int stride = (layer > 0 && i == 0) ? 2 : 1;
            rc = block_init(m->params, prefix, cin, widths[layer], stride, squeeze_excite_blocks,
                            &r->blocks[layer * 2 + i]);
            cin = widths[layer];
        }
    }
    if (!rc)
        rc = nn_linear_init(m->params, "fc", 512, num_classes, 1, &r->fc);
    if (rc) {
        model_free(m);
        return rc;
    }
    *out = m;
    return LAB_OK;
}
