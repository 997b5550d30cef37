/* The doctor's core: the check registry, the crash-guarded runner, and the
 * helpers every check group shares. */
#include "doctor/doctor.h"

#include "base/env.h"
#include "base/error.h"
#include "base/fsutil.h"
#include "base/host.h"
#include "base/proc_deadline.h"
#include "shim/lazy.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DOCTOR_DEFAULT_TIMEOUT_MS 3000

static const struct doctor_check *const groups[] = {
    doctor_system_checks, doctor_blas_checks, doctor_gpu_checks, doctor_container_checks, doctor_cache_checks,
    doctor_network_checks, doctor_env_checks, doctor_slurm_checks, doctor_smoke_checks,
};

const struct doctor_check *doctor_checks(size_t *count)
{
    /* One flat array, built once, so callers index checks in display order. */
    static struct doctor_check all[64];
    static size_t n;
    if (n == 0)
        for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++)
            for (const struct doctor_check *c = groups[g]; c->id && n < sizeof all / sizeof all[0]; c++)
                all[n++] = *c;
    *count = n;
    return all;
}

const struct doctor_check *doctor_check_find(const char *id)
{
    size_t n;
    const struct doctor_check *all = doctor_checks(&n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(all[i].id, id) == 0)
            return &all[i];
    return NULL;
}

const char *doctor_status_name(enum doctor_status s)
{
    static const char *const names[] = {"pass", "warn", "fail", "skip", "crash"};
    return (unsigned)s < 5 ? names[s] : "crash";
}

void doctor_ctx_init(struct doctor_ctx *ctx, int full)
{
    memset(ctx, 0, sizeof *ctx);
    lab_host_root(ctx->root, sizeof ctx->root);
    ctx->full = full;
    ctx->offline = lab_offline(NULL);
}

/* ---- helpers ---- */

void doctor_set(struct doctor_result *r, enum doctor_status s, const char *kb, const char *fix, const char *fmt, ...)
{
    r->status = s;
    snprintf(r->kb, sizeof r->kb, "%s", kb ? kb : "");
    snprintf(r->remediation, sizeof r->remediation, "%s", fix ? fix : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->message, sizeof r->message, fmt, ap);
    va_end(ap);
}

void doctor_append(struct doctor_result *r, const char *fmt, ...)
{
    size_t len = strlen(r->message);
    if (len + 1 >= sizeof r->message)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->message + len, sizeof r->message - len, fmt, ap);
    va_end(ap);
}

const char *doctor_path(const struct doctor_ctx *ctx, const char *abs, char *out, size_t cap)
{
    return lab_host_path(ctx->root, abs, out, cap);
}

char *doctor_read(const struct doctor_ctx *ctx, const char *abs)
{
    return lab_host_read(ctx->root, abs);
}

int doctor_exists(const struct doctor_ctx *ctx, const char *abs)
{
    return lab_host_exists(ctx->root, abs);
}

int doctor_mapped_lib(const struct doctor_ctx *ctx, int (*want)(const char *base), char *path, size_t cap)
{
    char *maps = doctor_read(ctx, "/proc/self/maps");
    int found = 0;
    for (const char *line = maps; line && *line && !found;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        const char *slash = memchr(line, '/', len);
        if (slash) {
            char p[1024];
            snprintf(p, sizeof p, "%.*s", (int)(line + len - slash), slash);
            const char *base = strrchr(p, '/');
            if (base && want(base + 1)) {
                snprintf(path, cap, "%s", p);
                found = 1;
            }
        }
        line = end ? end + 1 : NULL;
    }
    free(maps);
    return found;
}

int doctor_nvidia_pci_present(const struct doctor_ctx *ctx)
{
    return lab_host_nvidia_pci_present(ctx->root);
}

int doctor_field(const char *text, const char *key, char *out, size_t cap)
{
    size_t klen = strlen(key);
    for (const char *line = text; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len >= klen && strncmp(line, key, klen) == 0) {
            const char *v = line + klen;
            const char *stop = line + len;
            while (v < stop && (*v == ' ' || *v == '\t' || *v == ':' || *v == '='))
                v++;
            while (stop > v && (stop[-1] == ' ' || stop[-1] == '\t' || stop[-1] == '\r'))
                stop--;
            if (stop - v >= 2 && *v == '"' && stop[-1] == '"') {
                v++;
                stop--;
            }
            snprintf(out, cap, "%.*s", (int)(stop - v), v);
            return 1;
        }
        line = end ? end + 1 : NULL;
    }
    return 0;
}

int doctor_mount_of(const char *mountinfo, const char *path, char *opts, size_t opts_cap, char *fstype,
                    size_t fs_cap)
{
    size_t best = 0;
    int found = 0;
    for (const char *line = mountinfo; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        char buf[4096];
        if (len < sizeof buf) {
            memcpy(buf, line, len);
            buf[len] = '\0';
            /* id parent maj:min root mountpoint options [optional...] - fstype source superopts */
            char *save = NULL, *f[6] = {0};
            char *tok = strtok_r(buf, " ", &save);
            for (int i = 0; tok && i < 6; i++, tok = strtok_r(NULL, " ", &save))
                f[i] = tok;
            const char *fs = NULL;
            for (; tok; tok = strtok_r(NULL, " ", &save))
                if (strcmp(tok, "-") == 0) {
                    fs = strtok_r(NULL, " ", &save);
                    break;
                }
            if (f[4] && f[5]) {
                size_t mlen = strlen(f[4]);
                int covers = strcmp(f[4], "/") == 0 ||
                             (strncmp(path, f[4], mlen) == 0 && (path[mlen] == '/' || path[mlen] == '\0'));
                if (covers && (mlen >= best || !found)) {
                    best = mlen;
                    found = 1;
                    snprintf(opts, opts_cap, "%s", f[5]);
                    snprintf(fstype, fs_cap, "%s", fs ? fs : "?");
                }
            }
        }
        line = end ? end + 1 : NULL;
    }
    return found ? 0 : -1;
}

int doctor_in_container(const struct doctor_ctx *ctx, char *how, size_t cap)
{
    if (doctor_exists(ctx, "/.dockerenv")) {
        snprintf(how, cap, "docker: /.dockerenv");
        return 1;
    }
    if (doctor_exists(ctx, "/run/.containerenv")) {
        snprintf(how, cap, "podman: /run/.containerenv");
        return 1;
    }
    char *cg = doctor_read(ctx, "/proc/1/cgroup");
    static const char *const marks[] = {"docker", "kubepods", "containerd", "libpod", "lxc"};
    int in = 0;
    for (size_t i = 0; cg && !in && i < sizeof marks / sizeof marks[0]; i++)
        if (strstr(cg, marks[i])) {
            snprintf(how, cap, "%s in /proc/1/cgroup", marks[i]);
            in = 1;
        }
    free(cg);
    if (!in)
        snprintf(how, cap, "no container markers");
    return in;
}

const char *doctor_bytes(uint64_t n, char *buf, size_t cap)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)n;
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    snprintf(buf, cap, u ? "%.1f %s" : "%.0f %s", v, units[u]);
    return buf;
}

/* ---- the crash-guarded runner ---- */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int env_is(const char *var, const char *id)
{
    const char *v = getenv(var);
    return v && strcmp(v, id) == 0;
}

struct check_job {
    const struct doctor_ctx *ctx;
    const struct doctor_check *check;
};

/* In the base runner's child (default signal handlers: a fault ends it with
 * the signal itself, which the parent names). */
static int check_main(void *arg, int fd)
{
    const struct check_job *job = arg;
    const struct doctor_check *c = job->check;
    if (env_is("LAB_DOCTOR_TEST_CRASH", c->id))
        raise(SIGSEGV);
    if (env_is("LAB_DOCTOR_TEST_HANG", c->id))
        for (;;)
            pause();
    struct doctor_result r;
    memset(&r, 0, sizeof r);
    r.status = DOCTOR_CRASH;
    snprintf(r.message, sizeof r.message, "check returned no result");
    double t0 = now_ms();
    c->fn(job->ctx, &r);
    r.duration_ms = now_ms() - t0;
    return lab_write_full(fd, &r, sizeof r) == 0 ? 0 : 1;
}

static void finish(const struct lab_child_outcome *o, struct doctor_result *r, const struct doctor_check *c)
{
    double took = o->wall_s * 1e3;
    if (o->how == LAB_CHILD_TIMED_OUT) {
        memset(r, 0, sizeof *r);
        char fix[256];
        snprintf(fix, sizeof fix, "run `lab doctor --check %s` again; if it hangs again, report it with `lab doctor --json`",
                 c->id);
        doctor_set(r, DOCTOR_FAIL, "TS-DOCTOR-CRASH", fix, "%s timed out after %.0f ms and was stopped", c->id, took);
    } else if (o->how != LAB_CHILD_EXITED) {
        memset(r, 0, sizeof *r);
        doctor_set(r, DOCTOR_CRASH, "TS-DOCTOR-CRASH", "report this with the output of `lab doctor --json`; the other checks are unaffected",
                   "%s crashed (signal %d, %s)", c->id, o->code, strsignal(o->code));
    } else if (o->len != sizeof *r) {
        memset(r, 0, sizeof *r);
        doctor_set(r, DOCTOR_CRASH, "TS-DOCTOR-CRASH", "report this with the output of `lab doctor --json`",
                   "%s exited (status %d) without a result", c->id, o->code);
    } else {
        memcpy(r, o->output, sizeof *r);
        r->message[sizeof r->message - 1] = '\0';
        r->remediation[sizeof r->remediation - 1] = '\0';
        r->kb[sizeof r->kb - 1] = '\0';
        if ((unsigned)r->status > DOCTOR_CRASH)
            r->status = DOCTOR_CRASH;
        return; /* the child timed the check itself, without fork overhead */
    }
    r->duration_ms = took;
}

void doctor_run(const struct doctor_ctx *ctx, const struct doctor_check *const *checks, size_t n,
                struct doctor_result *results)
{
    struct lab_child **kids = calloc(n ? n : 1, sizeof *kids);
    struct check_job *jobs = calloc(n ? n : 1, sizeof *jobs);
    if (!kids || !jobs) {
        free(kids);
        free(jobs);
        for (size_t i = 0; i < n; i++)
            doctor_set(&results[i], DOCTOR_CRASH, "", "free some memory", "out of memory");
        return;
    }
    const char *override = getenv("LAB_DOCTOR_TIMEOUT_MS");
    int override_ms = override ? atoi(override) : 0;
    /* libtorch is loaded on first use; the GPU and smoke checks ask it, so load
     * it once here rather than in each of their children. */
    for (size_t i = 0; i < n; i++)
        if (strcmp(checks[i]->category, "gpu") == 0 || strcmp(checks[i]->category, "smoke") == 0) {
            ts_lazy_load();
            break;
        }
    size_t running = 0;
    for (size_t i = 0; i < n; i++) {
        memset(&results[i], 0, sizeof results[i]);
        int timeout = override_ms > 0 ? override_ms : checks[i]->timeout_ms ? checks[i]->timeout_ms
                                                                           : DOCTOR_DEFAULT_TIMEOUT_MS;
        jobs[i] = (struct check_job){ctx, checks[i]};
        struct lab_child_opts o = {.timeout_s = timeout / 1e3, .max_output = sizeof results[i]};
        if (lab_child_start(&o, check_main, &jobs[i], &kids[i]) != LAB_OK) {
            doctor_set(&results[i], DOCTOR_CRASH, "", lab_err_fix(), "%s", lab_err_message());
            continue;
        }
        running++;
    }
    while (running > 0) {
        size_t i;
        if (!lab_child_wait_any(kids, n, 60, &i))
            continue;
        struct lab_child_outcome o;
        lab_child_collect(kids[i], &o);
        kids[i] = NULL;
        running--;
        finish(&o, &results[i], checks[i]);
        lab_child_outcome_clear(&o);
    }
    free(kids);
    free(jobs);
}
