/* VGG-11 for 32x32 inputs as the course defines it: `features` holds five
 * blocks (Sequential each) of [conv 3x3 p1 -> BN -> ReLU] x n then a 2x2 max
 * pool, n = 1, 1, 2, 2, 2 with widths 64, 128, 256, 512, 512 (block j's
 * convs at indices 0 and 3); `classifier` is 512 -> 4096 -> ReLU -> Dropout
 * -> 4096 -> ReLU -> Dropout -> out (indices 0, 3, 6). */
#include "labs/2.2.1-cnn-architectures/cnn_models.h"
#include "labs/models/nn.h"

#include <stdio.h>

struct vgg11 {
    struct nn_conv conv[8];
    struct nn_bn bn[8];
    struct nn_linear fc[3];
};

static const int block_convs[5] = {1, 1, 2, 2, 2};
static const int block_width[5] = {64, 128, 256, 512, 512};

static int vgg11_forward(struct model *m, const ts_tensor *x, int training, ts_tensor **out)
{
    const struct vgg11 *n = m->net;
    ts_tensor *h = (ts_tensor *)x, *flat;
    int k = 0;
    for (int b = 0; b < 5; b++) {
        for (int i = 0; i < block_convs[b]; i++, k++)
            LAB_TRY(nn_conv_bn_relu(&n->conv[k], &n->bn[k], h, training, &h));
        LAB_TRY(nn_max_pool(h, 2, &h));
    }
    NN_TRY(ts_flatten(&flat, h, 1, -1));
    h = flat;
    for (int i = 0; i < 3; i++) {
        LAB_TRY(nn_linear_fwd(&n->fc[i], h, &h));
        if (i < 2) {
            NN_TRY(ts_relu(&h, h));
            NN_TRY(ts_dropout(&h, h, 0.5, training));
        }
    }
    *out = h;
    return 0;
}

int vgg11_create(int num_classes, struct model **out)
{
    struct model *m;
    LAB_TRY(model_new("vgg11", sizeof(struct vgg11), &m));
    struct vgg11 *n = m->net;
    m->forward = vgg11_forward;
    int rc = 0, cin = 3, k = 0;
    char name[64];
    for (int b = 0; b < 5 && !rc; b++) {
        for (int i = 0; i < block_convs[b] && !rc; i++, k++) {
            snprintf(name, sizeof name, "features.%d.%d", b, i * 3);
            rc = nn_conv_init(m->params, name, cin, block_width[b], 3, 1, 1, 1, &n->conv[k]);
            snprintf(name, sizeof name, "features.%d.%d", b, i * 3 + 1);
            if (!rc)
                rc = nn_bn_init(m->params, name, block_width[b], &n->bn[k]);
            cin = block_width[b];
        }
    }
    const int64_t fc_in[3] = {512, 4096, 4096}, fc_out[3] = {4096, 4096, num_classes};
    for (int i = 0; i < 3 && !rc; i++) {
        snprintf(name, sizeof name, "classifier.%d", i * 3);
        rc = nn_linear_init(m->params, name, fc_in[i], fc_out[i], 1, &n->fc[i]);
    }
    if (rc) {
        model_free(m);
        return rc;
    }
    *out = m;
    return 0;
}
