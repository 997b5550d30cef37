#include "labs/pretrained.h"

#include "base/error.h"
#include "base/fsutil.h"
#include "datasets/hash.h"
#include "datasets/hf.h"
#include "labs/models/nn.h"
#include "labs/models/weights.h"
#include "shim/safetensors.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CONFIG_MAX (1 << 20)

static int bad_cfg(const char *what, const char *field)
{
    return lab_err(LAB_EUSAGE, "use timm's config.json from the same Hub repo as the weights (lab explain TS-STATE-DICT-MISMATCH)",
                   "%s: pretrained_cfg.%s is missing or out of range", what, field);
}

static int read_triple(const json_t *pc, const char *key, double lo, double hi, double *out, int *n)
{
    const json_t *a = json_object_get(pc, key);
    size_t len = json_array_size(a);
    if (len != 1 && len != 3)
        return -1;
    for (size_t i = 0; i < len; i++) {
        const json_t *v = json_array_get(a, i);
        if (!json_is_number(v) || !(json_number_value(v) >= lo && json_number_value(v) <= hi))
            return -1;
        out[i] = json_number_value(v);
    }
    *n = (int)len;
    return 0;
}

int pretrained_cfg_parse(const char *text, size_t len, const char *what, struct pretrained_cfg *out)
{
    memset(out, 0, sizeof *out);
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root || !json_is_object(root)) {
        json_decref(root);
        return lab_err(LAB_EUSAGE, "download config.json again (lab fetch efficientnet-b0)",
                       "%s is not a JSON object: %s (line %d)", what, je.text, je.line);
    }
    int rc = LAB_OK;
    const json_t *pc = json_object_get(root, "pretrained_cfg");
    const char *arch = json_string_value(json_object_get(root, "architecture"));
    snprintf(out->architecture, sizeof out->architecture, "%s", arch ? arch : "");
    json_int_t nc = json_integer_value(json_object_get(root, "num_classes"));
    if (!nc && pc)
        nc = json_integer_value(json_object_get(pc, "num_classes"));
    out->num_classes = nc > 0 && nc <= 100000 ? (int)nc : 0;
    const json_t *size = pc ? json_object_get(pc, "input_size") : NULL;
    int nm = 0, ns = 0;
    if (!json_is_object(pc)) {
        rc = bad_cfg(what, "(the object)");
    } else if (json_array_size(size) != 3) {
        rc = bad_cfg(what, "input_size");
    } else {
        for (int i = 0; i < 3 && !rc; i++) {
            json_int_t v = json_integer_value(json_array_get(size, (size_t)i));
            if (v < 1 || v > 4096 || (i == 0 && v != 1 && v != 3))
                rc = bad_cfg(what, "input_size");
            out->input_size[i] = (int)v;
        }
    }
    if (!rc) {
        const char *interp = json_string_value(json_object_get(pc, "interpolation"));
        snprintf(out->interpolation, sizeof out->interpolation, "%s", interp ? interp : "bilinear");
        if (strcmp(out->interpolation, "bicubic") && strcmp(out->interpolation, "bilinear") &&
            strcmp(out->interpolation, "nearest"))
            rc = bad_cfg(what, "interpolation");
    }
    if (!rc) {
        const json_t *cp = json_object_get(pc, "crop_pct");
        out->crop_pct = cp ? json_number_value(cp) : 0.875;
        if (!(out->crop_pct >= 0.1 && out->crop_pct <= 1.0))
            rc = bad_cfg(what, "crop_pct");
    }
    if (!rc && read_triple(pc, "mean", -10, 10, out->mean, &nm))
        rc = bad_cfg(what, "mean");
    if (!rc && (read_triple(pc, "std", 1e-6, 10, out->std, &ns) || ns != nm))
        rc = bad_cfg(what, "std");
    out->channels = nm;
    json_decref(root);
    return rc;
}

int pretrained_cfg_read(const char *path, struct pretrained_cfg *out)
{
    char *text = NULL;
    size_t len = 0;
    LAB_TRY(lab_read_file(path, CONFIG_MAX, &text, &len));
    int rc = pretrained_cfg_parse(text, len, path, out);
    free(text);
    return rc;
}

int pretrained_resize_of(const struct pretrained_cfg *c) { return (int)floor(c->input_size[1] / c->crop_pct + 0.5); }

int pretrained_resolve(const char *repo, const char *revision, char *weights, char *config, size_t cap)
{
    LAB_TRY(ds_hf_fetch(repo, revision, "model.safetensors", NULL, weights, cap));
    return ds_hf_fetch(repo, revision, "config.json", NULL, config, cap);
}

int pretrained_load_backbone(struct model *m, const char *path, const char *head_prefix, size_t *n_loaded)
{
    struct ts_load_report rep;
    memset(&rep, 0, sizeof rep);
    int rc = weights_load(m->params, path, 0, head_prefix, &rep);
    if (rc) {
        ts_load_report_free(&rep);
        return rc;
    }
    size_t hl = strlen(head_prefix);
    size_t missing = 0;
    for (size_t i = 0; i < rep.n_missing && i < TS_REPORT_MAX; i++)
        if (strncmp(rep.missing[i], head_prefix, hl))
            missing++;
    if (rep.n_missing > TS_REPORT_MAX)
        missing += rep.n_missing - TS_REPORT_MAX;
    if (missing || rep.n_mismatched || rep.n_unexpected) {
        char buf[2048] = "";
        weights_append_names(buf, sizeof buf, "missing", rep.missing, rep.n_missing < TS_REPORT_MAX ? rep.n_missing : TS_REPORT_MAX, rep.n_missing);
        weights_append_names(buf, sizeof buf, "unexpected", rep.unexpected, rep.n_unexpected < TS_REPORT_MAX ? rep.n_unexpected : TS_REPORT_MAX, rep.n_unexpected);
        weights_append_names(buf, sizeof buf, "mis-shaped", rep.mismatched, rep.n_mismatched < TS_REPORT_MAX ? rep.n_mismatched : TS_REPORT_MAX, rep.n_mismatched);
        ts_load_report_free(&rep);
        /* the load above was partial: a half-pretrained model must not train on */
        return lab_err(LAB_EUSAGE,
                       "load weights of the same architecture (timm efficientnet_b0, pretrained); "
                       "lab explain TS-STATE-DICT-MISMATCH",
                       "%s does not fit %s%s", path, m->name, buf);
    }
    if (n_loaded)
        *n_loaded = rep.loaded;
    ts_load_report_free(&rep);
    return LAB_OK;
}

static int cfg_json(const struct pretrained_cfg *c, char **text)
{
    json_t *mean = json_array(), *std = json_array(), *size = json_array();
    for (int i = 0; i < c->channels; i++) {
        json_array_append_new(mean, json_real(c->mean[i]));
        json_array_append_new(std, json_real(c->std[i]));
    }
    for (int i = 0; i < 3; i++)
        json_array_append_new(size, json_integer(c->input_size[i]));
    json_t *pc = json_pack("{s:o, s:s, s:f, s:s, s:o, s:o, s:i, s:s, s:s}", "input_size", size, "interpolation",
                           c->interpolation, "crop_pct", c->crop_pct, "crop_mode", "center", "mean", mean, "std", std,
                           "num_classes", c->num_classes, "first_conv", "conv_stem", "classifier", "classifier");
    json_t *root = json_pack("{s:s, s:i, s:i, s:o}", "architecture", c->architecture, "num_classes", c->num_classes,
                             "num_features", 1280, "pretrained_cfg", pc);
    *text = root ? json_dumps(root, JSON_INDENT(2)) : NULL;
    json_decref(root);
    return *text ? LAB_OK : lab_err(LAB_EINTERNAL, NULL, "cannot format config.json");
}

/* blobs/<sha256> + snapshots/<commit>/<file> -> ../../blobs/<sha256>. */
static int place(const char *dir, const char *commit, const char *file, const char *src)
{
    char hex[65], blob[4400], snap[4600], sdir[4500], link[128];
    LAB_TRY(ds_hash_file(src, "sha256", hex, sizeof hex));
    snprintf(blob, sizeof blob, "%s/blobs", dir);
    LAB_TRY(lab_mkdir_p(blob));
    snprintf(blob, sizeof blob, "%s/blobs/%s", dir, hex);
    LAB_TRY(lab_rename_durable(src, blob));
    snprintf(sdir, sizeof sdir, "%s/snapshots/%s", dir, commit);
    LAB_TRY(lab_mkdir_p(sdir));
    snprintf(snap, sizeof snap, "%s/%s", sdir, file);
    snprintf(link, sizeof link, "../../blobs/%s", hex);
    unlink(snap);
    if (symlink(link, snap) != 0)
        return lab_err(LAB_EENV, "check that the cache's file system supports symbolic links", "cannot create %s: %s",
                       snap, strerror(errno));
    return LAB_OK;
}

int pretrained_save_hf(const struct model *m, const struct pretrained_cfg *cfg, const char *repo,
                       const char *revision, char *commit, size_t cap)
{
    char dir[4096], tmpw[4300], tmpc[4300], hex[65], c40[41];
    LAB_TRY(ds_hf_repo_dir(repo, dir, sizeof dir));
    LAB_TRY(lab_mkdir_p(dir));
    snprintf(tmpw, sizeof tmpw, "%s/.lab-weights.tmp", dir);
    snprintf(tmpc, sizeof tmpc, "%s/.lab-config.tmp", dir);
    json_t *meta = json_pack("{s:s}", "format", "pt");
    int rc = weights_save(m->params, tmpw, meta, NULL, 0);
    json_decref(meta);
    if (rc)
        return rc;
    char *text = NULL;
    if ((rc = cfg_json(cfg, &text)))
        return rc;
    rc = lab_write_atomic(tmpc, text, strlen(text));
    free(text);
    if (!rc)
        rc = ds_hash_file(tmpw, "sha256", hex, sizeof hex);
    if (rc)
        return rc;
    snprintf(c40, sizeof c40, "%.40s", hex);
    if ((rc = place(dir, c40, "model.safetensors", tmpw)) || (rc = place(dir, c40, "config.json", tmpc)))
        return rc;
    char refs[4300];
    snprintf(refs, sizeof refs, "%s/refs", dir);
    LAB_TRY(lab_mkdir_p(refs));
    snprintf(refs, sizeof refs, "%s/refs/%s", dir, revision);
    LAB_TRY(lab_write_atomic(refs, c40, 40));
    if (commit)
        snprintf(commit, cap, "%s", c40);
    return LAB_OK;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct ts_host_tensor *)a)->name, ((const struct ts_host_tensor *)b)->name);
}

static int fingerprint(struct ts_host_tensor *items, size_t n, const char *skip, char *hex, size_t cap)
{
    qsort(items, n, sizeof *items, by_name);
    size_t sl = skip ? strlen(skip) : 0, used = 0;
    char *digests = malloc(n * 200 + 1);
    if (!digests)
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    digests[0] = 0;
    for (size_t i = 0; i < n; i++) {
        if (sl && !strncmp(items[i].name, skip, sl))
            continue;
        char d[65];
        int rc = ds_hash_buffer(items[i].data, items[i].nbytes, "sha256", d, sizeof d);
        if (rc) {
            free(digests);
            return rc;
        }
        used += (size_t)snprintf(digests + used, 200, "%.120s:%s;", items[i].name, d);
    }
    int rc = ds_hash_buffer(digests, used, "sha256", hex, cap);
    free(digests);
    return rc;
}

int pretrained_fingerprint_params(const ts_params *p, const char *skip, char *hex, size_t cap)
{
    struct ts_host_tensor *items = NULL;
    size_t n = 0;
    void *blob = NULL;
    if (ts_params_export_host(p, &items, &n, &blob) != TS_OK)
        return lab_err(LAB_EINTERNAL, NULL, "cannot export the weights: %s", ts_last_error());
    int rc = fingerprint(items, n, skip, hex, cap);
    free(items);
    free(blob);
    return rc;
}

int pretrained_fingerprint_file(const char *path, const char *skip, char *hex, size_t cap)
{
    st_file *f = NULL;
    LAB_TRY(st_open(path, &f));
    struct ts_host_tensor *items = NULL;
    size_t n = 0;
    int rc = weights_host_view(f, NULL, &items, &n);
    if (!rc)
        rc = fingerprint(items, n, skip, hex, cap);
    free(items);
    st_close(f);
    return rc;
}
