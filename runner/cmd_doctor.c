/* lab doctor: run the checks (runner/doctor*.c), print the report, keep it
 * in the store. */
#include "base/error.h"
#include "base/log.h"
#include "base/suggest.h"
#include "doctor/doctor.h"
#include "doctor/report.h"
#include "runner/cli.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int unknown_check(const char *id)
{
    size_t n;
    const struct doctor_check *all = doctor_checks(&n);
    const char *ids[256];
    size_t k = 0;
    for (size_t i = 0; i < n && k < 255; i++)
        ids[k++] = all[i].id;
    ids[k] = NULL;
    const char *close = lab_suggest_loose(id, ids);
    char fix[160];
    snprintf(fix, sizeof fix, "%s%s%s`lab doctor --list-checks` lists them", close ? "did you mean '" : "",
             close ? close : "", close ? "'? " : "");
    return lab_err(LAB_EUSAGE, fix, "unknown check '%s'", id);
}

static void list_checks(int json)
{
    size_t n;
    const struct doctor_check *all = doctor_checks(&n);
    json_t *arr = json ? json_array() : NULL;
    for (size_t i = 0; i < n; i++) {
        if (json)
            json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s}", "id", all[i].id, "category", all[i].category,
                                                 "title", all[i].title, "kb", all[i].kbs));
        else
            printf("%-26s %s\n", all[i].id, all[i].title);
    }
    if (json) {
        char *text = json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        puts(text ? text : "[]");
        free(text);
        json_decref(arr);
    }
}

enum { OPT_JSON = 1, OPT_LIST, OPT_CHECK, OPT_FULL, OPT_STRICT };

const struct lab_opt lab_doctor_options[] = {
    {OPT_JSON, "json", 0, LAB_OPT_FLAG, NULL, "print only JSON: {schema_version, ok, summary, checks}", 0, 0, NULL},
    {OPT_CHECK, "check", 0, LAB_OPT_STR, "ID", "run only this check (repeatable); see --list-checks", 0, 0, NULL},
    {OPT_LIST, "list-checks", 0, LAB_OPT_FLAG, NULL, "list the checks and exit", 0, 0, NULL},
    {OPT_FULL, "full", 0, LAB_OPT_FLAG, NULL, "also run the smoke test (conv forward+backward, bf16)", 0, 0, NULL},
    {OPT_STRICT, "strict", 0, LAB_OPT_FLAG, NULL, "warnings count as failures", 0, 0, NULL},
    {0},
};

int cmd_doctor(int argc, char **argv)
{
    int json = 0, list = 0, full = 0, strict = 0, c;
    size_t total;
    const struct doctor_check *all = doctor_checks(&total);
    const struct doctor_check **chosen = calloc(total + argc + 1, sizeof *chosen);
    size_t n = 0;
    if (!chosen)
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    struct lab_opts p;
    lab_opts_init(&p, "doctor", lab_doctor_options, argc, argv);
    while ((c = lab_opts_next(&p)) > 0) {
        if (c == OPT_JSON) {
            json = 1;
        } else if (c == OPT_LIST) {
            list = 1;
        } else if (c == OPT_FULL) {
            full = 1;
        } else if (c == OPT_STRICT) {
            strict = 1;
        } else if (c == OPT_CHECK) {
            const struct doctor_check *k = doctor_check_find(p.value);
            if (!k) {
                free(chosen);
                return unknown_check(p.value);
            }
            int dup = 0;
            for (size_t i = 0; i < n; i++)
                dup |= chosen[i] == k;
            if (!dup)
                chosen[n++] = k;
        }
    }
    if (c < 0) {
        free(chosen);
        return c;
    }
    if (p.npos) {
        free(chosen);
        return lab_cli_usage("doctor", "unexpected argument '%s'", p.pos[0]);
    }
    if (list) {
        free(chosen);
        list_checks(json);
        return LAB_OK;
    }
    int subset = n > 0;
    if (!subset)
        for (size_t i = 0; i < total; i++)
            chosen[n++] = &all[i];

    struct doctor_ctx ctx;
    doctor_ctx_init(&ctx, full);
    struct doctor_result *results = calloc(n, sizeof *results);
    if (!results) {
        free(chosen);
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    }
    double t0 = now_ms();
    doctor_run(&ctx, chosen, n, results);
    double took = now_ms() - t0;

    json_t *report = doctor_report_json(chosen, results, n, strict);
    json_object_set_new(report, "duration_ms", json_real((double)(long)(took * 10) / 10));
    if (json) {
        char *text = json_dumps(report, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
        puts(text ? text : "{}");
        free(text);
    } else {
        const char *no_color = getenv("NO_COLOR");
        int tty = isatty(STDOUT_FILENO);
        int ascii = !tty || (no_color && *no_color);
        doctor_report_print(stdout, chosen, results, n, strict, ascii, tty && !ascii, took);
    }
    fflush(stdout);

    /* Only a whole run stands for the machine in submission fingerprints. */
    if (!subset) {
        lab_store *store = NULL;
        int rc = lab_store_open_default(&store);
        if (rc == LAB_OK)
            rc = doctor_report_store(store, report);
        if (rc != LAB_OK) {
            lab_warn("the doctor report was not saved: %s", lab_err_message());
            lab_err_clear();
        }
        lab_store_close(store);
    }
    int ok = json_is_true(json_object_get(report, "ok"));
    json_decref(report);
    free(results);
    free(chosen);
    return ok ? LAB_OK : LAB_EFAIL;
}
