/* One way to run code in a forked child with a wall-clock deadline, shared
 * by the doctor's checks and the grading sandbox: a check that hangs or a
 * submission that loops is killed, and neither can take lab down with it.
 *
 * The child is forked without exec (no second libtorch start-up). Before it
 * runs the function it leads its own process group, dies with the parent
 * (PR_SET_PDEATHSIG) and restores default signal handling. The function
 * writes its result to a pipe; the parent reads it, and kills the whole
 * process group at the deadline or when the result grows too large. */
#ifndef LAB_PROC_DEADLINE_H
#define LAB_PROC_DEADLINE_H

#include <stddef.h>

struct lab_child_opts {
    double timeout_s;  /* wall clock; <= 0: no deadline */
    size_t max_output; /* bytes read from the result pipe before the child is killed; 0: 64 MiB */
};

/* Runs in the child: writes its result to `out_fd` and returns the child's
 * exit status (the child then _exits: no atexit handlers, no destructors). */
typedef int (*lab_child_fn)(void *arg, int out_fd);

struct lab_child;

/* Forks a child running fn(arg, fd). */
int lab_child_start(const struct lab_child_opts *o, lab_child_fn fn, void *arg, struct lab_child **out);

/* Waits at most `wait_s` seconds for one of the children (NULL entries are
 * skipped) to end or pass its deadline, which kills it. Returns 1 and its
 * index in *which when one has ended, 0 when none has yet. */
int lab_child_wait_any(struct lab_child *const *kids, size_t n, double wait_s, size_t *which);

enum lab_child_end { LAB_CHILD_EXITED, LAB_CHILD_SIGNALED, LAB_CHILD_TIMED_OUT, LAB_CHILD_TOO_MUCH_OUTPUT };

struct lab_child_outcome {
    enum lab_child_end how;
    int code;     /* exit status (EXITED) or signal number (SIGNALED; SIGKILL when we killed it) */
    char *output; /* what the child wrote to its pipe, NUL-terminated (owned) */
    size_t len;
    double wall_s;
    long max_rss_kib;
};

/* Collects a child that lab_child_wait_any reported ended, and frees it. */
void lab_child_collect(struct lab_child *c, struct lab_child_outcome *out);
void lab_child_outcome_clear(struct lab_child_outcome *o);

/* Kills a running child's process group and reaps it. */
void lab_child_abort(struct lab_child *c);

#endif
