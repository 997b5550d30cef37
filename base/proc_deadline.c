#include "base/proc_deadline.h"

#include "base/error.h"
#include "base/progress.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

struct lab_child {
    pid_t pid;
    int pidfd; /* readable when the child ends (-1 where the kernel has no pidfd) */
    int fd;    /* read end of the result pipe; -1 at EOF */
    char *buf;
    size_t len, cap, max_output;
    double start, deadline;
    int exited; /* the child itself has ended (not yet reaped) */
    enum lab_child_end how;
    int killed; /* we killed it: how says why */
};

/* Between fork and fn: nothing of the parent's signal handling (Ctrl-C
 * saves and stops; a sanitizer's handlers would turn a fault into a slow
 * plain exit) and no life beyond the parent's. */
static void child_setup(pid_t parent)
{
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(70); /* the parent died before the line above */
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    for (int s = 1; s < NSIG; s++)
        if (s != SIGKILL && s != SIGSTOP)
            sigaction(s, &dfl, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

int lab_child_start(const struct lab_child_opts *o, lab_child_fn fn, void *arg, struct lab_child **out)
{
    *out = NULL;
    struct lab_child *c = calloc(1, sizeof *c);
    if (!c)
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) {
        int e = errno;
        free(c);
        return lab_err(LAB_EENV, "raise the open-file limit (ulimit -n)", "cannot create a pipe for a child process: %s",
                       strerror(e));
    }
    fflush(NULL); /* the child must not flush the parent's buffers a second time */
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(p[0]), close(p[1]), free(c);
        return lab_err(LAB_EENV, "raise the process limit (ulimit -u)", "cannot start a child process: %s",
                       strerror(e));
    }
    if (pid == 0) {
        close(p[0]);
        child_setup(parent);
        _exit(fn(arg, p[1]));
    }
    close(p[1]);
    setpgid(pid, pid); /* also here, so a kill right after fork reaches the group */
    fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
    c->pid = pid;
    c->pidfd = pidfd_open(pid, 0);
    if (c->pidfd >= 0)
        fcntl(c->pidfd, F_SETFD, FD_CLOEXEC);
    c->fd = p[0];
    c->max_output = o && o->max_output ? o->max_output : (64u << 20);
    c->start = lab_monotonic_s();
    c->deadline = c->start + (o && o->timeout_s > 0 ? o->timeout_s : 1e9);
    *out = c;
    return LAB_OK;
}

static void kill_group(struct lab_child *c, enum lab_child_end why)
{
    if (!c->killed) {
        c->killed = 1;
        c->how = why;
    }
    kill(-c->pid, SIGKILL);
    kill(c->pid, SIGKILL);
}

/* Reads what is available; closes at EOF. */
static void drain(struct lab_child *c)
{
    while (c->fd >= 0) {
        if (c->cap - c->len < 65536) {
            size_t ncap = c->cap ? c->cap * 2 : 65536 * 2;
            char *nb = realloc(c->buf, ncap + 1);
            if (!nb) {
                kill_group(c, LAB_CHILD_TOO_MUCH_OUTPUT);
                close(c->fd), c->fd = -1;
                return;
            }
            c->buf = nb, c->cap = ncap;
        }
        ssize_t n = read(c->fd, c->buf + c->len, c->cap - c->len);
        if (n > 0) {
            c->len += (size_t)n;
            if (c->len > c->max_output) {
                kill_group(c, LAB_CHILD_TOO_MUCH_OUTPUT);
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
static int has_exited(struct lab_child *c)
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
static int settle(struct lab_child *c, double now)
{
    if (c->fd >= 0)
        drain(c);
    if (!c->killed && now >= c->deadline && !(has_exited(c) && c->fd < 0))
        kill_group(c, LAB_CHILD_TIMED_OUT);
    if (has_exited(c)) {
        /* Anything the child left behind in its group goes too, and a pipe
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

int lab_child_wait_any(struct lab_child *const *kids, size_t n, double wait_s, size_t *which)
{
    double until = lab_monotonic_s() + (wait_s > 0 ? wait_s : 0);
    struct pollfd pfd[512];
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
            if (kids[i]->fd >= 0 && np < 512)
                pfd[np++] = (struct pollfd){.fd = kids[i]->fd, .events = POLLIN};
            /* The pipe's EOF comes a moment before the child is waitable:
             * its pidfd wakes us then, not a timer. */
            if (kids[i]->pidfd >= 0 && !kids[i]->exited && np < 512)
                pfd[np++] = (struct pollfd){.fd = kids[i]->pidfd, .events = POLLIN};
            else if ((kids[i]->pidfd < 0 || np >= 512) && next > now + 0.005)
                next = now + 0.005; /* nothing to wake us: look again soon */
        }
        if (now >= until)
            return 0;
        double wait = next - now;
        if (wait > 0.25)
            wait = 0.25;
        int ms = wait > 0 ? (int)(wait * 1000) + 1 : 0;
        if (poll(pfd, np, ms) < 0 && errno != EINTR)
            return 0;
    }
}

void lab_child_collect(struct lab_child *c, struct lab_child_outcome *out)
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
        out->how = LAB_CHILD_SIGNALED;
        out->code = WTERMSIG(status);
    } else {
        out->how = LAB_CHILD_EXITED;
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

void lab_child_outcome_clear(struct lab_child_outcome *o)
{
    if (!o)
        return;
    free(o->output);
    memset(o, 0, sizeof *o);
}

void lab_child_abort(struct lab_child *c)
{
    if (!c)
        return;
    kill_group(c, LAB_CHILD_SIGNALED);
    struct lab_child_outcome o;
    lab_child_collect(c, &o);
    lab_child_outcome_clear(&o);
}
