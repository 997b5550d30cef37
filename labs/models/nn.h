/* Layers over the shim, in the style of torch.nn: each layer registers its
 * tensors in a parameter store under PyTorch's state-dict names
 * ("<prefix>.weight", ...), initialised as PyTorch initialises them, and
 * has a forward function. Forward functions create tensors freely: callers
 * run them inside a ts scope, which frees everything at its end. */
#ifndef LAB_NN_H
#define LAB_NN_H

#include "shim/torchshim.h"

/* Turns a shim status into a lab status with libtorch's message. */
int nn_fail(int ts_status, const char *what);
#define NN_TRY(expr)                                                                                          \
    do {                                                                                                       \
        int nn_rc_ = (expr);                                                                                   \
        if (nn_rc_ != TS_OK)                                                                                   \
            return nn_fail(nn_rc_, #expr);                                                                     \
    } while (0)
/* For lab-status calls inside model code. */
#define LAB_TRY(expr)                                                                                         \
    do {                                                                                                       \
        int lab_rc_ = (expr);                                                                                  \
        if (lab_rc_ != 0)                                                                                      \
            return lab_rc_;                                                                                    \
    } while (0)

/* Registers a new tensor "<prefix>.<leaf>" of `shape` filled with `fill`, or
 * U(-bound, bound) when bound > 0, and returns the store's handle. */
int nn_add_tensor(ts_params *p, const char *prefix, const char *leaf, int kind, int ndim, const int64_t *shape,
                  int dtype, double fill, double bound, ts_tensor **handle);

struct nn_conv {
    ts_tensor *w, *b; /* b NULL without bias; borrowed from the store */
    int64_t stride[2], pad[2], dil[2], groups;
};
int nn_conv_init(ts_params *p, const char *prefix, int64_t cin, int64_t cout, int k, int stride, int pad, int bias,
                 struct nn_conv *out);
/* nn.Conv2d(cin, cout, k, stride, pad, dilation, groups, bias): groups = cin
 * = cout is a depthwise convolution; weight [cout, cin/groups, k, k]. */
struct nn_conv_opts {
    int stride, pad, dil, groups, bias; /* dil and groups 0 mean 1 */
};
int nn_conv_init_ex(ts_params *p, const char *prefix, int64_t cin, int64_t cout, int k,
                    const struct nn_conv_opts *o, struct nn_conv *out);
int nn_conv_fwd(const struct nn_conv *c, const ts_tensor *x, ts_tensor **y);

struct nn_bn {
    ts_tensor *w, *b, *mean, *var, *count;
    double momentum, eps;
};
int nn_bn_init(ts_params *p, const char *prefix, int64_t ch, struct nn_bn *out);
int nn_bn_fwd(const struct nn_bn *bn, const ts_tensor *x, int training, ts_tensor **y);

struct nn_linear {
    ts_tensor *w, *b;
};
int nn_linear_init(ts_params *p, const char *prefix, int64_t in, int64_t out, int bias, struct nn_linear *l);
int nn_linear_fwd(const struct nn_linear *l, const ts_tensor *x, ts_tensor **y);

/* conv -> batch norm -> ReLU, the unit most CNNs repeat. */
int nn_conv_bn_relu(const struct nn_conv *c, const struct nn_bn *bn, const ts_tensor *x, int training, ts_tensor **y);
int nn_max_pool(const ts_tensor *x, int k, ts_tensor **y);
int nn_avg_pool(const ts_tensor *x, int k, ts_tensor **y);

#endif
