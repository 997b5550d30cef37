/* lab runs [LAB]: the run history kept in the store, newest first. */
#include "base/error.h"
#include "labs/lab.h"
#include "runner/cli.h"
#include "store/store.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { O_JSON = 1, O_LIMIT };

const struct lab_opt lab_runs_options[] = {
    {O_LIMIT, "limit", 0, LAB_OPT_INT, "N", "show the N newest runs (default 50; 0 for all)", 0, 1000000, NULL},
    {O_JSON, "json", 0, LAB_OPT_FLAG, NULL, "print a JSON array instead of a table", 0, 0, NULL},
    {0},
};

struct runs_out {
    json_t *json; /* NULL: a table on stdout */
    size_t n;
};

/* The metric a person looks at first: the best test accuracy among the
 * models that finished, and which model it is. */
static void headline(const json_t *metrics, char *out, size_t cap, double *best_out, const char **best_model)
{
    const char *name, *best_name = NULL;
    const json_t *mm;
    double best = -1;
    json_object_foreach((json_t *)json_object_get(metrics, "models"), name, mm)
    {
        const json_t *acc = json_object_get(mm, "test_accuracy");
        if (json_is_number(acc) && json_number_value(acc) > best) {
            best = json_number_value(acc);
            best_name = name;
        }
    }
    *best_out = best;
    *best_model = best_name;
    if (best_name)
        snprintf(out, cap, "acc %.2f%% (%s)", 100 * best, best_name);
    else
        snprintf(out, cap, "-");
}

static int print_run(void *ctx, const struct lab_run_record *r, const char *config_json, const char *metrics_json)
{
    struct runs_out *o = ctx;
    json_t *config = config_json ? json_loads(config_json, 0, NULL) : NULL;
    json_t *metrics = metrics_json ? json_loads(metrics_json, 0, NULL) : NULL;
    const char *model = json_string_value(json_object_get(config, "model"));
    const char *mode = json_is_true(json_object_get(config, "quick")) ? "quick" : "full";
    char head[96];
    double best;
    const char *best_model;
    headline(metrics, head, sizeof head, &best, &best_model);
    if (o->json) {
        json_t *row = json_pack("{s:I, s:s, s:s?, s:s, s:s, s:s, s:s?, s:s}", "id", (json_int_t)r->id, "lab", r->lab,
                                "model", model, "mode", mode, "status", r->status, "started", r->started, "finished",
                                r->finished[0] ? r->finished : NULL, "run_dir", r->run_dir);
        if (row && best_model)
            json_object_set_new(row, "headline",
                                json_pack("{s:s, s:s, s:f}", "metric", "test_accuracy", "model", best_model, "value", best));
        json_array_append_new(o->json, row);
    } else {
        printf("%-5lld %-7s %-10s %-6s %-12s %-26s %s\n", (long long)r->id, r->lab, model ? model : "-", mode,
               r->status, head, r->run_dir);
    }
    o->n++;
    json_decref(config);
    json_decref(metrics);
    return 0;
}

int cmd_runs(int argc, char **argv)
{
    int json = 0, c;
    long long limit = 50;
    struct lab_opts p;
    lab_opts_init(&p, "runs", lab_runs_options, argc, argv);
    while ((c = lab_opts_next(&p)) > 0) {
        if (c == O_JSON)
            json = 1;
        else if (c == O_LIMIT)
            limit = p.ival;
    }
    if (c < 0)
        return c;
    if (p.npos > 1)
        return lab_cli_usage("runs", "runs takes at most one lab id, e.g. `lab runs 2.2.1`");
    const json_t *manifest;
    int rc;
    if (p.npos && (rc = lab_cli_find_lab(p.pos[0], &manifest)))
        return rc;
    lab_store *store = NULL;
    if ((rc = lab_store_open_default(&store)))
        return rc;
    struct runs_out o = {.json = json ? json_array() : NULL};
    struct lab_run_query q = {.lab = p.npos ? p.pos[0] : NULL, .limit = (int)limit};
    if (!json)
        printf("%-5s %-7s %-10s %-6s %-12s %-26s %s\n", "ID", "LAB", "MODEL", "MODE", "STATUS", "HEADLINE", "PATH");
    rc = lab_store_runs(store, &q, print_run, &o);
    lab_store_close(store);
    if (json) {
        char *text = json_dumps(o.json, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
        puts(text ? text : "[]");
        free(text);
        json_decref(o.json);
    } else if (!rc && o.n == 0) {
        printf("(no runs yet: `lab run %s --quick` makes one)\n", p.npos ? p.pos[0] : "<lab-id>");
    }
    return rc;
}
