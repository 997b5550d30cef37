/* Runtime information (doctor, fingerprints) and the libtorch version. On a
 * CPU build the CUDA hooks are stubs: every CUDA field stays zero. */
#include "shim/internal.h"

#include <ATen/Parallel.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/version.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#if __has_include(<ATen/cuda/CUDAContext.h>) && __has_include(<cuda_runtime_api.h>)
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <cuda_runtime_api.h>
#define TS_HAVE_CUDA_HEADERS 1
#else
#define TS_HAVE_CUDA_HEADERS 0
#endif

extern "C" const char *ts_libtorch_version(void) { return TORCH_VERSION; }

extern "C" int ts_cuda_compiled(void)
{
    /* The stub hooks of a CPU-only libtorch refuse to name a CUDA runtime. */
    try {
        return at::detail::getCUDAHooks().versionCUDART() > 0 ? 1 : 0;
    } catch (...) {
        return 0;
    }
}

#if TS_HAVE_CUDA_HEADERS
static void fill_device(int i, struct ts_device_info *d)
{
    cudaDeviceProp *p = at::cuda::getDeviceProperties(i);
    /* cudaDeviceProp.name holds 256 bytes, ours 128: names are far shorter,
     * and a longer one is cut on purpose (snprintf would be flagged by
     * -Wformat-truncation under -Werror). */
    size_t n = strnlen(p->name, sizeof p->name);
    if (n >= sizeof d->name)
        n = sizeof d->name - 1;
    memcpy(d->name, p->name, n);
    d->name[n] = '\0';
    d->cc_major = p->major;
    d->cc_minor = p->minor;
    d->total_bytes = p->totalGlobalMem;
    d->bf16_native = p->major >= 8;
    int prev = 0;
    size_t free_b = 0, total_b = 0;
    if (cudaGetDevice(&prev) == cudaSuccess && cudaSetDevice(i) == cudaSuccess) {
        if (cudaMemGetInfo(&free_b, &total_b) == cudaSuccess)
            d->free_bytes = free_b;
        cudaSetDevice(prev);
    }
    auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(i);
    d->allocated_bytes = (uint64_t)stats.allocated_bytes[0].current;
    d->reserved_bytes = (uint64_t)stats.reserved_bytes[0].current;
}
#endif

extern "C" int ts_runtime_info_get(struct ts_runtime_info *out)
{
    TS_TRY ts::need_out(out);
    memset(out, 0, sizeof *out);
    snprintf(out->libtorch_version, sizeof out->libtorch_version, "%s", TORCH_VERSION);
    out->cuda_compiled = ts_cuda_compiled();
    out->num_threads = at::get_num_threads();
    const auto &hooks = at::detail::getCUDAHooks();
    if (out->cuda_compiled) {
        try {
            out->cuda_runtime_version = (int)hooks.versionCUDART();
        } catch (...) {
        }
        try {
            if (hooks.hasCuDNN())
                out->cudnn_version = (int)hooks.versionCuDNN();
        } catch (...) {
        }
        try {
            out->device_count = hooks.getNumGPUs();
        } catch (...) {
            out->device_count = 0;
        }
        out->cuda_available = out->device_count > 0;
#if TS_HAVE_CUDA_HEADERS
        for (int i = 0; i < out->device_count && i < TS_MAX_DEVICES; i++)
            fill_device(i, &out->devices[i]);
#endif
    }
    return TS_OK;
    TS_CATCH
}

static void json_str(std::string &o, const char *s)
{
    o += '"';
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            o += '\\';
            o += (char)c;
        } else if (c < 0x20) {
            char b[8];
            snprintf(b, sizeof b, "\\u%04x", c);
            o += b;
        } else
            o += (char)c;
    }
    o += '"';
}

extern "C" char *ts_runtime_info_json(const struct ts_runtime_info *info)
{
    if (!info)
        return nullptr;
    try {
        std::string o = "{\"libtorch_version\":";
        json_str(o, info->libtorch_version);
        char b[512];
        snprintf(b, sizeof b,
                 ",\"cuda_compiled\":%s,\"cuda_available\":%s,\"device_count\":%d,\"cuda_runtime_version\":%d,"
                 "\"cudnn_version\":%d,\"num_threads\":%d,\"devices\":[",
                 info->cuda_compiled ? "true" : "false", info->cuda_available ? "true" : "false", info->device_count,
                 info->cuda_runtime_version, info->cudnn_version, info->num_threads);
        o += b;
        for (int i = 0; i < info->device_count && i < TS_MAX_DEVICES; i++) {
            const struct ts_device_info *d = &info->devices[i];
            o += i ? ",{\"name\":" : "{\"name\":";
            json_str(o, d->name);
            snprintf(b, sizeof b,
                     ",\"compute_capability\":\"%d.%d\",\"total_bytes\":%llu,\"free_bytes\":%llu,"
                     "\"allocated_bytes\":%llu,\"reserved_bytes\":%llu,\"bf16_native\":%s}",
                     d->cc_major, d->cc_minor, (unsigned long long)d->total_bytes, (unsigned long long)d->free_bytes,
                     (unsigned long long)d->allocated_bytes, (unsigned long long)d->reserved_bytes,
                     d->bf16_native ? "true" : "false");
            o += b;
        }
        o += "]}";
        return strdup(o.c_str());
    } catch (...) {
        return nullptr;
    }
}
