/* One child process per untrusted job (the batch grader's submissions).
 *
 * The child is forked without exec (cheap: no second libtorch start-up), and
 * before it runs the job it: leads its own process group; dies with the
 * parent (PR_SET_PDEATHSIG); closes every inherited descriptor but its result
 * pipe; sends stdout to /dev/null and stderr to <workdir>/stderr.txt; works
 * in its private <workdir> (also TMPDIR); sets rlimits (CPU seconds, address
 * space, file size, open files, no core dumps); and, where the kernel lets an
 * unprivileged process, enters new user and network namespaces (no network).
 * The parent reads the result from the pipe and kills the whole process
 * group at the wall-clock deadline or when the result grows too large. */
#ifndef GRADER_SANDBOX_H
#define GRADER_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sandbox_limits {
    double timeout_s;     /* wall clock */
    uint64_t cpu_s;       /* RLIMIT_CPU (SIGXCPU), 0 = unlimited */
    uint64_t mem_bytes;   /* RLIMIT_AS, 0 = unlimited */
    uint64_t fsize_bytes; /* RLIMIT_FSIZE (SIGXFSZ), 0 = unlimited */
    uint64_t nofile;      /* RLIMIT_NOFILE, 0 = unchanged */
    size_t max_output;    /* bytes read from the result pipe before the child is killed */
    bool private_net;     /* enter new user + network namespaces */
};

/* Runs in the child: writes its result to `out_fd` and returns the child's
 * exit status. */
typedef int (*sandbox_body)(void *arg, const char *workdir, int out_fd);

struct sandbox_child;

/* Forks a child running body(arg) in `workdir` (which must exist). */
int sandbox_start(const struct sandbox_limits *lim, const char *workdir, sandbox_body body, void *arg,
                  struct sandbox_child **out);

/* Waits at most `wait_s` seconds for one of the children to end (or to pass
 * its deadline, which kills it). Returns 1 and its index in *which when one
 * has ended, 0 when none has yet. */
int sandbox_wait_any(struct sandbox_child *const *kids, size_t n, double wait_s, size_t *which);

enum sandbox_end { SANDBOX_EXITED, SANDBOX_SIGNALED, SANDBOX_TIMED_OUT, SANDBOX_TOO_MUCH_OUTPUT };

struct sandbox_outcome {
    enum sandbox_end how;
    int code;     /* exit status (EXITED) or signal number (SIGNALED) */
    char *output; /* what the child wrote to its pipe, NUL-terminated (owned) */
    size_t len;
    double wall_s;
    long max_rss_kib;
};

/* Collects a child that sandbox_wait_any reported ended, and frees it. */
void sandbox_collect(struct sandbox_child *c, struct sandbox_outcome *out);
void sandbox_outcome_clear(struct sandbox_outcome *o);

/* Kills a running child's process group and reaps it (batch interrupted). */
void sandbox_abort(struct sandbox_child *c);

/* Forks once to see whether an unprivileged child can enter new user and
 * network namespaces here; false in most containers. */
bool sandbox_can_isolate_network(void);

/* Exit status a body uses when an allocation failed (the job ran out of
 * its memory limit). */
#define SANDBOX_EXIT_OOM 75

#endif
