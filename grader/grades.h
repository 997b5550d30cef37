/* Reading the gradebook for instructors: `lab grades export|feedback|
 * duplicates`. Each student counts with the latest submission per lab
 * (by received time). Rows whose student id is missing are left out and
 * listed; rows in an id conflict are all kept, flagged (exports carry them
 * with their id_issue, never as the student's grade), never attributed. */
#ifndef GRADER_GRADES_H
#define GRADER_GRADES_H

#include "grader/gradebook.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct grades_row {
    int64_t id;
    char *student, *lab, *status, *status_detail, *graded, *received, *grader_version, *source;
    char *name, *lms, *lms_user, *id_issue;
    double score, raw_score, max_score, late_penalty;
    int late_days;
};

struct grades_rows {
    struct grades_row *rows; /* ordered by lab, then student */
    size_t n;
    struct grades_row *left_out; /* no student id */
    size_t n_left_out;
    /* every row whose student id is in conflict (two files or two LMS users
     * for one id): all of them, the claimed and the claiming, none hidden */
    struct grades_row *flagged;
    size_t n_flagged;
};

/* `lab` NULL for every lab. */
int grades_latest(gradebook *g, const char *lab, struct grades_rows *out);
void grades_rows_free(struct grades_rows *r);
/* Says on `warn` which rows were left out and why (nothing when none). */
void grades_warn_left_out(const struct grades_rows *r, FILE *warn);

enum grades_format { GRADES_CSV, GRADES_JSON };

/* One row per student and lab, ready for an LMS upload. */
int grades_export(gradebook *g, const char *lab, enum grades_format fmt, FILE *out, FILE *warn);

/* <out_dir>/index.html (class summary with a score histogram and per-check
 * failure rates) and one <student>.html per student; all self-contained.
 * *pages gets the number of student pages. */
int grades_feedback(gradebook *g, const char *lab, const char *out_dir, FILE *warn, size_t *pages);

/* Students whose model or predictions files are byte-identical, or whose
 * weights are equal in different files. */
int grades_duplicates(gradebook *g, const char *lab, bool json, FILE *out, size_t *groups);

/* A file name for a student's page: the id when it is plain, else a
 * cleaned id with a hash suffix so two ids never share a page. */
void grades_page_name(const char *student, char *buf, size_t cap);

#endif
