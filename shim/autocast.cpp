/* Autocast push/pop. libtorch 1.13 has one switch per device type
 * (set_enabled for CUDA, set_cpu_enabled for CPU); 2.4+ has a device-generic
 * API. The choice is made here at compile time from torch/version.h, so the
 * same source builds against Debian's 1.13 and an NGC container's 2.x. */
#include "shim/internal.h"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define TS_AUTOCAST_GENERIC 1
#else
#define TS_AUTOCAST_GENERIC 0
#endif

namespace {
struct saved {
    at::DeviceType type;
    bool enabled;
    at::ScalarType dtype;
};
thread_local std::vector<saved> stack;

bool is_on(at::DeviceType t)
{
#if TS_AUTOCAST_GENERIC
    return at::autocast::is_autocast_enabled(t);
#else
    return t == at::kCPU ? at::autocast::is_cpu_enabled() : at::autocast::is_enabled();
#endif
}

at::ScalarType get_dtype(at::DeviceType t)
{
#if TS_AUTOCAST_GENERIC
    return at::autocast::get_autocast_dtype(t);
#else
    return t == at::kCPU ? at::autocast::get_autocast_cpu_dtype() : at::autocast::get_autocast_gpu_dtype();
#endif
}

void set(at::DeviceType t, bool on, at::ScalarType dt)
{
#if TS_AUTOCAST_GENERIC
    at::autocast::set_autocast_enabled(t, on);
    at::autocast::set_autocast_dtype(t, dt);
#else
    if (t == at::kCPU) {
        at::autocast::set_cpu_enabled(on);
        at::autocast::set_autocast_cpu_dtype(dt);
    } else {
        at::autocast::set_enabled(on);
        at::autocast::set_autocast_gpu_dtype(dt);
    }
#endif
}
} // namespace

extern "C" {

int ts_autocast_push(ts_device device, int dtype, int *token)
{
    TS_TRY ts::need_out(token);
    at::DeviceType t = ts::to_device(device).type();
    if (dtype != TS_BF16 && dtype != TS_F16)
        throw ts::arg_error("autocast dtype must be TS_BF16 or TS_F16");
    if (t == at::kCPU && dtype != TS_BF16)
        throw ts::arg_error("CPU autocast supports only bf16 (TS_BF16)");
    stack.push_back({t, is_on(t), get_dtype(t)});
    set(t, true, ts::to_scalar(dtype));
    at::autocast::increment_nesting();
    *token = (int)stack.size() - 1;
    return TS_OK;
    TS_CATCH
}

int ts_autocast_pop(int token)
{
    TS_TRY
    if (stack.empty() || token != (int)stack.size() - 1)
        return ts::fail_fmt(TS_EARG, "ts_autocast_pop: token %d is not the innermost autocast (%zu open)", token,
                            stack.size());
    saved s = stack.back();
    stack.pop_back();
    set(s.type, s.enabled, s.dtype);
    /* as torch.autocast.__exit__: drop cached casts when the outermost ends */
    if (at::autocast::decrement_nesting() == 0)
        at::autocast::clear_cache();
    return TS_OK;
    TS_CATCH
}

int ts_autocast_enabled(ts_device device)
{
    try {
        return is_on(ts::to_device(device).type()) ? 1 : 0;
    } catch (...) {
        return 0;
    }
}

} // extern "C"
