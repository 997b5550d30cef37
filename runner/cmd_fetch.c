#include "base/error.h"
#include "base/suggest.h"
#include "datasets/fetch.h"
#include "datasets/manifest.h"
#include "labs/lab.h"
#include "runner/cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The registry entries a lab needs: every value of its "datasets" object
 * that names an entry (quick-mode data such as mosaics is built locally). */
static int fetch_lab(const json_t *lab, const struct ds_fetch_opts *opts)
{
    const char *key;
    const json_t *v;
    int rc = LAB_OK, any = 0;
    json_object_foreach((json_t *)json_object_get(lab, "datasets"), key, v)
    {
        const json_t *e = json_string_value(v) ? ds_registry_find(json_string_value(v)) : NULL;
        if (!e)
            continue;
        any = 1;
        if ((rc = ds_fetch_entry(e, opts)))
            return rc;
    }
    if (!any)
        printf("lab %s needs nothing from the registry\n", lab_manifest_id(lab));
    return rc;
}

int cmd_fetch(int argc, char **argv)
{
    static const struct option opts[] = {{"dry-run", no_argument, NULL, 'n'},
                                         {"url", required_argument, NULL, 'u'},
                                         {"sha256", required_argument, NULL, 's'},
                                         {"output", required_argument, NULL, 'o'},
                                         {"max-size", required_argument, NULL, 'M'},
                                         {"timeout", required_argument, NULL, 'T'},
                                         {NULL, 0, NULL, 0}};
    struct ds_fetch_opts o = {.progress_mode = LAB_PROGRESS_AUTO};
    const char *urls[8], *sha = NULL, *out = NULL;
    size_t nurls = 0;
    int c;
    while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        if (c == 'n')
            o.dry_run = 1;
        else if (c == 'u') {
            if (nurls == 8)
                return lab_cli_usage("fetch", "at most 8 --url options");
            urls[nurls++] = optarg;
        }
        else if (c == 's')
            sha = optarg;
        else if (c == 'o')
            out = optarg;
        else if (c == 'M') {
            if (!(o.max_bytes = ds_fetch_parse_size(optarg)))
                return lab_cli_usage("fetch", "--max-size '%s' is not a size: give bytes, or a number with K, M, G "
                                              "or T (for example 50M)", optarg);
        }
        else if (c == 'T') {
            char *end;
            long t = strtol(optarg, &end, 10);
            if (*end || end == optarg || t < 1 || t > 7 * 24 * 3600)
                return lab_cli_usage("fetch", "--timeout '%s' is not a number of seconds from 1 to 604800 (a week)",
                                     optarg);
            o.timeout_s = t;
        }
        else
            return lab_cli_bad_option("fetch", argv);
    }
    if (nurls || sha || out) {
        if (!nurls || !sha || !out)
            return lab_cli_usage("fetch", "--url, --sha256 and -o go together");
        if (optind < argc)
            return lab_cli_usage("fetch", "unexpected argument '%s' with --url", argv[optind]);
        return ds_fetch_one(urls, nurls, sha, out, &o);
    }
    if (optind + 1 != argc)
        return lab_cli_usage("fetch", optind < argc ? "one target at a time" : "what to fetch? a name, a lab id or all");
    const char *target = argv[optind];
    int rc = ds_registry_load();
    if (rc)
        return rc;
    if (strcmp(target, "all") == 0) {
        int first_rc = LAB_OK;
        for (size_t i = 0; i < ds_registry_count(); i++) {
            rc = ds_fetch_entry(ds_registry_at(i), &o);
            if (rc) {
                /* keep going: one missing mirror should not stop the rest */
                fprintf(stderr, "error: %s\n", lab_err_message());
                if (!first_rc)
                    first_rc = rc;
            }
        }
        if (first_rc)
            return lab_err(first_rc, "see the errors above", "some entries could not be fetched");
        return LAB_OK;
    }
    const json_t *e = ds_registry_find(target);
    if (e)
        return ds_fetch_entry(e, &o);
    if ((rc = lab_registry_load()))
        return rc;
    const json_t *lab = lab_registry_find(target);
    if (lab)
        return fetch_lab(lab, &o);
    const char *close = lab_suggest(target, ds_registry_names());
    if (!close)
        close = lab_suggest(target, lab_registry_ids());
    char fix[256];
    snprintf(fix, sizeof fix, "%s%s%s`lab datasets` lists the names, `lab list` the labs", close ? "did you mean '" : "",
             close ? close : "", close ? "'? " : "");
    return lab_err(LAB_EUSAGE, fix, "unknown dataset or lab '%s'", target);
}
