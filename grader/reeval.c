#include "grader/reeval.h"

#include "base/error.h"
#include "grader/grade_ckpt.h"
#include "datasets/registry.h"
#include "datasets/pipeline.h"
#include "labs/device.h"
#include "labs/lab.h"
#include "labs/models/nn.h"
#include "labs/models/weights.h"
#include "labs/pretrained.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct reeval_state {
    struct model *model;
    struct lab_device_choice dev;
    int loaded;
    float *logits; /* [n, classes] from the full-batch run, NULL until reeval.logits ran */
    char why[600]; /* why the later checks cannot run */
};

static void state_free(void *p)
{
    struct reeval_state *s = p;
    if (!s)
        return;
    model_free(s->model);
    free(s->logits);
    free(s);
}

static int has_prefix_match(char *const *longer, size_t nl, char *const *shorter, size_t ns, const char *prefix)
{
    size_t pl = strlen(prefix);
    for (size_t i = 0; i < nl; i++) {
        if (strncmp(longer[i], prefix, pl) != 0)
            return 0;
        int found = 0;
        for (size_t j = 0; !found && j < ns; j++)
            found = strcmp(longer[i] + pl, shorter[j]) == 0;
        if (!found)
            return 0;
    }
    return nl > 0;
}

/* Candidate prefixes: every leading run of dotted components of the first
 * longer key ("module.", "module.model." ...). */
static int find_prefix(char *const *longer, size_t nl, char *const *shorter, size_t ns, char *prefix, size_t cap)
{
    if (!nl || !ns)
        return 0;
    const char *k = longer[0];
    for (const char *dot = strchr(k, '.'); dot; dot = strchr(dot + 1, '.')) {
        size_t len = (size_t)(dot - k) + 1;
        if (len >= cap)
            break;
        memcpy(prefix, k, len);
        prefix[len] = '\0';
        if (has_prefix_match(longer, nl, shorter, ns, prefix))
            return 1;
    }
    return 0;
}

int reeval_prefix_hint(char *const *unexpected, size_t n_unexpected, char *const *missing, size_t n_missing,
                       char *buf, size_t cap)
{
    char prefix[128];
    if (find_prefix(unexpected, n_unexpected, missing, n_missing, prefix, sizeof prefix)) {
        snprintf(buf, cap,
                 "the names differ only by the prefix '%s'%s: strip it before saving "
                 "({k.removeprefix('%s'): v for k, v in sd.items()})",
                 prefix, strcmp(prefix, "module.") == 0 ? " (a DataParallel/DDP wrapper)" : "", prefix);
        return 1;
    }
    if (find_prefix(missing, n_missing, unexpected, n_unexpected, prefix, sizeof prefix)) {
        snprintf(buf, cap, "the model's names start with '%s', the file's do not: save the state dict of the "
                 "whole model (model.state_dict()), not of a part", prefix);
        return 1;
    }
    return 0;
}

static struct reeval_state *state_of(struct grade_ctx *g)
{
    if (!g->m.reeval) {
        g->m.reeval = calloc(1, sizeof(struct reeval_state));
        g->m.reeval_free = state_free;
    }
    return g->m.reeval;
}

enum check_status reeval_load(struct grade_ctx *g, const struct lab_impl *impl, struct check_out *o)
{
    const char *kb = "TS-STATE-DICT-MISMATCH";
    struct reeval_state *s = state_of(g);
    if (!s)
        return check_set(o, CHECK_ERROR, NULL, "out of memory");
    snprintf(s->why, sizeof s->why, "the weights did not load (see reeval.load)");
    if (!g->m.sm->weights)
        return check_set(o, CHECK_FAIL, kb, "models/%s/model.safetensors is missing", g->m.name);
    const char *device = g->opts->device ? g->opts->device : "auto";
    const char *prec = json_string_value(json_object_get(g->sub->config, "precision"));
    if (!prec || (strcmp(prec, "bf16") && strcmp(prec, "fp32")))
        prec = "auto";
    if (lab_choose_device(device, prec, &s->dev))
        return check_set(o, CHECK_ERROR, NULL, "cannot use device %s: %s", device, lab_err_message());
    if (impl->create_model_cfg ? impl->create_model_cfg(g->sub->config, g->m.name, (int)g->m.classes, &s->model)
                               : impl->create_model(g->m.name, (int)g->m.classes, &s->model))
        return check_set(o, CHECK_ERROR, NULL, "cannot build %s: %s", g->m.name, lab_err_message());
    struct ts_host_tensor *items = NULL;
    size_t n = 0;
    if (weights_host_view(g->m.sm->weights, NULL, &items, &n))
        return check_set(o, CHECK_FAIL, kb, "model.safetensors: %s", lab_err_message());
    struct ts_load_report rep = {0};
    int trc = ts_params_load_host(s->model->params, items, n, 1, &rep);
    free(items);
    if (trc != TS_OK) {
        char detail[700] = "", hint[300] = "";
        weights_append_names(detail, sizeof detail, "missing", rep.missing, TS_REPORT_MAX, rep.n_missing);
        weights_append_names(detail, sizeof detail, "unexpected", rep.unexpected, TS_REPORT_MAX, rep.n_unexpected);
        weights_append_names(detail, sizeof detail, "mis-shaped", rep.mismatched, TS_REPORT_MAX, rep.n_mismatched);
        size_t nu = rep.n_unexpected < TS_REPORT_MAX ? rep.n_unexpected : TS_REPORT_MAX;
        size_t nm = rep.n_missing < TS_REPORT_MAX ? rep.n_missing : TS_REPORT_MAX;
        reeval_prefix_hint(rep.unexpected, nu, rep.missing, nm, hint, sizeof hint);
        ts_load_report_free(&rep);
        return check_set(o, CHECK_FAIL, kb, "model.safetensors does not fit %s: %s%s%s", g->m.name,
                         detail[0] ? detail : ts_last_error(), hint[0] ? "; " : "", hint);
    }
    size_t loaded = rep.loaded;
    ts_load_report_free(&rep);
    if (ts_params_to(s->model->params, s->dev.device, -1) != TS_OK)
        return check_set(o, CHECK_ERROR, NULL, "cannot move the weights to %s: %s", s->dev.device_name,
                         ts_last_error());
    s->loaded = 1;
    s->why[0] = '\0';
    return check_set(o, CHECK_PASS, NULL, "%zu tensors of %s loaded into lab's %s on %s", loaded, "model.safetensors",
                     g->m.name, s->dev.device_name);
}

/* The grader's eval images in the split's order, from `first` on: never
 * the images a submission's own indices name. A mode that evaluates some
 * classes only maps the view's positions to the split's (g->truth_index),
 * relabelled as the grader's labels are. */
struct view_ctx {
    const struct ds_dataset *base;
    size_t first;
    const size_t *index;
    int lo;
};

static int view_get(const struct ds_dataset *d, size_t i, struct ds_sample *out)
{
    const struct view_ctx *v = d->ctx;
    int rc = ds_dataset_get(v->base, v->index ? v->index[v->first + i] : v->first + i, out);
    if (!rc && v->index)
        out->label -= v->lo;
    return rc;
}

static int open_split(const struct grade_ctx *g, struct ds_dataset **out)
{
    const json_t *data = json_object_get(g->sub->config, "data");
    const char *name = json_string_value(json_object_get(data, "dataset"));
    if (!name)
        return lab_err(LAB_EUSAGE, NULL, "config.json names no data.dataset");
    const struct ds_info *d;
    int rc = ds_info_get(name, "the grader's re-evaluation", &d);
    return rc ? rc : ds_info_open(d, g->opts->data_dir, 0, out);
}

/* Host inputs through the loaded model on the grading device (bf16
 * autocast where the device runs so); each output copied to its host
 * buffer, which holds exactly its numel floats. */
static int run_named(struct reeval_state *s, const struct reeval_io *in, size_t n_in, const struct reeval_io *out,
                     size_t n_out)
{
    ts_scope_begin();
    struct model_tensors ins = {0}, outs = {0};
    int rc = LAB_OK, trc = TS_OK, token = 0;
    for (size_t i = 0; !rc && !trc && i < n_in; i++) {
        ts_tensor *x = NULL;
        trc = s->dev.device == TS_CPU ? ts_from_blob(&x, in[i].data, TS_F32, in[i].ndim, in[i].shape)
                                      : ts_from_host(&x, in[i].data, TS_F32, in[i].ndim, in[i].shape, s->dev.device);
        if (!trc)
            rc = model_tensors_add(&ins, in[i].name, x);
    }
    if (!rc && !trc && s->dev.bf16)
        trc = ts_autocast_push(s->dev.device, TS_BF16, &token);
    if (!rc && !trc) {
        rc = model_run(s->model, &ins, 0, &outs);
        if (s->dev.bf16)
            ts_autocast_pop(token);
    } else if (trc) {
        rc = nn_fail(trc, "preparing a batch");
    }
    for (size_t i = 0; !rc && i < n_out; i++) {
        ts_tensor *y = model_tensors_get(&outs, out[i].name);
        if (!y)
            rc = lab_err(LAB_EINTERNAL, NULL, "the model returned no '%s'", out[i].name);
        else if ((int64_t)out[i].numel != ts_numel(y))
            rc = lab_err(LAB_EINTERNAL, NULL, "the model's '%s' holds %lld values, not %zu", out[i].name,
                         (long long)ts_numel(y), out[i].numel);
        else if ((trc = ts_to_host(y, TS_F32, out[i].data, out[i].numel * sizeof(float))))
            rc = nn_fail(trc, "reading the model's output");
    }
    ts_scope_end();
    return rc;
}

/* One batch of host images [n, c, h, w] as "pixel_values", its output
 * `name` into out, which holds exactly `numel` floats. */
static int forward_host(struct reeval_state *s, float *images, const int64_t shape[4], const char *name, float *out,
                        size_t numel)
{
    struct reeval_io in = {.name = "pixel_values", .data = images, .ndim = 4};
    memcpy(in.shape, shape, sizeof in.shape);
    struct reeval_io y = {.name = name, .data = out, .numel = numel};
    return run_named(s, &in, 1, &y, 1);
}

int reeval_run_named(struct grade_ctx *g, const struct reeval_io *in, size_t n_in, const struct reeval_io *out,
                     size_t n_out)
{
    struct reeval_state *s = g->m.reeval;
    if (!s || !s->loaded)
        return lab_err(LAB_EINTERNAL, NULL, "the weights were not loaded");
    if (grade_expired(g))
        return lab_err(LAB_EFAIL, NULL, "out of time");
    int grad = ts_no_grad_push();
    int rc = run_named(s, in, n_in, out, n_out);
    ts_grad_mode_pop(grad);
    return rc;
}

/* Runs the model over `count` submitted samples starting at `first`, in
 * batches of `batch`, writing [count, classes] logits to out. */
/* A run that started from a pretrained checkpoint evaluated as its
 * weights expect (labs/pretrained.h); so does the grader, from its own copy
 * of the checkpoint's config. The quick mode's source, written by the lab
 * from the data's own constants, changes nothing when missing. */
static int checkpoint_transform(struct grade_ctx *g, struct ds_augment *a)
{
    if (!grade_ckpt_applies(g))
        return LAB_OK;
    struct grade_ckpt c;
    LAB_TRY(grade_ckpt_find(g, NULL, &c));
    if (!c.config[0] && g->quick)
        return LAB_OK;
    if (!c.config[0])
        return lab_err(LAB_EENV, "on the grading machine, `lab fetch efficientnet-b0` (or the lab's weights.repo)",
                       "re-evaluation preprocesses as %s@%s expects, and the grader's cache has no config.json for it",
                       c.repo, c.revision);
    struct pretrained_cfg pc;
    char what[300];
    snprintf(what, sizeof what, "%s@%s", c.repo, c.revision);
    LAB_TRY(pretrained_cfg_read(c.config, &pc));
    return pretrained_eval_augment(&pc, what, a);
}

static int run_model(struct grade_ctx *g, struct reeval_state *s, const struct ds_dataset *split, size_t first,
                     size_t count, int batch, float *out)
{
    if (g->class_hi > g->class_lo && grade_truth(g))
        return lab_err(LAB_EENV, NULL, "%s", g->truth_err);
    if (g->truth_index && first + count > g->n_truth)
        return lab_err(LAB_EINTERNAL, NULL, "the class view holds %zu images, fewer than %zu", g->n_truth, first + count);
    struct view_ctx vc = {.base = split, .first = first, .index = g->class_hi > g->class_lo ? g->truth_index : NULL,
                          .lo = g->class_lo};
    struct ds_dataset view = {.n = count, .num_classes = split->num_classes, .get = view_get, .ctx = &vc};
    snprintf(view.name, sizeof view.name, "%s", split->name);
    struct ds_pipeline_config pc = {.batch_size = batch, .threads = 2, .seed = 42};
    int rc = ds_eval_augment(json_object_get(g->sub->config, "data"), &pc.augment);
    if (!rc)
        rc = checkpoint_transform(g, &pc.augment);
    struct ds_pipeline *p = NULL;
    if (!rc)
        rc = ds_pipeline_open(&view, &pc, &p);
    if (rc)
        return rc;
    int grad = ts_no_grad_push();
    size_t done = 0;
    int64_t k = g->m.classes;
    struct ds_batch *b = NULL;
    while (!rc && (rc = ds_pipeline_next(p, &b)) == LAB_OK && b) {
        if (grade_expired(g)) {
            rc = lab_err(LAB_EFAIL, NULL, "out of time after %zu of %zu images", done, count);
            ds_batch_free(b);
            break;
        }
        int64_t xs[4] = {b->n, b->c, b->h, b->w};
        if (done + (size_t)b->n > count)
            rc = lab_err(LAB_EINTERNAL, NULL, "the pipeline gave more than %zu images", count);
        if (!rc)
            rc = forward_host(s, b->images, xs, "logits", out + done * (size_t)k, (size_t)b->n * (size_t)k);
        done += (size_t)b->n;
        ds_batch_free(b);
    }
    ts_grad_mode_pop(grad);
    ds_pipeline_close(p);
    if (!rc && done != count)
        rc = lab_err(LAB_EINTERNAL, NULL, "re-evaluation saw %zu of %zu images", done, count);
    return rc;
}

/* The share of rows whose largest logit is in the same column. */
static double top1_agreement(const float *a, const float *b, size_t n, size_t k)
{
    size_t same = 0;
    for (size_t i = 0; i < n; i++) {
        size_t ia = 0, ib = 0;
        for (size_t j = 1; j < k; j++) {
            ia = a[i * k + j] > a[i * k + ia] ? j : ia;
            ib = b[i * k + j] > b[i * k + ib] ? j : ib;
        }
        same += ia == ib;
    }
    return n ? (double)same / (double)n : 1.0;
}

void reeval_submitted(const struct grade_ctx *g, size_t count, float *out)
{
    size_t k = (size_t)g->m.classes;
    for (size_t i = 0; i < count; i++)
        memcpy(out + i * k, g->m.logits + (size_t)g->m.row_of[i] * k, k * sizeof *out);
}

int reeval_forward(struct grade_ctx *g, float *images, const int64_t shape[4], int batch, const char *name,
                   size_t per_image, float *out)
{
    struct reeval_state *s = g->m.reeval;
    if (!s || !s->loaded)
        return lab_err(LAB_EINTERNAL, NULL, "the weights were not loaded");
    if (batch < 1)
        return lab_err(LAB_EINTERNAL, NULL, "batch %d", batch);
    size_t in_px = (size_t)(shape[1] * shape[2] * shape[3]);
    int grad = ts_no_grad_push();
    int rc = LAB_OK;
    for (int64_t b0 = 0; !rc && b0 < shape[0]; b0 += batch) {
        if (grade_expired(g)) {
            rc = lab_err(LAB_EFAIL, NULL, "out of time after %lld of %lld images", (long long)b0, (long long)shape[0]);
            break;
        }
        int64_t bn = shape[0] - b0 < batch ? shape[0] - b0 : batch;
        int64_t xs[4] = {bn, shape[1], shape[2], shape[3]};
        rc = forward_host(s, images + (size_t)b0 * in_px, xs, name, out + (size_t)b0 * per_image,
                          (size_t)bn * per_image);
    }
    ts_grad_mode_pop(grad);
    return rc;
}

enum check_status reeval_load_registered(struct grade_ctx *g, struct check_out *o)
{
    const char *lab = lab_manifest_id(g->lab);
    const struct lab_impl *impl = lab_impl_find(lab);
    if (!impl || !impl->create_model)
        return check_set(o, CHECK_ERROR, NULL, "this build has no model builders for lab %s", lab);
    return reeval_load(g, impl, o);
}

struct model *reeval_model(struct grade_ctx *g)
{
    struct reeval_state *s = g->m.reeval;
    return s && s->loaded ? s->model : NULL;
}

const float *reeval_full_logits(struct grade_ctx *g)
{
    struct reeval_state *s = g->m.reeval;
    return s ? s->logits : NULL;
}

double reeval_tolerance(const struct grade_ctx *g)
{
    return g->m.sm->weights_q4 ? REEVAL_Q4_REL_TOL : REEVAL_REL_TOL;
}

int reeval_rerun(struct grade_ctx *g, size_t count, float *out)
{
    struct reeval_state *s = g->m.reeval;
    if (!s || !s->loaded)
        return lab_err(LAB_EINTERNAL, NULL, "the weights were not loaded");
    struct ds_dataset *split = NULL;
    int rc = open_split(g, &split);
    if (!rc)
        rc = count <= split->n ? run_model(g, s, split, 0, count, (int)count, out)
                               : lab_err(LAB_EINTERNAL, NULL, "the split holds fewer than %zu images", count);
    ds_dataset_free(split);
    return rc;
}

enum check_status reeval_logits(struct grade_ctx *g, struct check_out *o)
{
    struct reeval_state *s = g->m.reeval;
    if (!s || !s->loaded)
        return check_set(o, CHECK_SKIPPED, NULL, "skipped: %s", s ? s->why : "the weights were not loaded");
    if (!g->m.shape_ok || !g->m.finite)
        return check_set(o, CHECK_SKIPPED, NULL, "skipped: the submitted logits are unusable (see shape.logits, values.finite)");
    if (!g->m.covered)
        return check_set(o, CHECK_SKIPPED, NULL, "skipped: the rows do not cover the eval images once each (see "
                         "predictions.coverage)");
    snprintf(s->why, sizeof s->why, "the full-batch re-evaluation did not complete (see reeval.logits)");
    struct ds_dataset *split = NULL;
    if (open_split(g, &split))
        return check_set(o, CHECK_ERROR, NULL, "the eval images are unavailable: %s%s%s", lab_err_message(),
                         lab_err_fix()[0] ? "; fix: " : "", lab_err_fix());
    size_t n = (size_t)g->m.n, k = (size_t)g->m.classes;
    if (n > split->n) {
        ds_dataset_free(split);
        return check_set(o, CHECK_ERROR, NULL, "the grader's eval split holds %zu images, fewer than the %zu evaluated",
                         split->n, n);
    }
    int batch = (int)json_integer_value(json_object_get(json_object_get(g->sub->config, "train"), "batch_size"));
    if (batch <= 0 || batch > 1024)
        batch = 128;
    s->logits = malloc(n * k * sizeof(float));
    int rc = s->logits ? run_model(g, s, split, 0, n, batch, s->logits) : lab_err(LAB_EINTERNAL, NULL, "out of memory");
    ds_dataset_free(split);
    if (rc) {
        free(s->logits);
        s->logits = NULL;
        return check_set(o, grade_expired(g) ? CHECK_TIMEOUT : CHECK_ERROR, NULL, "re-evaluation failed: %s",
                         lab_err_message());
    }
    /* The submitted row for image i is row_of[i]: compare in the split's order. */
    float *submitted = malloc(n * k * sizeof *submitted);
    if (!submitted)
        return check_set(o, CHECK_ERROR, NULL, "out of memory");
    reeval_submitted(g, n, submitted);
    double rel = rel_max_diff(s->logits, submitted, n * k), agree = top1_agreement(s->logits, submitted, n, k);
    free(submitted);
    s->why[0] = '\0';
    const struct sub_model *sm = g->m.sm;
    if (sm->weights_q4) {
        /* The tolerance is the encoding's, known from the file itself. */
        char what[200];
        snprintf(what, sizeof what, "%.1f%% of the weights at 4 bits", 100.0 * (double)sm->q4_values /
                 (double)(sm->weight_values ? sm->weight_values : 1));
        if (!(rel <= REEVAL_Q4_REL_TOL) || !(agree >= REEVAL_Q4_AGREE))
            return check_set(o, CHECK_FAIL, "TS-REEVAL-MISMATCH",
                             "the weights (%s) give other logits than the submitted ones: max |diff| / max |logit| = "
                             "%.3g (4-bit tolerance %g), the same top-1 class on %.2f%% of the images (at least %g%%), "
                             "over %zux%zu logits on %s (%s)",
                             what, rel, REEVAL_Q4_REL_TOL, 100 * agree, 100 * REEVAL_Q4_AGREE, n, k, s->dev.device_name,
                             s->dev.precision);
        return check_set(o, CHECK_PASS, NULL,
                         "re-run on %s (%s) in batches of %d, %s: max |diff| / max |logit| = %.2g (4-bit tolerance %g), "
                         "the same top-1 class on %.2f%% of %zu images",
                         s->dev.device_name, s->dev.precision, batch, what, rel, REEVAL_Q4_REL_TOL, 100 * agree, n);
    }
    if (!(rel <= REEVAL_REL_TOL))
        return check_set(o, CHECK_FAIL, "TS-REEVAL-MISMATCH",
                         "the weights give other logits than the submitted ones: max |diff| / max |logit| = %.3g "
                         "(tolerance %g) over %zux%zu logits on %s (%s)",
                         rel, REEVAL_REL_TOL, n, k, s->dev.device_name, s->dev.precision);
    return check_set(o, CHECK_PASS, NULL, "re-run on %s (%s) in batches of %d: max |diff| / max |logit| = %.2g over %zux%zu logits",
                     s->dev.device_name, s->dev.precision, batch, rel, n, k);
}

enum check_status reeval_batch(struct grade_ctx *g, struct check_out *o)
{
    struct reeval_state *s = g->m.reeval;
    if (!s || !s->logits)
        return check_set(o, CHECK_SKIPPED, NULL, "skipped: %s", s ? s->why : "the weights were not loaded");
    size_t k = (size_t)g->m.classes, count = (size_t)g->m.n < REEVAL_BATCH_SAMPLES ? (size_t)g->m.n
                                                                                   : REEVAL_BATCH_SAMPLES;
    struct ds_dataset *split = NULL;
    if (open_split(g, &split))
        return check_set(o, CHECK_ERROR, NULL, "the eval images are unavailable: %s", lab_err_message());
    float *one = malloc(count * k * sizeof *one);
    int rc = one ? run_model(g, s, split, 0, count, 1, one) : lab_err(LAB_EINTERNAL, NULL, "out of memory");
    ds_dataset_free(split);
    if (rc) {
        free(one);
        return check_set(o, grade_expired(g) ? CHECK_TIMEOUT : CHECK_ERROR, NULL, "re-evaluation failed: %s",
                         lab_err_message());
    }
    double rel = rel_max_diff(one, s->logits, count * k);
    free(one);
    if (!(rel <= REEVAL_REL_TOL))
        return check_set(o, CHECK_FAIL, "TS-BATCH-DEPENDENT",
                         "the first %zu images alone give other logits than in a full batch: max |diff| / max |logit| "
                         "= %.3g (tolerance %g)",
                         count, rel, REEVAL_REL_TOL);
    return check_set(o, CHECK_PASS, NULL, "the first %zu images one at a time match the full batch (max rel diff %.2g)",
                     count, rel);
}
