/* Shared by the shim's .cpp files only (never by C): handle layouts, the
 * exception-to-status guard, dtype/device mapping. */
#ifndef TORCHSHIM_INTERNAL_H
#define TORCHSHIM_INTERNAL_H

#include "shim/torchshim.h"

/* GCC 12 with -fsanitize=address,undefined (make asan) reports
 * c10::optional<Scalar/Generator> members inlined from libtorch's headers as
 * maybe-uninitialized: false positives in code we cannot change. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <ATen/ATen.h>
/* at::NoGradGuard is an alias that libtorch 2.x's ATen.h no longer pulls in;
 * c10's guard is the same type on 1.13 and 2.x. */
#include <c10/core/GradMode.h>

#include <stdexcept>
#include <string>
#include <vector>

struct ts_tensor {
    at::Tensor t;
    int depth = 0;       /* scope depth that owns it (1-based); 0: the caller */
    size_t slot = 0;     /* index in that scope's list */
    bool borrowed = false; /* owned by a parameter store: free is a no-op */
};

namespace ts {

/* Thrown by argument checks inside a guarded body; becomes TS_EARG. */
struct arg_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

void clear_error();
int fail(int status, const char *msg);
/* A libtorch error: TS_EOOM when it is an allocation failure that libtorch
 * reported as a plain c10::Error (older CUDA allocators do), else TS_ETORCH. */
int fail_torch(const char *msg);
int fail_fmt(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A new caller-owned handle, registered with the innermost scope. */
ts_tensor *wrap(at::Tensor t);
void unregister(ts_tensor *h);

at::ScalarType to_scalar(int dtype);   /* throws arg_error */
int from_scalar(at::ScalarType st);    /* -1 when not ours */
at::Device to_device(ts_device d);     /* throws arg_error */
at::TensorOptions opts(int dtype, ts_device d);

inline const at::Tensor &T(const ts_tensor *h, const char *what = "tensor")
{
    if (!h || !h->t.defined())
        throw arg_error(std::string(what) + " is NULL (pass a tensor handle)");
    return h->t;
}
inline c10::optional<at::Tensor> OPT(const ts_tensor *h)
{
    if (!h || !h->t.defined())
        return c10::nullopt;
    return h->t;
}
inline std::vector<int64_t> shape_vec(int ndim, const int64_t *shape)
{
    if (ndim < 0 || ndim > 16 || (ndim > 0 && !shape))
        throw arg_error("shape: ndim must be 0..16 with a shape array");
    return std::vector<int64_t>(shape, shape + ndim);
}
inline void need_out(void *out)
{
    if (!out)
        throw arg_error("the output pointer is NULL");
}

} // namespace ts

#define TS_TRY                                                                                                  \
    try {                                                                                                       \
        ts::clear_error();

#define TS_CATCH                                                                                                \
    }                                                                                                           \
    catch (const ts::arg_error &e) { return ts::fail(TS_EARG, e.what()); }                                     \
    catch (const c10::OutOfMemoryError &e) { return ts::fail(TS_EOOM, e.what_without_backtrace()); }          \
    catch (const c10::Error &e) { return ts::fail_torch(e.what_without_backtrace()); }                        \
    catch (const std::bad_alloc &) { return ts::fail(TS_EOOM, "out of host memory"); }                        \
    catch (const std::exception &e) { return ts::fail(TS_ETORCH, e.what()); }                                 \
    catch (...) { return ts::fail(TS_ETORCH, "unknown C++ exception in libtorch"); }

/* The body of a one-result op: `*out = expr`, caller-owned. */
#define TS_OP(out, expr)                                                                                        \
    TS_TRY ts::need_out(out);                                                                                   \
    *(out) = ts::wrap(expr);                                                                                    \
    return TS_OK;                                                                                               \
    TS_CATCH

#endif
