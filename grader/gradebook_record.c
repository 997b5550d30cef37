/* Recording graded submissions: the only part of the gradebook that needs
 * the grader's report format (so `lab grades`, which only reads, does not). */
#include "grader/gradebook.h"

#include "base/error.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int exec(gradebook *g, const char *sql, const char *doing)
{
    int rc = sqlite3_exec(gradebook_db(g), sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? LAB_OK : gradebook_error(g, rc, doing);
}

double gradebook_final_score(const struct grade_report *r, double late_penalty)
{
    if (r->status != GRADE_GRADED || r->score <= 0)
        return 0;
    double p = late_penalty < 0 ? 0 : late_penalty > 100 ? 100 : late_penalty;
    return r->score * (1.0 - p / 100.0);
}

/* ---- small statement helpers: a NULL string binds NULL ---- */

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

/* Runs a statement that returns no rows. */
static int run(gradebook *g, sqlite3_stmt *st, const char *doing)
{
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? LAB_OK : gradebook_error(g, rc, doing);
}

static int prepare(gradebook *g, const char *sql, sqlite3_stmt **st, const char *doing)
{
    int rc = sqlite3_prepare_v2(gradebook_db(g), sql, -1, st, NULL);
    return rc == SQLITE_OK ? LAB_OK : gradebook_error(g, rc, doing);
}

/* A student id from submission.json is used only when it is printable and
 * of a sane length; anything else is reported, not cleaned up. */
static int usable_student(const char *s)
{
    if (!s || !*s)
        return 0;
    size_t n = strlen(s);
    if (n > 128)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    return 1;
}

/* The student the LMS identity was already seen with, into buf ("" if none). */
static int student_of_lms(gradebook *g, const struct lms_name *l, char *buf, size_t cap)
{
    sqlite3_stmt *st;
    buf[0] = 0;
    int rc = prepare(g, "SELECT id FROM students WHERE lms = ? AND lms_user = ? ORDER BY first_seen, id LIMIT 1", &st,
                     "resolving a student");
    if (rc)
        return rc;
    bind_text(st, 1, lms_kind_name(l->kind));
    bind_text(st, 2, l->user_id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        snprintf(buf, cap, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? LAB_OK : gradebook_error(g, rc, "resolving a student");
}

/* The LMS identity a student id was first seen with ("" if none). */
static int lms_of_student(gradebook *g, const char *student, char *lms, size_t lcap, char *user, size_t ucap)
{
    sqlite3_stmt *st;
    lms[0] = user[0] = 0;
    int rc = prepare(g, "SELECT lms, lms_user FROM students WHERE id = ?", &st, "resolving a student");
    if (rc)
        return rc;
    bind_text(st, 1, student);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_text(st, 0) && sqlite3_column_text(st, 1)) {
        snprintf(lms, lcap, "%s", (const char *)sqlite3_column_text(st, 0));
        snprintf(user, ucap, "%s", (const char *)sqlite3_column_text(st, 1));
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? LAB_OK : gradebook_error(g, rc, "resolving a student");
}

static int upsert_student(gradebook *g, const char *id, const struct lms_name *l)
{
    sqlite3_stmt *st;
    char now[32];
    lab_utc_now(now, sizeof now);
    int rc = prepare(g,
                     "INSERT INTO students (id, name, lms, lms_user, first_seen) VALUES (?, ?, ?, ?, ?)"
                     " ON CONFLICT(id) DO UPDATE SET"
                     "  name = coalesce(students.name, excluded.name),"
                     "  lms = coalesce(students.lms, excluded.lms),"
                     "  lms_user = coalesce(students.lms_user, excluded.lms_user)",
                     &st, "recording a student");
    if (rc)
        return rc;
    bind_text(st, 1, id);
    bind_text(st, 2, l ? l->name : NULL);
    bind_text(st, 3, l ? lms_kind_name(l->kind) : NULL);
    bind_text(st, 4, l ? l->user_id : NULL);
    bind_text(st, 5, now);
    return run(g, st, "recording a student");
}

/* Other rows that claim the same (lab, student) from a different source in a
 * way that cannot be a resubmission: from another LMS user, or from the same
 * batch input without one LMS user behind both. Each gets flagged too. */
static int flag_conflicts(gradebook *g, const struct gb_submission *s, const char *student, int64_t self,
                          char *issue, size_t cap)
{
    sqlite3_stmt *st;
    const char *lms = s->lms ? lms_kind_name(s->lms->kind) : NULL, *user = s->lms ? s->lms->user_id : NULL;
    int rc = prepare(g,
                     "SELECT id, source, lms, lms_user FROM submissions"
                     " WHERE lab = ?1 AND student = ?2 AND id != ?3 AND source != ?4 AND ("
                     "  (lms_user IS NOT NULL AND ?6 IS NOT NULL AND (lms != ?5 OR lms_user != ?6))"
                     "  OR (input = ?7 AND NOT (lms_user IS NOT NULL AND lms IS ?5 AND lms_user IS ?6)))"
                     " ORDER BY id",
                     &st, "checking student ids");
    if (rc)
        return rc;
    bind_text(st, 1, s->lab);
    bind_text(st, 2, student);
    sqlite3_bind_int64(st, 3, self);
    bind_text(st, 4, s->source);
    bind_text(st, 5, lms);
    bind_text(st, 6, user);
    bind_text(st, 7, s->input);
    int64_t others[64];
    size_t n = 0, total = 0;
    char sources[384] = "";
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n < 64)
            others[n++] = sqlite3_column_int64(st, 0);
        size_t used = strlen(sources);
        if (n <= 3)
            snprintf(sources + used, sizeof sources - used, "%s%s", used ? ", " : "",
                     (const char *)sqlite3_column_text(st, 1));
        total++;
    }
    if (total > 3) {
        size_t used = strlen(sources);
        snprintf(sources + used, sizeof sources - used, " and %zu more", total - 3);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return gradebook_error(g, rc, "checking student ids");
    if (n) {
        size_t used = strlen(issue);
        snprintf(issue + used, cap - used, "%sstudent '%s' is also claimed by %s", used ? "; " : "", student, sources);
    }
    for (size_t i = 0; i < n; i++) {
        if ((rc = prepare(g,
                          "UPDATE submissions SET id_issue = coalesce(id_issue || '; ', '') ||"
                          " 'student ''' || student || ''' is also claimed by ' || ?2"
                          " WHERE id = ?1 AND (id_issue IS NULL OR (instr(id_issue, ?2) = 0 AND length(id_issue) < 300))",
                          &st, "flagging a conflict")))
            return rc;
        sqlite3_bind_int64(st, 1, others[i]);
        bind_text(st, 2, s->source);
        if ((rc = run(g, st, "flagging a conflict")))
            return rc;
    }
    return LAB_OK;
}

static const char *status_name(enum grade_status s)
{
    switch (s) {
    case GRADE_GRADED:
        return "graded";
    case GRADE_NOT_GRADABLE:
        return "not_gradable";
    case GRADE_CRASH:
        return "crash";
    case GRADE_TIMEOUT:
        return "timeout";
    case GRADE_OOM:
        return "oom";
    }
    return "crash";
}

static const char *check_name(enum check_status s)
{
    switch (s) {
    case CHECK_PASS:
        return "pass";
    case CHECK_FAIL:
        return "fail";
    case CHECK_ERROR:
        return "error";
    case CHECK_TIMEOUT:
        return "timeout";
    case CHECK_SKIPPED:
        return "skipped";
    case CHECK_NOT_GRADABLE:
        return "not_gradable";
    }
    return "error";
}

static int insert_children(gradebook *g, int64_t id, const struct gb_submission *s)
{
    sqlite3_stmt *st;
    int rc;
    const struct grade_report *r = s->report;
    for (size_t i = 0; i < r->n_checks; i++) {
        const struct check_result *c = &r->checks[i];
        if ((rc = prepare(g,
                          "INSERT INTO check_results (submission, seq, check_id, name, status, points, max_points,"
                          " message, kb) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                          &st, "recording checks")))
            return rc;
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, (int64_t)i);
        bind_text(st, 3, c->id ? c->id : "?");
        bind_text(st, 4, c->name);
        bind_text(st, 5, check_name(c->status));
        /* A check that did not pass never earns points, whatever it says. */
        sqlite3_bind_double(st, 6, c->status == CHECK_PASS && r->status == GRADE_GRADED ? c->points : 0);
        sqlite3_bind_double(st, 7, c->max_points);
        bind_text(st, 8, c->message);
        bind_text(st, 9, c->kb);
        if ((rc = run(g, st, "recording checks")))
            return rc;
    }
    for (size_t i = 0; i < s->n_artifacts; i++) {
        const struct gb_artifact *a = &s->artifacts[i];
        if ((rc = prepare(g,
                          "INSERT OR REPLACE INTO artifacts (submission, kind, model, sha256, weights_sha256)"
                          " VALUES (?, ?, ?, ?, ?)",
                          &st, "recording artifacts")))
            return rc;
        sqlite3_bind_int64(st, 1, id);
        bind_text(st, 2, a->kind);
        bind_text(st, 3, a->model);
        bind_text(st, 4, a->sha256);
        bind_text(st, 5, a->weights_sha256);
        if ((rc = run(g, st, "recording artifacts")))
            return rc;
    }
    for (size_t i = 0; i < s->n_plots; i++) {
        if ((rc = prepare(g, "INSERT OR REPLACE INTO plots (submission, name, png) VALUES (?, ?, ?)", &st,
                          "recording plots")))
            return rc;
        sqlite3_bind_int64(st, 1, id);
        bind_text(st, 2, s->plots[i].name);
        sqlite3_bind_blob(st, 3, s->plots[i].png, (int)s->plots[i].len, SQLITE_STATIC);
        if ((rc = run(g, st, "recording plots")))
            return rc;
    }
    return LAB_OK;
}

static int record(gradebook *g, const struct gb_submission *s, struct gb_outcome *out)
{
    const struct grade_report *r = s->report;
    sqlite3_stmt *st;
    int rc;
    char student[160] = "", issue[512] = "";
    const char *claimed = r->student;
    const struct lms_name *l = s->lms && s->lms->kind != LMS_NONE ? s->lms : NULL;

    if (usable_student(claimed)) {
        snprintf(student, sizeof student, "%s", claimed);
        if (l) {
            char known_lms[16], known_user[LMS_ID_MAX], other[160];
            if ((rc = lms_of_student(g, student, known_lms, sizeof known_lms, known_user, sizeof known_user)) ||
                (rc = student_of_lms(g, l, other, sizeof other)))
                return rc;
            if (known_user[0] && (strcmp(known_lms, lms_kind_name(l->kind)) || strcmp(known_user, l->user_id)))
                snprintf(issue, sizeof issue, "student '%s' was seen before as %s user %s, now %s user %s", student,
                         known_lms, known_user, lms_kind_name(l->kind), l->user_id);
            else if (other[0] && strcmp(other, student))
                snprintf(issue, sizeof issue, "%s user %s submitted as '%s' here but as '%s' before",
                         lms_kind_name(l->kind), l->user_id, student, other);
        }
    } else if (l) {
        /* Only what the gradebook already knows, else the LMS id itself. */
        if ((rc = student_of_lms(g, l, student, sizeof student)))
            return rc;
        if (!student[0])
            lms_student_id(l, student, sizeof student);
        if (claimed && *claimed)
            snprintf(issue, sizeof issue, "the student id in submission.json is not usable; used the %s name",
                     lms_kind_name(l->kind));
    } else {
        snprintf(issue, sizeof issue,
                 claimed && *claimed ? "the student id in submission.json is not usable and the file name is not "
                                       "a Canvas or Moodle name"
                                     : "no student id: submission.json gives none and the file name is not a "
                                       "Canvas or Moodle name");
    }
    if (student[0] && (rc = upsert_student(g, student, l)))
        return rc;

    /* A regrade replaces the row with the same key (checks cascade). */
    if ((rc = prepare(g, "DELETE FROM submissions WHERE lab = ? AND sha256 = ? AND grader_version = ? AND source = ?",
                      &st, "replacing an earlier grade")))
        return rc;
    bind_text(st, 1, s->lab);
    bind_text(st, 2, s->sha256);
    bind_text(st, 3, s->grader_version);
    bind_text(st, 4, s->source);
    if ((rc = run(g, st, "replacing an earlier grade")))
        return rc;

    double max = r->max_score > 0 ? r->max_score : 0;
    if ((rc = prepare(g,
                      "INSERT INTO labs (id, max_score) VALUES (?1, ?2)"
                      " ON CONFLICT(id) DO UPDATE SET max_score = max(labs.max_score, excluded.max_score)",
                      &st, "recording the lab")))
        return rc;
    bind_text(st, 1, s->lab);
    sqlite3_bind_double(st, 2, max);
    if ((rc = run(g, st, "recording the lab")))
        return rc;

    double final = gradebook_final_score(r, s->late_penalty);
    char *report_json = NULL;
    json_t *j = grade_report_to_json(r);
    if (j)
        report_json = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if ((rc = prepare(g,
                      "INSERT INTO submissions (lab, student, claimed_student, lms, lms_user, lms_name, input, source,"
                      " sha256, received, graded, grader_version, status, status_detail, score, max_score, late_days,"
                      " late_penalty, final_score, report)"
                      " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      &st, "recording a submission"))) {
        free(report_json);
        return rc;
    }
    bind_text(st, 1, s->lab);
    bind_text(st, 2, student[0] ? student : NULL);
    bind_text(st, 3, claimed);
    bind_text(st, 4, l ? lms_kind_name(l->kind) : NULL);
    bind_text(st, 5, l ? l->user_id : NULL);
    bind_text(st, 6, l ? l->name : NULL);
    bind_text(st, 7, s->input);
    bind_text(st, 8, s->source);
    bind_text(st, 9, s->sha256);
    bind_text(st, 10, s->received);
    bind_text(st, 11, s->graded);
    bind_text(st, 12, s->grader_version);
    bind_text(st, 13, status_name(r->status));
    bind_text(st, 14, r->status_detail);
    sqlite3_bind_double(st, 15, r->status == GRADE_GRADED ? r->score : 0);
    sqlite3_bind_double(st, 16, max);
    sqlite3_bind_int(st, 17, s->late_days);
    sqlite3_bind_double(st, 18, s->late_penalty);
    sqlite3_bind_double(st, 19, final);
    bind_text(st, 20, report_json ? report_json : "{}");
    rc = run(g, st, "recording a submission");
    free(report_json);
    if (rc)
        return rc;
    int64_t id = sqlite3_last_insert_rowid(gradebook_db(g));
    if ((rc = insert_children(g, id, s)))
        return rc;
    if (student[0] && (rc = flag_conflicts(g, s, student, id, issue, sizeof issue)))
        return rc;
    if (issue[0]) {
        if ((rc = prepare(g, "UPDATE submissions SET id_issue = ? WHERE id = ?", &st, "recording an id issue")))
            return rc;
        bind_text(st, 1, issue);
        sqlite3_bind_int64(st, 2, id);
        if ((rc = run(g, st, "recording an id issue")))
            return rc;
    }
    out->id = id;
    snprintf(out->student, sizeof out->student, "%s", student);
    snprintf(out->id_issue, sizeof out->id_issue, "%s", issue);
    out->final_score = final;
    return LAB_OK;
}

int gradebook_record(gradebook *g, const struct gb_submission *s, struct gb_outcome *out)
{
    memset(out, 0, sizeof *out);
    int rc = exec(g, "BEGIN IMMEDIATE", "starting a transaction");
    if (rc)
        return rc;
    rc = record(g, s, out);
    if (rc) {
        sqlite3_exec(gradebook_db(g), "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    return exec(g, "COMMIT", "committing a submission");
}
