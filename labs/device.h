/* Choosing the device and the precision of a run, with the reason printed
 * in the run's header. */
#ifndef LAB_DEVICE_H
#define LAB_DEVICE_H

#include "shim/torchshim.h"

struct lab_device_choice {
    ts_device device;
    char device_name[16]; /* "cpu", "cuda:0" */
    char gpu_name[128];   /* "" on the CPU */
    int bf16;             /* bf16 autocast on */
    char precision[8];    /* "bf16" or "fp32" */
    char reason[200];     /* why this precision */
    int threads;          /* libtorch's intra-op threads, once lab_use_all_cpus ran */
};

/* device: auto|cpu|cuda|cuda:N; precision: auto|bf16|fp32. LAB_EUSAGE for
 * spelling, LAB_EENV when CUDA is asked for and there is none. */
int lab_choose_device(const char *device, const char *precision, struct lab_device_choice *out);

/* Gives libtorch one intra-op thread per CPU this process may run on,
 * unless OMP_NUM_THREADS chose a number; records it in dc->threads. For
 * `lab run` only: the grader's jobs size their threads themselves. */
int lab_use_all_cpus(struct lab_device_choice *dc);

/* CPU flags avx512_bf16 or amx_bf16 in `cpuinfo_path` (NULL: /proc/cpuinfo). */
int lab_cpu_has_native_bf16(const char *cpuinfo_path);

#endif
