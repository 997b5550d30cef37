/* The JSON form of a report (`lab grade --format json`, and how the batch
 * grader's children hand reports to the parent) and its strict inverse. */
#include "base/error.h"
#include "base/jsonio.h"
#include "grader/grade.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static json_t *str_or_null(const char *s) { return s ? lab_json_text(s) : json_null(); }

json_t *grade_report_to_json(const struct grade_report *r)
{
    json_t *checks = json_array();
    for (size_t i = 0; checks && i < r->n_checks; i++) {
        const struct check_result *c = &r->checks[i];
        json_array_append_new(checks, json_pack("{s:o, s:o, s:s, s:f, s:f, s:o, s:o}", "id", lab_json_text(c->id), "name",
                                                lab_json_text(c->name), "status", check_status_name(c->status),
                                                "points", c->points, "max_points", c->max_points, "message",
                                                lab_json_text(c->message), "kb", str_or_null(c->kb)));
    }
    return json_pack("{s:o, s:o, s:f, s:f, s:s, s:o, s:o, s:o, s:s}", "lab", lab_json_text(r->lab), "student",
                     lab_json_text(r->student), "score", r->score, "max_score", r->max_score, "status",
                     grade_status_name(r->status), "status_detail", str_or_null(r->status_detail), "checks", checks,
                     "fingerprint", r->fingerprint ? json_deep_copy(r->fingerprint) : json_null(), "grader_version",
                     r->grader_version ? r->grader_version : "");
}

static int bad(const char *field) { return lab_err(LAB_EUSAGE, NULL, "grade report JSON: bad or missing '%s'", field); }

static int get_str(const json_t *o, const char *key, int nullable, char **out)
{
    const json_t *v = json_object_get(o, key);
    *out = NULL;
    if (nullable && (!v || json_is_null(v)))
        return LAB_OK;
    if (!json_is_string(v))
        return bad(key);
    *out = strdup(json_string_value(v));
    return *out ? LAB_OK : lab_err(LAB_EINTERNAL, NULL, "out of memory");
}

static int get_num(const json_t *o, const char *key, double *out)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_number(v) || !isfinite(json_number_value(v)))
        return bad(key);
    *out = json_number_value(v);
    return LAB_OK;
}

static int check_status_from(const char *s, enum check_status *out)
{
    for (int i = CHECK_PASS; i <= CHECK_NOT_GRADABLE; i++)
        if (strcmp(s, check_status_name((enum check_status)i)) == 0) {
            *out = (enum check_status)i;
            return LAB_OK;
        }
    return bad("checks[].status");
}

static int grade_status_from(const char *s, enum grade_status *out)
{
    for (int i = GRADE_GRADED; i <= GRADE_OOM; i++)
        if (strcmp(s, grade_status_name((enum grade_status)i)) == 0) {
            *out = (enum grade_status)i;
            return LAB_OK;
        }
    return bad("status");
}

static int check_from(const json_t *j, struct check_result *c)
{
    if (!json_is_object(j))
        return bad("checks[]");
    const char *st = json_string_value(json_object_get(j, "status"));
    int rc = get_str(j, "id", 0, &c->id);
    if (!rc)
        rc = get_str(j, "name", 0, &c->name);
    if (!rc)
        rc = st ? check_status_from(st, &c->status) : bad("checks[].status");
    if (!rc)
        rc = get_num(j, "points", &c->points);
    if (!rc)
        rc = get_num(j, "max_points", &c->max_points);
    if (!rc)
        rc = get_str(j, "message", 0, &c->message);
    if (!rc)
        rc = get_str(j, "kb", 1, &c->kb);
    return rc;
}

int grade_report_from_json(const json_t *j, struct grade_report **out)
{
    *out = NULL;
    if (!json_is_object(j))
        return lab_err(LAB_EUSAGE, NULL, "grade report JSON is not an object");
    struct grade_report *r = calloc(1, sizeof *r);
    if (!r)
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    const char *st = json_string_value(json_object_get(j, "status"));
    const json_t *checks = json_object_get(j, "checks"), *fp = json_object_get(j, "fingerprint");
    int rc = get_str(j, "lab", 0, &r->lab);
    if (!rc)
        rc = get_str(j, "student", 0, &r->student);
    if (!rc)
        rc = get_num(j, "score", &r->score);
    if (!rc)
        rc = get_num(j, "max_score", &r->max_score);
    if (!rc)
        rc = st ? grade_status_from(st, &r->status) : bad("status");
    if (!rc)
        rc = get_str(j, "status_detail", 1, &r->status_detail);
    if (!rc)
        rc = get_str(j, "grader_version", 0, &r->grader_version);
    if (!rc && fp && !json_is_null(fp))
        rc = json_is_object(fp) ? ((r->fingerprint = json_deep_copy(fp)) ? LAB_OK
                                                                           : lab_err(LAB_EINTERNAL, NULL, "out of memory"))
                                : bad("fingerprint");
    if (!rc && !json_is_array(checks))
        rc = bad("checks");
    if (!rc && json_array_size(checks)) {
        r->checks = calloc(json_array_size(checks), sizeof *r->checks);
        if (!r->checks)
            rc = lab_err(LAB_EINTERNAL, NULL, "out of memory");
        for (size_t i = 0; !rc && i < json_array_size(checks); i++) {
            r->n_checks = i + 1; /* so that free sees a partly filled entry */
            rc = check_from(json_array_get(checks, i), &r->checks[i]);
        }
    }
    if (rc) {
        grade_report_free(r);
        return rc;
    }
    *out = r;
    return LAB_OK;
}
