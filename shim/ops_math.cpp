/* Elementwise math, reductions, shapes and indexing. */
#include "shim/internal.h"

#include <cmath>

using ts::T;

namespace {
std::vector<at::Tensor> tensor_list(const ts_tensor *const *ts_, int n)
{
    if (n < 1 || !ts_)
        throw ts::arg_error("a list of at least one tensor is needed");
    std::vector<at::Tensor> v;
    v.reserve(n);
    for (int i = 0; i < n; i++)
        v.push_back(T(ts_[i], "list element"));
    return v;
}

int store_list(ts_tensor **outs, int cap, int *n, std::vector<at::Tensor> parts)
{
    ts::need_out(outs);
    ts::need_out(n);
    if ((int)parts.size() > cap)
        return ts::fail_fmt(TS_EARG, "the result has %zu pieces but outs has room for %d", parts.size(), cap);
    for (size_t i = 0; i < parts.size(); i++)
        outs[i] = ts::wrap(std::move(parts[i]));
    *n = (int)parts.size();
    return TS_OK;
}
} // namespace

extern "C" {

int ts_add(ts_tensor **out, const ts_tensor *a, const ts_tensor *b) { TS_OP(out, at::add(T(a), T(b))); }
int ts_sub(ts_tensor **out, const ts_tensor *a, const ts_tensor *b) { TS_OP(out, at::sub(T(a), T(b))); }
int ts_mul(ts_tensor **out, const ts_tensor *a, const ts_tensor *b) { TS_OP(out, at::mul(T(a), T(b))); }
int ts_div(ts_tensor **out, const ts_tensor *a, const ts_tensor *b) { TS_OP(out, at::div(T(a), T(b))); }
int ts_add_scalar(ts_tensor **out, const ts_tensor *a, double s) { TS_OP(out, at::add(T(a), s)); }
int ts_mul_scalar(ts_tensor **out, const ts_tensor *a, double s) { TS_OP(out, at::mul(T(a), s)); }
int ts_pow_scalar(ts_tensor **out, const ts_tensor *a, double e) { TS_OP(out, at::pow(T(a), e)); }
int ts_neg(ts_tensor **out, const ts_tensor *a) { TS_OP(out, at::neg(T(a))); }
int ts_exp(ts_tensor **out, const ts_tensor *a) { TS_OP(out, at::exp(T(a))); }
int ts_log(ts_tensor **out, const ts_tensor *a) { TS_OP(out, at::log(T(a))); }
int ts_atan(ts_tensor **out, const ts_tensor *a) { TS_OP(out, at::atan(T(a))); }
int ts_sqrt(ts_tensor **out, const ts_tensor *a) { TS_OP(out, at::sqrt(T(a))); }
int ts_sin(ts_tensor **out, const ts_tensor *a) { TS_OP(out, at::sin(T(a))); }
int ts_cos(ts_tensor **out, const ts_tensor *a) { TS_OP(out, at::cos(T(a))); }
int ts_abs(ts_tensor **out, const ts_tensor *a) { TS_OP(out, at::abs(T(a))); }

int ts_clamp(ts_tensor **out, const ts_tensor *a, double lo, double hi)
{
    bool has_lo = !std::isnan(lo), has_hi = !std::isnan(hi);
    TS_OP(out, has_lo && has_hi ? at::clamp(T(a), lo, hi)
               : has_lo         ? at::clamp_min(T(a), lo)
               : has_hi         ? at::clamp_max(T(a), hi)
                                : T(a).clone());
}

int ts_eq(ts_tensor **out, const ts_tensor *a, const ts_tensor *b) { TS_OP(out, at::eq(T(a), T(b))); }
int ts_gt_scalar(ts_tensor **out, const ts_tensor *a, double s) { TS_OP(out, at::gt(T(a), s)); }
int ts_matmul(ts_tensor **out, const ts_tensor *a, const ts_tensor *b) { TS_OP(out, at::matmul(T(a), T(b))); }
int ts_bmm(ts_tensor **out, const ts_tensor *a, const ts_tensor *b) { TS_OP(out, at::bmm(T(a), T(b))); }

int ts_sum(ts_tensor **out, const ts_tensor *a, int dim, int keepdim)
{
    TS_OP(out, dim == TS_ALL ? at::sum(T(a)) : at::sum(T(a), {(int64_t)dim}, keepdim != 0));
}
int ts_mean(ts_tensor **out, const ts_tensor *a, int dim, int keepdim)
{
    TS_OP(out, dim == TS_ALL ? at::mean(T(a)) : at::mean(T(a), {(int64_t)dim}, keepdim != 0));
}
int ts_max(ts_tensor **out, const ts_tensor *a, int dim, int keepdim)
{
    TS_OP(out, dim == TS_ALL ? at::max(T(a)) : std::get<0>(at::max(T(a), dim, keepdim != 0)));
}
int ts_min(ts_tensor **out, const ts_tensor *a, int dim, int keepdim)
{
    TS_OP(out, dim == TS_ALL ? at::min(T(a)) : std::get<0>(at::min(T(a), dim, keepdim != 0)));
}
int ts_argmax(ts_tensor **out, const ts_tensor *a, int dim, int keepdim)
{
    TS_OP(out, dim == TS_ALL ? at::argmax(T(a)) : at::argmax(T(a), (int64_t)dim, keepdim != 0));
}

int ts_topk(ts_tensor **values, ts_tensor **indices, const ts_tensor *a, int64_t k, int dim, int largest, int sorted)
{
    TS_TRY ts::need_out(values);
    ts::need_out(indices);
    auto r = at::topk(T(a), k, dim, largest != 0, sorted != 0);
    *values = ts::wrap(std::get<0>(r));
    try {
        *indices = ts::wrap(std::get<1>(r));
    } catch (...) {
        ts_tensor_free(*values);
        *values = nullptr;
        throw;
    }
    return TS_OK;
    TS_CATCH
}

int ts_sort(ts_tensor **values, ts_tensor **indices, const ts_tensor *a, int dim, int descending)
{
    TS_TRY ts::need_out(values);
    ts::need_out(indices);
    auto r = at::sort(T(a), dim, descending != 0);
    *values = ts::wrap(std::get<0>(r));
    try {
        *indices = ts::wrap(std::get<1>(r));
    } catch (...) {
        ts_tensor_free(*values);
        *values = nullptr;
        throw;
    }
    return TS_OK;
    TS_CATCH
}

int ts_cumsum(ts_tensor **out, const ts_tensor *a, int dim) { TS_OP(out, at::cumsum(T(a), dim)); }

int ts_reshape(ts_tensor **out, const ts_tensor *a, int ndim, const int64_t *shape)
{
    TS_OP(out, at::reshape(T(a), ts::shape_vec(ndim, shape)));
}
int ts_view(ts_tensor **out, const ts_tensor *a, int ndim, const int64_t *shape)
{
    TS_OP(out, T(a).view(ts::shape_vec(ndim, shape)));
}
int ts_flatten(ts_tensor **out, const ts_tensor *a, int start_dim, int end_dim)
{
    TS_OP(out, at::flatten(T(a), start_dim, end_dim));
}
int ts_permute(ts_tensor **out, const ts_tensor *a, int ndim, const int64_t *dims)
{
    TS_OP(out, T(a).permute(ts::shape_vec(ndim, dims)));
}
int ts_transpose(ts_tensor **out, const ts_tensor *a, int d0, int d1) { TS_OP(out, at::transpose(T(a), d0, d1)); }
int ts_unsqueeze(ts_tensor **out, const ts_tensor *a, int dim) { TS_OP(out, at::unsqueeze(T(a), dim)); }
int ts_squeeze(ts_tensor **out, const ts_tensor *a, int dim) { TS_OP(out, at::squeeze(T(a), dim)); }
int ts_cat(ts_tensor **out, const ts_tensor *const *l, int n, int dim) { TS_OP(out, at::cat(tensor_list(l, n), dim)); }
int ts_stack(ts_tensor **out, const ts_tensor *const *l, int n, int dim)
{
    TS_OP(out, at::stack(tensor_list(l, n), dim));
}

int ts_split(ts_tensor **outs, int cap, int *n, const ts_tensor *a, int64_t size, int dim)
{
    TS_TRY return store_list(outs, cap, n, at::split(T(a), size, dim));
    TS_CATCH
}

int ts_chunk(ts_tensor **outs, int cap, int *n, const ts_tensor *a, int chunks, int dim)
{
    TS_TRY return store_list(outs, cap, n, at::chunk(T(a), chunks, dim));
    TS_CATCH
}

int ts_narrow(ts_tensor **out, const ts_tensor *a, int dim, int64_t start, int64_t length)
{
    TS_OP(out, at::narrow(T(a), dim, start, length));
}
int ts_index_select(ts_tensor **out, const ts_tensor *a, int dim, const ts_tensor *index)
{
    TS_OP(out, at::index_select(T(a), dim, T(index, "index")));
}
int ts_gather(ts_tensor **out, const ts_tensor *a, int dim, const ts_tensor *index)
{
    TS_OP(out, at::gather(T(a), dim, T(index, "index")));
}
int ts_where(ts_tensor **out, const ts_tensor *cond, const ts_tensor *a, const ts_tensor *b)
{
    TS_OP(out, at::where(T(cond, "cond"), T(a), T(b)));
}
int ts_masked_fill(ts_tensor **out, const ts_tensor *a, const ts_tensor *mask, double value)
{
    TS_OP(out, at::masked_fill(T(a), T(mask, "mask"), value));
}

} // extern "C"
