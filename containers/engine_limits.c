/* The ulimits of the course's `docker run` (memlock unlimited, 64 MiB
 * stack), fitted to what the host allows.
 *
 * The OCI runtime applies a container's rlimits with setrlimit. Under podman
 * (rootful or rootless) and rootless docker it runs with the caller's own
 * privileges: without CAP_SYS_RESOURCE it cannot raise a hard limit, and the
 * container fails to start ("error setting rlimit type 8: operation not
 * permitted"). Rather than fail, lab asks for the most the host allows and
 * says so. A root docker daemon sets the limits itself: lab asks as is. */
#include "containers/engine.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define STACK_WANT (64LL << 20) /* 67108864, NVIDIA's recommendation */
/* podman 4 asks for nofile and nproc of 1048576 as soon as any --ulimit is
 * given (the containers.conf defaults are then ignored) ... */
#define PODMAN_DEFAULT_MAX 1048576LL
/* ... and lowers its own RLIMIT_NPROC to 32768 at start (seen with strace,
 * podman 4.3), so its runtime cannot set more than that. */
#define PODMAN_NPROC_CAP 32768LL

static long long from_rlim(rlim_t v)
{
    return v == RLIM_INFINITY ? LAB_RLIM_UNLIMITED : (long long)v;
}

/* Whether setrlimit(res, want, want) works, tried in a child so this
 * process keeps its limits. */
static int can_set(int res, long long want)
{
    pid_t pid = fork();
    if (pid < 0)
        return 0;
    if (pid == 0) {
        rlim_t v = want == LAB_RLIM_UNLIMITED ? RLIM_INFINITY : (rlim_t)want;
        struct rlimit r = {v, v};
        _exit(setrlimit(res, &r) == 0 ? 0 : 1);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void probe_one(int res, long long want, struct lab_host_limit *out)
{
    struct rlimit r;
    if (getrlimit(res, &r) != 0) {
        out->soft = out->hard = LAB_RLIM_UNLIMITED;
        out->can_set = 1;
        return;
    }
    out->soft = from_rlim(r.rlim_cur);
    out->hard = from_rlim(r.rlim_max);
    out->can_set = can_set(res, want);
}

void lab_limits_probe(struct lab_host_limits *h)
{
    probe_one(RLIMIT_MEMLOCK, LAB_RLIM_UNLIMITED, &h->memlock);
    probe_one(RLIMIT_STACK, STACK_WANT, &h->stack);
    probe_one(RLIMIT_NOFILE, PODMAN_DEFAULT_MAX, &h->nofile);
    probe_one(RLIMIT_NPROC, PODMAN_DEFAULT_MAX, &h->nproc);
}

static long long lesser(long long a, long long b)
{
    if (a == LAB_RLIM_UNLIMITED)
        return b;
    if (b == LAB_RLIM_UNLIMITED)
        return a;
    return a < b ? a : b;
}

static void describe(long long v, char *out, size_t cap)
{
    if (v == LAB_RLIM_UNLIMITED)
        snprintf(out, cap, "unlimited");
    else if (v >= (1LL << 20) && v % (1LL << 20) == 0)
        snprintf(out, cap, "%lld MiB", v >> 20);
    else
        snprintf(out, cap, "%lld", v);
}

static void add(struct lab_ulimit *out, size_t cap, size_t *n, const char *name, long long soft, long long hard)
{
    if (*n >= cap)
        return;
    snprintf(out[*n].name, sizeof out[*n].name, "%s", name);
    out[*n].soft = soft;
    out[*n].hard = hard;
    (*n)++;
}

static void warn_line(char *warn, size_t cap, const char *fmt, const char *name, long long want, long long got)
{
    if (!warn || !cap)
        return;
    char w[32], g[32];
    describe(want, w, sizeof w);
    describe(got, g, sizeof g);
    size_t len = strlen(warn);
    snprintf(warn + len, cap - len, fmt, name, w, g);
}

#define LOWERED \
    "--ulimit %s: this host does not let lab raise the limit to %s (no CAP_SYS_RESOURCE, or a rootless " \
    "engine); the container gets %s instead (see `lab explain TS-ENGINE-LIMITS`)\n"

size_t lab_limits_plan(enum lab_engine engine, int runtime_as_caller, const struct lab_host_limits *h,
                       struct lab_ulimit *out, size_t cap, char *warn, size_t warn_cap)
{
    size_t n = 0;
    if (warn && warn_cap)
        warn[0] = '\0';
    long long memlock = LAB_RLIM_UNLIMITED, stack = STACK_WANT;
    if (runtime_as_caller && !h->memlock.can_set && h->memlock.hard != LAB_RLIM_UNLIMITED) {
        memlock = h->memlock.hard;
        warn_line(warn, warn_cap, LOWERED, "memlock", LAB_RLIM_UNLIMITED, memlock);
    }
    if (runtime_as_caller && !h->stack.can_set) {
        stack = lesser(STACK_WANT, h->stack.hard);
        warn_line(warn, warn_cap, LOWERED, "stack", STACK_WANT, stack);
    }
    add(out, cap, &n, "memlock", memlock, memlock);
    add(out, cap, &n, "stack", stack, stack);
    if (engine == LAB_ENGINE_PODMAN && runtime_as_caller) {
        /* Pinned only where podman's own defaults would be refused: the
         * container then keeps the limits this process has. */
        if (!h->nofile.can_set)
            add(out, cap, &n, "nofile", lesser(h->nofile.hard, PODMAN_DEFAULT_MAX),
                lesser(h->nofile.hard, PODMAN_DEFAULT_MAX));
        if (!h->nproc.can_set) {
            long long v = lesser(lesser(h->nproc.hard, PODMAN_DEFAULT_MAX), PODMAN_NPROC_CAP);
            add(out, cap, &n, "nproc", v, v);
        }
    }
    return n;
}
