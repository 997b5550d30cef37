/* `lab grade --batch DIR --slurm`: the batch of grader/batch.h on a Slurm
 * cluster. Three roles, one spool (grader/batch_spool.h):
 *
 *   submit   (the submit host) finds the submissions, skips those already in
 *            the gradebook, stages the rest once into the spool, submits one
 *            job array (task t grades the submissions i with i % tasks == t)
 *            and a collect job that depends on it (afterany), then follows
 *            them until the gradebook is complete;
 *   task     (a node, `lab grade --slurm-task SPOOL`) grades its share, each
 *            submission in the batch's sandboxed child, one result file each;
 *   collect  (`lab grade --collect SPOOL`, the collect job or by hand) the
 *            only writer of the gradebook: records every result once, and for
 *            the submissions of array tasks that failed, timed out, ran out
 *            of memory or lost their node, resubmits those tasks (up to
 *            --retries, with a collect job after them) or records that
 *            outcome, never scored.
 *
 * A lock file in the spool keeps two collects from writing at once. */
#ifndef GRADER_BATCH_SLURM_H
#define GRADER_BATCH_SLURM_H

#include "grader/batch.h"

#include <jansson.h>
#include <stdbool.h>

struct batch_slurm_opts {
    const char *spool_parent;     /* where spools are made (shared storage) */
    const char *partition, *gres, *time_limit, *account;
    const char *task_mem;         /* sbatch --mem of each array task, or null */
    int array_parallel;           /* %N: tasks at once, 0 = Slurm decides */
    int tasks;                    /* array size, 0 = one per 10 submissions, at most 1000 */
    int retries;                  /* resubmissions of a failed task */
    int cpus_per_task;
    bool wait;                    /* follow the jobs until the gradebook is complete */
    bool collect_job;             /* a dependent collect job writes the gradebook; false: this process does */
    bool json;                    /* --json: events on stdout */
};

void batch_slurm_opts_defaults(struct batch_slurm_opts *so);

/* submit (and, with so->wait, follow to the end): s is the whole batch's
 * summary once complete. */
int batch_slurm_submit(const struct batch_opts *o, const struct batch_slurm_opts *so, struct batch_summary *s);

/* The array task's body; the task id from SLURM_ARRAY_TASK_ID. */
int batch_slurm_task(const char *spool, batch_grade_fn grade);

/* The collect step. *complete is set when every submission is recorded
 * (s then holds the whole batch). `db` overrides the spool's gradebook. */
int batch_slurm_collect(const char *spool, const char *db, struct batch_summary *s, bool *complete);

/* Between the roles: submits an array over `array_spec` ("0-9%4", "3,7")
 * with the spool's resources, and a collect job after it (afterany) when
 * asked; appends the attempt to meta and saves spool.json. */
int batch_slurm_submit_attempt(json_t *meta, const char *dir, const char *array_spec, json_t *task_list,
                               bool with_collect, char *array_job, char *collect_job, size_t cap);

/* What a final Slurm state of an array task means for a submission it did
 * not grade: status, check id, troubleshooting id. */
struct batch_slurm_fate {
    enum grade_status status;
    const char *check, *kb, *what;
};
struct batch_slurm_fate batch_slurm_fate_of(const char *slurm_state);

#endif
