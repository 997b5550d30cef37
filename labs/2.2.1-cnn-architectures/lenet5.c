/* LeNet-5 on 3x32x32: conv 5x5 (6) -> ReLU -> pool 2 -> conv 5x5 (16) ->
 * ReLU -> pool 2 -> 400 -> 120 -> 84 -> classes. The course's LeNet5 pools
 * by averaging; the exercise variant pools by max. */
#include "labs/2.2.1-cnn-architectures/cnn_models.h"
#include "labs/models/nn.h"

struct lenet5 {
    struct nn_conv conv1, conv2;
    struct nn_linear fc1, fc2, fc3;
    int max_pool;
};

static int lenet5_forward(struct model *m, const ts_tensor *x, int training, ts_tensor **out)
{
    (void)training;
    const struct lenet5 *n = m->net;
    int (*pool)(const ts_tensor *, int, ts_tensor **) = n->max_pool ? nn_max_pool : nn_avg_pool;
    ts_tensor *h, *flat;
    LAB_TRY(nn_conv_fwd(&n->conv1, x, &h));
    NN_TRY(ts_relu(&h, h));
    LAB_TRY(pool(h, 2, &h));
    LAB_TRY(nn_conv_fwd(&n->conv2, h, &h));
    NN_TRY(ts_relu(&h, h));
    LAB_TRY(pool(h, 2, &h));
    NN_TRY(ts_flatten(&flat, h, 1, -1));
    LAB_TRY(nn_linear_fwd(&n->fc1, flat, &h));
    NN_TRY(ts_relu(&h, h));
    LAB_TRY(nn_linear_fwd(&n->fc2, h, &h));
    NN_TRY(ts_relu(&h, h));
    return nn_linear_fwd(&n->fc3, h, out);
}

int lenet5_create(int num_classes, int max_pool, struct model **out)
{
    struct model *m;
    LAB_TRY(model_new(max_pool ? "lenet5-maxpool" : "lenet5", sizeof(struct lenet5), &m));
    struct lenet5 *n = m->net;
    n->max_pool = max_pool;
    m->forward = lenet5_forward;
    int rc = nn_conv_init(m->params, "conv1", 3, 6, 5, 1, 0, 1, &n->conv1);
    if (!rc)
        rc = nn_conv_init(m->params, "conv2", 6, 16, 5, 1, 0, 1, &n->conv2);
    if (!rc)
        rc = nn_linear_init(m->params, "fc1", 400, 120, 1, &n->fc1);
    if (!rc)
        rc = nn_linear_init(m->params, "fc2", 120, 84, 1, &n->fc2);
    if (!rc)
        rc = nn_linear_init(m->params, "fc3", 84, num_classes, 1, &n->fc3);
    if (rc) {
        model_free(m);
        return rc;
    }
    *out = m;
    return 0;
}
