/* Neural-network ops, as torch.nn.functional computes them. */
#include "shim/internal.h"

#include <ATen/core/Reduction.h>
#include <torch/version.h>
#include <cmath>
#include <limits>

/* scaled_dot_product_attention takes an explicit scale from libtorch 2.1 on;
 * 1.13 and 2.0 compute the same softmax(q k^T s + mask) v explicitly. */
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)
#define TS_HAVE_SDPA 1
#else
#define TS_HAVE_SDPA 0
#endif

using ts::T;

namespace {
at::IntArrayRef pair(const int64_t *p, const char *what)
{
    if (!p)
        throw ts::arg_error(std::string(what) + " is NULL (pass an int64_t[2])");
    return at::IntArrayRef(p, 2);
}

int64_t reduction(int r)
{
    switch (r) {
    case TS_RED_NONE: return at::Reduction::None;
    case TS_RED_MEAN: return at::Reduction::Mean;
    case TS_RED_SUM: return at::Reduction::Sum;
    }
    throw ts::arg_error("reduction must be TS_RED_NONE, TS_RED_MEAN or TS_RED_SUM");
}
} // namespace

extern "C" {

int ts_conv2d(ts_tensor **out, const ts_tensor *x, const ts_tensor *w, const ts_tensor *b, const int64_t stride[2],
              const int64_t padding[2], const int64_t dilation[2], int64_t groups)
{
    TS_OP(out, at::conv2d(T(x, "input"), T(w, "weight"), ts::OPT(b), pair(stride, "stride"), pair(padding, "padding"),
                          pair(dilation, "dilation"), groups));
}

int ts_conv_transpose2d(ts_tensor **out, const ts_tensor *x, const ts_tensor *w, const ts_tensor *b,
                        const int64_t stride[2], const int64_t padding[2], const int64_t output_padding[2],
                        int64_t groups, const int64_t dilation[2])
{
    TS_OP(out, at::conv_transpose2d(T(x, "input"), T(w, "weight"), ts::OPT(b), pair(stride, "stride"),
                                    pair(padding, "padding"), pair(output_padding, "output_padding"), groups,
                                    pair(dilation, "dilation")));
}

int ts_linear(ts_tensor **out, const ts_tensor *x, const ts_tensor *w, const ts_tensor *b)
{
    TS_OP(out, at::linear(T(x, "input"), T(w, "weight"), ts::OPT(b)));
}

int ts_batch_norm(ts_tensor **out, const ts_tensor *x, ts_tensor *running_mean, ts_tensor *running_var,
                  const ts_tensor *weight, const ts_tensor *bias, int training, double momentum, double eps,
                  ts_tensor *num_batches_tracked)
{
    TS_TRY ts::need_out(out);
    if (training && num_batches_tracked) {
        at::NoGradGuard ng;
        const_cast<at::Tensor &>(T(num_batches_tracked)).add_(1);
    }
    at::Tensor y = at::batch_norm(T(x, "input"), ts::OPT(weight), ts::OPT(bias), ts::OPT(running_mean),
                                  ts::OPT(running_var), training != 0, momentum, eps,
                                  at::globalContext().userEnabledCuDNN());
    *out = ts::wrap(std::move(y));
    return TS_OK;
    TS_CATCH
}

int ts_layer_norm(ts_tensor **out, const ts_tensor *x, int nnorm, const int64_t *normalized_shape,
                  const ts_tensor *weight, const ts_tensor *bias, double eps)
{
    TS_OP(out, at::layer_norm(T(x, "input"), ts::shape_vec(nnorm, normalized_shape), ts::OPT(weight), ts::OPT(bias),
                              eps));
}

int ts_relu(ts_tensor **out, const ts_tensor *x) { TS_OP(out, at::relu(T(x))); }
int ts_gelu(ts_tensor **out, const ts_tensor *x, int tanh_approx)
{
    TS_OP(out, at::gelu(T(x), tanh_approx ? "tanh" : "none"));
}
int ts_silu(ts_tensor **out, const ts_tensor *x) { TS_OP(out, at::silu(T(x))); }
int ts_silu_(ts_tensor *t)
{
    TS_TRY at::silu_(const_cast<at::Tensor &>(T(t)));
    return TS_OK;
    TS_CATCH
}
int ts_sigmoid(ts_tensor **out, const ts_tensor *x) { TS_OP(out, at::sigmoid(T(x))); }
int ts_tanh(ts_tensor **out, const ts_tensor *x) { TS_OP(out, at::tanh(T(x))); }
int ts_softmax(ts_tensor **out, const ts_tensor *x, int dim) { TS_OP(out, at::softmax(T(x), dim)); }
int ts_log_softmax(ts_tensor **out, const ts_tensor *x, int dim) { TS_OP(out, at::log_softmax(T(x), dim)); }

int ts_max_pool2d(ts_tensor **out, const ts_tensor *x, const int64_t kernel[2], const int64_t stride[2],
                  const int64_t padding[2], int ceil_mode)
{
    static const int64_t one[2] = {1, 1};
    TS_OP(out, at::max_pool2d(T(x), pair(kernel, "kernel"), stride ? pair(stride, "stride") : pair(kernel, "kernel"),
                              pair(padding, "padding"), at::IntArrayRef(one, 2), ceil_mode != 0));
}

int ts_avg_pool2d(ts_tensor **out, const ts_tensor *x, const int64_t kernel[2], const int64_t stride[2],
                  const int64_t padding[2], int ceil_mode, int count_include_pad)
{
    TS_OP(out, at::avg_pool2d(T(x), pair(kernel, "kernel"), stride ? pair(stride, "stride") : pair(kernel, "kernel"),
                              pair(padding, "padding"), ceil_mode != 0, count_include_pad != 0));
}

int ts_adaptive_avg_pool2d(ts_tensor **out, const ts_tensor *x, int64_t oh, int64_t ow)
{
    TS_OP(out, at::adaptive_avg_pool2d(T(x), {oh, ow}));
}

int ts_interpolate(ts_tensor **out, const ts_tensor *x, int64_t oh, int64_t ow, int mode, int align_corners)
{
    TS_TRY ts::need_out(out);
    const at::Tensor &in = T(x);
    std::vector<int64_t> size = {oh, ow};
    at::Tensor y;
    switch (mode) {
    case TS_NEAREST: y = at::upsample_nearest2d(in, size); break;
    case TS_BILINEAR: y = at::upsample_bilinear2d(in, size, align_corners != 0); break;
    case TS_BICUBIC: y = at::upsample_bicubic2d(in, size, align_corners != 0); break;
    default: throw ts::arg_error("interpolate: mode must be TS_NEAREST, TS_BILINEAR or TS_BICUBIC");
    }
    *out = ts::wrap(std::move(y));
    return TS_OK;
    TS_CATCH
}

int ts_pad(ts_tensor **out, const ts_tensor *x, int npad, const int64_t *pads, double value)
{
    TS_OP(out, at::constant_pad_nd(T(x), ts::shape_vec(npad, pads), value));
}

int ts_dropout(ts_tensor **out, const ts_tensor *x, double p, int training)
{
    TS_TRY ts::need_out(out);
    if (!(p >= 0 && p <= 1))
        throw ts::arg_error("dropout probability has to be between 0 and 1");
    *out = ts::wrap(at::dropout(T(x), p, training != 0));
    return TS_OK;
    TS_CATCH
}

int ts_attention(ts_tensor **out, const ts_tensor *q, const ts_tensor *k, const ts_tensor *v, const ts_tensor *mask,
                 double scale)
{
    return ts_attention_ex(out, NULL, q, k, v, mask, scale, 0.0, 0);
}

int ts_attention_ex(ts_tensor **out, ts_tensor **weights, const ts_tensor *q, const ts_tensor *k, const ts_tensor *v,
                    const ts_tensor *mask, double scale, double dropout_p, int training)
{
    TS_TRY ts::need_out(out);
    const at::Tensor &Q = T(q, "q"), &K = T(k, "k"), &V = T(v, "v");
    if (dropout_p < 0 || dropout_p >= 1)
        throw ts::arg_error("attention dropout must be in [0, 1)");
    double p = training ? dropout_p : 0.0;
    double d = (double)Q.size(-1), s = scale > 0 ? scale : 1.0 / std::sqrt(d);
    c10::optional<at::Tensor> M;
    if (mask && mask->t.defined())
        M = mask->t;
#if TS_HAVE_SDPA
    /* libtorch picks a fused kernel (flash, memory-efficient) where one fits;
     * they never build the T x T weights, so only calls that do not want
     * them go there. */
    if (!weights) {
        *out = ts::wrap(at::scaled_dot_product_attention(Q, K, V, M, p, false, s));
        return TS_OK;
    }
#endif
    /* The explicit math, op for op as the course's attention module (and
     * every libtorch before 2.1): the same dropout draws as PyTorch's. */
    at::Tensor scores = at::matmul(Q, K.transpose(-2, -1)) * s;
    if (M) {
        if (M->scalar_type() == at::kBool)
            scores = scores.masked_fill(M->logical_not(), -std::numeric_limits<double>::infinity());
        else
            scores = scores + *M;
    }
    at::Tensor attn = at::softmax(scores, -1);
    if (p > 0)
        attn = at::dropout(attn, p, true);
    at::Tensor o = at::matmul(attn, V);
    if (weights)
        *weights = ts::wrap(attn);
    *out = ts::wrap(o);
    return TS_OK;
    TS_CATCH
}

int ts_cross_entropy(ts_tensor **out, const ts_tensor *logits, const ts_tensor *target, const ts_tensor *weight,
                     int red, int64_t ignore_index, double label_smoothing)
{
    TS_OP(out, at::cross_entropy_loss(T(logits, "logits"), T(target, "target"), ts::OPT(weight), reduction(red),
                                      ignore_index, label_smoothing));
}

int ts_bce_with_logits(ts_tensor **out, const ts_tensor *logits, const ts_tensor *target, const ts_tensor *pos_weight,
                       int red)
{
    TS_OP(out, at::binary_cross_entropy_with_logits(T(logits, "logits"), T(target, "target"), c10::nullopt,
                                                    ts::OPT(pos_weight), reduction(red)));
}

int ts_mse_loss(ts_tensor **out, const ts_tensor *x, const ts_tensor *target, int red)
{
    TS_OP(out, at::mse_loss(T(x), T(target, "target"), reduction(red)));
}
int ts_l1_loss(ts_tensor **out, const ts_tensor *x, const ts_tensor *target, int red)
{
    TS_OP(out, at::l1_loss(T(x), T(target, "target"), reduction(red)));
}
int ts_smooth_l1_loss(ts_tensor **out, const ts_tensor *x, const ts_tensor *target, int red, double beta)
{
    TS_OP(out, at::smooth_l1_loss(T(x), T(target, "target"), reduction(red), beta));
}

} // extern "C"
