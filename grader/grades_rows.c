#include "grader/grades.h"

#include "base/error.h"
#include "datasets/hash.h"

#include <stdlib.h>
#include <string.h>

static char *col(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? strdup((const char *)t) : NULL;
}

static void row_free(struct grades_row *r)
{
    free(r->student), free(r->lab), free(r->status), free(r->status_detail), free(r->graded);
    free(r->received), free(r->grader_version), free(r->source), free(r->name), free(r->lms);
    free(r->lms_user), free(r->id_issue);
}

void grades_rows_free(struct grades_rows *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        row_free(&r->rows[i]);
    for (size_t i = 0; i < r->n_left_out; i++)
        row_free(&r->left_out[i]);
    for (size_t i = 0; i < r->n_flagged; i++)
        row_free(&r->flagged[i]);
    free(r->rows), free(r->left_out), free(r->flagged);
    memset(r, 0, sizeof *r);
}

static int push(struct grades_row **arr, size_t *n, const struct grades_row *row)
{
    struct grades_row *na = realloc(*arr, (*n + 1) * sizeof *na);
    if (!na)
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    *arr = na;
    na[(*n)++] = *row;
    return LAB_OK;
}

int grades_latest(gradebook *g, const char *lab, struct grades_rows *out)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(
        gradebook_db(g),
        "SELECT s.id, s.student, s.lab, s.status, s.status_detail, s.graded, s.received, s.grader_version, s.source,"
        " st.name, s.lms, s.lms_user, s.id_issue, s.final_score, s.score,"
        " CASE WHEN s.max_score > 0 THEN s.max_score ELSE coalesce(l.max_score, 0) END, s.late_penalty, s.late_days"
        " FROM submissions s LEFT JOIN labs l ON l.id = s.lab LEFT JOIN students st ON st.id = s.student"
        /* a row in an id conflict is never hidden behind the claim of another */
        " WHERE (?1 IS NULL OR s.lab = ?1) AND (s.student IS NULL OR s.id_issue IS NOT NULL OR s.id = ("
        "  SELECT s2.id FROM submissions s2 WHERE s2.student = s.student AND s2.lab = s.lab AND s2.id_issue IS NULL"
        "  ORDER BY s2.received DESC, s2.graded DESC, s2.id DESC LIMIT 1))"
        " ORDER BY s.lab, s.student IS NULL, s.student, s.source",
        -1, &st, NULL);
    if (rc != SQLITE_OK)
        return gradebook_error(g, rc, "reading grades");
    if (lab)
        sqlite3_bind_text(st, 1, lab, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct grades_row r = {
            .id = sqlite3_column_int64(st, 0),
            .student = col(st, 1),
            .lab = col(st, 2),
            .status = col(st, 3),
            .status_detail = col(st, 4),
            .graded = col(st, 5),
            .received = col(st, 6),
            .grader_version = col(st, 7),
            .source = col(st, 8),
            .name = col(st, 9),
            .lms = col(st, 10),
            .lms_user = col(st, 11),
            .id_issue = col(st, 12),
            .score = sqlite3_column_double(st, 13),
            .raw_score = sqlite3_column_double(st, 14),
            .max_score = sqlite3_column_double(st, 15),
            .late_penalty = sqlite3_column_double(st, 16),
            .late_days = sqlite3_column_int(st, 17),
        };
        int e = !r.student ? push(&out->left_out, &out->n_left_out, &r)
                : r.id_issue ? push(&out->flagged, &out->n_flagged, &r)
                             : push(&out->rows, &out->n, &r);
        if (e) {
            row_free(&r);
            sqlite3_finalize(st);
            grades_rows_free(out);
            return e;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        grades_rows_free(out);
        return gradebook_error(g, rc, "reading grades");
    }
    return LAB_OK;
}

void grades_warn_left_out(const struct grades_rows *r, FILE *warn)
{
    if (!warn)
        return;
    if (r->n_flagged) {
        fprintf(warn, "warning: %zu submission%s in a student id conflict, each listed and flagged, none attributed "
                      "(lab explain TS-STUDENT-ID)\n",
                r->n_flagged, r->n_flagged == 1 ? "" : "s");
        for (size_t i = 0; i < r->n_flagged && i < 20; i++)
            fprintf(warn, "  %s (lab %s, claims %s): %s\n", r->flagged[i].source, r->flagged[i].lab,
                    r->flagged[i].student, r->flagged[i].id_issue);
        if (r->n_flagged > 20)
            fprintf(warn, "  ... and %zu more\n", r->n_flagged - 20);
    }
    if (!r->n_left_out)
        return;
    fprintf(warn, "warning: %zu submission%s left out: no student id (lab explain TS-STUDENT-ID)\n", r->n_left_out,
            r->n_left_out == 1 ? "" : "s");
    for (size_t i = 0; i < r->n_left_out && i < 20; i++)
        fprintf(warn, "  %s (lab %s): %s\n", r->left_out[i].source, r->left_out[i].lab,
                r->left_out[i].id_issue ? r->left_out[i].id_issue : "no student id");
    if (r->n_left_out > 20)
        fprintf(warn, "  ... and %zu more\n", r->n_left_out - 20);
}

void grades_page_name(const char *student, char *buf, size_t cap)
{
    char clean[80];
    size_t k = 0;
    int changed = 0;
    for (const char *p = student; *p && k < sizeof clean - 1; p++) {
        char c = *p;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
            (c == '.' && k > 0))
            clean[k++] = c;
        else
            clean[k++] = '_', changed = 1;
    }
    clean[k] = 0;
    if (strlen(student) >= sizeof clean || k == 0)
        changed = 1;
    if (!changed && strcmp(clean, "index") != 0) { /* index.html is the class page */
        snprintf(buf, cap, "%s.html", clean);
        return;
    }
    char hex[65];
    ds_hash_buffer(student, strlen(student), "sha256", hex, sizeof hex);
    snprintf(buf, cap, "%s-%.8s.html", clean, hex);
}
