/* AlexNet for 32x32 inputs as the course defines it: `features` holds
 * [conv 3x3 p1 -> BN -> ReLU] x5 with widths 64, 192, 384, 256, 256 and a
 * 2x2 max pool after the 1st, 2nd and 5th (Sequential indices 0..17);
 * `classifier` is Dropout -> 4096 -> ReLU -> Dropout -> 4096 -> ReLU -> out
 * (indices 0..6). */
#include "labs/2.2.1-cnn-architectures/cnn_models.h"
#include "labs/models/nn.h"

#include <stdio.h>

struct alexnet {
    struct nn_conv conv[5];
    struct nn_bn bn[5];
    struct nn_linear fc[3];
};

static const int widths[5] = {64, 192, 384, 256, 256};
static const int pool_after[5] = {1, 1, 0, 0, 1};
static const int conv_index[5] = {0, 4, 8, 11, 14}; /* positions in `features` */

static int alexnet_forward(struct model *m, const ts_tensor *x, int training, ts_tensor **out)
{
    const struct alexnet *n = m->net;
    ts_tensor *h = (ts_tensor *)x, *flat;
    for (int i = 0; i < 5; i++) {
        LAB_TRY(nn_conv_bn_relu(&n->conv[i], &n->bn[i], h, training, &h));
        if (pool_after[i])
            LAB_TRY(nn_max_pool(h, 2, &h));
    }
    NN_TRY(ts_flatten(&flat, h, 1, -1));
    h = flat;
    for (int i = 0; i < 3; i++) {
        if (i < 2)
            NN_TRY(ts_dropout(&h, h, 0.5, training));
        LAB_TRY(nn_linear_fwd(&n->fc[i], h, &h));
        if (i < 2)
            NN_TRY(ts_relu(&h, h));
    }
    *out = h;
    return 0;
}

int alexnet_create(int num_classes, struct model **out)
{
    struct model *m;
    LAB_TRY(model_new("alexnet", sizeof(struct alexnet), &m));
    struct alexnet *n = m->net;
    m->forward = alexnet_forward;
    int rc = 0, cin = 3;
    char name[64];
    for (int i = 0; i < 5 && !rc; i++) {
        snprintf(name, sizeof name, "features.%d", conv_index[i]);
        rc = nn_conv_init(m->params, name, cin, widths[i], 3, 1, 1, 1, &n->conv[i]);
        snprintf(name, sizeof name, "features.%d", conv_index[i] + 1);
        if (!rc)
            rc = nn_bn_init(m->params, name, widths[i], &n->bn[i]);
        cin = widths[i];
    }
    static const int fc_index[3] = {1, 4, 6};
    const int64_t fc_in[3] = {256 * 4 * 4, 4096, 4096}, fc_out[3] = {4096, 4096, num_classes};
    for (int i = 0; i < 3 && !rc; i++) {
        snprintf(name, sizeof name, "classifier.%d", fc_index[i]);
        rc = nn_linear_init(m->params, name, fc_in[i], fc_out[i], 1, &n->fc[i]);
    }
    if (rc) {
        model_free(m);
        return rc;
    }
    *out = m;
    return 0;
}
