/* The gradebook of a course: one sqlite file (default ./gradebook.sqlite)
 * written by `lab grade --batch`, read by `lab grades`.
 *
 * Tables: students, labs, submissions (content sha256, source file, received
 * and graded times, grader version, status, score, late penalty, the whole
 * report), check_results (one row per check), artifacts (hashes of model and
 * predictions files, for `lab grades duplicates`) and plots (the student's
 * PNGs, for feedback pages).
 *
 * Journaled: WAL, synchronous=NORMAL, and each submission is recorded in its
 * own transaction, so a batch killed at any point keeps every submission it
 * finished and rerunning it does only what is left. A submission is known by
 * (lab, content sha256, grader version, source file): the same key is never
 * graded twice unless a regrade replaces it. */
#ifndef GRADER_GRADEBOOK_H
#define GRADER_GRADEBOOK_H

#include "grader/grade.h"
#include "grader/lms_names.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct gradebook gradebook;

extern const char *const gradebook_migrations[]; /* migration i: user_version i -> i+1 */
int gradebook_schema_version(void);

/* Opens (creating when absent, when `create`) and migrates. Locked, damaged
 * or newer-schema files are LAB_EENV naming the file and TS-GRADEBOOK; their
 * rows are never touched. Without `create` a missing file is LAB_EUSAGE. */
int gradebook_open(const char *path, bool create, gradebook **out);
void gradebook_close(gradebook *g); /* NULL is a no-op */
sqlite3 *gradebook_db(gradebook *g);
const char *gradebook_path(const gradebook *g);
/* An sqlite failure as a lab_err with the file and TS-GRADEBOOK. */
int gradebook_error(gradebook *g, int sqlite_rc, const char *doing);

/* *found is 1 when (lab, sha256, grader_version, source) is recorded. */
int gradebook_has(gradebook *g, const char *lab, const char *sha256, const char *grader_version, const char *source,
                  int *found);

/* What is still open about a recorded submission, for a batch run that
 * skips it: its status and detail when it was not graded, its id issue.
 * Empty strings when there is nothing; *found 0 when it is not recorded. */
struct gb_open_problems {
    char status[16], student[256], detail[1024], id_issue[1024];
};
int gradebook_open_problems(gradebook *g, const char *lab, const char *sha256, const char *grader_version,
                            const char *source, struct gb_open_problems *out, int *found);

struct gb_artifact {
    const char *kind;  /* "model" or "predictions" */
    const char *model; /* the models/<name>/ directory */
    const char *sha256;
    const char *weights_sha256; /* equal tensors in any order under any names; NULL when unreadable */
};

struct gb_plot {
    const char *name; /* file name under plots/ */
    const void *png;
    size_t len;
};

struct gb_submission {
    const char *lab;
    const char *input;  /* the batch input it came from (absolute path) */
    const char *source; /* its path inside that input */
    const char *sha256;
    const char *received, *graded; /* ISO 8601 UTC */
    const char *grader_version;
    const struct lms_name *lms; /* NULL when the source has no LMS name */
    const struct grade_report *report;
    int late_days;
    double late_penalty; /* percent taken off the score */
    const struct gb_artifact *artifacts;
    size_t n_artifacts;
    const struct gb_plot *plots;
    size_t n_plots;
};

struct gb_outcome {
    int64_t id;
    char student[160];  /* "" when none could be found */
    char id_issue[512]; /* "" when the student id is clear */
    double final_score;
};

/* Records one graded submission in one transaction: resolves the student
 * (submission.json's id, else the one the LMS name gives), flags missing and
 * conflicting ids (on every row involved), replaces an earlier row with the
 * same key (a regrade) and writes its checks, artifacts and plots. */
int gradebook_record(gradebook *g, const struct gb_submission *s, struct gb_outcome *out);

/* The score after a late penalty (none for anything but a graded status). */
double gradebook_final_score(const struct grade_report *r, double late_penalty);

#endif
