/* Grading one submission: the contract between `lab grade`, `lab run`'s
 * self-check and the batch grader (which runs grade_submission in a child
 * process and moves the report to the parent as JSON).
 */
#ifndef LAB_GRADE_H
#define LAB_GRADE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum check_status {
    CHECK_PASS,
    CHECK_FAIL,
    CHECK_ERROR,
    CHECK_TIMEOUT,
    CHECK_SKIPPED,
    CHECK_NOT_GRADABLE,
};

/* Overall outcome of one submission. The batch grader adds the last three
 * for children that never produced a report. */
enum grade_status {
    GRADE_GRADED,       /* every check ran; score is meaningful */
    GRADE_NOT_GRADABLE, /* unreadable, wrong lab, missing manifest: score 0 */
    GRADE_CRASH,
    GRADE_TIMEOUT,
    GRADE_OOM,
};

struct check_result {
    char *id;      /* stable, e.g. "norm.config" */
    char *name;    /* one line for humans */
    enum check_status status;
    double points, max_points; /* points is 0 unless status is CHECK_PASS */
    char *message; /* evidence: expected vs found */
    char *kb;      /* troubleshooting id (TS-...) or NULL when passing */
};

struct grade_report {
    char *lab, *student;
    enum grade_status status;
    char *status_detail; /* why not gradable / which signal; NULL when graded */
    double score, max_score;
    struct check_result *checks;
    size_t n_checks;
    json_t *fingerprint; /* submission.json's environment block (owned), or NULL */
    char *grader_version;
};

struct grade_opts {
    const char *lab;      /* expected lab id, or NULL to take the submission's */
    bool reeval;          /* re-run the submitted weights */
    const char *device;   /* "auto", "cpu", "cuda", "cuda:N" */
    const char *data_dir; /* where the held-back labels/data live, or NULL for the cache */
    double check_timeout_s; /* > 0: every check's time budget; 0: the rubric's own budgets */
};

/* Grades a submission directory or archive. Returns 0 with *out set whenever a
 * report exists (also for not-gradable submissions: status says so); a negative
 * LAB_E* only when no report could be made at all (out of memory). */
int grade_submission(const char *path, const struct grade_opts *opts, struct grade_report **out);
void grade_report_free(struct grade_report *r);

/* The checks that need no submission.json or manifest, on a fresh run
 * directory (`lab run`'s self-check); integrity.manifest/checksums and the
 * re-evaluation are left out. Same contract as grade_submission. */
int grade_run_dir(const char *dir, const struct grade_opts *opts, struct grade_report **out);

/* LAB_OK when every check passed or was skipped, LAB_EFAIL when one failed,
 * errored or timed out, LAB_EENV when the submission is not gradable (and
 * for the batch grader's crash/timeout/oom). */
int grade_exit_status(const struct grade_report *r);

/* The whole max_score of the lab's rubric (one model, no re-evaluation):
 * what a report that earned nothing (not gradable, crash, timeout) is out
 * of. 0 when the lab has no rubric. */
double grade_max_score(const char *lab);

const char *check_status_name(enum check_status s);
const char *grade_status_name(enum grade_status s);

/* JSON form (the `--format json` document); from_json is its inverse and
 * rejects anything malformed with LAB_EUSAGE naming the field. */
json_t *grade_report_to_json(const struct grade_report *r);
int grade_report_from_json(const json_t *j, struct grade_report **out);

#endif
