/* Between the batch driver (batch.c), the grading child (batch_child.c) and
 * the reading of what a child sent back (batch_result.c). */
#ifndef GRADER_BATCH_INTERNAL_H
#define GRADER_BATCH_INTERNAL_H

#include "grader/batch.h"
#include "grader/batch_input.h"
#include "grader/gradebook.h"
#include "grader/sandbox.h"

/* The child's exit status when grade_submission made no report at all; it
 * sent {"error": message}. */
#define BATCH_EXIT_GRADER_ERROR 71

/* Caps on what a child may send back for one submission. */
#define BATCH_MAX_PLOTS 16
#define BATCH_MAX_PLOT_BYTES (1u << 20)
#define BATCH_MAX_PLOTS_TOTAL (4u << 20)
#define BATCH_MAX_MODELS 16
#define BATCH_MAX_OUTPUT (32u << 20)

struct batch_job {
    const struct batch_opts *opts;
    const struct batch_item *item;
    char sha256[65];
    char workdir[4096];
    struct sandbox_child *child;
};

/* The child's body (sandbox_body): checks or unpacks the submission, sends
 * {"hello": {"student"}} as soon as submission.json is read, grades, then
 * sends {"report", "artifacts", "plots"} on one line. */
int batch_child_main(void *job, const char *workdir, int out_fd);

/* What the parent makes of a finished child. */
struct batch_result {
    struct grade_report *report; /* always set on success */
    struct gb_artifact *artifacts;
    size_t n_artifacts;
    struct gb_plot *plots;
    size_t n_plots;
};

/* Turns the child's outcome into a report: the child's own when it sent a
 * valid one, else a crash / timeout / oom report saying why. LAB_EINTERNAL
 * only when out of memory. */
int batch_result_from_outcome(const struct batch_job *job, const struct sandbox_outcome *o,
                              struct batch_result *out);
void batch_result_clear(struct batch_result *r);

/* A report with one check, for what never reached (or never finished)
 * grading: status, the check's id and status, why, and the KB entry. */
struct grade_report *batch_synth_report(const char *lab, const char *student, const char *grader_version,
                                        enum grade_status status, const char *check_id, enum check_status cs,
                                        const char *kb, const char *detail);

/* Records one submission's result in the gradebook (one transaction) and
 * counts it in the summary: the one way a batch, local or on a cluster,
 * writes a row. */
int batch_record(gradebook *gb, const struct batch_opts *o, const char *input_root, const struct batch_item *it,
                 const char *sha256, struct batch_result *res, struct batch_summary *s, struct gb_outcome *oc);
int batch_summary_add_problem(struct batch_summary *s, const char *source, const char *student, const char *status,
                              const char *detail);
/* "graded", "not_gradable", "crash", "timeout", "oom": by enum grade_status. */
extern const char *const batch_status_names[5];

/* The limits of every grading child of a batch with options `o`
 * (private_net left false: the caller probes it). */
void batch_sandbox_limits(const struct batch_opts *o, struct sandbox_limits *lim);

/* Removes a directory tree, making its directories writable first. */
void batch_rm_tree(const char *dir);

#endif
