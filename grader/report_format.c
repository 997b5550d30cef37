#include "grader/report_format.h"

#include "base/error.h"
#include "base/jsonio.h"
#include "grader/kb.h"

#include <langinfo.h>
#include <stdlib.h>
#include <string.h>

int report_format_parse(const char *name, enum report_format *out)
{
    static const char *const names[] = {"text", "json", "gradescope", "prairielearn"};
    for (int i = 0; i < 4; i++)
        if (strcmp(name, names[i]) == 0) {
            *out = (enum report_format)i;
            return LAB_OK;
        }
    return lab_err(LAB_EUSAGE, "use --format text, json, gradescope or prairielearn", "unknown format '%s'", name);
}

int report_utf8_ok(void)
{
    const char *cs = nl_langinfo(CODESET);
    return cs && (strcmp(cs, "UTF-8") == 0 || strcmp(cs, "utf8") == 0);
}

static const char *marker(enum check_status s, int ascii)
{
    switch (s) {
    case CHECK_PASS: return ascii ? "[ok]" : "✓";
    case CHECK_SKIPPED: return ascii ? "[skip]" : "–";
    case CHECK_FAIL: return ascii ? "[FAIL]" : "✗";
    case CHECK_ERROR: return ascii ? "[ERROR]" : "✗";
    case CHECK_TIMEOUT: return ascii ? "[TIMEOUT]" : "✗";
    default: return ascii ? "[NOT GRADABLE]" : "✗";
    }
}

static int failed(enum check_status s) { return s != CHECK_PASS && s != CHECK_SKIPPED; }

/* "lenet5: " from a per-model check's name, "" otherwise. */
static void subject(const char *name, char *buf, size_t cap)
{
    const char *colon = name ? strstr(name, ": ") : NULL;
    buf[0] = '\0';
    if (colon && (size_t)(colon - name) + 3 < cap && !memchr(name, ' ', (size_t)(colon - name)))
        snprintf(buf, cap, "%.*s: ", (int)(colon - name), name);
}

static void print_check(FILE *f, const struct check_result *c, int ascii, const char *indent)
{
    char pts[48], who[64];
    if (c->status == CHECK_SKIPPED && c->max_points == 0)
        snprintf(pts, sizeof pts, "-");
    else
        snprintf(pts, sizeof pts, "%g/%g", c->points, c->max_points);
    subject(c->name, who, sizeof who);
    const char *tag = c->status == CHECK_ERROR ? "(error) " : c->status == CHECK_TIMEOUT ? "(timeout) " : "";
    fprintf(f, "%s%s %-20s %6s  %s%s%s\n", indent, marker(c->status, ascii), c->id, pts, who, tag,
            c->message ? c->message : "");
    if (failed(c->status) && c->kb) {
        const struct kb_entry *e = kb_load() == LAB_OK ? kb_find(c->kb) : NULL;
        fprintf(f, "%s    %s: %s  (lab explain %s)\n", indent, c->kb, e ? e->title : "", c->kb);
    }
}

int report_print_checks(FILE *out, const struct grade_report *r, int ascii, const char *indent)
{
    int bad = 0;
    for (size_t i = 0; i < r->n_checks; i++) {
        print_check(out, &r->checks[i], ascii, indent);
        bad += failed(r->checks[i].status);
    }
    return bad;
}

static int render_text(const struct grade_report *r, int ascii, char **out)
{
    size_t len = 0;
    char *buf = NULL;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    fprintf(f, "lab %s  student %s  %s  (graded by lab %s)\n", r->lab && *r->lab ? r->lab : "(unknown)", r->student[0] ? r->student : "(unknown)",
            grade_status_name(r->status), r->grader_version ? r->grader_version : "?");
    int bad = report_print_checks(f, r, ascii, "  ");
    double pct = r->max_score > 0 ? 100 * r->score / r->max_score : 0;
    if (r->status == GRADE_GRADED)
        fprintf(f, "score %g/%g (%.1f%%)%s", r->score, r->max_score, pct, bad ? "" : ": every check passed\n");
    else if (r->max_score > 0)
        fprintf(f, "score 0/%g: not gradable: %s\n", r->max_score, r->status_detail ? r->status_detail : "");
    else /* no lab, so no rubric to count against */
        fprintf(f, "score 0 (the lab is unknown: --lab ID grades it out of that lab's max_score): not gradable: %s\n",
                r->status_detail ? r->status_detail : "");
    if (r->status == GRADE_GRADED && bad)
        fprintf(f, ": %d check(s) did not pass; `lab explain <TS-id>` says what to do\n", bad);
    fclose(f);
    *out = buf;
    return LAB_OK;
}

/* Gradescope: https://gradescope-autograders.readthedocs.io/en/latest/specs/ */
json_t *report_gradescope_json(const struct grade_report *r)
{
    json_t *tests = json_array();
    for (size_t i = 0; i < r->n_checks; i++) {
        const struct check_result *c = &r->checks[i];
        char output[3000];
        const struct kb_entry *e = c->kb && kb_load() == LAB_OK ? kb_find(c->kb) : NULL;
        snprintf(output, sizeof output, "%s%s%s%s%s%s%s", check_status_name(c->status) , ": ", c->message,
                 c->kb ? "\n" : "", c->kb ? c->kb : "", e ? ": " : "", e ? e->title : "");
        if (c->kb) {
            size_t l = strlen(output);
            snprintf(output + l, sizeof output - l, " (lab explain %s)", c->kb);
        }
        char name[400];
        snprintf(name, sizeof name, "%s [%s]", c->name, c->id);
        json_array_append_new(tests, json_pack("{s:f, s:f, s:s, s:o, s:o, s:s}", "score", c->points, "max_score",
                                               c->max_points, "status", c->status == CHECK_PASS ? "passed" : "failed",
                                               "name", lab_json_text(name), "output", lab_json_text(output),
                                               "visibility", "visible"));
    }
    char summary[2600];
    snprintf(summary, sizeof summary, "lab %s, graded by lab %s: %s%s%s", r->lab && *r->lab ? r->lab : "(unknown)",
             r->grader_version ? r->grader_version : "?",
             grade_status_name(r->status), r->status_detail ? ": " : "", r->status_detail ? r->status_detail : "");
    return json_pack("{s:f, s:o, s:s, s:o}", "score", r->score, "output", lab_json_text(summary), "stdout_visibility", "hidden",
                     "tests", tests);
}

/* PrairieLearn: https://prairielearn.readthedocs.io/en/latest/externalGrading/ */
json_t *report_prairielearn_json(const struct grade_report *r)
{
    json_t *tests = json_array();
    for (size_t i = 0; i < r->n_checks; i++) {
        const struct check_result *c = &r->checks[i];
        char msg[2600];
        snprintf(msg, sizeof msg, "%s: %s%s%s", check_status_name(c->status), c->message, c->kb ? " — lab explain " : "",
                 c->kb ? c->kb : "");
        json_array_append_new(tests, json_pack("{s:o, s:o, s:f, s:f, s:o}", "name", lab_json_text(c->id), "description",
                                               lab_json_text(c->name), "points", c->points, "max_points",
                                               c->max_points, "message", lab_json_text(msg)));
    }
    int gradable = r->status == GRADE_GRADED;
    double score = gradable && r->max_score > 0 ? r->score / r->max_score : 0;
    char summary[2600];
    snprintf(summary, sizeof summary, "lab %s: %g/%g%s%s", r->lab && *r->lab ? r->lab : "(unknown)", r->score, r->max_score,
             r->status_detail ? "; not gradable: " : "", r->status_detail ? r->status_detail : "");
    return json_pack("{s:b, s:b, s:f, s:o, s:o}", "succeeded", 1, "gradable", gradable, "score", score, "message",
                     lab_json_text(summary), "tests", tests);
}

int report_render(const struct grade_report *r, enum report_format f, int ascii, char **out)
{
    *out = NULL;
    if (f == REPORT_TEXT)
        return render_text(r, ascii, out);
    json_t *j = f == REPORT_JSON         ? grade_report_to_json(r)
                : f == REPORT_GRADESCOPE ? report_gradescope_json(r)
                                         : report_prairielearn_json(r);
    char *text = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10)) : NULL;
    json_decref(j);
    if (!text)
        return lab_err(LAB_EINTERNAL, NULL, "cannot serialize the report");
    size_t n = strlen(text);
    char *withnl = realloc(text, n + 2);
    if (!withnl) {
        free(text);
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    }
    withnl[n] = '\n';
    withnl[n + 1] = '\0';
    *out = withnl;
    return LAB_OK;
}
