/* Tensor handles: creation, host transfer, metadata, randomness. */
#include "shim/internal.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <cmath>
#include <cstring>

using ts::T;

namespace {
std::vector<int64_t> checked_shape(int ndim, const int64_t *shape)
{
    auto v = ts::shape_vec(ndim, shape);
    for (int64_t d : v)
        if (d < 0)
            throw ts::arg_error("shape has a negative dimension");
    return v;
}
} // namespace

extern "C" {

int ts_tensor_ref(ts_tensor **out, const ts_tensor *t) { TS_OP(out, T(t)); }

int ts_from_host(ts_tensor **out, const void *data, int dtype, int ndim, const int64_t *shape, ts_device device)
{
    TS_TRY ts::need_out(out);
    auto sh = checked_shape(ndim, shape);
    at::Tensor t = at::empty(sh, ts::opts(dtype, TS_CPU));
    size_t nbytes = (size_t)t.numel() * ts_dtype_size(dtype);
    if (nbytes && !data)
        throw ts::arg_error("ts_from_host: data is NULL");
    if (nbytes)
        memcpy(t.data_ptr(), data, nbytes);
    if (device != TS_CPU)
        t = t.to(ts::to_device(device));
    *out = ts::wrap(std::move(t));
    return TS_OK;
    TS_CATCH
}

int ts_from_blob(ts_tensor **out, void *data, int dtype, int ndim, const int64_t *shape)
{
    TS_TRY ts::need_out(out);
    auto sh = checked_shape(ndim, shape);
    if (!data)
        throw ts::arg_error("ts_from_blob: data is NULL");
    *out = ts::wrap(at::from_blob(data, sh, ts::opts(dtype, TS_CPU)));
    return TS_OK;
    TS_CATCH
}

int ts_to_host(const ts_tensor *t, int dtype, void *dst, size_t nbytes)
{
    TS_TRY
    const at::Tensor &x = T(t);
    size_t need = (size_t)x.numel() * ts_dtype_size(dtype);
    if (need != nbytes)
        return ts::fail_fmt(TS_EARG, "ts_to_host: the tensor needs %zu bytes as %s, the buffer has %zu", need,
                            ts_dtype_name(dtype), nbytes);
    if (!nbytes)
        return TS_OK;
    if (!dst)
        throw ts::arg_error("ts_to_host: dst is NULL");
    at::Tensor c = x.detach().to(at::kCPU, ts::to_scalar(dtype)).contiguous();
    memcpy(dst, c.data_ptr(), nbytes);
    return TS_OK;
    TS_CATCH
}

const void *ts_data_ptr(const ts_tensor *t)
{
    if (!t || !t->t.defined() || !t->t.device().is_cpu() || !t->t.is_contiguous())
        return nullptr;
    try {
        return t->t.data_ptr();
    } catch (...) {
        return nullptr;
    }
}

int ts_item_f64(const ts_tensor *t, double *out)
{
    TS_TRY ts::need_out(out);
    *out = T(t).item<double>();
    return TS_OK;
    TS_CATCH
}

int ts_item_i64(const ts_tensor *t, int64_t *out)
{
    TS_TRY ts::need_out(out);
    *out = T(t).item<int64_t>();
    return TS_OK;
    TS_CATCH
}

int ts_dim(const ts_tensor *t) { return t && t->t.defined() ? (int)t->t.dim() : -1; }

int64_t ts_size(const ts_tensor *t, int dim)
{
    if (!t || !t->t.defined())
        return -1;
    int64_t n = t->t.dim();
    int64_t d = dim < 0 ? dim + n : dim;
    return d >= 0 && d < n ? t->t.size(d) : -1;
}

int64_t ts_numel(const ts_tensor *t) { return t && t->t.defined() ? t->t.numel() : -1; }

int ts_shape(const ts_tensor *t, int64_t *shape, int cap)
{
    if (!t || !t->t.defined())
        return -1;
    int n = (int)t->t.dim();
    for (int i = 0; i < n && i < cap; i++)
        shape[i] = t->t.size(i);
    return n;
}

int ts_dtype(const ts_tensor *t) { return t && t->t.defined() ? ts::from_scalar(t->t.scalar_type()) : -1; }

ts_device ts_device_of(const ts_tensor *t)
{
    if (!t || !t->t.defined() || t->t.device().is_cpu())
        return TS_CPU;
    return t->t.device().index();
}

int ts_to(ts_tensor **out, const ts_tensor *t, ts_device device, int dtype)
{
    TS_TRY ts::need_out(out);
    const at::Tensor &x = T(t);
    at::ScalarType st = dtype < 0 ? x.scalar_type() : ts::to_scalar(dtype);
    *out = ts::wrap(x.to(ts::to_device(device), st));
    return TS_OK;
    TS_CATCH
}

int ts_contiguous(ts_tensor **out, const ts_tensor *t) { TS_OP(out, T(t).contiguous()); }
int ts_clone(ts_tensor **out, const ts_tensor *t) { TS_OP(out, T(t).clone()); }

int ts_copy_(ts_tensor *dst, const ts_tensor *src)
{
    TS_TRY
    c10::NoGradGuard ng;
    const_cast<at::Tensor &>(T(dst, "dst")).copy_(T(src, "src"));
    return TS_OK;
    TS_CATCH
}

int ts_zeros(ts_tensor **out, int ndim, const int64_t *shape, int dtype, ts_device device)
{
    TS_OP(out, at::zeros(checked_shape(ndim, shape), ts::opts(dtype, device)));
}
int ts_ones(ts_tensor **out, int ndim, const int64_t *shape, int dtype, ts_device device)
{
    TS_OP(out, at::ones(checked_shape(ndim, shape), ts::opts(dtype, device)));
}
int ts_full(ts_tensor **out, int ndim, const int64_t *shape, double value, int dtype, ts_device device)
{
    TS_OP(out, at::full(checked_shape(ndim, shape), value, ts::opts(dtype, device)));
}
int ts_scalar(ts_tensor **out, double value, int dtype, ts_device device)
{
    TS_OP(out, at::full({}, value, ts::opts(dtype, device)));
}
int ts_arange(ts_tensor **out, double start, double end, double step, int dtype, ts_device device)
{
    TS_OP(out, at::arange(start, end, step, ts::opts(dtype, device)));
}
int ts_zeros_like(ts_tensor **out, const ts_tensor *t) { TS_OP(out, at::zeros_like(T(t))); }

int ts_manual_seed(uint64_t seed)
{
    TS_TRY
    /* at::manual_seed seeds the CPU generator and, when CUDA is present,
     * every device's generator: torch.manual_seed's behaviour. */
    at::manual_seed(seed);
    return TS_OK;
    TS_CATCH
}

int ts_rand(ts_tensor **out, int ndim, const int64_t *shape, int dtype, ts_device device)
{
    TS_OP(out, at::rand(checked_shape(ndim, shape), ts::opts(dtype, device)));
}
int ts_randn(ts_tensor **out, int ndim, const int64_t *shape, int dtype, ts_device device)
{
    TS_OP(out, at::randn(checked_shape(ndim, shape), ts::opts(dtype, device)));
}
int ts_randint(ts_tensor **out, int64_t low, int64_t high, int ndim, const int64_t *shape, ts_device device)
{
    TS_OP(out, at::randint(low, high, checked_shape(ndim, shape), ts::opts(TS_I64, device)));
}
int ts_randperm(ts_tensor **out, int64_t n, ts_device device) { TS_OP(out, at::randperm(n, ts::opts(TS_I64, device))); }

int ts_normal_(ts_tensor *t, double mean, double std)
{
    TS_TRY c10::NoGradGuard ng;
    const_cast<at::Tensor &>(T(t)).normal_(mean, std);
    return TS_OK;
    TS_CATCH
}

int ts_uniform_(ts_tensor *t, double low, double high)
{
    TS_TRY c10::NoGradGuard ng;
    const_cast<at::Tensor &>(T(t)).uniform_(low, high);
    return TS_OK;
    TS_CATCH
}

int ts_fill_(ts_tensor *t, double value)
{
    TS_TRY c10::NoGradGuard ng;
    const_cast<at::Tensor &>(T(t)).fill_(value);
    return TS_OK;
    TS_CATCH
}

int ts_trunc_normal_(ts_tensor *t, double mean, double std, double a, double b)
{
    TS_TRY c10::NoGradGuard ng;
    if (!(std > 0) || !(a < b))
        throw ts::arg_error("trunc_normal_: needs std > 0 and a < b");
    /* torch.nn.init._no_grad_trunc_normal_, step for step. */
    auto norm_cdf = [](double x) { return (1. + std::erf(x / std::sqrt(2.))) / 2.; };
    double l = norm_cdf((a - mean) / std), u = norm_cdf((b - mean) / std);
    at::Tensor &x = const_cast<at::Tensor &>(T(t));
    x.uniform_(2 * l - 1, 2 * u - 1);
    x.erfinv_();
    x.mul_(std * std::sqrt(2.));
    x.add_(mean);
    x.clamp_(a, b);
    return TS_OK;
    TS_CATCH
}

int ts_set_deterministic(int deterministic, int benchmark)
{
    TS_TRY
    at::globalContext().setDeterministicCuDNN(deterministic != 0);
    at::globalContext().setBenchmarkCuDNN(benchmark != 0);
    return TS_OK;
    TS_CATCH
}

int ts_set_num_threads(int n)
{
    TS_TRY
    if (n < 1)
        throw ts::arg_error("ts_set_num_threads: n must be >= 1");
    at::set_num_threads(n);
    return TS_OK;
    TS_CATCH
}

} // extern "C"
