/* `lab grade --batch`: every submission of a folder or LMS bulk download,
 * each graded by grade_submission in its own sandboxed child process
 * (grader/sandbox.h), recorded in the gradebook (grader/gradebook.h) one
 * transaction per submission. Nothing a submission does can stop the batch:
 * a crash, a timeout or running out of memory is recorded as such, earns no
 * points, and the next submission goes on. */
#ifndef GRADER_BATCH_H
#define GRADER_BATCH_H

#include "base/progress.h"
#include "datasets/unpack.h"
#include "grader/grade.h"

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

typedef int (*batch_grade_fn)(const char *path, const struct grade_opts *opts, struct grade_report **out);

struct batch_opts {
    const char *input;   /* folder or bulk-download archive */
    const char *lab;     /* the lab every submission must be */
    const char *db_path; /* the gradebook */
    int jobs;            /* children at once */
    double timeout_s;    /* wall clock per submission */
    uint64_t mem_mb;     /* address-space limit per child */
    bool reeval, regrade;
    const char *device, *data_dir;
    bool has_due;
    time_t due;
    double late_pct_per_day;
    const char *grader_version; /* part of the gradebook key */
    batch_grade_fn grade;       /* grade_submission; tests swap it */
    struct ds_unpack_limits limits;
    FILE *progress_out;
    enum lab_progress_mode progress_mode;
    volatile sig_atomic_t *stop; /* set (by a signal handler) to stop early; may be NULL */
};

/* Defaults: jobs = online CPUs, timeout 600 s, 4096 MB, the per-submission
 * unpack limits, progress on stderr. input, lab, grade, grader_version unset. */
void batch_opts_defaults(struct batch_opts *o);

struct batch_problem {
    char *source, *student, *status, *detail;
};

struct batch_summary {
    size_t total;     /* submissions found */
    size_t done;      /* recorded or skipped */
    size_t skipped;   /* already in the gradebook for this grader version */
    size_t counts[5]; /* recorded, by enum grade_status */
    size_t still_not_graded; /* skipped, and not graded when they were recorded */
    size_t id_issues;
    double elapsed_s;
    bool network_isolated;
    bool interrupted;
    char *gradebook;
    struct batch_problem *problems; /* not graded, or student id unclear */
    size_t n_problems;
    char **ignored;
    size_t n_ignored;
};

int batch_run(const struct batch_opts *o, struct batch_summary *s);
void batch_summary_free(struct batch_summary *s);
json_t *batch_summary_to_json(const struct batch_summary *s);
void batch_summary_print(const struct batch_summary *s, FILE *out);

/* Days late (0 when on time or no due date) for a submission received at
 * `received`; a Canvas late marker means at least one day, its absence on
 * a Canvas name means on time. */
int batch_late_days(const struct batch_opts *o, time_t received, int lms_kind, bool lms_late);

/* Parses --due: YYYY-MM-DD (the end of that day, local time),
 * YYYY-MM-DDTHH:MM[:SS] (local) or with Z / +HH:MM / -HH:MM. */
int batch_parse_due(const char *text, time_t *out);
/* Parses --late-penalty: "10", "10%", "10/day", "10%/day" (0..100). */
int batch_parse_penalty(const char *text, double *pct);

#endif
