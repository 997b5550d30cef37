#include "grader/sandbox.h"

#include "base/error.h"
#include "base/progress.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

struct sandbox_child {
    pid_t pid;
    int pidfd; /* readable when the child ends (-1 where the kernel has no pidfd) */
    int fd;    /* read end of the result pipe; -1 at EOF */
    char *buf;
    size_t len, cap, max_output;
    double start, deadline;
    int exited; /* the child itself has ended (not yet reaped) */
    enum sandbox_end how;
    int killed; /* we killed it: how says why */
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
    ssize_t n = write(fd, text, strlen(text));
    close(fd);
    return n == (ssize_t)strlen(text) ? 0 : -1;
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

/* Everything between fork and the job; failures end the child with 70 (an
 * error of the sandbox itself, reported as a crash). */
static void child_setup(const struct sandbox_limits *lim, const char *workdir, int out_fd, pid_t parent)
{
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(70); /* the parent died before the line above */
    /* The parent's handlers (Ctrl-C saves and stops) are not the job's. */
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    for (int s = 1; s < NSIG; s++)
        if (s != SIGKILL && s != SIGSTOP)
            sigaction(s, &dfl, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);

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

int sandbox_start(const struct sandbox_limits *lim, const char *workdir, sandbox_body body, void *arg,
                  struct sandbox_child **out)
{
    *out = NULL;
    struct sandbox_child *c = calloc(1, sizeof *c);
    if (!c)
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) {
        free(c);
        return lab_err(LAB_EENV, "raise the open-file limit (ulimit -n) or lower --jobs",
                       "cannot create a pipe for a grading child: %s", strerror(errno));
    }
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(p[0]), close(p[1]), free(c);
        return lab_err(LAB_EENV, "lower --jobs, or raise the process limit (ulimit -u)",
                       "cannot start a grading child: %s", strerror(e));
    }
    if (pid == 0) {
        close(p[0]);
        child_setup(lim, workdir, p[1], parent);
        int code = body(arg, workdir, 3);
        _exit(code); /* no atexit handlers, no libtorch destructors, no stdio of the parent's */
    }
    close(p[1]);
    setpgid(pid, pid); /* also here, so a kill right after fork reaches the group */
    fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
    c->pid = pid;
    c->pidfd = pidfd_open(pid, 0);
    if (c->pidfd >= 0)
        fcntl(c->pidfd, F_SETFD, FD_CLOEXEC);
    c->fd = p[0];
    c->max_output = lim->max_output ? lim->max_output : (64u << 20);
    c->start = lab_monotonic_s();
    c->deadline = c->start + (lim->timeout_s > 0 ? lim->timeout_s : 1e9);
    *out = c;
    return LAB_OK;
}

static void kill_group(struct sandbox_child *c, enum sandbox_end why)
{
    if (!c->killed) {
        c->killed = 1;
        c->how = why;
    }
    kill(-c->pid, SIGKILL);
    kill(c->pid, SIGKILL);
}

/* Reads what is available; closes at EOF. */
static void drain(struct sandbox_child *c)
{
    while (c->fd >= 0) {
        if (c->cap - c->len < 65536) {
            size_t ncap = c->cap ? c->cap * 2 : 65536 * 2;
            char *nb = realloc(c->buf, ncap + 1);
            if (!nb) {
                kill_group(c, SANDBOX_TOO_MUCH_OUTPUT);
                close(c->fd), c->fd = -1;
                return;
            }
            c->buf = nb, c->cap = ncap;
        }
        ssize_t n = read(c->fd, c->buf + c->len, c->cap - c->len);
        if (n > 0) {
            c->len += (size_t)n;
            if (c->len > c->max_output) {
                kill_group(c, SANDBOX_TOO_MUCH_OUTPUT);
                close(c->fd), c->fd = -1;
            }
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        close(c->fd), c->fd = -1; /* EOF or error */
    }
}

/* Has the child process itself ended? (Not reaped yet: its pid, which is
 * also the process group id, cannot be reused before we kill the group.) */
static int has_exited(struct sandbox_child *c)
{
    if (c->exited)
        return 1;
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (waitid(P_PID, (id_t)c->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == c->pid)
        c->exited = 1;
    return c->exited;
}

/* 1 when c is finished: exited and its pipe drained, or killed. */
static int settle(struct sandbox_child *c, double now)
{
    if (c->fd >= 0)
        drain(c);
    if (!c->killed && now >= c->deadline && !(has_exited(c) && c->fd < 0))
        kill_group(c, SANDBOX_TIMED_OUT);
    if (has_exited(c)) {
        /* Anything the job left behind in its group goes too, and a pipe
         * still held open by it can no longer keep us waiting. */
        kill(-c->pid, SIGKILL);
        if (c->fd >= 0)
            drain(c);
        if (c->fd >= 0 && (c->killed || now >= c->deadline))
            close(c->fd), c->fd = -1;
        return c->fd < 0 || c->killed;
    }
    return 0;
}

int sandbox_wait_any(struct sandbox_child *const *kids, size_t n, double wait_s, size_t *which)
{
    double until = lab_monotonic_s() + (wait_s > 0 ? wait_s : 0);
    struct pollfd pfd[256];
    size_t map[256];
    for (;;) {
        double now = lab_monotonic_s();
        double next = until;
        size_t np = 0;
        for (size_t i = 0; i < n; i++) {
            if (!kids[i])
                continue;
            if (settle(kids[i], now)) {
                *which = i;
                return 1;
            }
            if (kids[i]->deadline < next)
                next = kids[i]->deadline;
            if (kids[i]->fd >= 0 && np < 255) {
                pfd[np] = (struct pollfd){.fd = kids[i]->fd, .events = POLLIN};
                map[np++] = i;
            }
            /* The pipe's EOF comes a moment before the child is waitable:
             * its pidfd wakes us then, not a timer. */
            if (kids[i]->pidfd >= 0 && !kids[i]->exited && np < 255) {
                pfd[np] = (struct pollfd){.fd = kids[i]->pidfd, .events = POLLIN};
                map[np++] = i;
            } else if (kids[i]->pidfd < 0 && next > now + 0.005) {
                next = now + 0.005; /* no pidfd: look again soon */
            }
        }
        if (now >= until)
            return 0;
        double wait = next - now;
        if (wait > 0.25)
            wait = 0.25;
        int ms = wait > 0 ? (int)(wait * 1000) + 1 : 0;
        if (poll(pfd, np, ms) < 0 && errno != EINTR)
            return 0;
        (void)map;
    }
}

void sandbox_collect(struct sandbox_child *c, struct sandbox_outcome *out)
{
    memset(out, 0, sizeof *out);
    if (!c)
        return;
    if (c->fd >= 0)
        close(c->fd);
    if (c->pidfd >= 0)
        close(c->pidfd);
    kill(-c->pid, SIGKILL); /* the pid is still ours: not reaped yet */
    int status = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    while (wait4(c->pid, &status, 0, &ru) < 0 && errno == EINTR)
        ;
    out->wall_s = lab_monotonic_s() - c->start;
    out->max_rss_kib = ru.ru_maxrss;
    if (c->killed) {
        out->how = c->how;
        out->code = SIGKILL;
    } else if (WIFSIGNALED(status)) {
        out->how = SANDBOX_SIGNALED;
        out->code = WTERMSIG(status);
    } else {
        out->how = SANDBOX_EXITED;
        out->code = WIFEXITED(status) ? WEXITSTATUS(status) : 70;
    }
    if (!c->buf)
        c->buf = malloc(1);
    if (c->buf)
        c->buf[c->len] = 0;
    out->output = c->buf;
    out->len = c->buf ? c->len : 0;
    free(c);
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
    kill_group(c, SANDBOX_SIGNALED);
    struct sandbox_outcome o;
    sandbox_collect(c, &o);
    sandbox_outcome_clear(&o);
}

bool sandbox_can_isolate_network(void)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return false;
    if (pid == 0)
        _exit(enter_private_net() == 0 ? 0 : 1);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}
