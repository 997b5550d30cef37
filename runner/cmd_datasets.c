#include "base/error.h"
#include "datasets/manifest.h"
#include "datasets/mosaic_export.h"
#include "runner/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void human(unsigned long long n, int approx, char *buf, size_t cap)
{
    const char *units[] = {"B", "KB", "MB", "GB", "TB"};
    double v = (double)n;
    int u = 0;
    while (v >= 1000 && u < 4)
        v /= 1000, u++;
    snprintf(buf, cap, "%s%.*f %s", approx ? "~" : "", u ? 1 : 0, v, units[u]);
}

/* Status of one entry: every file located; verified when each file's stamp
 * matches or (with --verify) its checks pass. */
static int entry_status(const json_t *e, int verify, json_t *files_out, char *status, size_t cap, char *where,
                        size_t wcap, unsigned long long *total, int *approx)
{
    size_t i, present = 0, verified = 0, mismatched = 0, nfiles = json_array_size(json_object_get(e, "files"));
    const json_t *f;
    *total = 0, *approx = 0;
    where[0] = 0;
    json_array_foreach(json_object_get(e, "files"), i, f)
    {
        char path[4096], detail[512] = "";
        int found, rc = ds_file_locate(e, f, path, sizeof path, &found);
        if (rc)
            return rc;
        *total += (unsigned long long)json_integer_value(json_object_get(f, "size"));
        *approx |= json_is_true(json_object_get(f, "size_approx"));
        if (!where[0]) {
            snprintf(where, wcap, "%s", path);
            char *slash = strrchr(where, '/');
            if (slash && nfiles > 1)
                *slash = 0;
        }
        const char *fstatus = "missing";
        if (found) {
            present++;
            fstatus = "present";
            if (ds_stamp_matches(path)) {
                verified++;
                fstatus = "verified";
            } else if (verify) {
                enum ds_verdict v;
                if ((rc = ds_file_verify(path, f, NULL, &v, detail, sizeof detail)))
                    return rc;
                if (v == DS_VERIFIED) {
                    verified++;
                    fstatus = "verified";
                    ds_stamp_write(path);
                } else if (v == DS_MISMATCH) {
                    mismatched++;
                    fstatus = "mismatch";
                    fprintf(stderr, "warning: %s: %s (see lab explain TS-CHECKSUM)\n", path, detail);
                }
            }
        }
        if (files_out)
            json_array_append_new(files_out, json_pack("{s:s, s:s, s:s, s:s}", "name",
                                                       json_string_value(json_object_get(f, "name")), "path", path,
                                                       "status", fstatus, "detail", detail));
    }
    if (mismatched)
        snprintf(status, cap, "MISMATCH");
    else if (present == 0)
        snprintf(status, cap, "missing");
    else if (present < nfiles)
        snprintf(status, cap, "partial %zu/%zu", present, nfiles);
    else if (verified == nfiles)
        snprintf(status, cap, "verified");
    else
        snprintf(status, cap, "present");
    return LAB_OK;
}

const struct lab_opt lab_datasets_options[] = {
    {'v', "verify", 0, LAB_OPT_FLAG, NULL, "hash every present file against the manifest's checksums", 0, 0, NULL},
    {'j', "json", 0, LAB_OPT_FLAG, NULL, "print a JSON array instead of a table", 0, 0, NULL},
    {'e', "export-yolo", 0, LAB_OPT_STR, "SET", "write a set of Fashion-MNIST mosaics (a 2.2.3 quick run's eval_set,\n"
     "e.g. fashion-mnist-mosaic:test:size=96:n=300:seed=43) as a YOLO-format\ndataset into --out", 0, 0, NULL},
    {'o', "out", 0, LAB_OPT_STR, "DIR", "--export-yolo: the dataset folder (data.yaml, images/, labels/)", 0, 0, NULL},
    {'s', "split", 0, LAB_OPT_STR, "S", "--export-yolo: train or val (default val)", 0, 0, NULL},
    {0},
};

int cmd_datasets(int argc, char **argv)
{
    int json = 0, verify = 0, c;
    const char *export = NULL, *out_dir = NULL, *split = "val";
    struct lab_opts p;
    lab_opts_init(&p, "datasets", lab_datasets_options, argc, argv);
    while ((c = lab_opts_next(&p)) > 0) {
        if (c == 'j')
            json = 1;
        else if (c == 'v')
            verify = 1;
        else if (c == 'e')
            export = p.value;
        else if (c == 'o')
            out_dir = p.value;
        else if (c == 's')
            split = p.value;
    }
    if (c < 0)
        return c;
    if (p.npos)
        return lab_cli_usage("datasets", "unexpected argument '%s'", p.pos[0]);
    if (export && !out_dir)
        return lab_cli_usage("datasets", "--export-yolo needs --out DIR");
    if (export) {
        int rc = ds_mosaic_export_yolo(export, NULL, out_dir, split);
        if (!rc)
            printf("wrote %s (split %s) as a YOLO-format dataset: %s/data.yaml\n", export, split, out_dir);
        return rc;
    }
    int rc = ds_registry_load();
    if (rc)
        return rc;
    json_t *out = json ? json_array() : NULL;
    if (!json)
        printf("%-16s %-8s %-10s %-12s %s\n", "NAME", "KIND", "SIZE", "STATUS", "LOCATION");
    for (size_t i = 0; i < ds_registry_count(); i++) {
        const json_t *e = ds_registry_at(i);
        char status[64], where[4096], size[32];
        unsigned long long total;
        int approx;
        json_t *files = json ? json_array() : NULL;
        if ((rc = entry_status(e, verify, files, status, sizeof status, where, sizeof where, &total, &approx))) {
            json_decref(files);
            json_decref(out);
            return rc;
        }
        human(total, approx, size, sizeof size);
        const char *name = json_string_value(json_object_get(e, "name"));
        const char *kind = json_string_value(json_object_get(e, "kind"));
        if (json)
            json_array_append_new(out, json_pack("{s:s, s:s, s:s?, s:I, s:b, s:s, s:s, s:o}", "name", name, "kind",
                                                 kind, "title", json_string_value(json_object_get(e, "title")),
                                                 "size", (json_int_t)total, "size_approx", approx, "status", status,
                                                 "location", where, "files", files));
        else
            printf("%-16s %-8s %-10s %-12s %s\n", name, kind, size, status, where);
    }
    if (json) {
        char *text = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        puts(text ? text : "[]");
        free(text);
        json_decref(out);
    } else if (!verify) {
        printf("\n\"present\" files have not been hashed yet: `lab datasets --verify` checks them.\n");
    }
    return LAB_OK;
}
