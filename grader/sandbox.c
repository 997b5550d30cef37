#include "grader/sandbox.h"

#include "base/error.h"
#include "base/fsutil.h"
#include "base/proc_deadline.h"

#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* The base runner's child, and what the sandbox adds: a working directory,
 * limits and isolation. */
struct sandbox_child {
    struct lab_child *child;
};

static void set_limit(int resource, uint64_t value)
{
    if (!value)
        return;
    struct rlimit rl = {.rlim_cur = (rlim_t)value, .rlim_max = (rlim_t)value};
    /* Raising a hard limit is not allowed; keep the lower one then. */
    struct rlimit old;
    if (getrlimit(resource, &old) == 0 && old.rlim_max != RLIM_INFINITY && old.rlim_max < rl.rlim_max)
        rl.rlim_cur = rl.rlim_max = old.rlim_max;
    setrlimit(resource, &rl);
}

static int write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = lab_write_full(fd, text, strlen(text));
    close(fd);
    return rc;
}

/* New user and network namespaces: no interface but a down loopback, so
 * nothing the job does can reach a network. Our own uid and gid are mapped
 * to themselves so files keep their owner. */
static int enter_private_net(void)
{
    uid_t uid = getuid();
    gid_t gid = getgid();
    if (unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0)
        return -1;
    char map[64];
    write_file("/proc/self/setgroups", "deny");
    snprintf(map, sizeof map, "%u %u 1\n", (unsigned)uid, (unsigned)uid);
    write_file("/proc/self/uid_map", map);
    snprintf(map, sizeof map, "%u %u 1\n", (unsigned)gid, (unsigned)gid);
    write_file("/proc/self/gid_map", map);
    return 0;
}

/* Everything between the base runner's set-up and the job; failures end
 * the child with 70 (an error of the sandbox itself, reported as a crash). */
static void child_setup(const struct sandbox_limits *lim, const char *workdir, int out_fd)
{
    if (dup2(out_fd, 3) < 0)
        _exit(70);
    close_range(4, ~0u, 0); /* other children's pipes, the gradebook, ... */
    int devnull = open("/dev/null", O_RDWR);
    char errpath[4200];
    snprintf(errpath, sizeof errpath, "%s/stderr.txt", workdir);
    int err = open(errpath, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600);
    if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0 || dup2(err >= 0 ? err : devnull, 2) < 0)
        _exit(70);
    if (devnull > 3)
        close(devnull);
    if (err > 3)
        close(err);
    if (chdir(workdir) != 0)
        _exit(70);
    setenv("TMPDIR", workdir, 1);

    set_limit(RLIMIT_CORE, 0);
    struct rlimit zero = {0, 0};
    setrlimit(RLIMIT_CORE, &zero);
    set_limit(RLIMIT_CPU, lim->cpu_s);
#ifndef __SANITIZE_ADDRESS__
    set_limit(RLIMIT_AS, lim->mem_bytes); /* ASan reserves terabytes of shadow: no address-space limit there */
#endif
    set_limit(RLIMIT_FSIZE, lim->fsize_bytes);
    set_limit(RLIMIT_NOFILE, lim->nofile);
    if (lim->private_net)
        enter_private_net(); /* the parent probed it; a failure here only loses isolation */
}

struct job {
    const struct sandbox_limits *lim;
    const char *workdir;
    sandbox_body body;
    void *arg;
};

static int run_job(void *arg, int out_fd)
{
    const struct job *j = arg;
    child_setup(j->lim, j->workdir, out_fd);
    return j->body(j->arg, j->workdir, 3);
}

int sandbox_start(const struct sandbox_limits *lim, const char *workdir, sandbox_body body, void *arg,
                  struct sandbox_child **out)
{
    *out = NULL;
    struct sandbox_child *c = calloc(1, sizeof *c);
    if (!c)
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    struct job j = {lim, workdir, body, arg}; /* the child has its own copy after fork */
    struct lab_child_opts o = {.timeout_s = lim->timeout_s, .max_output = lim->max_output};
    int rc = lab_child_start(&o, run_job, &j, &c->child);
    if (rc) {
        free(c);
        return lab_err(rc, "lower --jobs, or raise the process and open-file limits (ulimit -u, ulimit -n)",
                       "cannot start a grading child: %s", lab_err_message());
    }
    *out = c;
    return LAB_OK;
}

int sandbox_wait_any(struct sandbox_child *const *kids, size_t n, double wait_s, size_t *which)
{
    struct lab_child **base = calloc(n ? n : 1, sizeof *base);
    if (!base)
        return 0;
    for (size_t i = 0; i < n; i++)
        base[i] = kids[i] ? kids[i]->child : NULL;
    int done = lab_child_wait_any(base, n, wait_s, which);
    free(base);
    return done;
}

void sandbox_collect(struct sandbox_child *c, struct sandbox_outcome *out)
{
    memset(out, 0, sizeof *out);
    if (!c)
        return;
    struct lab_child_outcome o;
    lab_child_collect(c->child, &o);
    free(c);
    static const enum sandbox_end how[] = {
        [LAB_CHILD_EXITED] = SANDBOX_EXITED,
        [LAB_CHILD_SIGNALED] = SANDBOX_SIGNALED,
        [LAB_CHILD_TIMED_OUT] = SANDBOX_TIMED_OUT,
        [LAB_CHILD_TOO_MUCH_OUTPUT] = SANDBOX_TOO_MUCH_OUTPUT,
    };
    *out = (struct sandbox_outcome){.how = how[o.how], .code = o.code, .output = o.output, .len = o.len,
                                    .wall_s = o.wall_s, .max_rss_kib = o.max_rss_kib};
}

void sandbox_outcome_clear(struct sandbox_outcome *o)
{
    if (!o)
        return;
    free(o->output);
    memset(o, 0, sizeof *o);
}

void sandbox_abort(struct sandbox_child *c)
{
    if (!c)
        return;
    lab_child_abort(c->child);
    free(c);
}

static int probe_private_net(void *arg, int out_fd)
{
    (void)arg, (void)out_fd;
    return enter_private_net() == 0 ? 0 : 1;
}

bool sandbox_can_isolate_network(void)
{
    struct lab_child_opts o = {.timeout_s = 10};
    struct lab_child *c;
    if (lab_child_start(&o, probe_private_net, NULL, &c) != LAB_OK)
        return false;
    size_t which;
    while (!lab_child_wait_any(&c, 1, 10, &which))
        ;
    struct lab_child_outcome out;
    lab_child_collect(c, &out);
    bool ok = out.how == LAB_CHILD_EXITED && out.code == 0;
    lab_child_outcome_clear(&out);
    return ok;
}
