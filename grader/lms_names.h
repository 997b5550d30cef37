/* Student identities in the file names of LMS bulk downloads. Used only when
 * a submission's own submission.json gives no student id; the names are
 * untrusted (a student chooses part of them), so the parser is strict, never
 * guesses, and has a fuzz target (tests/fuzz/fuzz_lms_names.c).
 *
 *   Canvas:  <name>_<userid>_<submissionid>_<file>
 *            <name>_late_<userid>_<submissionid>_<file>     (also LATE)
 *            where <name> is "lastname_firstname" or "lastnamefirstname"
 *   Moodle:  <Full Name>_<id>_assignsubmission_file_        (a folder)
 *            <Full Name>_<id>_assignsubmission_file_<file>  (flat download)
 *            (onlinetext_ instead of file_ for typed-in text)
 */
#ifndef GRADER_LMS_NAMES_H
#define GRADER_LMS_NAMES_H

#include <stdbool.h>
#include <stddef.h>

enum lms_kind { LMS_NONE, LMS_CANVAS, LMS_MOODLE };

#define LMS_ID_MAX 24    /* digits + NUL */
#define LMS_NAME_MAX 128 /* bytes + NUL */

struct lms_name {
    enum lms_kind kind;
    char user_id[LMS_ID_MAX];       /* the LMS's numeric user (Canvas) or participant (Moodle) id */
    char submission_id[LMS_ID_MAX]; /* Canvas only */
    char name[LMS_NAME_MAX];        /* the student's name as the file name spells it */
    size_t file_off;                /* the student's own file name starts here in the input ("" for a Moodle folder) */
    bool late;                      /* Canvas marked the submission late */
    bool onlinetext;                /* Moodle online text, not an uploaded file */
};

/* Parses one path component (no '/'). Returns true and fills *out when the
 * name follows one of the patterns above; false (out->kind == LMS_NONE)
 * otherwise, including when a part is too long to hold. */
bool lms_parse_name(const char *base, struct lms_name *out);

const char *lms_kind_name(enum lms_kind k); /* "canvas", "moodle", "" */

/* "canvas:12345": the student id used when submission.json gives none. */
void lms_student_id(const struct lms_name *n, char *buf, size_t cap);

#endif
