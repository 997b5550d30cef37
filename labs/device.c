#include "labs/device.h"

#include "base/error.h"
#include "shim/lazy.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int lab_cpu_has_native_bf16(const char *cpuinfo_path)
{
    FILE *f = fopen(cpuinfo_path ? cpuinfo_path : "/proc/cpuinfo", "r");
    if (!f)
        return 0;
    char line[8192];
    int found = 0;
    while (!found && fgets(line, sizeof line, f)) {
        if (strncmp(line, "flags", 5) != 0)
            continue;
        for (char *save = NULL, *tok = strtok_r(line, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save))
            if (strcmp(tok, "avx512_bf16") == 0 || strcmp(tok, "amx_bf16") == 0)
                found = 1;
    }
    fclose(f);
    return found;
}

static int parse_device(const char *device, const struct ts_runtime_info *info, struct lab_device_choice *out)
{
    if (strcmp(device, "auto") == 0)
        device = info->cuda_available && info->device_count > 0 ? "cuda:0" : "cpu";
    if (strcmp(device, "cpu") == 0) {
        out->device = TS_CPU;
        snprintf(out->device_name, sizeof out->device_name, "cpu");
        return LAB_OK;
    }
    int index = 0;
    if (strcmp(device, "cuda") != 0) {
        char *end;
        if (strncmp(device, "cuda:", 5) != 0 || (index = (int)strtol(device + 5, &end, 10)) < 0 || *end ||
            end == device + 5)
            return lab_err(LAB_EUSAGE, "use --device auto, cpu, cuda or cuda:N", "unknown device '%s'", device);
    }
    if (!info->cuda_available || info->device_count == 0)
        return lab_err(LAB_EENV, "run `lab doctor` to see why, or use --device cpu",
                       "--device %s asked for a GPU, but libtorch sees none (%s)", device,
                       info->cuda_compiled ? "no usable NVIDIA GPU or driver" : "this lab was built with a CPU-only libtorch");
    if (index >= info->device_count)
        return lab_err(LAB_EUSAGE, "pick one of the GPUs `lab doctor` lists, or --device cuda for the first",
                       "--device %s: only %d GPU(s) (cuda:0 .. cuda:%d)", device,
                       info->device_count, info->device_count - 1);
    out->device = TS_CUDA(index);
    snprintf(out->device_name, sizeof out->device_name, "cuda:%d", index);
    snprintf(out->gpu_name, sizeof out->gpu_name, "%s", info->devices[index].name);
    return LAB_OK;
}

int lab_choose_device(const char *device, const char *precision, struct lab_device_choice *out)
{
    memset(out, 0, sizeof *out);
    struct ts_runtime_info info;
    int rc = ts_lazy_require(); /* a broken install, not a bug: exit 3 */
    if (rc)
        return rc;
    if (ts_runtime_info_get(&info) != TS_OK)
        return lab_err(LAB_EINTERNAL, NULL, "cannot query libtorch: %s", ts_last_error());
    if ((rc = parse_device(device, &info, out)))
        return rc;
    int on_gpu = out->device != TS_CPU;
    const struct ts_device_info *gpu = on_gpu ? &info.devices[out->device] : NULL;
    int native = on_gpu ? gpu->cc_major >= 8 : lab_cpu_has_native_bf16(NULL);
    if (strcmp(precision, "auto") == 0) {
        out->bf16 = native;
        if (on_gpu)
            snprintf(out->reason, sizeof out->reason, "compute capability %d.%d %s 8.0", gpu->cc_major,
                     gpu->cc_minor, native ? ">=" : "<");
        else
            snprintf(out->reason, sizeof out->reason, "the CPU %s native bf16 (avx512_bf16/amx_bf16)",
                     native ? "has" : "lacks");
    } else if (strcmp(precision, "bf16") == 0) {
        out->bf16 = 1;
        snprintf(out->reason, sizeof out->reason, "asked for with --precision bf16%s",
                 native ? "" : "; this device emulates bf16, expect it to be slow");
    } else if (strcmp(precision, "fp32") == 0) {
        out->bf16 = 0;
        snprintf(out->reason, sizeof out->reason, "asked for with --precision fp32");
    } else {
        return lab_err(LAB_EUSAGE, "use --precision auto, bf16 or fp32", "unknown precision '%s'", precision);
    }
    snprintf(out->precision, sizeof out->precision, "%s", out->bf16 ? "bf16" : "fp32");
    return LAB_OK;
}

/* Debian 12's libtorch 1.13 starts with one intra-op thread on this
 * project's 2-vCPU machine (its default core count reads 1 there): a CPU
 * run then trains on one core of two (lab 2.2.5's quick mode at 140
 * images/s instead of 250, docs/perf.md). */
int lab_use_all_cpus(struct lab_device_choice *dc)
{
    struct ts_runtime_info info;
    if (ts_runtime_info_get(&info) != TS_OK)
        return lab_err(LAB_EINTERNAL, NULL, "cannot query libtorch: %s", ts_last_error());
    dc->threads = info.num_threads;
    if (getenv("OMP_NUM_THREADS"))
        return LAB_OK;
    cpu_set_t set;
    long cpus = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : sysconf(_SC_NPROCESSORS_ONLN);
    if (cpus <= info.num_threads)
        return LAB_OK;
    if (ts_set_num_threads((int)cpus) != TS_OK)
        return lab_err(LAB_EINTERNAL, NULL, "cannot set libtorch's threads: %s", ts_last_error());
    dc->threads = (int)cpus;
    return LAB_OK;
}
