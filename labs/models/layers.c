#include "labs/models/layers.h"

#include "base/error.h"

#include <math.h>
#include <stdio.h>

int nn_init_trunc_normal(ts_tensor *t, double std)
{
    NN_TRY(ts_trunc_normal_(t, 0.0, std, -2.0, 2.0));
    return LAB_OK;
}

int nn_init_xavier_uniform(ts_tensor *t)
{
    if (ts_dim(t) != 2)
        return lab_err(LAB_EINTERNAL, NULL, "xavier_uniform_ needs a 2-d weight, not %d-d", ts_dim(t));
    double bound = sqrt(6.0 / (double)(ts_size(t, 0) + ts_size(t, 1)));
    NN_TRY(ts_uniform_(t, -bound, bound));
    return LAB_OK;
}

int nn_param_init(ts_params *p, const char *prefix, const char *leaf, int ndim, const int64_t *shape, double std,
                  ts_tensor **handle)
{
    ts_tensor *h = NULL;
    LAB_TRY(nn_add_tensor(p, prefix, leaf, TS_PARAM, ndim, shape, TS_F32, 0, 0, &h));
    if (std > 0)
        LAB_TRY(nn_init_trunc_normal(h, std));
    if (handle)
        *handle = h;
    return LAB_OK;
}

int nn_linear_init_trunc(struct nn_linear *l, double std)
{
    LAB_TRY(nn_init_trunc_normal(l->w, std));
    if (l->b)
        NN_TRY(ts_fill_(l->b, 0.0));
    return LAB_OK;
}

int nn_layer_norm_init(ts_params *p, const char *prefix, int64_t dim, double eps, struct nn_layer_norm *out)
{
    *out = (struct nn_layer_norm){.dim = dim, .eps = eps};
    LAB_TRY(nn_add_tensor(p, prefix, "weight", TS_PARAM, 1, &dim, TS_F32, 1, 0, &out->w));
    LAB_TRY(nn_add_tensor(p, prefix, "bias", TS_PARAM, 1, &dim, TS_F32, 0, 0, &out->b));
    return LAB_OK;
}

int nn_layer_norm_fwd(const struct nn_layer_norm *ln, const ts_tensor *x, ts_tensor **y)
{
    NN_TRY(ts_layer_norm(y, x, 1, &ln->dim, ln->w, ln->b, ln->eps));
    return LAB_OK;
}

int nn_layer_norm2d_fwd(const struct nn_layer_norm *ln, const ts_tensor *x, ts_tensor **y)
{
    static const int64_t to_nhwc[4] = {0, 2, 3, 1}, to_nchw[4] = {0, 3, 1, 2};
    ts_tensor *nhwc, *normed;
    NN_TRY(ts_permute(&nhwc, x, 4, to_nhwc));
    LAB_TRY(nn_layer_norm_fwd(ln, nhwc, &normed));
    NN_TRY(ts_permute(y, normed, 4, to_nchw));
    return LAB_OK;
}

int nn_gelu(const ts_tensor *x, int tanh_approx, ts_tensor **y)
{
    NN_TRY(ts_gelu(y, x, tanh_approx));
    return LAB_OK;
}

int nn_silu(const ts_tensor *x, ts_tensor **y)
{
    NN_TRY(ts_silu(y, x));
    return LAB_OK;
}

int nn_act_fwd(int act, const ts_tensor *x, ts_tensor **y)
{
    switch (act) {
    case NN_ACT_NONE: NN_TRY(ts_tensor_ref(y, x)); return LAB_OK;
    case NN_ACT_RELU: NN_TRY(ts_relu(y, x)); return LAB_OK;
    case NN_ACT_GELU: return nn_gelu(x, 0, y);
    case NN_ACT_GELU_TANH: return nn_gelu(x, 1, y);
    case NN_ACT_SILU: return nn_silu(x, y);
    }
    return lab_err(LAB_EINTERNAL, NULL, "unknown activation %d", act);
}

int nn_dropout(const ts_tensor *x, double p, int training, ts_tensor **y)
{
    if (!training || p <= 0) {
        NN_TRY(ts_tensor_ref(y, x));
        return LAB_OK;
    }
    NN_TRY(ts_dropout(y, x, p, 1));
    return LAB_OK;
}

int nn_drop_path(const ts_tensor *x, double p, int training, ts_tensor **y)
{
    if (!training || p <= 0) {
        NN_TRY(ts_tensor_ref(y, x));
        return LAB_OK;
    }
    /* Dropout of a ones tensor [B, 1, ...] draws bernoulli(1 - p) / (1 - p)
     * per sample, which is timm's random_tensor exactly. */
    int64_t shape[8] = {ts_size(x, 0), 1, 1, 1, 1, 1, 1, 1};
    int nd = ts_dim(x);
    if (nd < 1 || nd > 8)
        return lab_err(LAB_EINTERNAL, NULL, "drop_path needs a 1- to 8-d tensor, not %d-d", nd);
    ts_tensor *ones, *ones_dev, *mask;
    NN_TRY(ts_ones(&ones, nd, shape, ts_dtype(x), TS_CPU));
    NN_TRY(ts_to(&ones_dev, ones, ts_device_of(x), -1));
    NN_TRY(ts_dropout(&mask, ones_dev, p, 1));
    NN_TRY(ts_mul(y, x, mask));
    return LAB_OK;
}

/* "<prefix>.<leaf>", or "<leaf>" for the top level. */
static void join(char *buf, size_t cap, const char *prefix, const char *leaf)
{
    if (prefix && prefix[0])
        snprintf(buf, cap, "%s.%s", prefix, leaf);
    else
        snprintf(buf, cap, "%s", leaf);
}

int nn_mha_init(ts_params *p, const char *prefix, int64_t dim, int64_t heads, int style, double attn_drop,
                double proj_drop, struct nn_mha *out)
{
    if (heads <= 0 || dim % heads)
        return lab_err(LAB_EINTERNAL, NULL, "%s: embed dim %lld does not split into %lld heads", prefix,
                       (long long)dim, (long long)heads);
    *out = (struct nn_mha){.dim = dim, .heads = heads, .scale = 1.0 / sqrt((double)(dim / heads)),
                           .attn_drop = attn_drop, .proj_drop = proj_drop};
    char name[256];
    if (style == NN_MHA_TORCH) {
        int64_t wshape[2] = {3 * dim, dim}, bshape = 3 * dim;
        LAB_TRY(nn_add_tensor(p, prefix, "in_proj_weight", TS_PARAM, 2, wshape, TS_F32, 0, 0, &out->qkv.w));
        LAB_TRY(nn_init_xavier_uniform(out->qkv.w));
        LAB_TRY(nn_add_tensor(p, prefix, "in_proj_bias", TS_PARAM, 1, &bshape, TS_F32, 0, 0, &out->qkv.b));
        join(name, sizeof name, prefix, "out_proj");
        LAB_TRY(nn_linear_init(p, name, dim, dim, 1, &out->proj));
        NN_TRY(ts_fill_(out->proj.b, 0.0));
        return LAB_OK;
    }
    join(name, sizeof name, prefix, "qkv");
    LAB_TRY(nn_linear_init(p, name, dim, 3 * dim, 1, &out->qkv));
    join(name, sizeof name, prefix, "proj");
    LAB_TRY(nn_linear_init(p, name, dim, dim, 1, &out->proj));
    return LAB_OK;
}

int nn_mha_fwd(const struct nn_mha *m, const ts_tensor *x, int training, ts_tensor **y, ts_tensor **attn)
{
    int64_t B = ts_size(x, 0), T = ts_size(x, 1), H = m->heads, hd = m->dim / m->heads;
    if (ts_dim(x) != 3 || ts_size(x, 2) != m->dim)
        return lab_err(LAB_EINTERNAL, NULL, "attention expects [B, T, %lld] tokens, got a %d-d tensor",
                       (long long)m->dim, ts_dim(x));
    ts_tensor *qkv, *split, *heads_first, *parts[3], *q, *k, *v, *o, *o_t, *merged, *projected;
    int n = 0;
    LAB_TRY(nn_linear_fwd(&m->qkv, x, &qkv));
    int64_t shape5[5] = {B, T, 3, H, hd}, perm[5] = {2, 0, 3, 1, 4};
    NN_TRY(ts_reshape(&split, qkv, 5, shape5));
    NN_TRY(ts_permute(&heads_first, split, 5, perm)); /* [3, B, H, T, hd] */
    NN_TRY(ts_chunk(parts, 3, &n, heads_first, 3, 0));
    NN_TRY(ts_squeeze(&q, parts[0], 0));
    NN_TRY(ts_squeeze(&k, parts[1], 0));
    NN_TRY(ts_squeeze(&v, parts[2], 0));
    ts_tensor *unused = NULL, **weights = attn ? attn : m->explicit_math ? &unused : NULL;
    NN_TRY(ts_attention_ex(&o, weights, q, k, v, NULL, m->scale, m->attn_drop, training));
    NN_TRY(ts_transpose(&o_t, o, 1, 2));
    int64_t shape3[3] = {B, T, m->dim};
    NN_TRY(ts_reshape(&merged, o_t, 3, shape3));
    LAB_TRY(nn_linear_fwd(&m->proj, merged, &projected));
    return nn_dropout(projected, m->proj_drop, training, y);
}

int nn_mlp_init(ts_params *p, const char *fc1, const char *fc2, int64_t in, int64_t hidden, int64_t out, int act,
                double drop, struct nn_mlp *m)
{
    *m = (struct nn_mlp){.act = act, .drop = drop};
    LAB_TRY(nn_linear_init(p, fc1, in, hidden, 1, &m->fc1));
    LAB_TRY(nn_linear_init(p, fc2, hidden, out, 1, &m->fc2));
    return LAB_OK;
}

int nn_mlp_fwd(const struct nn_mlp *m, const ts_tensor *x, int training, ts_tensor **y)
{
    ts_tensor *h, *a, *d, *o;
    LAB_TRY(nn_linear_fwd(&m->fc1, x, &h));
    LAB_TRY(nn_act_fwd(m->act, h, &a));
    LAB_TRY(nn_dropout(a, m->drop, training, &d));
    LAB_TRY(nn_linear_fwd(&m->fc2, d, &o));
    return nn_dropout(o, m->drop, training, y);
}

int nn_conv_transpose_init(ts_params *p, const char *prefix, int64_t cin, int64_t cout, int k, int stride, int pad,
                           int out_pad, int groups, int bias, struct nn_conv_t *out)
{
    int64_t g = groups > 0 ? groups : 1;
    if (cin % g || cout % g)
        return lab_err(LAB_EINTERNAL, NULL, "%s: %lld and %lld channels do not split into %lld groups", prefix,
                       (long long)cin, (long long)cout, (long long)g);
    /* PyTorch takes fan_in from the weight's dim 1, which for a transposed
     * convolution is cout/groups. */
    double bound = 1.0 / sqrt((double)(cout / g * k * k));
    int64_t shape[4] = {cin, cout / g, k, k};
    *out = (struct nn_conv_t){.stride = {stride, stride}, .pad = {pad, pad}, .out_pad = {out_pad, out_pad},
                              .dil = {1, 1}, .groups = g};
    LAB_TRY(nn_add_tensor(p, prefix, "weight", TS_PARAM, 4, shape, TS_F32, 0, bound, &out->w));
    if (bias)
        LAB_TRY(nn_add_tensor(p, prefix, "bias", TS_PARAM, 1, &cout, TS_F32, 0, bound, &out->b));
    return LAB_OK;
}

int nn_conv_transpose_fwd(const struct nn_conv_t *c, const ts_tensor *x, ts_tensor **y)
{
    NN_TRY(ts_conv_transpose2d(y, x, c->w, c->b, c->stride, c->pad, c->out_pad, c->groups, c->dil));
    return LAB_OK;
}

int nn_upsample(const ts_tensor *x, int scale, int mode, int align_corners, ts_tensor **y)
{
    if (scale < 1 || ts_dim(x) != 4)
        return lab_err(LAB_EINTERNAL, NULL, "upsample needs an NCHW tensor and a scale >= 1");
    NN_TRY(ts_interpolate(y, x, ts_size(x, 2) * scale, ts_size(x, 3) * scale, mode,
                          mode == TS_NEAREST ? 0 : align_corners));
    return LAB_OK;
}

int nn_concat_skip(const ts_tensor *skip, const ts_tensor *up, ts_tensor **y)
{
    int64_t dy = ts_size(skip, 2) - ts_size(up, 2), dx = ts_size(skip, 3) - ts_size(up, 3);
    if (ts_dim(skip) != 4 || ts_dim(up) != 4 || dy < 0 || dx < 0)
        return lab_err(LAB_EINTERNAL, NULL, "a skip must be NCHW and at least as large as the up-sampled tensor");
    ts_tensor *t = NULL;
    if (dy || dx) {
        int64_t pads[4] = {dx / 2, dx - dx / 2, dy / 2, dy - dy / 2};
        NN_TRY(ts_pad(&t, up, 4, pads, 0.0));
    }
    const ts_tensor *both[2] = {skip, t ? t : up};
    int rc = ts_cat(y, both, 2, 1);
    ts_tensor_free(t);
    NN_TRY(rc);
    return LAB_OK;
}

int nn_embedding_init(ts_params *p, const char *prefix, int64_t num, int64_t dim, struct nn_embedding *out)
{
    int64_t shape[2] = {num, dim};
    *out = (struct nn_embedding){.num = num, .dim = dim};
    LAB_TRY(nn_add_tensor(p, prefix, "weight", TS_PARAM, 2, shape, TS_F32, 0, 0, &out->w));
    NN_TRY(ts_normal_(out->w, 0.0, 1.0));
    return LAB_OK;
}

int nn_embedding_fwd(const struct nn_embedding *e, const ts_tensor *ids, ts_tensor **y)
{
    int64_t shape[9];
    int nd = ts_shape(ids, shape, 8);
    if (nd < 0 || nd > 8)
        return lab_err(LAB_EINTERNAL, NULL, "embedding ids must have at most 8 dimensions");
    shape[nd] = e->dim;
    ts_tensor *flat, *rows;
    NN_TRY(ts_flatten(&flat, ids, 0, -1));
    NN_TRY(ts_index_select(&rows, e->w, 0, flat));
    NN_TRY(ts_reshape(y, rows, nd + 1, shape));
    return LAB_OK;
}
