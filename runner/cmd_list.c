#include "base/error.h"
#include "datasets/manifest.h"
#include "grader/rubric.h"
#include "labs/lab.h"
#include "runner/cli.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct lab_opt lab_list_options[] = {
    {'j', "json", 0, LAB_OPT_FLAG, NULL, "print a JSON array instead of a table", 0, 0, NULL},
    {0},
};

/* 1 when every file of the registry entry `name` is on this machine; data
 * a lab builds itself (not in the registry) counts as there. */
static int data_ready(const char *name)
{
    const json_t *e = name ? ds_registry_find(name) : NULL;
    if (!e)
        return 1;
    size_t i;
    const json_t *f;
    json_array_foreach(json_object_get(e, "files"), i, f)
    {
        char path[4096];
        int found = 0;
        if (ds_file_locate(e, f, path, sizeof path, &found)) {
            lab_err_clear();
            return 0;
        }
        if (!found)
            return 0;
    }
    return 1;
}

/* What a lab can do here and now: "full, quick, grading", with what is
 * missing for the rest. */
static void can_run(const json_t *m, int *full, int *quick, int *grading, char *text, size_t cap)
{
    const char *id = lab_manifest_id(m);
    const json_t *ds = json_object_get(m, "datasets");
    const char *full_data = json_string_value(json_object_get(ds, "full"));
    const char *quick_data = json_string_value(json_object_get(ds, "quick"));
    const struct lab_impl *impl = lab_impl_find(id);
    int code = impl != NULL;
    *full = code && impl->run && !impl->quick_only && data_ready(full_data);
    *quick = code && impl->run && data_ready(quick_data);
    *grading = rubric_find(id) != NULL;
    if (!code) {
        snprintf(text, cap, "no code yet%s", *grading ? " (grading only)" : "");
        return;
    }
    if (!impl->run) { /* models and `lab predict`, no run yet */
        snprintf(text, cap, "predict only%s", *grading ? ", grading" : "");
        return;
    }
    snprintf(text, cap, "%s%s%s%s%s%s", *full ? "full" : "", *full && *quick ? ", " : "", *quick ? "quick" : "",
             (*full || *quick) && *grading ? ", " : "", *grading ? "grading" : "", "");
    if (impl->quick_only) {
        size_t n = strlen(text);
        snprintf(text + n, cap - n, "%s(full: not in this version)", n ? " " : "");
    } else if (!*full && full_data) {
        size_t n = strlen(text);
        snprintf(text + n, cap - n, "%s(full: lab fetch %s)", n ? " " : "", full_data);
    }
}

int cmd_list(int argc, char **argv)
{
    int json = 0, c;
    struct lab_opts p;
    lab_opts_init(&p, "list", lab_list_options, argc, argv);
    while ((c = lab_opts_next(&p)) > 0)
        json = 1;
    if (c < 0)
        return c;
    if (p.npos)
        return lab_cli_usage("list", "unexpected argument '%s'", p.pos[0]);
    int rc = lab_registry_load();
    if (!rc)
        rc = ds_registry_load();
    if (rc)
        return rc;

    /* The labs are listed even when the store is unusable; its error is
     * still the exit status, so the problem is not hidden. */
    lab_store *store = NULL;
    int store_rc = lab_store_open_default(&store);
    char store_msg[1024] = "", store_fix[512] = "";
    if (store_rc) { /* kept: the checks below may record errors of their own */
        snprintf(store_msg, sizeof store_msg, "%s", lab_err_message());
        snprintf(store_fix, sizeof store_fix, "%s", lab_err_fix());
    }
    json_t *out = json ? json_array() : NULL;
    if (!json)
        printf("%-7s %-34s %-42s %s\n", "LAB", "TITLE", "CAN RUN NOW", "LAST RUN");
    for (size_t i = 0; i < lab_registry_count(); i++) {
        const json_t *m = lab_registry_at(i);
        const char *id = lab_manifest_id(m);
        /* The last good run stands; a failed attempt after it is a note. */
        struct lab_run_record good, last;
        int found_good = 0, found_last = 0;
        struct lab_run_query q_good = {.lab = id, .status = "ok"}, q_last = {.lab = id};
        if (store && ((rc = lab_store_find_run(store, &q_good, &good, &found_good)) ||
                      (rc = lab_store_find_run(store, &q_last, &last, &found_last))) && !store_rc)
            store_rc = rc;
        int later = found_last && (!found_good || last.id != good.id);
        char when[256];
        if (found_good)
            snprintf(when, sizeof when, "ok #%lld %s", (long long)good.id, good.started);
        else
            snprintf(when, sizeof when, "%s", store ? "no finished run" : "unknown");
        if (later) {
            size_t n = strlen(when);
            snprintf(when + n, sizeof when - n, " (then %s #%lld)", last.status, (long long)last.id);
        }
        int full, quick, grading;
        char what[160];
        can_run(m, &full, &quick, &grading, what, sizeof what);
        if (json) {
            json_t *row = json_pack("{s:s, s:s, s:b, s:{s:b, s:b, s:b}, s:s?, s:s?, s:s?}", "id", id, "title",
                                    lab_manifest_title(m), "has_code", lab_impl_find(id) != NULL, "can_run", "full",
                                    full, "quick", quick, "grading", grading, "last_status",
                                    found_good ? good.status : found_last ? last.status : NULL, "last_started",
                                    found_good ? good.started : found_last ? last.started : NULL, "last_run_dir",
                                    found_good ? good.run_dir : NULL);
            if (row && later)
                json_object_set_new(row, "last_attempt",
                                    json_pack("{s:I, s:s, s:s}", "id", (json_int_t)last.id, "status", last.status,
                                              "started", last.started));
            json_array_append_new(out, row);
        } else {
            printf("%-7s %-34.34s %-42s %s\n", id, lab_manifest_title(m), what, when);
        }
    }
    if (json) {
        char *text = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        puts(text ? text : "[]");
        free(text);
        json_decref(out);
    }
    lab_store_close(store);
    if (store_rc && store_msg[0])
        return lab_err(store_rc, store_fix[0] ? store_fix : NULL, "%s", store_msg);
    return store_rc;
}
