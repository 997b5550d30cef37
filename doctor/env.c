/* Environment variables that quietly break or slow down runs. */
#include "doctor/doctor.h"

#include "base/env.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check_cuda_visible(const struct doctor_ctx *ctx, struct doctor_result *r)
{
    (void)ctx;
    const char *v = getenv("CUDA_VISIBLE_DEVICES");
    if (!v) {
        doctor_set(r, DOCTOR_PASS, NULL, NULL, "CUDA_VISIBLE_DEVICES is not set (every GPU visible)");
        return;
    }
    const char *p = v;
    while (*p == ' ')
        p++;
    if (!*p || strncmp(p, "-1", 2) == 0)
        doctor_set(r, DOCTOR_FAIL, "TS-ENV-CUDA-VISIBLE", "`unset CUDA_VISIBLE_DEVICES` (or set it to a GPU index, e.g. 0)",
                   "CUDA_VISIBLE_DEVICES='%s' hides every GPU: CUDA reports no device", v);
    else
        doctor_set(r, DOCTOR_PASS, NULL, NULL, "CUDA_VISIBLE_DEVICES=%s (only these GPUs are visible)", v);
}

static void check_launch_blocking(const struct doctor_ctx *ctx, struct doctor_result *r)
{
    (void)ctx;
    const char *v = getenv("CUDA_LAUNCH_BLOCKING");
    if (v && lab_env_truthy(v) == 1)
        doctor_set(r, DOCTOR_WARN, "TS-ENV-LAUNCH-BLOCKING", "`unset CUDA_LAUNCH_BLOCKING` once you are done debugging",
                   "CUDA_LAUNCH_BLOCKING=%s makes every GPU kernel synchronous: training runs several times slower", v);
    else
        doctor_set(r, DOCTOR_PASS, NULL, NULL, "CUDA_LAUNCH_BLOCKING=%s", v ? v : "(unset)");
}

/* The options libtorch's caching allocator understands. */
static int known_alloc_key(const char *key, size_t len)
{
    static const char *const keys[] = {"max_split_size_mb", "roundup_power2_divisions",
                                       "garbage_collection_threshold", "expandable_segments", "backend",
                                       "release_lock_on_cudamalloc", "pinned_use_cuda_host_register",
                                       "pinned_num_register_threads"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strlen(keys[i]) == len && strncmp(keys[i], key, len) == 0)
            return 1;
    return 0;
}

static void check_alloc_conf(const struct doctor_ctx *ctx, struct doctor_result *r)
{
    (void)ctx;
    const char *v = getenv("PYTORCH_CUDA_ALLOC_CONF");
    if (!v) {
        doctor_set(r, DOCTOR_PASS, NULL, NULL, "PYTORCH_CUDA_ALLOC_CONF is not set (default allocator)");
        return;
    }
    char bad[128] = "";
    for (const char *p = v; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *colon = memchr(p, ':', len);
        if (!colon || !known_alloc_key(p, (size_t)(colon - p))) {
            snprintf(bad, sizeof bad, "%.*s", (int)len, p);
            break;
        }
        p = end ? end + 1 : p + len;
    }
    if (bad[0])
        doctor_set(r, DOCTOR_WARN, "TS-CUDA-OOM",
                   "use key:value pairs separated by commas, e.g. `PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True`, "
                   "or unset it",
                   "PYTORCH_CUDA_ALLOC_CONF='%s': '%s' is not a key:value the CUDA allocator knows; libtorch may "
                   "refuse to start CUDA",
                   v, bad);
    else
        doctor_set(r, DOCTOR_PASS, NULL, NULL,
                   "PYTORCH_CUDA_ALLOC_CONF='%s' tunes the CUDA caching allocator (e.g. expandable_segments reduces "
                   "fragmentation; max_split_size_mb limits block splitting)",
                   v);
}

static void check_profiler(const struct doctor_ctx *ctx, struct doctor_result *r)
{
    (void)ctx;
    extern char **environ;
    char found[512] = "";
    for (char **e = environ; e && *e; e++) {
        int hit = strncmp(*e, "CUDA_INJECTION64_PATH=", 22) == 0 || strncmp(*e, "NSYS_", 5) == 0 ||
                  strncmp(*e, "NV_COMPUTE_PROFILER", 19) == 0;
        if (strncmp(*e, "LD_PRELOAD=", 11) == 0)
            hit = strstr(*e, "nsys") || strstr(*e, "cupti") || strstr(*e, "ncu") || strstr(*e, "nvperf") ||
                  strstr(*e, "ToolsInjection") || strstr(*e, "libnvtx");
        if (hit) {
            size_t len = strlen(found);
            const char *eq = strchr(*e, '=');
            snprintf(found + len, sizeof found - len, "%s%.*s", len ? ", " : "", (int)(eq ? eq - *e : 40), *e);
        }
    }
    if (found[0])
        doctor_set(r, DOCTOR_WARN, "TS-ENV-PROFILER",
                   "unset them outside a profiling session (`unset CUDA_INJECTION64_PATH LD_PRELOAD` and the NSYS_* ones)",
                   "profiler injection variables set (%s): every CUDA call is intercepted and runs slower", found);
    else
        doctor_set(r, DOCTOR_PASS, NULL, NULL, "no profiler injection variables");
}

const struct doctor_check doctor_env_checks[] = {
    {"env.cuda_visible_devices", "env", "CUDA_VISIBLE_DEVICES not empty or -1", check_cuda_visible, 0,
     "TS-ENV-CUDA-VISIBLE"},
    {"env.cuda_launch_blocking", "env", "CUDA_LAUNCH_BLOCKING not 1", check_launch_blocking, 0,
     "TS-ENV-LAUNCH-BLOCKING"},
    {"env.alloc_conf", "env", "PYTORCH_CUDA_ALLOC_CONF shown and understood", check_alloc_conf, 0, "TS-CUDA-OOM"},
    {"env.profiler", "env", "no profiler injection (CUDA_INJECTION64_PATH, NSYS_*, LD_PRELOAD)", check_profiler, 0,
     "TS-ENV-PROFILER"},
    {NULL, NULL, NULL, NULL, 0, NULL},
};
