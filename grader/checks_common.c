/* Checks every lab's rubric can use, whatever its task: the submission's
 * integrity (manifest, checksums, artifacts, lab id) and its input
 * normalization (configured constants against the dataset registry's, and
 * the statistics of the preprocessed batch it saved). */
#include "grader/rubric.h"

#include "base/error.h"
#include "datasets/hash.h"
#include "datasets/registry.h"
#include "grader/tensors.h"
#include "labs/config.h"
#include "labs/lab.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KB_INTEGRITY "TS-SUBMISSION-INTEGRITY"

static const char *cfg_dataset(const struct grade_ctx *g) { return lab_cfg_str(g->sub->config, "data.dataset", ""); }

/* Appends up to 4 names of a list to buf. */
static void name_list(char *buf, size_t cap, char *const *names, size_t n)
{
    size_t len = strlen(buf);
    for (size_t i = 0; i < n && i < 4 && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%s", i ? ", " : "", names[i]);
    if (n > 4 && len < cap)
        snprintf(buf + len, cap - len, ", ...");
}

/* ---- integrity ---- */

static enum check_status integrity_manifest(struct grade_ctx *g, struct check_out *o)
{
    const struct submission *s = g->sub;
    char *unlisted[SUB_MAX_FILES > 64 ? 64 : SUB_MAX_FILES];
    size_t n = 0, total = 0;
    for (size_t i = 0; i < s->n_files; i++) {
        const char *f = s->files[i];
        if (!strcmp(f, "MANIFEST.sha256"))
            continue;
        int listed = 0;
        for (size_t j = 0; !listed && j < s->n_manifest; j++)
            listed = !strcmp(s->manifest[j].path, f);
        if (!listed && total++ < 64)
            unlisted[n++] = s->files[i];
    }
    if (total) {
        char names[400] = "";
        name_list(names, sizeof names, unlisted, n);
        return check_set(o, CHECK_FAIL, KB_INTEGRITY, "%zu file(s) are not listed in MANIFEST.sha256: %s", total,
                         names);
    }
    return check_set(o, CHECK_PASS, NULL, "MANIFEST.sha256 lists all %zu files", s->n_manifest);
}

static enum check_status integrity_checksums(struct grade_ctx *g, struct check_out *o)
{
    const struct submission *s = g->sub;
    char *bad[64];
    size_t n = 0, total = 0;
    for (size_t i = 0; i < s->n_manifest; i++) {
        if (grade_expired(g))
            return check_set(o, CHECK_TIMEOUT, KB_INTEGRITY, "hashed %zu of %zu files before the time budget ran out", i,
                             s->n_manifest);
        char path[4200], hex[65];
        if (submission_path(s, s->manifest[i].path, path, sizeof path) ||
            ds_hash_file(path, "sha256", hex, sizeof hex))
            return check_set(o, CHECK_ERROR, NULL, "cannot hash %s: %s", s->manifest[i].path, lab_err_message());
        if (strcmp(hex, s->manifest[i].sha256) != 0 && total++ < 64)
            bad[n++] = s->manifest[i].path;
    }
    if (total) {
        char names[400] = "";
        name_list(names, sizeof names, bad, n);
        return check_set(o, CHECK_FAIL, KB_INTEGRITY,
                         "%zu of %zu file(s) differ from their MANIFEST.sha256 checksum (changed after `lab submit`): %s",
                         total, s->n_manifest, names);
    }
    return check_set(o, CHECK_PASS, NULL, "all %zu files match MANIFEST.sha256", s->n_manifest);
}

static enum check_status integrity_artifacts(struct grade_ctx *g, struct check_out *o)
{
    const struct submission *s = g->sub;
    char missing[600] = "";
    size_t len = 0, count = 0;
    const json_t *listed = json_object_get(s->metrics, "models");
    for (size_t i = 0; i < s->n_models; i++) {
        const struct sub_model *m = &s->models[i];
        const char *what[3] = {m->weights ? NULL : "model.safetensors", m->predictions ? NULL : "predictions.safetensors",
                               json_object_get(listed, m->name) ? NULL : "an entry in metrics.json's models"};
        for (int k = 0; k < 3; k++)
            if (what[k] && len < sizeof missing) {
                count++;
                len += (size_t)snprintf(missing + len, sizeof missing - len, "%s%s: %s", len ? "; " : "", m->name,
                                        what[k]);
            }
    }
    if (count)
        return check_set(o, CHECK_FAIL, KB_INTEGRITY, "%zu required artifact(s) missing: %s", count, missing);
    return check_set(o, CHECK_PASS, NULL, "config.json, metrics.json and model + predictions for %zu model(s)",
                     s->n_models);
}

static enum check_status integrity_lab(struct grade_ctx *g, struct check_out *o)
{
    const struct submission *s = g->sub;
    const char *want = lab_manifest_id(g->lab);
    const char *cfg = json_string_value(json_object_get(s->config, "lab"));
    const char *met = json_string_value(json_object_get(s->metrics, "lab"));
    const char *info = s->info ? json_string_value(json_object_get(s->info, "lab")) : want;
    if (!cfg || !met || strcmp(cfg, want) || strcmp(met, want) || !info || strcmp(info, want))
        return check_set(o, CHECK_FAIL, KB_INTEGRITY,
                         "the files name different labs: submission.json %s, config.json %s, metrics.json %s; "
                         "expected %s everywhere",
                         info ? info : "(none)", cfg ? cfg : "(none)", met ? met : "(none)", want);
    return check_set(o, CHECK_PASS, NULL, "every file is for lab %s", want);
}

/* ---- normalization ---- */

static enum check_status norm_config(struct grade_ctx *g, struct check_out *o)
{
    const char *dataset = cfg_dataset(g);
    /* A dataset the lab trains on, in its full or its quick mode; the
     * constants are the dataset's, from the registry. */
    const struct ds_info *d = ds_info_find(dataset);
    int used = !strcmp(lab_cfg_str(g->lab, "config.data.dataset", ""), dataset) ||
               !strcmp(lab_cfg_str(g->lab, "quick.data.dataset", ""), dataset);
    if (!d || !used)
        return check_set(o, CHECK_FAIL, "TS-NORM-MISMATCH", "lab %s does not train on dataset '%s' (config.json data.dataset)",
                         lab_manifest_id(g->lab), dataset);
    const json_t *given = lab_cfg_get(g->sub->config, "data.normalize");
    enum check_status st = check_norm_constants(given, d->mean, d->std, 3, dataset, o);
    if (st != CHECK_PASS && d->alt_std[0] > 0) {
        struct check_out alt;
        if (check_norm_constants(given, d->mean, d->alt_std, 3, dataset, &alt) == CHECK_PASS)
            *o = alt;
    }
    return o->status;
}

static enum check_status norm_inputs(struct grade_ctx *g, struct check_out *o)
{
    const char *kb = "TS-PIXEL-TENSOR-RANK";
    if (!g->sub->inputs)
        return check_skip_uncounted(o, "no inputs.safetensors in the submission (optional)");
    const struct st_tensor *t = st_find(g->sub->inputs, "pixel_values");
    if (!t)
        return check_set(o, CHECK_FAIL, kb, "inputs.safetensors has no tensor 'pixel_values'");
    const json_t *size = lab_cfg_get(g->sub->config, "data.input_size");
    int64_t c = json_integer_value(json_array_get(size, 0)), h = json_integer_value(json_array_get(size, 1)),
            w = json_integer_value(json_array_get(size, 2));
    char shape[160];
    gt_shape_str(t->shape, t->ndim, shape, sizeof shape);
    if (t->ndim != 4 || t->shape[0] < 1 || t->shape[1] != c || t->shape[2] != h || t->shape[3] != w)
        return check_set(o, CHECK_FAIL, kb, "pixel_values is %s, expected [B, %lld, %lld, %lld]%s", shape, (long long)c,
                         (long long)h, (long long)w,
                         t->ndim == 4 && t->shape[3] == c ? " (channels last: permute(0, 3, 1, 2))" : "");
    float *px;
    size_t n;
    if (gt_to_f32(t, GT_MAX_ELEMS, &px, &n))
        return check_set(o, CHECK_FAIL, kb, "pixel_values: %s", lab_err_message());
    struct input_stats s;
    input_stats_compute(px, t->shape[0], c, h, w, &s);
    free(px);
    return check_input_stats(&s, o);
}

const struct rubric_check checks_common[] = {
    {"integrity.manifest", "MANIFEST.sha256 lists every file", 1, RC_SUBMISSION, 10, integrity_manifest, {KB_INTEGRITY}, 0, NULL},
    {"integrity.checksums", "every file matches its checksum", 2, RC_SUBMISSION, 60, integrity_checksums, {KB_INTEGRITY}, 0, NULL},
    {"integrity.artifacts", "required artifacts present", 1, 0, 10, integrity_artifacts, {KB_INTEGRITY}, 0, NULL},
    {"integrity.lab", "every file is for this lab", 1, 0, 10, integrity_lab, {KB_INTEGRITY}, 0, NULL},
    {"norm.config", "normalization constants are the dataset's", 2, 0, 10, norm_config, {"TS-NORM-MISMATCH"}, 0, NULL},
    {"norm.inputs", "preprocessed inputs are normalized", 2, 0, 30, norm_inputs,
     {"TS-RAW-PIXELS", "TS-NORMALIZE-MISSING", "TS-NORM-MISMATCH", "TS-PIXEL-TENSOR-RANK"}, 0, NULL},
    {NULL, NULL, 0, 0, 0, NULL, {NULL}, 0, NULL},
};
