#include "base/error.h"
#include "grader/rubric.h"
#include "labs/lab.h"
#include "runner/cli.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A leaf as --set takes it: numbers as people write them (0.4822, not
 * 0.48220000000000002), strings bare, arrays compact. */
static void leaf_text(const json_t *v, char *out, size_t cap)
{
    if (json_is_string(v)) {
        snprintf(out, cap, "%s", *json_string_value(v) ? json_string_value(v) : "\"\"");
        return;
    }
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
    snprintf(out, cap, "%s", text ? text : "?");
    free(text);
}

/* One `key = value` line per leaf; a key --quick sets differently gets
 * its quick value beside it. */
static void print_dotted(const char *prefix, const json_t *cfg, const json_t *quick)
{
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)cfg, key, v)
    {
        char path[256], text[256], qtext[256] = "";
        snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", key);
        const json_t *q = json_object_get(quick, key);
        if (json_is_object(v) && (json_object_size(v) || json_is_object(q))) {
            print_dotted(path, v, q);
            continue;
        }
        leaf_text(v, text, sizeof text);
        if (q && !json_equal((json_t *)q, (json_t *)v) && !json_is_object(q))
            leaf_text(q, qtext, sizeof qtext);
        if (qtext[0])
            printf("  %-42s %-22s (--quick: %s)\n", path, text, qtext);
        else
            printf("  %-42s %s\n", path, text);
    }
    /* keys only --quick has (per-model values) */
    json_object_foreach((json_t *)quick, key, v)
    {
        if (json_object_get(cfg, key))
            continue;
        char path[256], text[256];
        snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", key);
        if (json_is_object(v)) {
            json_t *none = json_object();
            print_dotted(path, none, v);
            json_decref(none);
            continue;
        }
        leaf_text(v, text, sizeof text);
        printf("  %-42s %-22s (--quick: %s)\n", path, "-", text);
    }
}

static void print_group(const char *fmt, long long n)
{
    /* 11173962 -> 11,173,962 */
    char digits[32], out[48];
    int len = snprintf(digits, sizeof digits, "%lld", n), j = 0;
    for (int i = 0; i < len; i++) {
        if (i && (len - i) % 3 == 0)
            out[j++] = ',';
        out[j++] = digits[i];
    }
    out[j] = '\0';
    printf(fmt, out);
}

const struct lab_opt lab_info_options[] = {
    {'j', "json", 0, LAB_OPT_FLAG, NULL, "print the lab's manifest as JSON", 0, 0, NULL},
    {0},
};

int cmd_info(int argc, char **argv)
{
    int json = 0, c;
    struct lab_opts p;
    lab_opts_init(&p, "info", lab_info_options, argc, argv);
    while ((c = lab_opts_next(&p)) > 0)
        json = 1;
    if (c < 0)
        return c;
    if (p.npos != 1)
        return lab_cli_usage("info", "info takes exactly one lab id, e.g. `lab info 2.2.1`");
    const json_t *m;
    int rc = lab_cli_find_lab(p.pos[0], &m);
    if (rc)
        return rc;
    if (json) {
        char *text = json_dumps(m, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        puts(text);
        free(text);
        return LAB_OK;
    }
    printf("%s  %s\n", lab_manifest_id(m), lab_manifest_title(m));
    const struct lab_impl *impl = lab_impl_find(lab_manifest_id(m));
    if (!impl)
        printf("(no code yet in lab %s: this lab cannot run; its manifest is shown)\n", LAB_VERSION);
    else if (!impl->run)
        printf("(lab %s has this lab's models and `lab predict %s`, but no full or quick run yet)\n", LAB_VERSION,
               lab_manifest_id(m));
    else if (impl->quick_only)
        printf("(lab %s runs this lab's quick mode only: `lab run %s --quick`%s; its full mode is not written yet)\n",
               LAB_VERSION, lab_manifest_id(m),
               impl->own_data ? ", or on your own dataset with --set data.dataset=PATH" : "");
    printf("%s\n", json_string_value(json_object_get(m, "summary")));
    size_t i;
    json_t *v;
    printf("\nobjectives:\n");
    json_array_foreach(json_object_get(m, "objectives"), i, v) printf("  - %s\n", json_string_value(v));
    const json_t *ds = json_object_get(m, "datasets");
    printf("\ndata: %s (full mode), %s (--quick)", json_string_value(json_object_get(ds, "full")),
           json_string_value(json_object_get(ds, "quick")));
    const char *key; /* what else the full mode fetches (2.2.3's sample images) */
    json_t *extra;
    json_object_foreach((json_t *)ds, key, extra) if (strcmp(key, "full") && strcmp(key, "quick"))
        printf(", %s (%s)", json_string_value(extra), key);
    printf("\n");
    printf("\nmodels:\n");
    int name_w = 16; /* wider for a long name (2.2.4's deeplabv3-resnet50), so the counts align */
    json_array_foreach(json_object_get(m, "models"), i, v)
    {
        const char *n = json_string_value(json_object_get(v, "name"));
        if (n && (int)strlen(n) + 1 > name_w)
            name_w = (int)strlen(n) + 1;
    }
    json_array_foreach(json_object_get(m, "models"), i, v)
    {
        printf("  %-*s", name_w, json_string_value(json_object_get(v, "name")));
        json_t *params = json_object_get(v, "params");
        if (json_is_integer(params))
            print_group("%12s parameters", json_integer_value(params));
        printf("\n");
    }
    printf("\nconfiguration (change with `lab run %s --set KEY=VALUE`):\n", lab_manifest_id(m));
    print_dotted("", json_object_get(m, "config"), json_object_get(m, "quick"));
    rubric_describe(stdout, lab_manifest_id(m));
    printf("\ntroubleshooting:");
    json_array_foreach(json_object_get(m, "troubleshooting"), i, v) printf(" %s", json_string_value(v));
    printf("  (lab explain <id>)\n");

    lab_store *store;
    if (lab_store_open_default(&store) == LAB_OK) {
        struct lab_run_record last;
        int found;
        struct lab_run_query q = {.lab = lab_manifest_id(m), .status = "ok"};
        if (lab_store_find_run(store, &q, &last, &found) == LAB_OK && found)
            printf("\nlast run: #%lld %s, started %s, %s\n", (long long)last.id, last.status, last.started,
                   last.run_dir);
        lab_store_close(store);
    }
    return LAB_OK;
}
