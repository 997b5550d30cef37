/* Errors, handles and scopes: the plumbing every other shim file uses. */
#include "shim/internal.h"

extern "C" {
#include "base/error.h"
}

#include <atomic>
#include <malloc.h>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {
/* Whether the last shim call on this thread failed: its message is then
 * lab's error message (ts::fail records it through lab_err, the one
 * error path of lab, which the executable exports to this library). */
thread_local bool last_failed;
thread_local std::vector<std::vector<ts_tensor *>> scopes;
std::atomic<long> live{0};
constexpr size_t max_scope_depth = 64;
} // namespace

/* A training step, a batch of SAM's automatic masks or an encoder block
 * frees and re-allocates the same sizes again and again. glibc's defaults
 * hand that memory back to the kernel (heap trim, mmap for large blocks), so
 * each use page-faults it in again, and a first touch is expensive on a VM:
 * LeNet-5's step took 3x longer than in Python, and SAM's encoder spent twice
 * its computing time in the kernel zeroing pages (docs/perf.md). So every
 * block comes from the heap and the heap is never trimmed: the process keeps
 * its peak, which it needed anyway, and reuses it. */
__attribute__((constructor)) static void ts_tune_malloc(void)
{
    if (getenv("LAB_MALLOC_DEFAULTS"))
        return;
    mallopt(M_MMAP_MAX, 0);
    mallopt(M_TRIM_THRESHOLD, -1);
}

namespace ts {

void clear_error() { last_failed = false; }

/* The lab status a shim failure becomes when nobody adds context: memory is
 * the machine's limit (exit 3), anything else a bug or a library failure. */
static int lab_status_of(int status) { return status == TS_EOOM ? LAB_EENV : LAB_EINTERNAL; }

int fail(int status, const char *msg)
{
    /* libtorch messages can end with a newline and carry the C++ frame of
     * the check; the caller wants PyTorch's explanation, kept whole. */
    size_t n = msg ? strlen(msg) : 0;
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        n--;
    lab_err(lab_status_of(status), NULL, "%.*s", (int)n, msg ? msg : "");
    last_failed = true;
    return status;
}

int fail_torch(const char *msg)
{
    bool oom = msg && (strstr(msg, "CUDA out of memory") || strstr(msg, "DefaultCPUAllocator: can't allocate memory") ||
                       strstr(msg, "DefaultCPUAllocator: not enough memory"));
    return fail(oom ? TS_EOOM : TS_ETORCH, msg);
}

int fail_fmt(int status, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return fail(status, buf);
}

ts_tensor *wrap(at::Tensor t)
{
    ts_tensor *h = new ts_tensor;
    h->t = std::move(t);
    if (!scopes.empty()) {
        auto &s = scopes.back();
        try {
            s.push_back(h);
        } catch (...) {
            delete h;
            throw;
        }
        h->depth = (int)scopes.size();
        h->slot = s.size() - 1;
    }
    live.fetch_add(1, std::memory_order_relaxed);
    return h;
}

void unregister(ts_tensor *h)
{
    if (h->depth > 0 && (size_t)h->depth <= scopes.size()) {
        auto &s = scopes[h->depth - 1];
        if (h->slot < s.size() && s[h->slot] == h)
            s[h->slot] = nullptr;
    }
    h->depth = 0;
}

at::ScalarType to_scalar(int dtype)
{
    switch (dtype) {
    case TS_U8: return at::kByte;
    case TS_I64: return at::kLong;
    case TS_F16: return at::kHalf;
    case TS_BF16: return at::kBFloat16;
    case TS_F32: return at::kFloat;
    case TS_BOOL: return at::kBool;
    case TS_I32: return at::kInt;
    case TS_F64: return at::kDouble;
    }
    throw arg_error("unknown dtype " + std::to_string(dtype) + " (use a TS_* dtype)");
}

int from_scalar(at::ScalarType st)
{
    switch (st) {
    case at::kByte: return TS_U8;
    case at::kLong: return TS_I64;
    case at::kHalf: return TS_F16;
    case at::kBFloat16: return TS_BF16;
    case at::kFloat: return TS_F32;
    case at::kBool: return TS_BOOL;
    case at::kInt: return TS_I32;
    case at::kDouble: return TS_F64;
    default: return -1;
    }
}

at::Device to_device(ts_device d)
{
    if (d == TS_CPU)
        return at::Device(at::kCPU);
    if (d < 0 || d > 255)
        throw arg_error("unknown device " + std::to_string(d) + " (TS_CPU or a CUDA ordinal)");
    return at::Device(at::kCUDA, (c10::DeviceIndex)d);
}

at::TensorOptions opts(int dtype, ts_device d) { return at::TensorOptions().dtype(to_scalar(dtype)).device(to_device(d)); }

} // namespace ts

extern "C" {

const char *ts_last_error(void) { return last_failed ? lab_err_message() : ""; }

size_t ts_dtype_size(int dtype)
{
    switch (dtype) {
    case TS_U8: case TS_BOOL: return 1;
    case TS_F16: case TS_BF16: return 2;
    case TS_F32: case TS_I32: return 4;
    case TS_I64: case TS_F64: return 8;
    }
    return 0;
}

const char *ts_dtype_name(int dtype)
{
    static const char *names[] = {"u8", "i64", "f16", "bf16", "f32", "bool", "i32", "f64"};
    return dtype >= 0 && dtype < 8 ? names[dtype] : "?";
}

int ts_scope_begin(void)
{
    if (scopes.size() >= max_scope_depth)
        return ts::fail(TS_EARG, "scopes nested deeper than 64: a ts_scope_end is missing");
    try {
        scopes.emplace_back();
    } catch (...) {
        return ts::fail(TS_EOOM, "out of host memory");
    }
    return TS_OK;
}

void ts_scope_end(void)
{
    if (scopes.empty())
        return;
    std::vector<ts_tensor *> s = std::move(scopes.back());
    scopes.pop_back();
    for (ts_tensor *h : s) {
        if (h) {
            h->depth = 0;
            ts_tensor_free(h);
        }
    }
}

void ts_scope_keep(ts_tensor *h)
{
    if (!h || h->borrowed || h->depth == 0)
        return;
    int d = h->depth;
    ts::unregister(h);
    if (d >= 2) {
        auto &parent = scopes[d - 2];
        try {
            parent.push_back(h);
            h->depth = d - 1;
            h->slot = parent.size() - 1;
        } catch (...) { /* left to the caller rather than lost */
        }
    }
}

long ts_live_tensors(void) { return live.load(); }

void ts_tensor_free(ts_tensor *h)
{
    if (!h || h->borrowed)
        return;
    ts::unregister(h);
    live.fetch_sub(1, std::memory_order_relaxed);
    delete h;
}

} // extern "C"
