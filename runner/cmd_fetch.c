#include "base/error.h"
#include "base/suggest.h"
#include "datasets/fetch.h"
#include "datasets/manifest.h"
#include "labs/lab.h"
#include "runner/cli.h"

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

const struct lab_opt lab_fetch_options[] = {
    {'n', "dry-run", 0, LAB_OPT_FLAG, NULL, "say what would be downloaded, and from where; download nothing", 0, 0, NULL},
    {'u', "url", 0, LAB_OPT_STR, "URL", "download one file (instructors, tests); repeat for mirrors ...", 0, 0, NULL},
    {'s', "sha256", 0, LAB_OPT_STR, "HEX", "... checking it against this sha256 ...", 0, 0, NULL},
    {'o', "output", 'o', LAB_OPT_STR, "PATH", "... into PATH", 0, 0, NULL},
    {'M', "max-size", 0, LAB_OPT_STR, "SIZE", "refuse a download larger than SIZE (bytes, or 50M, 2G ...)", 0, 0, NULL},
    {'T', "timeout", 0, LAB_OPT_INT, "S", "give up on a file after S seconds in all (1 to 604800)", 1, 7 * 24 * 3600, NULL},
    {0},
};

int cmd_fetch(int argc, char **argv)
{
    struct ds_fetch_opts o = {.progress_mode = LAB_PROGRESS_AUTO};
    const char *urls[8], *sha = NULL, *out = NULL;
    size_t nurls = 0;
    int c;
    struct lab_opts p;
    lab_opts_init(&p, "fetch", lab_fetch_options, argc, argv);
    while ((c = lab_opts_next(&p)) > 0) {
        if (c == 'n')
            o.dry_run = 1;
        else if (c == 'u') {
            if (nurls == 8)
                return lab_cli_usage("fetch", "at most 8 --url options");
            urls[nurls++] = p.value;
        }
        else if (c == 's')
            sha = p.value;
        else if (c == 'o')
            out = p.value;
        else if (c == 'M') {
            if (!(o.max_bytes = ds_fetch_parse_size(p.value)))
                return lab_cli_usage("fetch", "--max-size '%s' is not a size: give bytes, or a number with K, M, G "
                                              "or T (for example 50M)", p.value);
        }
        else if (c == 'T')
            o.timeout_s = p.ival;
    }
    if (c < 0)
        return c;
    if (nurls || sha || out) {
        if (!nurls || !sha || !out)
            return lab_cli_usage("fetch", "--url, --sha256 and -o go together");
        if (p.npos)
            return lab_cli_usage("fetch", "unexpected argument '%s' with --url", p.pos[0]);
        return ds_fetch_one(urls, nurls, sha, out, &o);
    }
    if (p.npos != 1)
        return lab_cli_usage("fetch", p.npos ? "one target at a time" : "what to fetch? a name, a lab id or all");
    const char *target = p.pos[0];
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
