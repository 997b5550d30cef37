/* The --full smoke test as a doctor check. The test itself lives behind
 * doctor_smoke_run (doctor_smoke.h), written with the shim's ops. */
#include "doctor/smoke.h"

#include "base/progress.h"
#include "doctor/doctor.h"
#include "doctor/gpu.h"
#include "shim/torchshim.h"

#include <stdio.h>
#include <string.h>

/* A 3x3 convolution of a [8, 16, 64, 64] batch, forward and backward under
 * bf16 autocast, run in the check's own child process. */
int doctor_smoke_run(const char *device, double *ms, char *msg, size_t cap)
{
    ts_device dev = strcmp(device, "cpu") == 0 ? TS_CPU : TS_CUDA(0);
    int64_t xs[4] = {8, 16, 64, 64}, ws[4] = {32, 16, 3, 3}, one[2] = {1, 1}, pad[2] = {1, 1};
    ts_tensor *x = NULL, *w = NULL, *y = NULL, *loss = NULL, *g = NULL;
    int token = 0, rc = ts_scope_begin();
    double t0 = lab_monotonic_s();
    if (!rc)
        rc = ts_randn(&x, 4, xs, TS_F32, dev);
    if (!rc)
        rc = ts_randn(&w, 4, ws, TS_F32, dev);
    if (!rc)
        rc = ts_set_requires_grad(w, 1);
    if (!rc)
        rc = ts_autocast_push(dev, TS_BF16, &token);
    if (!rc) {
        rc = ts_conv2d(&y, x, w, NULL, one, pad, one, 1);
        ts_autocast_pop(token);
    }
    if (!rc)
        rc = ts_mean(&loss, y, TS_ALL, 0);
    if (!rc)
        rc = ts_backward(loss, NULL);
    if (!rc)
        rc = ts_grad(&g, w);
    double sum = 0;
    if (!rc && g)
        rc = ts_item_f64(loss, &sum);
    *ms = (lab_monotonic_s() - t0) * 1000.0;
    if (rc != TS_OK)
        snprintf(msg, cap, "%s%s", rc == TS_EOOM ? "out of memory: " : "", ts_last_error());
    else if (!g)
        snprintf(msg, cap, "the backward pass produced no gradient");
    else
        snprintf(msg, cap, "output dtype %s", ts_dtype_name(ts_dtype(y)));
    ts_scope_end();
    return rc == TS_OK && g ? 0 : -1;
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
