#include "labs/pretrained.h"

#include "base/error.h"
#include "base/fsutil.h"
#include "datasets/augment.h"
#include "datasets/image.h"
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

int pretrained_eval_augment(const struct pretrained_cfg *c, const char *what, struct ds_augment *ev)
{
    if (c->crop_pct < 1.0) {
        ev->resize_short = pretrained_resize_of(c);
        ev->center_crop = c->input_size[1];
    }
    /* timm's efficientnet_b0: bicubic, as PIL does it (datasets/image.h) */
    if (ds_resample_parse(c->interpolation, &ev->resample))
        return lab_err(LAB_EUSAGE, "use a checkpoint whose pretrained_cfg interpolation is nearest, bilinear or bicubic",
                       "%s: interpolation '%s' is not supported", what, c->interpolation);
    for (int i = 0; i < 3; i++) {
        int k = c->channels == 3 ? i : 0;
        ev->mean[i] = (float)c->mean[k];
        ev->std[i] = (float)c->std[k];
    }
    ev->normalize = 1;
    return LAB_OK;
}
