/* torchshim: the C API over libtorch. The only C++ in lab lives behind this
 * header (the shim/ .cpp files); no C++ exception ever crosses it. */
#ifndef TORCHSHIM_H
#define TORCHSHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* libtorch's version as compiled against, e.g. "1.13.0". Static string. */
const char *ts_libtorch_version(void);
/* 1 when the linked libtorch has CUDA compiled in (not whether a GPU is present). */
int ts_cuda_compiled(void);

/* ---- Runtime information, for `lab doctor` and result fingerprints ---- */
#define TS_MAX_DEVICES 16
struct ts_device_info {
    char name[128];
    int cc_major, cc_minor;    /* compute capability */
    uint64_t total_bytes, free_bytes;
    uint64_t allocated_bytes, reserved_bytes; /* by libtorch's caching allocator */
    int bf16_native;           /* compute capability >= 8.0 */
};
struct ts_runtime_info {
    char libtorch_version[32];
    int cuda_compiled;         /* libtorch built with CUDA */
    int cuda_available;        /* ... and a usable GPU is present */
    int device_count;
    int cuda_runtime_version;  /* e.g. 12080 for 12.8; 0 when none */
    int cudnn_version;         /* e.g. 90100 for 9.1.0; 0 when none */
    int num_threads;           /* intra-op threads */
    struct ts_device_info devices[TS_MAX_DEVICES];
};
/* Never fails on a machine without a GPU: the CUDA fields are then zero.
 * Returns 0 (ok) or a negative status with ts_last_error() set. */
int ts_runtime_info_get(struct ts_runtime_info *out);
/* The same as a JSON object (malloc'd, caller frees). */
char *ts_runtime_info_json(const struct ts_runtime_info *info);

#ifdef __cplusplus
}
#endif

#endif
