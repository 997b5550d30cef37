/* Starting the engine for `lab run`: its stdout is ours, its stderr passes
 * through lab (kept for diagnosis), Ctrl-C and SIGTERM become
 * `<engine> stop` of the named container (the lab inside saves a checkpoint
 * and exits 130), a second one `<engine> kill`. The lab's exit code comes
 * back as lab's own. */
#include "containers/engine.h"

#include "base/error.h"
#include "base/fsutil.h"
#include "base/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Seconds the lab inside gets to save its checkpoint before the engine
 * kills it. */
#define STOP_GRACE_S "30"

static volatile sig_atomic_t signals_seen;

static void on_signal(int sig)
{
    (void)sig;
    signals_seen++;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* `<engine> stop|kill <name>` in the background, quiet. */
static pid_t spawn_helper(const struct lab_container_spec *s, int kill_it)
{
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
            dup2(null, 2);
        }
        if (kill_it)
            execl(s->program, s->program, "kill", s->name, (char *)NULL);
        else
            execl(s->program, s->program, "stop", "-t", STOP_GRACE_S, s->name, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static void keep_tail(char *tail, size_t cap, const char *data, size_t n)
{
    if (!tail || cap < 2)
        return;
    size_t len = strlen(tail);
    if (n >= cap - 1) {
        memcpy(tail, data + n - (cap - 1), cap - 1);
        tail[cap - 1] = '\0';
        return;
    }
    if (len + n >= cap) {
        size_t drop = len + n - (cap - 1);
        memmove(tail, tail + drop, len - drop);
        len -= drop;
    }
    memcpy(tail + len, data, n);
    tail[len + n] = '\0';
}

int lab_engine_exec(const struct lab_container_spec *s, const struct lab_argv *cmd, int *exit_code, int *signals,
                    char *tail, size_t tail_cap)
{
    if (tail && tail_cap)
        tail[0] = '\0';
    int pe[2];
    if (pipe2(pe, O_CLOEXEC) != 0)
        return lab_err(LAB_EINTERNAL, NULL, "cannot create a pipe: %s", strerror(errno));
    struct sigaction sa = {.sa_handler = on_signal}, old_int, old_term;
    sigemptyset(&sa.sa_mask);
    signals_seen = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
        dup2(pe[1], 2);
        execv(cmd->v[0], cmd->v);
        dprintf(2, "cannot run %s: %s\n", cmd->v[0], strerror(errno));
        _exit(127);
    }
    close(pe[1]);
    if (pid < 0) {
        close(pe[0]);
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
        return lab_err(LAB_EINTERNAL, NULL, "cannot fork: %s", strerror(errno));
    }
    /* The engine may not have created the container yet when the signal
     * comes: a failed stop is retried every second until one works. */
    int open_pipe = 1, done = 0, status = 0, stopped = 0, killing = 0;
    pid_t stopper = 0, killer = 0;
    double last_try = 0;
    while (!done) {
        if (open_pipe) {
            struct pollfd p = {pe[0], POLLIN, 0};
            if (poll(&p, 1, 200) > 0) {
                char chunk[4096];
                ssize_t got = read(pe[0], chunk, sizeof chunk);
                if (got > 0) {
                    (void)lab_write_full(2, chunk, (size_t)got);
                    keep_tail(tail, tail_cap, chunk, (size_t)got);
                } else if (got == 0 || errno != EINTR) {
                    open_pipe = 0;
                }
            }
        } else {
            usleep(50 * 1000);
        }
        int hs = 0;
        if (stopper > 0 && waitpid(stopper, &hs, WNOHANG) == stopper) {
            stopper = 0;
            stopped |= WIFEXITED(hs) && WEXITSTATUS(hs) == 0;
        }
        if (killer > 0 && waitpid(killer, NULL, WNOHANG) == killer)
            killer = 0;
        if (signals_seen >= 1 && !stopped && stopper == 0 && (last_try == 0 || now_s() - last_try > 1.0)) {
            if (last_try == 0)
                fprintf(stderr, "lab: stopping container %s (the lab saves a checkpoint; Ctrl-C again to kill)\n",
                        s->name);
            stopper = spawn_helper(s, 0);
            last_try = now_s();
        }
        if (signals_seen >= 2 && !killing) {
            fprintf(stderr, "lab: killing container %s\n", s->name);
            killer = spawn_helper(s, 1);
            killing = 1;
        }
        pid_t w = waitpid(pid, &status, WNOHANG);
        done = w == pid || (w < 0 && errno != EINTR);
    }
    /* What is left in the pipe (a grandchild may still hold it: don't wait). */
    int flags = fcntl(pe[0], F_GETFL);
    fcntl(pe[0], F_SETFL, flags | O_NONBLOCK);
    for (char chunk[4096];;) {
        ssize_t got = read(pe[0], chunk, sizeof chunk);
        if (got <= 0)
            break;
        (void)lab_write_full(2, chunk, (size_t)got);
        keep_tail(tail, tail_cap, chunk, (size_t)got);
    }
    close(pe[0]);
    pid_t helpers[2] = {stopper, killer};
    for (int i = 0; i < 2; i++)
        while (helpers[i] > 0 && waitpid(helpers[i], NULL, 0) < 0 && errno == EINTR)
            ;
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    *signals = (int)signals_seen;
    *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return LAB_OK;
}

static lab_kb_matcher kb_matcher;

void lab_engine_set_kb_matcher(lab_kb_matcher match)
{
    kb_matcher = match;
}

const char *lab_engine_classify(const char *text)
{
    if (!text || !*text || !kb_matcher)
        return NULL;
    const char *ids[16];
    size_t n = kb_matcher(text, ids, 16);
    for (size_t i = 0; i < n; i++)
        if (strncmp(ids[i], "TS-ENGINE-", 10) == 0 || strncmp(ids[i], "TS-CONTAINER-", 13) == 0)
            return ids[i];
    return NULL;
}

int lab_engine_status_for_exit(enum lab_engine e, int code, const char *tail)
{
    static const int statuses[] = {LAB_OK, LAB_EFAIL, LAB_EUSAGE, LAB_EENV, LAB_EINTERNAL};
    if (code >= 0 && code <= 4) {
        lab_err_clear(); /* the lab inside printed its own message */
        return statuses[code];
    }
    if (code == 130) {
        lab_err_clear();
        return LAB_EINTERRUPTED;
    }
    char last[512];
    lab_last_line(tail, last, sizeof last);
    if (code >= 125 && code <= 127) {
        const char *kb = lab_engine_classify(tail);
        char fix[256];
        if (kb)
            snprintf(fix, sizeof fix, "`lab explain %s` says what to do", kb);
        else
            snprintf(fix, sizeof fix, "read the %s message above; `lab doctor` checks the engine",
                     lab_engine_name(e));
        return lab_err(LAB_EENV, fix, "%s could not run the container (exit %d)%s%s", lab_engine_name(e), code,
                       last[0] ? ": " : "", last);
    }
    if (code == 137)
        return lab_err(LAB_EINTERNAL,
                       "if nobody stopped it, the container ran out of memory: try a smaller --batch-size "
                       "(`lab explain TS-MEMORY-GROWTH`)",
                       "the container was killed (exit 137)");
    return lab_err(LAB_EINTERNAL, "read the output above", "the lab in the container exited with code %d", code);
}
