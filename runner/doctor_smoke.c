/* The --full smoke test as a doctor check. The test itself lives behind
 * doctor_smoke_run (doctor_smoke.h); this file holds its weak default. */
#include "runner/doctor_smoke.h"

#include "runner/doctor.h"
#include "runner/doctor_gpu.h"

#include <stdio.h>
#include <string.h>

__attribute__((weak)) int doctor_smoke_run(const char *device, double *ms, char *msg, size_t cap)
{
    (void)device;
    *ms = 0;
    snprintf(msg, cap, "skip: shim ops not available in this build");
    return 1;
}

static void check_smoke(const struct doctor_ctx *ctx, struct doctor_result *r)
{
    if (!ctx->full) {
        doctor_set(r, DOCTOR_SKIP, NULL, NULL, "run with --full for the convolution smoke test");
        return;
    }
    struct doctor_nvml n;
    doctor_nvml_probe(ctx, &n);
    const char *device = n.lib_found && n.init_rc == 0 && n.count > 0 ? "cuda" : "cpu";
    double ms = 0;
    char msg[1024] = "";
    int rc = doctor_smoke_run(device, &ms, msg, sizeof msg);
    if (rc == 0)
        doctor_set(r, DOCTOR_PASS, NULL, NULL, "conv forward+backward under bf16 autocast on %s: %.1f ms%s%s", device, ms,
                   msg[0] ? "; " : "", msg);
    else if (rc > 0)
        doctor_set(r, DOCTOR_SKIP, NULL, NULL, "%s", msg);
    else
        doctor_set(r, DOCTOR_FAIL, strstr(msg, "out of memory") ? "TS-CUDA-OOM" : "TS-DRIVER-CUDA-MISMATCH",
                   strstr(msg, "out of memory") ? "free GPU memory (`nvidia-smi` shows who holds it) and run again"
                                                 : "fix the GPU findings above, then run `lab doctor --full` again",
                   "smoke test on %s failed: %s", device, msg);
}

const struct doctor_check doctor_smoke_checks[] = {
    {"smoke.conv", "smoke", "conv forward+backward under bf16 autocast (--full)", check_smoke, 60000,
     "TS-CUDA-OOM TS-DRIVER-CUDA-MISMATCH"},
    {NULL, NULL, NULL, NULL, 0, NULL},
};
