#include "base/error.h"
#include "grader/rubric.h"
#include "labs/lab.h"
#include "runner/cli.h"
#include "store/store.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_json_block(const char *title, const json_t *v)
{
    if (!v)
        return;
    char *text = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    printf("\n%s:\n", title);
    for (char *line = text, *nl; line && *line; line = nl + 1) {
        nl = strchr(line, '\n');
        if (!nl) {
            printf("  %s\n", line);
            break;
        }
        printf("  %.*s\n", (int)(nl - line), line);
    }
    free(text);
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

int cmd_info(int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'}, {NULL, 0, NULL, 0}};
    int json = 0, c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'j')
            json = 1;
        else
            return lab_cli_bad_option("info", argv);
    }
    if (optind != argc - 1)
        return lab_cli_usage("info", "info takes exactly one lab id, e.g. `lab info 2.2.1`");
    const json_t *m;
    int rc = lab_cli_find_lab(argv[optind], &m);
    if (rc)
        return rc;
    if (json) {
        char *text = json_dumps(m, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        puts(text);
        free(text);
        return LAB_OK;
    }
    printf("%s  %s\n", lab_manifest_id(m), lab_manifest_title(m));
    printf("%s\n", json_string_value(json_object_get(m, "summary")));
    size_t i;
    json_t *v;
    printf("\nobjectives:\n");
    json_array_foreach(json_object_get(m, "objectives"), i, v) printf("  - %s\n", json_string_value(v));
    const json_t *ds = json_object_get(m, "datasets");
    printf("\ndata: %s (full mode), %s (--quick)\n", json_string_value(json_object_get(ds, "full")),
           json_string_value(json_object_get(ds, "quick")));
    printf("\nmodels:\n");
    json_array_foreach(json_object_get(m, "models"), i, v)
    {
        printf("  %-16s", json_string_value(json_object_get(v, "name")));
        json_t *params = json_object_get(v, "params");
        if (json_is_integer(params))
            print_group("%12s parameters", json_integer_value(params));
        printf("\n");
    }
    print_json_block("default configuration", json_object_get(m, "config"));
    print_json_block("--quick changes", json_object_get(m, "quick"));
    rubric_describe(stdout, lab_manifest_id(m));
    printf("\ntroubleshooting:");
    json_array_foreach(json_object_get(m, "troubleshooting"), i, v) printf(" %s", json_string_value(v));
    printf("  (lab explain <id>)\n");

    lab_store *store;
    if (lab_store_open_default(&store) == LAB_OK) {
        struct lab_run_record last;
        int found;
        if (lab_store_last_run(store, lab_manifest_id(m), &last, &found) == LAB_OK && found)
            printf("\nlast run: %s, started %s, %s\n", last.status, last.started, last.run_dir);
        lab_store_close(store);
    }
    return LAB_OK;
}
