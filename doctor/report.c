#include "doctor/report.h"

#include "base/error.h"

#include <stdlib.h>
#include <string.h>

void doctor_tally(const struct doctor_result *results, size_t n, struct doctor_tally *t)
{
    memset(t, 0, sizeof *t);
    for (size_t i = 0; i < n; i++) {
        switch (results[i].status) {
        case DOCTOR_PASS: t->pass++; break;
        case DOCTOR_WARN: t->warn++; break;
        case DOCTOR_FAIL: t->fail++; break;
        case DOCTOR_SKIP: t->skip++; break;
        default: t->crash++; break;
        }
    }
}

int doctor_ok(const struct doctor_tally *t, int strict)
{
    return t->fail == 0 && t->crash == 0 && (!strict || t->warn == 0);
}

void doctor_summary(const struct doctor_tally *t, char *buf, size_t cap)
{
    snprintf(buf, cap, "%d passed, %d warning%s, %d failed, %d crashed, %d skipped", t->pass, t->warn,
             t->warn == 1 ? "" : "s", t->fail, t->crash, t->skip);
}

json_t *doctor_report_json(const struct doctor_check *const *checks, const struct doctor_result *results, size_t n,
                           int strict)
{
    struct doctor_tally t;
    char summary[160];
    doctor_tally(results, n, &t);
    doctor_summary(&t, summary, sizeof summary);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        const struct doctor_result *r = &results[i];
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:f}", "id", checks[i]->id, "category",
                                             checks[i]->category, "status", doctor_status_name(r->status), "message",
                                             r->message, "remediation", r->remediation, "kb", r->kb, "duration_ms",
                                             (double)(long)(r->duration_ms * 100) / 100));
    }
    return json_pack("{s:i, s:b, s:s, s:o}", "schema_version", DOCTOR_SCHEMA_VERSION, "ok", doctor_ok(&t, strict),
                     "summary", summary, "checks", arr);
}

static const char *category_title(const char *c)
{
    static const char *const map[][2] = {{"system", "System"},       {"gpu", "GPU"},
                                         {"container", "Container"}, {"cache", "Caches and data"},
                                         {"network", "Network"},     {"env", "Environment variables"}, {"slurm", "Slurm"},
                                         {"smoke", "Smoke test"}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(map[i][0], c) == 0)
            return map[i][1];
    return c;
}

void doctor_report_print(FILE *out, const struct doctor_check *const *checks, const struct doctor_result *results,
                         size_t n, int strict, int ascii, int color, double total_ms)
{
    static const char *const sym[] = {"✓", "!", "✗", "-", "☠"};
    static const char *const tag[] = {"[ok]   ", "[warn] ", "[FAIL] ", "[skip] ", "[CRASH]"};
    static const char *const col[] = {"\033[32m", "\033[33m", "\033[31m", "\033[2m", "\033[1;35m"};
    const char *prev = NULL;
    for (size_t i = 0; i < n; i++) {
        const struct doctor_result *r = &results[i];
        unsigned s = (unsigned)r->status < 5 ? (unsigned)r->status : 4;
        if (!prev || strcmp(prev, checks[i]->category) != 0) {
            fprintf(out, "%s%s%s\n", prev ? "\n" : "", category_title(checks[i]->category), "");
            prev = checks[i]->category;
        }
        fprintf(out, "  %s%s%s %-26s %s\n", color ? col[s] : "", ascii ? tag[s] : sym[s], color ? "\033[0m" : "",
                checks[i]->id, r->message);
        if (s != DOCTOR_PASS && s != DOCTOR_SKIP) {
            const char *pad = ascii ? "          " : "    ";
            if (r->remediation[0])
                fprintf(out, "%sfix: %s\n", pad, r->remediation);
            if (r->kb[0])
                fprintf(out, "%skb:  %s (docs/troubleshooting/%s.md)\n", pad, r->kb, r->kb);
        }
    }
    struct doctor_tally t;
    char summary[160];
    doctor_tally(results, n, &t);
    doctor_summary(&t, summary, sizeof summary);
    fprintf(out, "\n%s: %s in %.2f s%s\n", doctor_ok(&t, strict) ? "ok" : "problems found", summary, total_ms / 1000,
            strict && t.warn ? " (--strict: warnings count as failures)" : "");
}

int doctor_report_store(lab_store *s, const json_t *report)
{
    char *text = json_dumps(report, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!text)
        return lab_err(LAB_EINTERNAL, NULL, "cannot serialise the doctor report");
    sqlite3 *db = lab_store_db(s);
    char created[32];
    lab_utc_now(created, sizeof created);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, "INSERT INTO doctor_reports (created, ok, summary, report) VALUES (?, ?, ?, ?)",
                                -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, created, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(st, 2, json_is_true(json_object_get(report, "ok")));
        sqlite3_bind_text(st, 3, json_string_value(json_object_get(report, "summary")), -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 4, text, -1, SQLITE_TRANSIENT);
        rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
    }
    sqlite3_finalize(st);
    free(text);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, "DELETE FROM doctor_reports WHERE id NOT IN (SELECT id FROM doctor_reports ORDER BY id DESC LIMIT 20)",
                          NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return lab_err(LAB_EENV, "check that $LAB_HOME is writable", "cannot save the doctor report in %s: %s",
                       lab_store_path(s), sqlite3_errmsg(db));
    return LAB_OK;
}

int doctor_report_last(lab_store *s, char *created, size_t created_cap, char *summary, size_t cap, int *ok,
                       int *found)
{
    *found = 0;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(lab_store_db(s), "SELECT created, summary, ok FROM doctor_reports ORDER BY id DESC LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK)
        return lab_err(LAB_EENV, NULL, "cannot read doctor reports: %s", sqlite3_errmsg(lab_store_db(s)));
    if (sqlite3_step(st) == SQLITE_ROW) {
        snprintf(created, created_cap, "%s", (const char *)sqlite3_column_text(st, 0));
        snprintf(summary, cap, "%s", (const char *)sqlite3_column_text(st, 1));
        *ok = sqlite3_column_int(st, 2);
        *found = 1;
    }
    sqlite3_finalize(st);
    return LAB_OK;
}
