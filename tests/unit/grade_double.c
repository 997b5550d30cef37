/* TEMPORARY test double for grader/grade.h until the grader branch (issue 6)
 * is merged: the report's life cycle and JSON form, so the batch grader's
 * unit tests link. Removed when grader/grade.c and grader/report.c land.
 * Never linked into build/lab. */
#include "grader/grade.h"
#include "runner/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const check_names[] = {"pass", "fail", "error", "timeout", "skipped", "not_gradable"};
static const char *const grade_names[] = {"graded", "not_gradable", "crash", "timeout", "oom"};

const char *check_status_name(enum check_status s) { return (unsigned)s < 6 ? check_names[s] : "error"; }
const char *grade_status_name(enum grade_status s) { return (unsigned)s < 5 ? grade_names[s] : "crash"; }

int grade_submission(const char *path, const struct grade_opts *opts, struct grade_report **out)
{
    (void)path, (void)opts;
    *out = NULL;
    return lab_err(LAB_EINTERNAL, NULL, "the test double has no grader");
}

void grade_report_free(struct grade_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_checks; i++)
        free(r->checks[i].id), free(r->checks[i].name), free(r->checks[i].message), free(r->checks[i].kb);
    free(r->checks);
    free(r->lab), free(r->student), free(r->status_detail), free(r->grader_version);
    json_decref(r->fingerprint);
    free(r);
}

static json_t *str_or_null(const char *s) { return s ? json_string(s) : json_null(); }

json_t *grade_report_to_json(const struct grade_report *r)
{
    json_t *checks = json_array();
    for (size_t i = 0; i < r->n_checks; i++) {
        const struct check_result *c = &r->checks[i];
        json_array_append_new(checks, json_pack("{s:s, s:s, s:s, s:f, s:f, s:s, s:o}", "id", c->id, "name", c->name,
                                                "status", check_status_name(c->status), "points", c->points,
                                                "max_points", c->max_points, "message", c->message ? c->message : "",
                                                "kb", str_or_null(c->kb)));
    }
    return json_pack("{s:s, s:s, s:f, s:f, s:s, s:o, s:o, s:o, s:s}", "lab", r->lab ? r->lab : "", "student",
                     r->student ? r->student : "", "score", r->score, "max_score", r->max_score, "status",
                     grade_status_name(r->status), "status_detail", str_or_null(r->status_detail), "checks", checks,
                     "fingerprint", r->fingerprint ? json_deep_copy(r->fingerprint) : json_null(), "grader_version",
                     r->grader_version ? r->grader_version : "");
}

static char *str(const json_t *o, const char *k, int *ok)
{
    const json_t *v = json_object_get(o, k);
    if (json_is_null(v) || !v)
        return NULL;
    if (!json_is_string(v)) {
        *ok = 0;
        return NULL;
    }
    return strdup(json_string_value(v));
}

static int find(const char *s, const char *const *names, int n)
{
    for (int i = 0; s && i < n; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

int grade_report_from_json(const json_t *j, struct grade_report **out)
{
    *out = NULL;
    if (!json_is_object(j))
        return lab_err(LAB_EUSAGE, NULL, "grade report JSON is not an object");
    struct grade_report *r = calloc(1, sizeof *r);
    int ok = 1;
    r->lab = str(j, "lab", &ok);
    r->student = str(j, "student", &ok);
    r->status_detail = str(j, "status_detail", &ok);
    r->grader_version = str(j, "grader_version", &ok);
    int st = find(json_string_value(json_object_get(j, "status")), grade_names, 5);
    const json_t *checks = json_object_get(j, "checks");
    if (st < 0 || !json_is_number(json_object_get(j, "score")) || !json_is_array(checks))
        ok = 0;
    r->status = st < 0 ? GRADE_CRASH : (enum grade_status)st;
    r->score = json_number_value(json_object_get(j, "score"));
    r->max_score = json_number_value(json_object_get(j, "max_score"));
    if (ok && json_array_size(checks)) {
        r->checks = calloc(json_array_size(checks), sizeof *r->checks);
        for (size_t i = 0; ok && i < json_array_size(checks); i++) {
            const json_t *c = json_array_get(checks, i);
            struct check_result *cr = &r->checks[r->n_checks++];
            cr->id = str(c, "id", &ok);
            cr->name = str(c, "name", &ok);
            cr->message = str(c, "message", &ok);
            cr->kb = str(c, "kb", &ok);
            int cs = find(json_string_value(json_object_get(c, "status")), check_names, 6);
            ok = ok && cs >= 0 && cr->id;
            cr->status = cs < 0 ? CHECK_ERROR : (enum check_status)cs;
            cr->points = json_number_value(json_object_get(c, "points"));
            cr->max_points = json_number_value(json_object_get(c, "max_points"));
        }
    }
    if (!ok || !isfinite(r->score)) {
        grade_report_free(r);
        return lab_err(LAB_EUSAGE, NULL, "grade report JSON is malformed");
    }
    *out = r;
    return LAB_OK;
}
