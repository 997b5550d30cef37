/* The doctor's core: the check registry, the crash-guarded runner, and the
 * helpers every check group shares. */
#include "doctor/doctor.h"

#include "base/env.h"
#include "base/fsutil.h"
#include "base/host.h"
#include "shim/lazy.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DOCTOR_DEFAULT_TIMEOUT_MS 3000

static const struct doctor_check *const groups[] = {
    doctor_system_checks, doctor_gpu_checks, doctor_container_checks, doctor_cache_checks,
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

static void child_main(const struct doctor_ctx *ctx, const struct doctor_check *c, int fd)
{
    /* A fault in a check must end its process with the signal itself, so the
     * parent can name it; handlers inherited from the parent (a sanitizer's,
     * say) would turn it into a plain exit, slowly. */
    static const int fatal[] = {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL};
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++)
        signal(fatal[i], SIG_DFL);
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
    c->fn(ctx, &r);
    r.duration_ms = now_ms() - t0;
    const char *p = (const char *)&r;
    size_t left = sizeof r;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        p += w;
        left -= (size_t)w;
    }
    close(fd);
    /* _exit: the child must not run the parent's atexit handlers or
     * libtorch's static destructors. */
    _exit(0);
}

struct slot {
    pid_t pid;
    int fd;
    size_t got;
    double start, deadline;
    int done;
};

static void finish(struct slot *s, struct doctor_result *r, const struct doctor_check *c, int timed_out)
{
    int status = 0;
    if (timed_out) {
        kill(s->pid, SIGKILL);
    }
    while (waitpid(s->pid, &status, 0) < 0 && errno == EINTR)
        ;
    close(s->fd);
    s->done = 1;
    double took = now_ms() - s->start;
    if (timed_out) {
        memset(r, 0, sizeof *r);
        char fix[256];
        snprintf(fix, sizeof fix, "run `lab doctor --check %s` again; if it hangs again, report it with `lab doctor --json`",
                 c->id);
        doctor_set(r, DOCTOR_FAIL, "TS-DOCTOR-CRASH", fix, "%s timed out after %.0f ms and was stopped", c->id, took);
    } else if (WIFSIGNALED(status)) {
        memset(r, 0, sizeof *r);
        doctor_set(r, DOCTOR_CRASH, "TS-DOCTOR-CRASH", "report this with the output of `lab doctor --json`; the other checks are unaffected",
                   "%s crashed (signal %d, %s)", c->id, WTERMSIG(status), strsignal(WTERMSIG(status)));
    } else if (s->got != sizeof *r) {
        memset(r, 0, sizeof *r);
        doctor_set(r, DOCTOR_CRASH, "TS-DOCTOR-CRASH", "report this with the output of `lab doctor --json`",
                   "%s exited (status %d) without a result", c->id, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    } else {
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
    struct slot *slots = calloc(n ? n : 1, sizeof *slots);
    if (!slots) {
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
    fflush(NULL); /* the children must not flush the parent's buffers twice */
    for (size_t i = 0; i < n; i++) {
        int p[2];
        memset(&results[i], 0, sizeof results[i]);
        slots[i].done = 1;
        if (pipe2(p, O_CLOEXEC) != 0) {
            doctor_set(&results[i], DOCTOR_CRASH, "", "raise the open-file limit (ulimit -n)", "pipe: %s",
                       strerror(errno));
            continue;
        }
        int timeout = override_ms > 0 ? override_ms : checks[i]->timeout_ms ? checks[i]->timeout_ms
                                                                           : DOCTOR_DEFAULT_TIMEOUT_MS;
        slots[i].start = now_ms();
        slots[i].deadline = slots[i].start + timeout;
        pid_t pid = fork();
        if (pid < 0) {
            close(p[0]);
            close(p[1]);
            doctor_set(&results[i], DOCTOR_CRASH, "", "raise the process limit (ulimit -u)", "fork: %s",
                       strerror(errno));
            continue;
        }
        if (pid == 0) {
            close(p[0]);
            child_main(ctx, checks[i], p[1]);
        }
        close(p[1]);
        slots[i].pid = pid;
        slots[i].fd = p[0];
        slots[i].done = 0;
    }
    struct pollfd *pfd = calloc(n ? n : 1, sizeof *pfd);
    size_t *idx = calloc(n ? n : 1, sizeof *idx);
    for (;;) {
        size_t m = 0;
        double t = now_ms(), next = -1;
        for (size_t i = 0; i < n; i++) {
            if (slots[i].done)
                continue;
            if (t >= slots[i].deadline) {
                finish(&slots[i], &results[i], checks[i], 1);
                continue;
            }
            if (next < 0 || slots[i].deadline < next)
                next = slots[i].deadline;
            if (pfd && idx) {
                pfd[m].fd = slots[i].fd;
                pfd[m].events = POLLIN;
                idx[m++] = i;
            }
        }
        if (m == 0)
            break;
        int wait = (int)(next - t) + 1;
        int rc = poll(pfd, m, wait);
        if (rc < 0 && errno != EINTR)
            break;
        for (size_t k = 0; rc > 0 && k < m; k++) {
            if (!(pfd[k].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            size_t i = idx[k];
            char *dst = (char *)&results[i] + slots[i].got;
            ssize_t got = read(slots[i].fd, dst, sizeof results[i] - slots[i].got);
            if (got > 0)
                slots[i].got += (size_t)got;
            if (got <= 0 || slots[i].got == sizeof results[i])
                finish(&slots[i], &results[i], checks[i], 0);
        }
    }
    for (size_t i = 0; i < n; i++)
        if (!slots[i].done)
            finish(&slots[i], &results[i], checks[i], 1);
    free(pfd);
    free(idx);
    free(slots);
}
