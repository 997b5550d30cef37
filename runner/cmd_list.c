#include "base/error.h"
#include "labs/lab.h"
#include "runner/cli.h"
#include "store/store.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cmd_list(int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'}, {NULL, 0, NULL, 0}};
    int json = 0, c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'j')
            json = 1;
        else
            return lab_cli_bad_option("list", argv);
    }
    if (optind < argc)
        return lab_cli_usage("list", "unexpected argument '%s'", argv[optind]);
    int rc = lab_registry_load();
    if (rc)
        return rc;

    /* The labs are listed even when the store is unusable; its error is
     * still the exit status, so the problem is not hidden. */
    lab_store *store = NULL;
    int store_rc = lab_store_open_default(&store);
    json_t *out = json ? json_array() : NULL;
    if (!json)
        printf("%-7s %-36s %s\n", "LAB", "TITLE", "LAST RUN");
    for (size_t i = 0; i < lab_registry_count(); i++) {
        const json_t *m = lab_registry_at(i);
        struct lab_run_record last;
        int found = 0;
        if (store && (rc = lab_store_last_run(store, lab_manifest_id(m), &last, &found)) != LAB_OK && !store_rc)
            store_rc = rc;
        char when[64];
        if (found)
            snprintf(when, sizeof when, "%s %s", last.status, last.started);
        else
            snprintf(when, sizeof when, "%s", store ? "never run" : "unknown");
        if (json)
            json_array_append_new(out, json_pack("{s:s, s:s, s:s?, s:s?}", "id", lab_manifest_id(m), "title",
                                                 lab_manifest_title(m), "last_status", found ? last.status : NULL,
                                                 "last_started", found ? last.started : NULL));
        else
            printf("%-7s %-36s %s\n", lab_manifest_id(m), lab_manifest_title(m), when);
    }
    if (json) {
        char *text = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        puts(text ? text : "[]");
        free(text);
        json_decref(out);
    }
    lab_store_close(store);
    return store_rc;
}
