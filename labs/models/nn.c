#include "labs/models/nn.h"

#include "base/error.h"

#include <math.h>
#include <stdio.h>

int nn_fail(int ts_status, const char *what)
{
    if (ts_status == TS_EOOM)
        return lab_err(LAB_EENV, "lower --batch-size, or use --precision bf16 (lab explain TS-CUDA-OOM)",
                       "out of memory in %s: %s", what, ts_last_error());
    return lab_err(LAB_EINTERNAL, NULL, "libtorch failed in %s: %s", what, ts_last_error());
}

int nn_add_tensor(ts_params *p, const char *prefix, const char *leaf, int kind, int ndim, const int64_t *shape,
                  int dtype, double fill, double bound, ts_tensor **handle)
{
    char name[256];
    if (prefix && prefix[0])
        snprintf(name, sizeof name, "%s.%s", prefix, leaf);
    else
        snprintf(name, sizeof name, "%s", leaf);
    ts_tensor *t = NULL;
    NN_TRY(ts_full(&t, ndim, shape, fill, dtype, TS_CPU));
    int rc = bound > 0 ? ts_uniform_(t, -bound, bound) : TS_OK;
    if (rc == TS_OK)
        rc = ts_params_add(p, name, t, kind, 0, handle);
    ts_tensor_free(t);
    return rc == TS_OK ? LAB_OK : nn_fail(rc, name);
}

int nn_conv_init(ts_params *p, const char *prefix, int64_t cin, int64_t cout, int k, int stride, int pad, int bias,
                 struct nn_conv *out)
{
    struct nn_conv_opts o = {.stride = stride, .pad = pad, .dil = 1, .groups = 1, .bias = bias};
    return nn_conv_init_ex(p, prefix, cin, cout, k, &o, out);
}

int nn_conv_init_ex(ts_params *p, const char *prefix, int64_t cin, int64_t cout, int k,
                    const struct nn_conv_opts *o, struct nn_conv *out)
{
    int64_t groups = o->groups > 0 ? o->groups : 1;
    if (cin % groups || cout % groups)
        return lab_err(LAB_EINTERNAL, NULL, "%s: %lld and %lld channels do not split into %lld groups", prefix,
                       (long long)cin, (long long)cout, (long long)groups);
    /* kaiming_uniform_(a=sqrt(5)) and the bias rule of nn.Conv2d both give
     * U(-1/sqrt(fan_in), 1/sqrt(fan_in)); a group sees cin/groups inputs. */
    double bound = 1.0 / sqrt((double)(cin / groups * k * k));
    int64_t shape[4] = {cout, cin / groups, k, k};
    int dil = o->dil > 0 ? o->dil : 1;
    *out = (struct nn_conv){.stride = {o->stride, o->stride}, .pad = {o->pad, o->pad}, .dil = {dil, dil},
                            .groups = groups};
    LAB_TRY(nn_add_tensor(p, prefix, "weight", TS_PARAM, 4, shape, TS_F32, 0, bound, &out->w));
    if (o->bias)
        LAB_TRY(nn_add_tensor(p, prefix, "bias", TS_PARAM, 1, &cout, TS_F32, 0, bound, &out->b));
    return LAB_OK;
}

int nn_conv_fwd(const struct nn_conv *c, const ts_tensor *x, ts_tensor **y)
{
    NN_TRY(ts_conv2d(y, x, c->w, c->b, c->stride, c->pad, c->dil, c->groups));
    return LAB_OK;
}

int nn_bn_init(ts_params *p, const char *prefix, int64_t ch, struct nn_bn *out)
{
    *out = (struct nn_bn){.momentum = 0.1, .eps = 1e-5};
    LAB_TRY(nn_add_tensor(p, prefix, "weight", TS_PARAM, 1, &ch, TS_F32, 1, 0, &out->w));
    LAB_TRY(nn_add_tensor(p, prefix, "bias", TS_PARAM, 1, &ch, TS_F32, 0, 0, &out->b));
    LAB_TRY(nn_add_tensor(p, prefix, "running_mean", TS_BUFFER, 1, &ch, TS_F32, 0, 0, &out->mean));
    LAB_TRY(nn_add_tensor(p, prefix, "running_var", TS_BUFFER, 1, &ch, TS_F32, 1, 0, &out->var));
    LAB_TRY(nn_add_tensor(p, prefix, "num_batches_tracked", TS_BUFFER, 0, NULL, TS_I64, 0, 0, &out->count));
    return LAB_OK;
}

int nn_bn_fwd(const struct nn_bn *bn, const ts_tensor *x, int training, ts_tensor **y)
{
    NN_TRY(ts_batch_norm(y, x, bn->mean, bn->var, bn->w, bn->b, training, bn->momentum, bn->eps, bn->count));
    return LAB_OK;
}

int nn_linear_init(ts_params *p, const char *prefix, int64_t in, int64_t out, int bias, struct nn_linear *l)
{
    double bound = 1.0 / sqrt((double)in);
    int64_t shape[2] = {out, in};
    *l = (struct nn_linear){0};
    LAB_TRY(nn_add_tensor(p, prefix, "weight", TS_PARAM, 2, shape, TS_F32, 0, bound, &l->w));
    if (bias)
        LAB_TRY(nn_add_tensor(p, prefix, "bias", TS_PARAM, 1, &out, TS_F32, 0, bound, &l->b));
    return LAB_OK;
}

int nn_linear_fwd(const struct nn_linear *l, const ts_tensor *x, ts_tensor **y)
{
    NN_TRY(ts_linear(y, x, l->w, l->b));
    return LAB_OK;
}

/* Each intermediate handle is freed once read (autograd keeps what it
 * saved): held to the end of the caller's scope, a width-64 U-Net at 256
 * pixels needed 0.53 GB per image in eval. */
int nn_conv_bn_relu(const struct nn_conv *c, const struct nn_bn *bn, const ts_tensor *x, int training, ts_tensor **y)
{
    ts_tensor *a, *b;
    LAB_TRY(nn_conv_fwd(c, x, &a));
    int rc = nn_bn_fwd(bn, a, training, &b);
    ts_tensor_free(a);
    LAB_TRY(rc);
    rc = ts_relu(y, b);
    ts_tensor_free(b);
    NN_TRY(rc);
    return LAB_OK;
}

int nn_max_pool(const ts_tensor *x, int k, ts_tensor **y)
{
    int64_t kk[2] = {k, k}, pad[2] = {0, 0};
    NN_TRY(ts_max_pool2d(y, x, kk, kk, pad, 0));
    return LAB_OK;
}

int nn_avg_pool(const ts_tensor *x, int k, ts_tensor **y)
{
    int64_t kk[2] = {k, k}, pad[2] = {0, 0};
    NN_TRY(ts_avg_pool2d(y, x, kk, kk, pad, 0, 1));
    return LAB_OK;
}
