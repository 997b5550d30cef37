/* The classify task's checks (labs 2.2.1, 2.2.2, 2.2.5), per model: shape,
 * labels and values of predictions.safetensors (docs/submission-format.md),
 * the honesty of metrics.json against the grader's own labels, results
 * against the course targets, and (with --reeval) the submitted weights run
 * again in the lab's architecture, built through the lab registry. */
#include "grader/rubric.h"

#include "base/error.h"
#include "datasets/registry.h"
#include "grader/reeval.h"
#include "grader/tensors.h"
#include "labs/config.h"
#include "labs/lab.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ACC_TOL 0.001 /* metrics.json vs recomputed accuracy: 0.1 percentage points */

/* Eval split sizes, so that the expected number of predictions is known
 * without reading the data. */
static int64_t split_size(const char *dataset)
{
    const struct ds_info *d = ds_info_find(dataset);
    return d ? (int64_t)d->eval_size : -1;
}

static const char *cfg_dataset(const struct grade_ctx *g) { return lab_cfg_str(g->sub->config, "data.dataset", ""); }

/* The number of eval images the run should have predicted: eval_subset (the
 * first images of the split) or the whole split. */
static int64_t expected_n(const struct grade_ctx *g)
{
    int64_t full = split_size(cfg_dataset(g)), sub = lab_cfg_int(g->sub->config, "data.eval_subset", 0);
    if (full < 0)
        return -1;
    return sub > 0 && sub < full ? sub : full;
}

/* ---- per model ---- */

static int decode_ints(const struct sub_model *sm, const char *name, int64_t n, int64_t **out, size_t *count)
{
    const struct st_tensor *t = sm->predictions ? st_find(sm->predictions, name) : NULL;
    if (!t || t->ndim != 1 || t->shape[0] != n || !gt_is_int(t->dtype))
        return -1;
    return gt_to_i64(t, GT_MAX_ELEMS, out, count);
}

static int model_begin(struct grade_ctx *g, const struct sub_model *sm)
{
    struct grade_model *m = &g->m;
    m->classes = lab_cfg_int(g->sub->config, "data.num_classes", 10);
    if (m->classes < 2 || m->classes > 100000)
        m->classes = 10;
    const struct st_tensor *t = sm->predictions ? st_find(sm->predictions, "logits") : NULL;
    if (!t || !gt_is_float(t->dtype) || gt_to_f32(t, GT_MAX_ELEMS, &m->logits, &m->n_values))
        return LAB_OK;
    int64_t want = expected_n(g);
    m->shape_ok = t->ndim == 2 && t->shape[1] == m->classes && t->shape[0] > 0 && (want < 0 || t->shape[0] == want);
    m->n = m->shape_ok ? t->shape[0] : 0;
    m->finite = 1;
    for (size_t i = 0; i < m->n_values; i++)
        m->finite &= isfinite(m->logits[i]) != 0;
    if (m->shape_ok) {
        if (decode_ints(sm, "labels", m->n, &m->labels, &m->n_labels))
            m->labels = NULL, m->n_labels = 0;
        if (decode_ints(sm, "indices", m->n, &m->indices, &m->n_indices))
            m->indices = NULL, m->n_indices = 0;
    }
    return LAB_OK;
}

static enum check_status shape_logits(struct grade_ctx *g, struct check_out *o)
{
    const struct sub_model *sm = g->m.sm;
    if (!sm->predictions)
        return check_set(o, CHECK_FAIL, "TS-LOGITS-SHAPE", "models/%s/predictions.safetensors is missing", sm->name);
    const struct st_tensor *t = st_find(sm->predictions, "logits");
    if (!t)
        return check_set(o, CHECK_FAIL, "TS-LOGITS-SHAPE", "predictions.safetensors has no tensor 'logits'");
    return check_logits_shape(gt_is_float(t->dtype), st_dtype_name(t->dtype), t->shape, t->ndim, expected_n(g),
                              g->m.classes, o);
}

static enum check_status labels_range(struct grade_ctx *g, struct check_out *o)
{
    const struct sub_model *sm = g->m.sm;
    if (!g->m.shape_ok)
        return check_set(o, CHECK_SKIPPED, NULL, "skipped: the logits are not [N, %lld] (see shape.logits)",
                         (long long)g->m.classes);
    const struct st_tensor *t = st_find(sm->predictions, "labels");
    char shape[160];
    if (!t)
        return check_set(o, CHECK_FAIL, "TS-DEVICE-ASSERT-LABELS", "predictions.safetensors has no tensor 'labels'");
    if (!g->m.labels)
        return check_set(o, CHECK_FAIL, "TS-DEVICE-ASSERT-LABELS", "labels are %s %s; expected int64 [%lld]",
                         st_dtype_name(t->dtype), gt_shape_str(t->shape, t->ndim, shape, sizeof shape),
                         (long long)g->m.n);
    return check_labels_range(g->m.labels, g->m.n_labels, g->m.classes, o);
}

static enum check_status values_finite(struct grade_ctx *g, struct check_out *o)
{
    if (!g->m.logits)
        return check_set(o, CHECK_SKIPPED, NULL, "skipped: no floating-point logits (see shape.logits)");
    return check_finite(g->m.logits, g->m.n_values, o);
}

/* Checks that need usable logits say why they did not run. */
static int logits_usable(const struct grade_ctx *g, struct check_out *o)
{
    if (!g->m.shape_ok)
        check_set(o, CHECK_SKIPPED, NULL, "skipped: the logits are not [N, %lld] (see shape.logits)",
                  (long long)g->m.classes);
    else if (!g->m.finite)
        check_set(o, CHECK_SKIPPED, NULL, "skipped: the logits hold NaN or Inf (see values.finite)");
    return g->m.shape_ok && g->m.finite;
}

static enum check_status values_constant(struct grade_ctx *g, struct check_out *o)
{
    if (!logits_usable(g, o))
        return o->status;
    return check_not_constant(g->m.logits, (size_t)g->m.n, (size_t)g->m.classes, o);
}

static enum check_status honesty_accuracy(struct grade_ctx *g, struct check_out *o)
{
    const char *kb = "TS-METRICS-MISMATCH";
    if (!logits_usable(g, o))
        return o->status;
    if (grade_truth(g))
        return check_set(o, CHECK_ERROR, NULL, "%s", g->truth_err);
    struct grade_model *m = &g->m;
    if (!m->indices)
        return check_set(o, CHECK_FAIL, kb, "predictions.safetensors has no integer 'indices' [%lld] naming the eval images",
                         (long long)m->n);
    int64_t *truth = malloc((size_t)m->n * sizeof *truth);
    if (!truth)
        return check_set(o, CHECK_ERROR, NULL, "out of memory");
    size_t relabeled = 0;
    for (int64_t i = 0; i < m->n; i++) {
        int64_t k = m->indices[i];
        if (k < 0 || (size_t)k >= g->n_truth) {
            free(truth);
            return check_set(o, CHECK_FAIL, kb, "indices[%lld] = %lld is outside the eval split of %zu images",
                             (long long)i, (long long)k, g->n_truth);
        }
        truth[i] = g->truth[k];
        relabeled += m->labels && m->labels[i] != truth[i];
    }
    double acc = logits_accuracy(m->logits, truth, (size_t)m->n, (size_t)m->classes);
    free(truth);
    m->accuracy = acc;
    m->has_accuracy = 1;
    const json_t *claimed = json_object_get(json_object_get(json_object_get(g->sub->metrics, "models"), m->name),
                                            "test_accuracy");
    if (!json_is_number(claimed))
        return check_set(o, CHECK_FAIL, kb, "metrics.json has no models.%s.test_accuracy to compare with %.2f%%", m->name,
                         100 * acc);
    double c = json_number_value(claimed);
    if (relabeled)
        return check_set(o, CHECK_FAIL, kb, "%zu of %lld labels in predictions.safetensors differ from the eval split's",
                         relabeled, (long long)m->n);
    double tol = g->check && g->check->threshold > 0 ? g->check->threshold : ACC_TOL;
    if (!(fabs(c - acc) <= tol))
        return check_set(o, CHECK_FAIL, kb,
                         "metrics.json claims test accuracy %.2f%%; the submitted logits score %.2f%% on the grader's "
                         "labels of the same %lld images",
                         100 * c, 100 * acc, (long long)m->n);
    return check_set(o, CHECK_PASS, NULL, "accuracy %.2f%% recomputed on %lld images matches metrics.json (%.2f%%)",
                     100 * acc, (long long)m->n, 100 * c);
}

/* The accuracy the results checks judge: the grader's when it could be
 * computed, else the one the submitted labels give. */
static int judged_accuracy(struct grade_ctx *g, struct check_out *o, double *acc, const char **source)
{
    if (!logits_usable(g, o))
        return 0;
    if (g->m.has_accuracy) {
        *acc = g->m.accuracy;
        *source = "recomputed";
        return 1;
    }
    if (!g->m.labels) {
        check_set(o, CHECK_SKIPPED, NULL, "skipped: no labels to score the logits against (see labels.range)");
        return 0;
    }
    *acc = logits_accuracy(g->m.logits, g->m.labels, (size_t)g->m.n, (size_t)g->m.classes);
    *source = "on the submitted labels";
    return 1;
}

/* The course's target for a model in the submission's mode, or NULL. */
static const json_t *target_of(const struct grade_ctx *g, const char *model)
{
    int quick = lab_cfg_bool(g->sub->config, "quick", 0);
    const json_t *want = json_object_get(lab_cfg_get(g->lab, quick ? "thresholds.quick.test_accuracy"
                                                                   : "thresholds.full.test_accuracy"),
                                         model);
    return json_is_number(want) ? want : NULL;
}

static int threshold_applies(const struct grade_ctx *g, const char *model) { return target_of(g, model) != NULL; }

static enum check_status results_threshold(struct grade_ctx *g, struct check_out *o)
{
    double acc;
    const char *source;
    if (!judged_accuracy(g, o, &acc, &source))
        return o->status;
    int quick = lab_cfg_bool(g->sub->config, "quick", 0);
    const json_t *want = target_of(g, g->m.name);
    if (!want)
        return check_skip_uncounted(o, "the course sets no %s-mode target for %s", quick ? "quick" : "full", g->m.name);
    double t = json_number_value(want);
    if (acc < t)
        return check_set(o, CHECK_FAIL, "TS-ACC-BELOW-TARGET", "test accuracy %.2f%% (%s) is below the %s-mode target %.0f%%",
                         100 * acc, source, quick ? "quick" : "full", 100 * t);
    return check_set(o, CHECK_PASS, NULL, "test accuracy %.2f%% (%s) reaches the %s-mode target %.0f%%", 100 * acc,
                     source, quick ? "quick" : "full", 100 * t);
}

static enum check_status results_chance(struct grade_ctx *g, struct check_out *o)
{
    double acc;
    const char *source;
    if (!judged_accuracy(g, o, &acc, &source))
        return o->status;
    double chance = 1.0 / (double)g->m.classes;
    double margin = g->check && g->check->threshold > 0 ? g->check->threshold : 0.02;
    if (acc <= chance + margin)
        return check_set(o, CHECK_FAIL, "TS-ACC-RANDOM", "test accuracy %.2f%% is within %.0f points of chance (%.0f%%)",
                         100 * acc, 100 * margin, 100 * chance);
    return check_set(o, CHECK_PASS, NULL, "test accuracy %.2f%% is clear of chance (%.0f%%)", 100 * acc, 100 * chance);
}

static enum check_status reeval_load_lab(struct grade_ctx *g, struct check_out *o)
{
    const char *lab = lab_manifest_id(g->lab);
    const struct lab_impl *impl = lab_impl_find(lab);
    if (!impl || !impl->create_model)
        return check_set(o, CHECK_ERROR, NULL, "this build has no model builders for lab %s", lab);
    return reeval_load(g, impl, o);
}

const struct rubric_check checks_classify[] = {
    {"shape.logits", "logits are [N, classes]", 2, RC_PER_MODEL, 10, shape_logits, {"TS-LOGITS-SHAPE"}, 0, NULL},
    {"labels.range", "labels are class indices in range", 1, RC_PER_MODEL, 10, labels_range,
     {"TS-DEVICE-ASSERT-LABELS"}, 0, NULL},
    {"values.finite", "logits are finite", 1, RC_PER_MODEL, 10, values_finite, {"TS-NAN-LOGITS"}, 0, NULL},
    {"values.constant", "logits depend on the input", 1, RC_PER_MODEL, 10, values_constant, {"TS-CONSTANT-LOGITS"}, 0, NULL},
    {"honesty.accuracy", "metrics.json's accuracy matches the predictions", 3, RC_PER_MODEL, 30, honesty_accuracy,
     {"TS-METRICS-MISMATCH"}, 0, NULL},
    {"results.threshold", "accuracy reaches the course target", 3, RC_PER_MODEL, 10, results_threshold,
     {"TS-ACC-BELOW-TARGET"}, 0, threshold_applies},
    {"results.chance", "accuracy is clear of chance", 2, RC_PER_MODEL, 10, results_chance, {"TS-ACC-RANDOM"}, 0, NULL},
    {"reeval.load", "the weights load into the lab's architecture", 2, RC_PER_MODEL | RC_REEVAL, 120,
     reeval_load_lab, {"TS-STATE-DICT-MISMATCH"}, 0, NULL},
    {"reeval.logits", "the weights reproduce the submitted logits", 3, RC_PER_MODEL | RC_REEVAL, 600, reeval_logits,
     {"TS-REEVAL-MISMATCH"}, 0, NULL},
    {"reeval.batch", "outputs do not depend on the batch", 2, RC_PER_MODEL | RC_REEVAL, 120, reeval_batch,
     {"TS-BATCH-DEPENDENT"}, 0, NULL},
    {NULL, NULL, 0, 0, 0, NULL, {NULL}, 0, NULL},
};

int classify_model_begin(struct grade_ctx *g, const struct sub_model *sm)
{
    return model_begin(g, sm);
}
