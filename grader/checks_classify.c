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

#define KB_INTEGRITY "TS-SUBMISSION-INTEGRITY"
#define ACC_TOL 0.001 /* metrics.json vs recomputed accuracy: 0.1 percentage points */

static const char *cfg_dataset(const struct grade_ctx *g) { return lab_cfg_str(g->sub->config, "data.dataset", ""); }

static const char *mode_name(const struct grade_ctx *g) { return g->quick ? "quick" : "full"; }

/* "fashion-mnist", or "fashion-mnist classes 5-9" for a mode that evaluates some classes. */
static const char *eval_what(const struct grade_ctx *g, char *buf, size_t cap)
{
    if (g->class_hi > g->class_lo)
        snprintf(buf, cap, "%.100s classes %d-%d", cfg_dataset(g), g->class_lo, g->class_hi - 1);
    else
        snprintf(buf, cap, "%.100s", cfg_dataset(g));
    return buf;
}

/* The number of eval images the run should have predicted; -1 when the
 * data fits no mode of the lab. */
static int64_t expected_n(struct grade_ctx *g) { return grade_mode(g) ? g->eval_n : -1; }

static enum check_status integrity_mode(struct grade_ctx *g, struct check_out *o)
{
    if (!grade_mode(g))
        return check_set(o, CHECK_FAIL, KB_INTEGRITY, "%s: no course target applies", g->mode_err);
    const json_t *q = json_object_get(g->sub->config, "quick");
    const char *claimed = json_is_true(q) ? "true" : json_is_false(q) ? "false" : "(absent)";
    if (!json_is_boolean(q) || json_is_true(q) != g->quick)
        return check_set(o, CHECK_FAIL, KB_INTEGRITY,
                         "config.json says \"quick\": %s, but the run evaluated %s (the first %lld images), which is "
                         "lab %s's %s mode: it is graded against the %s-mode targets",
                         claimed, cfg_dataset(g), (long long)g->eval_n, lab_manifest_id(g->lab), mode_name(g),
                         mode_name(g));
    return check_set(o, CHECK_PASS, NULL, "%s mode (%s, %lld eval images), as config.json says", mode_name(g),
                     cfg_dataset(g), (long long)g->eval_n);
}

/* ---- per model ---- */

static int decode_ints(const struct sub_model *sm, const char *name, int64_t n, int64_t **out, size_t *count)
{
    const struct st_tensor *t = sm->predictions ? st_find(sm->predictions, name) : NULL;
    if (!t || t->ndim != 1 || t->shape[0] != n || !gt_is_int(t->dtype))
        return -1;
    return gt_to_i64(t, GT_MAX_ELEMS, out, count);
}

/* Whether the rows name each eval image of the mode exactly once; a
 * submission that repeats the rows it got right, or predicts other images
 * than the lab's, is judged on nothing (predictions.coverage). */
static void find_coverage(struct grade_ctx *g)
{
    struct grade_model *m = &g->m;
    snprintf(m->coverage, sizeof m->coverage, "%s", "");
    if (!m->indices) {
        snprintf(m->coverage, sizeof m->coverage, "predictions.safetensors has no integer 'indices' [%lld] naming the "
                 "eval images", (long long)m->n);
        return;
    }
    int64_t want = g->eval_n;
    if (!(m->row_of = malloc((size_t)want * sizeof *m->row_of))) {
        snprintf(m->coverage, sizeof m->coverage, "out of memory");
        return;
    }
    for (int64_t i = 0; i < want; i++)
        m->row_of[i] = -1;
    int64_t repeats = 0, outside = 0, first_bad = -1, bad_value = 0;
    char what[160];
    for (int64_t r = 0; r < m->n; r++) {
        int64_t k = m->indices[r];
        if (k < 0 || k >= want) {
            if (!outside++ && first_bad < 0)
                first_bad = r, bad_value = k;
        } else if (m->row_of[k] >= 0) {
            if (!repeats++ && first_bad < 0)
                first_bad = r, bad_value = k;
        } else {
            m->row_of[k] = r;
        }
    }
    if (repeats || outside) {
        snprintf(m->coverage, sizeof m->coverage,
                 "%lld row(s) repeat an image and %lld name an image outside the first %lld of %s (first: "
                 "indices[%lld] = %lld); lab %s's %s mode evaluates each of those images once",
                 (long long)repeats, (long long)outside, (long long)want, eval_what(g, what, sizeof what), (long long)first_bad,
                 (long long)bad_value, lab_manifest_id(g->lab), mode_name(g));
        free(m->row_of);
        m->row_of = NULL;
        return;
    }
    m->covered = 1;
}

static int model_begin(struct grade_ctx *g, const struct sub_model *sm)
{
    struct grade_model *m = &g->m;
    /* The lab's class count in the mode the data shows, not config.json's:
     * fewer classes would lower chance. */
    m->classes = grade_mode(g) ? g->classes : lab_cfg_int(g->lab, "config.data.num_classes", 10);
    if (m->classes < 2 || m->classes > 100000)
        m->classes = 10;
    const struct st_tensor *t = sm->predictions ? st_find(sm->predictions, "logits") : NULL;
    snprintf(m->coverage, sizeof m->coverage, "the logits are not [N, %lld] (see shape.logits)", (long long)m->classes);
    if (!t || !gt_is_float(t->dtype) || gt_to_f32(t, GT_MAX_ELEMS, &m->logits, &m->n_values))
        return LAB_OK;
    int64_t want = expected_n(g);
    m->shape_ok = t->ndim == 2 && t->shape[1] == m->classes && t->shape[0] > 0 && want > 0 && t->shape[0] == want;
    m->n = m->shape_ok ? t->shape[0] : 0;
    m->finite = 1;
    for (size_t i = 0; i < m->n_values; i++)
        m->finite &= isfinite(m->logits[i]) != 0;
    if (m->shape_ok) {
        if (decode_ints(sm, "labels", m->n, &m->labels, &m->n_labels))
            m->labels = NULL, m->n_labels = 0;
        if (decode_ints(sm, "indices", m->n, &m->indices, &m->n_indices))
            m->indices = NULL, m->n_indices = 0;
        find_coverage(g);
    }
    return LAB_OK;
}

static enum check_status predictions_coverage(struct grade_ctx *g, struct check_out *o)
{
    if (!g->m.shape_ok)
        return check_set(o, CHECK_SKIPPED, NULL, "skipped: %s", g->m.coverage);
    if (!g->m.covered)
        return check_set(o, CHECK_FAIL, "TS-PREDICTIONS-COVERAGE", "%s", g->m.coverage);
    char what[160];
    return check_set(o, CHECK_PASS, NULL, "%lld rows, one for each of the first %lld images of %s (%s mode)",
                     (long long)g->m.n, (long long)g->eval_n, eval_what(g, what, sizeof what), mode_name(g));
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

/* Checks that score the predictions need them to cover the eval images. */
static int logits_judgeable(const struct grade_ctx *g, struct check_out *o)
{
    if (!logits_usable(g, o))
        return 0;
    if (!g->m.covered)
        check_set(o, CHECK_SKIPPED, NULL, "skipped: the rows do not cover the eval images once each (see "
                  "predictions.coverage)");
    return g->m.covered;
}

static enum check_status honesty_accuracy(struct grade_ctx *g, struct check_out *o)
{
    const char *kb = "TS-METRICS-MISMATCH";
    if (!logits_judgeable(g, o))
        return o->status;
    if (grade_truth(g))
        return check_set(o, CHECK_ERROR, NULL, "%s", g->truth_err);
    struct grade_model *m = &g->m;
    if ((size_t)g->eval_n > g->n_truth)
        return check_set(o, CHECK_ERROR, NULL, "the grader's labels hold %zu images, fewer than the %lld evaluated",
                         g->n_truth, (long long)g->eval_n);
    int64_t *truth = malloc((size_t)m->n * sizeof *truth);
    if (!truth)
        return check_set(o, CHECK_ERROR, NULL, "out of memory");
    size_t relabeled = 0;
    for (int64_t i = 0; i < m->n; i++) {
        truth[i] = g->truth[m->indices[i]];
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

/* The accuracy the results checks judge: the grader's. Only a run's
 * self-check, which has no grader, falls back on the run's own labels. */
static int judged_accuracy(struct grade_ctx *g, struct check_out *o, double *acc, const char **source)
{
    if (!logits_judgeable(g, o))
        return 0;
    if (g->m.has_accuracy) {
        *acc = g->m.accuracy;
        *source = "recomputed";
        return 1;
    }
    if (!g->self_check) {
        check_set(o, CHECK_SKIPPED, NULL, "skipped: the accuracy could not be recomputed (see honesty.accuracy)");
        return 0;
    }
    if (!g->m.labels) {
        check_set(o, CHECK_SKIPPED, NULL, "skipped: no labels to score the logits against (see labels.range)");
        return 0;
    }
    *acc = logits_accuracy(g->m.logits, g->m.labels, (size_t)g->m.n, (size_t)g->m.classes);
    *source = "on the submitted labels";
    return 1;
}

/* The course's target for a model in the mode the data shows, or NULL. */
static const json_t *target_of(const struct grade_ctx *g, const char *model)
{
    struct grade_ctx *mg = (struct grade_ctx *)g; /* grade_mode caches the mode in g */
    if (!grade_mode(mg))
        return NULL;
    const json_t *want = json_object_get(lab_cfg_get(g->lab, mg->quick ? "thresholds.quick.test_accuracy"
                                                                       : "thresholds.full.test_accuracy"),
                                         model);
    return json_is_number(want) ? want : NULL;
}

static enum check_status results_threshold(struct grade_ctx *g, struct check_out *o)
{
    double acc;
    const char *source;
    if (!judged_accuracy(g, o, &acc, &source))
        return o->status;
    const char *mode = mode_name(g); /* derived: judged_accuracy needs a mode */
    const json_t *want = target_of(g, g->m.name);
    /* Nothing to reach is reached: counting the points in every mode keeps
     * max_score the same for every student of the lab, a not-gradable
     * row's included (whose mode nobody can know). */
    if (!want)
        return check_set(o, CHECK_PASS, NULL, "the course sets no %s-mode target for %s: nothing to reach (test "
                         "accuracy %.2f%%, %s)", mode, g->m.name, 100 * acc, source);
    double t = json_number_value(want);
    if (acc < t)
        return check_set(o, CHECK_FAIL, "TS-ACC-BELOW-TARGET", "test accuracy %.2f%% (%s) is below the %s-mode target %.0f%%",
                         100 * acc, source, mode, 100 * t);
    return check_set(o, CHECK_PASS, NULL, "test accuracy %.2f%% (%s) reaches the %s-mode target %.0f%%", 100 * acc,
                     source, mode, 100 * t);
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

/* The lab's parameter count of a model (lab.json "params"), or -1. */
static int64_t lab_params(const struct grade_ctx *g, const char *model)
{
    size_t i;
    const json_t *m;
    json_array_foreach(json_object_get(g->lab, "models"), i, m)
    {
        const char *n = json_string_value(json_object_get(m, "name"));
        if (n && !strcmp(n, model) && json_is_integer(json_object_get(m, "params")))
            return json_integer_value(json_object_get(m, "params"));
    }
    return -1;
}

/* Batch-norm statistics are buffers, not parameters: lab.json counts the
 * parameters, as sum(p.numel() for p in model.parameters()) does. */
static int is_buffer(const char *name)
{
    static const char *const suffixes[] = {"running_mean", "running_var", "num_batches_tracked"};
    size_t n = strlen(name);
    for (size_t i = 0; i < 3; i++) {
        size_t l = strlen(suffixes[i]);
        if (n >= l && !strcmp(name + n - l, suffixes[i]))
            return 1;
    }
    return 0;
}

/* Without --reeval nothing else ties a model's name to its weights: one
 * model's predictions and weights under another's name (LeNet-5's as
 * ResNet-18's) would earn the other's points. The parameter count is the
 * architecture's, known without building it. */
static enum check_status weights_params(struct grade_ctx *g, struct check_out *o)
{
    const char *kb = "TS-STATE-DICT-MISMATCH";
    const struct sub_model *sm = g->m.sm;
    if (!sm->weights)
        return check_set(o, CHECK_FAIL, kb, "models/%s/model.safetensors is missing", sm->name);
    int64_t want = lab_params(g, sm->name);
    if (want <= 0)
        return check_skip_uncounted(o, "lab %s lists no parameter count for %s", lab_manifest_id(g->lab), sm->name);
    size_t total = 0;
    for (size_t i = 0; i < st_count(sm->weights); i++) {
        const struct st_tensor *t = st_at(sm->weights, i);
        size_t n = gt_numel(t);
        if (is_buffer(t->name))
            continue;
        total = n > SIZE_MAX - total ? SIZE_MAX : total + n;
    }
    if (total != (size_t)want)
        return check_set(o, CHECK_FAIL, kb,
                         "model.safetensors holds %zu parameters (batch-norm statistics aside); lab %s's %s has %lld: "
                         "these are not %s's weights",
                         total, lab_manifest_id(g->lab), sm->name, (long long)want, sm->name);
    return check_set(o, CHECK_PASS, NULL, "%zu parameters, as lab %s's %s has", total, lab_manifest_id(g->lab), sm->name);
}

const struct rubric_check checks_classify[] = {
    {"integrity.mode", "the mode is the one the data shows", 1, 0, 10, integrity_mode, {KB_INTEGRITY}, 0, NULL},
    {"shape.logits", "logits are [N, classes]", 2, RC_PER_MODEL, 10, shape_logits, {"TS-LOGITS-SHAPE"}, 0, NULL},
    {"labels.range", "labels are class indices in range", 1, RC_PER_MODEL, 10, labels_range,
     {"TS-DEVICE-ASSERT-LABELS"}, 0, NULL},
    {"predictions.coverage", "the rows cover each eval image once", 2, RC_PER_MODEL, 10, predictions_coverage,
     {"TS-PREDICTIONS-COVERAGE"}, 0, NULL},
    {"weights.params", "the weights have the model's parameter count", 1, RC_PER_MODEL, 10, weights_params,
     {"TS-STATE-DICT-MISMATCH"}, 0, NULL},
    {"values.finite", "logits are finite", 1, RC_PER_MODEL, 10, values_finite, {"TS-NAN-LOGITS"}, 0, NULL},
    {"values.constant", "logits depend on the input", 1, RC_PER_MODEL, 10, values_constant, {"TS-CONSTANT-LOGITS"}, 0, NULL},
    {"honesty.accuracy", "metrics.json's accuracy matches the predictions", 3, RC_PER_MODEL, 30, honesty_accuracy,
     {"TS-METRICS-MISMATCH"}, 0, NULL},
    {"results.threshold", "accuracy reaches the course target", 3, RC_PER_MODEL, 10, results_threshold,
     {"TS-ACC-BELOW-TARGET"}, 0, NULL},
    {"results.chance", "accuracy is clear of chance", 2, RC_PER_MODEL, 10, results_chance, {"TS-ACC-RANDOM"}, 0, NULL},
    {"reeval.load", "the weights load into the lab's architecture", 2, RC_PER_MODEL | RC_REEVAL, 120,
     reeval_load_registered, {"TS-STATE-DICT-MISMATCH"}, 0, NULL},
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
