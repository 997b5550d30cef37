/* A grade report as people and course platforms read it: human text (one
 * ✓/✗ line per check, the troubleshooting title under each failure), the
 * report's JSON, Gradescope's results.json and PrairieLearn's external
 * grading results. */
#ifndef GRADER_REPORT_FORMAT_H
#define GRADER_REPORT_FORMAT_H

#include "grader/grade.h"

#include <stdio.h>

enum report_format { REPORT_TEXT, REPORT_JSON, REPORT_GRADESCOPE, REPORT_PRAIRIELEARN };

/* "text", "json", "gradescope", "prairielearn"; LAB_EUSAGE listing them. */
int report_format_parse(const char *name, enum report_format *out);

/* The whole document, malloc'd and NUL-terminated, ending with a newline.
 * `ascii`: [ok]/[FAIL] markers instead of ✓/✗ (text only). */
int report_render(const struct grade_report *r, enum report_format f, int ascii, char **out);

/* The check lines alone (text), as `lab run`'s self-check prints them;
 * returns how many checks failed, errored or timed out. */
int report_print_checks(FILE *out, const struct grade_report *r, int ascii, const char *indent);

/* 1 when ✓/✗ can be shown: a UTF-8 locale (setlocale has run). */
int report_utf8_ok(void);

/* Gradescope's and PrairieLearn's documents (new references). */
json_t *report_gradescope_json(const struct grade_report *r);
json_t *report_prairielearn_json(const struct grade_report *r);

#endif
