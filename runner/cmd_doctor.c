/* lab doctor: run the checks (runner/doctor*.c), print the report, keep it
 * in the store. */
#include "base/error.h"
#include "base/log.h"
#include "base/suggest.h"
#include "doctor/doctor.h"
#include "doctor/report.h"
#include "runner/cli.h"
#include "store/store.h"

#include <getopt.h>
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
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    for (size_t i = 0; i < n; i++) {
        size_t d = lab_edit_distance(id, all[i].id);
        if (d < best_d) {
            best_d = d;
            best = all[i].id;
        }
    }
    if (best && best_d <= 3)
        return lab_err(LAB_EUSAGE, "see `lab doctor --list-checks`", "unknown check '%s'; did you mean '%s'?", id, best);
    return lab_err(LAB_EUSAGE, "see `lab doctor --list-checks`", "unknown check '%s'", id);
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

int cmd_doctor(int argc, char **argv)
{
    enum { OPT_JSON = 1, OPT_LIST, OPT_CHECK, OPT_FULL, OPT_STRICT };
    static const struct option opts[] = {{"json", no_argument, NULL, OPT_JSON},
                                         {"list-checks", no_argument, NULL, OPT_LIST},
                                         {"check", required_argument, NULL, OPT_CHECK},
                                         {"full", no_argument, NULL, OPT_FULL},
                                         {"strict", no_argument, NULL, OPT_STRICT},
                                         {NULL, 0, NULL, 0}};
    int json = 0, list = 0, full = 0, strict = 0, c;
    size_t total;
    const struct doctor_check *all = doctor_checks(&total);
    const struct doctor_check **chosen = calloc(total + argc + 1, sizeof *chosen);
    size_t n = 0;
    if (!chosen)
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == OPT_JSON) {
            json = 1;
        } else if (c == OPT_LIST) {
            list = 1;
        } else if (c == OPT_FULL) {
            full = 1;
        } else if (c == OPT_STRICT) {
            strict = 1;
        } else if (c == OPT_CHECK) {
            const struct doctor_check *k = doctor_check_find(optarg);
            if (!k) {
                free(chosen);
                return unknown_check(optarg);
            }
            int dup = 0;
            for (size_t i = 0; i < n; i++)
                dup |= chosen[i] == k;
            if (!dup)
                chosen[n++] = k;
        } else {
            free(chosen);
            return lab_cli_bad_option("doctor", argv);
        }
    }
    if (optind < argc) {
        free(chosen);
        return lab_cli_usage("doctor", "unexpected argument '%s'", argv[optind]);
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
