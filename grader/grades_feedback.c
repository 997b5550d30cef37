/* `lab grades feedback`: a self-contained page per student (their checks,
 * the troubleshooting text of each failure, their plots) and a class page
 * (score histogram, failure rate per check), images inline as base64. */
#include "grader/grades.h"

#include "base/error.h"
#include "base/fsutil.h"
#include "grader/charts.h"
#include "grader/html.h"
#include "grader/kb.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct check_row {
    char *id, *name, *status, *message, *kb;
    double points, max_points;
};

static void checks_free(struct check_row *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(c[i].id), free(c[i].name), free(c[i].status), free(c[i].message), free(c[i].kb);
    free(c);
}

static char *col(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? strdup((const char *)t) : NULL;
}

static int load_checks(gradebook *g, int64_t id, struct check_row **out, size_t *n)
{
    *out = NULL, *n = 0;
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(gradebook_db(g),
                                "SELECT check_id, name, status, message, kb, points, max_points FROM check_results"
                                " WHERE submission = ? ORDER BY seq",
                                -1, &st, NULL);
    if (rc != SQLITE_OK)
        return gradebook_error(g, rc, "reading checks");
    sqlite3_bind_int64(st, 1, id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct check_row *nc = realloc(*out, (*n + 1) * sizeof *nc);
        if (!nc)
            break;
        *out = nc;
        nc[*n] = (struct check_row){col(st, 0), col(st, 1), col(st, 2), col(st, 3), col(st, 4),
                                    sqlite3_column_double(st, 5), sqlite3_column_double(st, 6)};
        (*n)++;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        checks_free(*out, *n);
        *out = NULL, *n = 0;
        return rc == SQLITE_ROW ? lab_err(LAB_EINTERNAL, NULL, "out of memory") : gradebook_error(g, rc, "reading checks");
    }
    return LAB_OK;
}

static int passed(const char *status) { return status && (!strcmp(status, "pass") || !strcmp(status, "skipped")); }
static int skipped(const char *status) { return status && !strcmp(status, "skipped"); }

/* Text for a student's eyes: an absolute path (the instructor's folders, the
 * grader's temporary directory) is cut to its last component. */
static void text_no_paths(struct html *h, const char *s)
{
    if (!s)
        return;
    char *copy = malloc(2 * strlen(s) + 1); /* "…/" (4 bytes) stands for at least 2 */
    if (!copy) {
        h->oom = 1;
        return;
    }
    size_t o = 0;
    for (size_t i = 0; s[i];) {
        int start = s[i] == '/' && (i == 0 || strchr(" \t(\"'=:,", s[i - 1]));
        if (!start) {
            copy[o++] = s[i++];
            continue;
        }
        size_t end = i, last = i;
        while (s[end] && !strchr(" \t)\"',;", s[end]) && !(s[end] == ':' && (s[end + 1] == ' ' || !s[end + 1]))) {
            if (s[end] == '/')
                last = end;
            end++;
        }
        if (last > i) { /* a path with directories: keep what follows the last '/' */
            memcpy(copy + o, "\xe2\x80\xa6/", 4); /* "…/" */
            o += 4;
            i = last + 1;
        }
        while (i < end)
            copy[o++] = s[i++];
    }
    copy[o] = '\0';
    html_text(h, copy);
    free(copy);
}

static void fmt_score(char *buf, size_t cap, double v)
{
    snprintf(buf, cap, "%.2f", isfinite(v) ? v : 0.0);
    char *e = buf + strlen(buf) - 1;
    while (*e == '0')
        *e-- = 0;
    if (*e == '.')
        *e = 0;
}

static int student_section(gradebook *g, struct html *h, const struct grades_row *r)
{
    char score[32], max[32];
    fmt_score(score, sizeof score, r->score);
    fmt_score(max, sizeof max, r->max_score);
    html_raw(h, "<h2>Lab ");
    html_text(h, r->lab);
    html_raw(h, "</h2>\n<p>Score: <strong>");
    html_text(h, score);
    html_raw(h, "</strong> of ");
    html_text(h, max);
    html_raw(h, " (");
    html_text(h, r->status);
    html_raw(h, ")");
    if (r->late_days > 0)
        html_fmt(h, ", %d day%s late: %.4g%% taken off", r->late_days, r->late_days == 1 ? "" : "s", r->late_penalty);
    html_raw(h, "</p>\n<p>File: <code>");
    text_no_paths(h, r->source);
    html_raw(h, "</code>, received ");
    html_text(h, r->received);
    html_raw(h, ", graded ");
    html_text(h, r->graded);
    html_raw(h, " by lab ");
    html_text(h, r->grader_version);
    html_raw(h, "</p>\n");
    if (strcmp(r->status, "graded") != 0 && r->status_detail) {
        html_raw(h, "<p class=\"fail\">Not graded: ");
        text_no_paths(h, r->status_detail);
        html_raw(h, "</p>\n");
    }
    struct check_row *c;
    size_t n;
    int rc = load_checks(g, r->id, &c, &n);
    if (rc)
        return rc;
    html_raw(h, "<table>\n<tr><th></th><th>check</th><th>points</th><th>details</th></tr>\n");
    for (size_t i = 0; i < n; i++) {
        /* a skipped check is no pass: a dash, and its points only when it counts */
        int skip = skipped(c[i].status), ok = passed(c[i].status) && !skip,
            fail = c[i].status && !strcmp(c[i].status, "fail");
        char pts[32], mpts[32];
        fmt_score(pts, sizeof pts, c[i].points);
        fmt_score(mpts, sizeof mpts, c[i].max_points);
        html_fmt(h, "<tr><td class=\"%s\">%s</td><td>", ok ? "pass" : fail ? "fail" : skip ? "skip" : "other",
                 ok ? "&#10003;" : fail ? "&#10007;" : skip ? "&#8211;" : "!");
        html_text(h, c[i].name ? c[i].name : c[i].id);
        html_raw(h, "<br /><code>");
        html_text(h, c[i].id);
        html_raw(h, "</code>");
        if (!ok && !skip) {
            html_raw(h, " (");
            html_text(h, c[i].status);
            html_raw(h, ")");
        }
        html_raw(h, "</td><td>");
        if (skip && c[i].max_points == 0) {
            html_raw(h, "not counted");
        } else {
            html_text(h, pts);
            html_raw(h, " / ");
            html_text(h, mpts);
        }
        html_raw(h, "</td><td>");
        text_no_paths(h, c[i].message);
        html_raw(h, "</td></tr>\n");
    }
    html_raw(h, "</table>\n");
    /* What to do about each failure, once per entry. */
    for (size_t i = 0; i < n; i++) {
        if (passed(c[i].status) || !c[i].kb)
            continue;
        int seen = 0;
        for (size_t j = 0; j < i; j++)
            seen |= !passed(c[j].status) && c[j].kb && !strcmp(c[j].kb, c[i].kb);
        const struct kb_entry *e = seen ? NULL : kb_find(c[i].kb);
        if (!e)
            continue;
        html_raw(h, "<div class=\"kb\">\n<h3>");
        html_text(h, e->title);
        html_raw(h, " <small>(");
        html_text(h, e->id);
        html_raw(h, "; <code>lab explain ");
        html_text(h, e->id);
        html_raw(h, "</code>)</small></h3>\n");
        html_markdown(h, e->body, 4);
        html_raw(h, "</div>\n");
    }
    checks_free(c, n);

    sqlite3_stmt *st;
    rc = sqlite3_prepare_v2(gradebook_db(g), "SELECT name, png FROM plots WHERE submission = ? ORDER BY name", -1, &st,
                            NULL);
    if (rc != SQLITE_OK)
        return gradebook_error(g, rc, "reading plots");
    sqlite3_bind_int64(st, 1, r->id);
    int first = 1;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (first)
            html_raw(h, "<h3>Your plots</h3>\n");
        first = 0;
        const char *name = (const char *)sqlite3_column_text(st, 0);
        html_raw(h, "<figure>");
        html_png(h, sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1), name);
        html_raw(h, "<figcaption>");
        html_text(h, name);
        html_raw(h, "</figcaption></figure>\n");
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? LAB_OK : gradebook_error(g, rc, "reading plots");
}

static int write_page(const char *dir, const char *file, struct html *h)
{
    if (h->oom)
        return lab_err(LAB_EINTERNAL, NULL, "out of memory building %s", file);
    char path[4200];
    int rc = lab_path_join(path, sizeof path, dir, file);
    return rc ? rc : lab_write_atomic(path, h->buf, h->len);
}

static int student_page(gradebook *g, const char *dir, const struct grades_rows *r, const char *student)
{
    struct html h = {0};
    char title[256], file[128];
    snprintf(title, sizeof title, "Feedback: %s", student);
    html_begin(&h, title);
    html_raw(&h, "<h1>Feedback for ");
    html_text(&h, student);
    html_raw(&h, "</h1>\n");
    int rc = LAB_OK;
    for (size_t i = 0; i < r->n && !rc; i++)
        if (!strcmp(r->rows[i].student, student))
            rc = student_section(g, &h, &r->rows[i]);
    html_raw(&h, "<p><small>Each failed check names a troubleshooting entry; <code>lab explain &lt;id&gt;</code> "
                 "prints it.</small></p>\n");
    html_end(&h);
    grades_page_name(student, file, sizeof file);
    if (!rc)
        rc = write_page(dir, file, &h);
    html_free(&h);
    return rc;
}

struct rate {
    char *id;
    size_t fails, total;
};

static int lab_summary(gradebook *g, struct html *h, const struct grades_rows *r, const char *lab)
{
    size_t n = 0, status_counts[5] = {0}, ungraded = 0;
    double ungraded_sum = 0;
    static const char *const statuses[] = {"graded", "not_gradable", "crash", "timeout", "oom"};
    double *frac = calloc(r->n ? r->n : 1, sizeof *frac);
    struct rate *rates = NULL;
    size_t nrates = 0;
    int rc = frac ? LAB_OK : lab_err(LAB_EINTERNAL, NULL, "out of memory");
    for (size_t i = 0; i < r->n && !rc; i++) {
        const struct grades_row *w = &r->rows[i];
        if (strcmp(w->lab, lab))
            continue;
        frac[n++] = w->max_score > 0 ? w->score / w->max_score : 0;
        if (strcmp(w->status, "graded"))
            ungraded++, ungraded_sum += frac[n - 1];
        for (int k = 0; k < 5; k++)
            status_counts[k] += !strcmp(w->status, statuses[k]);
        struct check_row *c;
        size_t nc;
        if ((rc = load_checks(g, w->id, &c, &nc)))
            break;
        for (size_t j = 0; j < nc; j++) {
            size_t k = 0;
            while (k < nrates && strcmp(rates[k].id, c[j].id))
                k++;
            if (k == nrates) {
                struct rate *nr = realloc(rates, (nrates + 1) * sizeof *nr);
                if (!nr) {
                    rc = lab_err(LAB_EINTERNAL, NULL, "out of memory");
                    break;
                }
                rates = nr;
                rates[nrates++] = (struct rate){strdup(c[j].id ? c[j].id : "?"), 0, 0};
            }
            /* a check counts where it ran: skipped ones were never judged */
            rates[k].total += !skipped(c[j].status);
            rates[k].fails += !passed(c[j].status);
        }
        checks_free(c, nc);
    }
    double mean = 0;
    for (size_t i = 0; i < n; i++)
        mean += frac[i];
    mean = n ? mean / (double)n : 0;
    html_raw(h, "<h2>Lab ");
    html_text(h, lab);
    html_fmt(h, "</h2>\n<p>%zu student%s; mean score %.1f%% of the maximum", n, n == 1 ? "" : "s", 100 * mean);
    if (ungraded)
        html_fmt(h, " (counting the %zu not graded at their 0; %.1f%% over the %zu graded)", ungraded,
                 n > ungraded ? 100 * (mean * (double)n - ungraded_sum) / (double)(n - ungraded) : 0.0, n - ungraded);
    html_raw(h, "; ");
    for (int k = 0; k < 5; k++)
        html_fmt(h, "%s%s %zu", k ? ", " : "", statuses[k], status_counts[k]);
    html_raw(h, "</p>\n");
    unsigned char *png = NULL;
    size_t len = 0;
    char title[128];
    snprintf(title, sizeof title, "Lab %s: scores", lab);
    if (!rc && !(rc = chart_score_histogram(title, frac, n, 10, &png, &len)))
        html_png(h, png, len, "score histogram");
    free(png);
    png = NULL;
    if (!rc) {
        const char **labels = calloc(nrates ? nrates : 1, sizeof *labels);
        double *vals = calloc(nrates ? nrates : 1, sizeof *vals);
        for (size_t k = 0; labels && vals && k < nrates; k++)
            labels[k] = rates[k].id, vals[k] = rates[k].total ? (double)rates[k].fails / (double)rates[k].total : 0;
        /* Over every submission of the lab: a check only some reports
         * have (sandbox.crash) is not "100% failing". */
        snprintf(title, sizeof title, "Lab %s: failure rate per check, of the submissions it ran on", lab);
        if (!labels || !vals)
            rc = lab_err(LAB_EINTERNAL, NULL, "out of memory");
        else if (!(rc = chart_failure_rates(title, labels, vals, nrates, &png, &len)))
            html_png(h, png, len, "failure rate per check");
        free(png);
        if (!rc) {
            html_raw(h, "<table>\n<tr><th>check</th><th>failed</th><th>ran on</th></tr>\n");
            for (size_t k = 0; k < nrates; k++) {
                html_raw(h, "<tr><td><code>");
                html_text(h, rates[k].id);
                html_fmt(h, "</code></td><td>%zu</td><td>%zu</td></tr>\n", rates[k].fails, rates[k].total);
            }
            html_raw(h, "</table>\n");
        }
        free(labels), free(vals);
    }
    if (!rc) {
        html_raw(h, "<table>\n<tr><th>student</th><th>score</th><th>of</th><th>status</th><th>late</th></tr>\n");
        for (size_t i = 0; i < r->n; i++) {
            const struct grades_row *w = &r->rows[i];
            if (strcmp(w->lab, lab))
                continue;
            char file[128], score[32], max[32];
            grades_page_name(w->student, file, sizeof file);
            fmt_score(score, sizeof score, w->score);
            fmt_score(max, sizeof max, w->max_score);
            html_raw(h, "<tr><td><a href=\"");
            html_text(h, file);
            html_raw(h, "\">");
            html_text(h, w->student);
            html_raw(h, "</a></td><td>");
            html_text(h, score);
            html_raw(h, "</td><td>");
            html_text(h, max);
            html_raw(h, "</td><td>");
            html_text(h, w->status);
            html_fmt(h, "</td><td>%d</td></tr>\n", w->late_days);
        }
        html_raw(h, "</table>\n");
    }
    for (size_t k = 0; k < nrates; k++)
        free(rates[k].id);
    free(rates);
    free(frac);
    return rc;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Distinct values of a field (borrowed pointers), sorted. */
static const char **distinct(const struct grades_rows *r, int labs, size_t *n)
{
    const char **v = calloc(r->n ? r->n : 1, sizeof *v);
    *n = 0;
    if (!v)
        return NULL;
    for (size_t i = 0; i < r->n; i++)
        v[(*n)++] = labs ? r->rows[i].lab : r->rows[i].student;
    qsort(v, *n, sizeof *v, cmp_str);
    size_t k = 0;
    for (size_t i = 0; i < *n; i++)
        if (!k || strcmp(v[k - 1], v[i]))
            v[k++] = v[i];
    *n = k;
    return v;
}

int grades_feedback(gradebook *g, const char *lab, const char *out_dir, FILE *warn, size_t *pages)
{
    *pages = 0;
    int rc = kb_load();
    if (rc)
        return rc;
    struct grades_rows r;
    if ((rc = grades_latest(g, lab, &r)))
        return rc;
    if ((rc = lab_mkdir_p(out_dir))) {
        grades_rows_free(&r);
        return rc;
    }
    size_t ns = 0, nl = 0;
    const char **students = distinct(&r, 0, &ns), **labs = distinct(&r, 1, &nl);
    if (!students || !labs)
        rc = lab_err(LAB_EINTERNAL, NULL, "out of memory");
    for (size_t i = 0; i < ns && !rc; i++)
        if (!(rc = student_page(g, out_dir, &r, students[i])))
            (*pages)++;
    struct html h = {0};
    html_begin(&h, "Class summary");
    html_raw(&h, "<h1>Class summary</h1>\n");
    for (size_t i = 0; i < nl && !rc; i++)
        rc = lab_summary(g, &h, &r, labs[i]);
    if (!rc && (r.n_left_out || r.n_flagged)) {
        html_raw(&h, "<h2>Left out: student id missing or in conflict</h2>\n<ul>\n");
        for (size_t i = 0; i < r.n_left_out + r.n_flagged; i++) {
            const struct grades_row *w = i < r.n_left_out ? &r.left_out[i] : &r.flagged[i - r.n_left_out];
            html_raw(&h, "<li><code>");
            html_text(&h, w->source);
            html_raw(&h, "</code> (lab ");
            html_text(&h, w->lab);
            html_raw(&h, "): ");
            html_text(&h, w->id_issue ? w->id_issue : "no student id");
            html_raw(&h, "</li>\n");
        }
        html_raw(&h, "</ul>\n<p>See <code>lab explain TS-STUDENT-ID</code>.</p>\n");
    }
    html_end(&h);
    if (!rc)
        rc = write_page(out_dir, "index.html", &h);
    html_free(&h);
    if (!rc)
        grades_warn_left_out(&r, warn);
    free(students), free(labs);
    grades_rows_free(&r);
    kb_free();
    return rc;
}
