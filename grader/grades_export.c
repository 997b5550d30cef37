/* `lab grades export`: CSV (RFC 4180) or JSON, one row per student and lab. */
#include "grader/grades.h"

#include "base/error.h"
#include "base/jsonio.h"
#include "base/utf8.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A field as CSV. Text a student chose (ids, file names) that a
 * spreadsheet would run as a formula gets a leading quote mark. */
static void csv_field(FILE *out, const char *raw, int first)
{
    if (!first)
        fputc(',', out);
    if (!raw)
        return;
    char *esc = lab_utf8_escape(raw); /* the same text as the JSON export */
    const char *s = esc ? esc : raw;
    int formula = strchr("=+-@\t\r", s[0]) != NULL && s[0];
    int quote = formula || strpbrk(s, ",\"\r\n") != NULL;
    if (quote)
        fputc('"', out);
    if (formula)
        fputc('\'', out);
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            fputc('"', out);
        fputc(*p, out);
    }
    if (quote)
        fputc('"', out);
    free(esc);
}

static void csv_number(FILE *out, double v)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%.4f", isfinite(v) ? v : 0.0);
    char *e = buf + strlen(buf) - 1; /* 7.5000 -> 7.5, 8.0000 -> 8 */
    while (*e == '0')
        *e-- = 0;
    if (*e == '.')
        *e = 0;
    fprintf(out, ",%s", buf);
}

static json_t *str_or_null(const char *s) { return s ? lab_json_text(s) : json_null(); }

int grades_export(gradebook *g, const char *lab, enum grades_format fmt, FILE *out, FILE *warn)
{
    struct grades_rows r;
    int rc = grades_latest(g, lab, &r);
    if (rc)
        return rc;
    if (fmt == GRADES_CSV) {
        fputs("student,lab,score,max_score,status,late_penalty,graded_at,grader_version,raw_score,late_days,name,lms,"
              "lms_user,source,id_issue\r\n",
              out);
        for (size_t i = 0; i < r.n + r.n_flagged; i++) {
            const struct grades_row *w = i < r.n ? &r.rows[i] : &r.flagged[i - r.n];
            csv_field(out, w->student, 1);
            csv_field(out, w->lab, 0);
            csv_number(out, w->score);
            csv_number(out, w->max_score);
            csv_field(out, w->status, 0);
            csv_number(out, w->late_penalty);
            csv_field(out, w->graded, 0);
            csv_field(out, w->grader_version, 0);
            csv_number(out, w->raw_score);
            fprintf(out, ",%d", w->late_days);
            csv_field(out, w->name, 0);
            csv_field(out, w->lms, 0);
            csv_field(out, w->lms_user, 0);
            csv_field(out, w->source, 0);
            csv_field(out, w->id_issue, 0);
            fputs("\r\n", out);
        }
    } else {
        json_t *arr = json_array();
        for (size_t i = 0; arr && i < r.n + r.n_flagged; i++) {
            const struct grades_row *w = i < r.n ? &r.rows[i] : &r.flagged[i - r.n];
            json_array_append_new(
                arr, json_pack("{s:o, s:o, s:f, s:f, s:s, s:f, s:o, s:o, s:f, s:i, s:o, s:o, s:o, s:o, s:o}", "student",
                               lab_json_text(w->student), "lab", lab_json_text(w->lab), "score", w->score, "max_score", w->max_score, "status",
                               w->status, "late_penalty", w->late_penalty, "graded_at", lab_json_text(w->graded),
                               "grader_version", lab_json_text(w->grader_version), "raw_score", w->raw_score, "late_days", w->late_days, "name",
                               str_or_null(w->name), "lms", str_or_null(w->lms), "lms_user", str_or_null(w->lms_user),
                               "source", lab_json_text(w->source), "id_issue", str_or_null(w->id_issue)));
        }
        char *text = arr ? json_dumps(arr, JSON_INDENT(2)) : NULL;
        json_decref(arr);
        if (!text) {
            grades_rows_free(&r);
            return lab_err(LAB_EINTERNAL, NULL, "out of memory");
        }
        fprintf(out, "%s\n", text);
        free(text);
    }
    grades_warn_left_out(&r, warn);
    grades_rows_free(&r);
    if (fflush(out) != 0 || ferror(out))
        return lab_err(LAB_EENV, "check free disk space", "writing the export failed");
    return LAB_OK;
}
