/* The doctor's report: the human table, the JSON, and the copy kept in the
 * store (table doctor_reports) for submission fingerprints. */
#ifndef LAB_DOCTOR_REPORT_H
#define LAB_DOCTOR_REPORT_H

#include "doctor/doctor.h"
#include "store/store.h"

#include <jansson.h>
#include <stdio.h>

#define DOCTOR_SCHEMA_VERSION 1

struct doctor_tally {
    int pass, warn, fail, skip, crash;
};

void doctor_tally(const struct doctor_result *results, size_t n, struct doctor_tally *t);
/* No failure or crash (and, with strict, no warning). */
int doctor_ok(const struct doctor_tally *t, int strict);
/* "12 passed, 2 warnings, 1 failed, 0 crashed, 3 skipped" */
void doctor_summary(const struct doctor_tally *t, char *buf, size_t cap);

/* {schema_version, ok, summary, checks:[{id, category, status, message,
 * remediation, kb, duration_ms}]}; new reference. */
json_t *doctor_report_json(const struct doctor_check *const *checks, const struct doctor_result *results, size_t n,
                           int strict);

/* The human report grouped by category; `ascii` uses [ok] [warn] [FAIL]
 * [CRASH] [skip] instead of the symbols, `color` adds ANSI colors. */
void doctor_report_print(FILE *out, const struct doctor_check *const *checks, const struct doctor_result *results,
                         size_t n, int strict, int ascii, int color, double total_ms);

/* Keeps the report as the newest row of doctor_reports (older rows beyond
 * the last 20 are dropped). */
int doctor_report_store(lab_store *s, const json_t *report);
/* The summary line of the newest stored report; *found = 0 when none. */
int doctor_report_last(lab_store *s, char *created, size_t created_cap, char *summary, size_t cap, int *ok,
                       int *found);

#endif
