/* What the GPU checks learn from NVML (dlopen'ed: lab runs without it), and
 * the seams tests use to stand in for NVML and libtorch. */
#ifndef LAB_DOCTOR_GPU_H
#define LAB_DOCTOR_GPU_H

#include "doctor/doctor.h"
#include "shim/torchshim.h"

#define DOCTOR_MAX_GPUS 16

struct doctor_gpu {
    char name[96];
    uint64_t mem_total, mem_used;
    int cc_major, cc_minor;
    int processes; /* compute processes on it (ours included: none yet) */
};

struct doctor_nvml {
    int lib_found;       /* libnvidia-ml.so.1 could be loaded */
    char lib_error[256]; /* dlopen/dlsym error when not */
    int init_rc;         /* nvmlInit_v2's return, 0 ok */
    char init_error[128];
    char driver[64];     /* "550.54.14" */
    int cuda_driver;     /* 12040 for 12.4; 0 when unknown */
    int count;
    struct doctor_gpu gpus[DOCTOR_MAX_GPUS];
};

/* Loads NVML (LAB_DOCTOR_NVML, test-only, names the library file; with
 * LAB_DOCTOR_ROOT the usual library directories under the root are tried)
 * and fills `out`. Never fails: what went wrong is in the fields. */
void doctor_nvml_probe(const struct doctor_ctx *ctx, struct doctor_nvml *out);

/* The function that reports libtorch's runtime (ts_runtime_info_get when the
 * shim provides it). Tests and the lead's wiring may replace it; NULL means
 * "libtorch runtime info unavailable in this build". */
typedef int (*doctor_runtime_info_fn)(struct ts_runtime_info *out);
void doctor_set_runtime_info_fn(doctor_runtime_info_fn fn);
doctor_runtime_info_fn doctor_get_runtime_info_fn(void);

#endif
