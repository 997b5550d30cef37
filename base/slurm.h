/* Slurm's client programs (sbatch, sacct, scontrol, scancel, sinfo), run
 * as argv lists through base/proc.h, and the parsing of what they print.
 * Shared by the batch grader on a cluster, `lab run --engine slurm` and
 * `lab doctor`. Accounting (sacct) is asked first; where the cluster has
 * none ("accounting storage is disabled") the controller's memory
 * (scontrol show job) answers instead, for MinJobAge seconds after a job
 * ends. */
#ifndef LAB_SLURM_H
#define LAB_SLURM_H

#include "base/argv.h"

#include <stddef.h>

/* 1 when `sbatch` is in PATH (its path in out). */
int lab_slurm_found(char *out, size_t cap);

/* Runs `sbatch --parsable <args...> <script>`; the job id ("123") in
 * jobid. LAB_EENV with sbatch's own words otherwise (lab_slurm_refused).
 * `account` names the account in the message when the script carries it
 * (NULL: taken from args' --account/-A, if any). */
int lab_slurm_submit(const struct lab_argv *args, const char *script, const char *account, char *jobid,
                     size_t cap);

/* Pure: the error for sbatch's refusal (its exit code and what it printed):
 * an unknown account names `account` and how to list one's own
 * (TS-SLURM-ACCOUNT); anything else TS-SLURM-SUBMIT. Returns LAB_EENV. */
int lab_slurm_refused(int exit_code, const char *text, const char *account);

/* The value of --account=X, --account X or -A X in args; NULL when absent. */
const char *lab_slurm_account_arg(const struct lab_argv *args);

/* One array task (or a plain job: task -1) as Slurm last reported it. */
struct lab_slurm_task {
    long task;
    char state[32];    /* PENDING RUNNING COMPLETED FAILED TIMEOUT OUT_OF_MEMORY NODE_FAIL CANCELLED ... */
    int exit_code;     /* the job's exit status, or the signal number for a signal */
    int signaled;
};

/* The most tasks a parse keeps (Slurm's MaxArraySize is at most 4,000,001;
 * a batch uses at most 1,000). */
#define LAB_SLURM_MAX_TASKS 100000

/* The tasks of job `jobid`, pending ranges expanded. *source is "sacct" or
 * "scontrol". A job Slurm no longer knows gives n = 0 and LAB_OK. */
int lab_slurm_tasks(const char *jobid, struct lab_slurm_task **out, size_t *n, const char **source);

/* What accounting (sacct) and the controller (scontrol show job) each say
 * of one job, asked together. acct_on is 0 where the cluster has no
 * accounting (sacct's error); n_acct is 0 where it has no record of the
 * job yet; n_ctl is 0 where the controller no longer (MinJobAge) or never
 * knew it. */
struct lab_slurm_view {
    int asked, acct_on;
    struct lab_slurm_task *acct, *ctl;
    size_t n_acct, n_ctl;
};
int lab_slurm_view_get(const char *jobid, struct lab_slurm_view *v);
void lab_slurm_view_free(struct lab_slurm_view *v); /* back to asked = 0 */

/* slurmdbd hears of a task's start and end seconds after the controller
 * (22.05 here: 3 s and more for a task split off a throttled array), so
 * right after a task ends sacct may have no row for it, or a PENDING or
 * RUNNING one. A task's fate is final only when both agree, or when one
 * of them alone remembers it ended. */
enum lab_slurm_verdict {
    LAB_SLURM_LIVE,   /* queued or running: the controller says so (or accounting does, the controller forgot) */
    LAB_SLURM_ENDED,  /* ended in `state`, as `source` says */
    LAB_SLURM_BEHIND, /* the controller says it ended in `state`; accounting has no such final row yet: ask again */
    LAB_SLURM_LOST,   /* neither knows it (cancelled before it started): state "LOST", source "no record" */
};

/* Pure: the fate of `task` in v. state gets the state it ended in (the
 * controller's for BEHIND), "LOST", or the live state; source is "sacct",
 * "scontrol" or "no record". */
enum lab_slurm_verdict lab_slurm_view_task(const struct lab_slurm_view *v, long task, char *state, size_t cap,
                                           const char **source);

/* The fate of `task` of job `jobid`, from v (asked when v->asked is 0).
 * While it is BEHIND, v is asked again every second until *deadline
 * (lab_monotonic_s; set to now + wait_s when it is 0, so one deadline can
 * serve many tasks), and then the controller's final state is taken
 * (source "scontrol"): never LAB_SLURM_BEHIND, never a guess. */
int lab_slurm_task_fate(const char *jobid, struct lab_slurm_view *v, long task, double wait_s, double *deadline,
                        enum lab_slurm_verdict *verdict, char *state, size_t cap, const char **source);

/* Parsers, pure (unit-tested on fixtures):
 *   sacct -X -n -P -o JobID,State,ExitCode -j ID   ("12_3|TIMEOUT|0:15")
 *   scontrol -o show job ID                        (one "Key=Value ..." line per task or range) */
int lab_slurm_parse_sacct(const char *text, const char *jobid, struct lab_slurm_task **out, size_t *n);
int lab_slurm_parse_scontrol(const char *text, const char *jobid, struct lab_slurm_task **out, size_t *n);

/* 1 for a state after which the task will not run again by itself. */
int lab_slurm_state_final(const char *state);

/* 1 when `s` is a size sbatch's --mem takes: a positive whole number of
 * megabytes, or one with a K, M, G or T suffix. */
int lab_slurm_mem_spec_ok(const char *s);

/* `path` with every '%' doubled, for sbatch's --output (where %j, %A,
 * %a ... are replaced); LAB_EUSAGE when it does not fit. */
int lab_slurm_escape_pattern(const char *path, char *out, size_t cap);

/* scancel `jobid` (an array, or "ID_N" for one task). */
int lab_slurm_cancel(const char *jobid);

/* The value of `key` in a "Key=Value Key=Value" line (scontrol -o), or ""
 * when absent. */
void lab_slurm_field(const char *line, const char *key, char *out, size_t cap);

#endif
