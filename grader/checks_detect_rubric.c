/* The detect task's rubric functions: decode a model's predictions once
 * (detect_model_begin), then run the array checks of checks_detect.c on
 * them, with the thresholds the run's config.json says it used. */
#include "grader/checks_detect.h"
#include "grader/rubric.h"

#include "base/error.h"
#include "grader/grade.h"
#include "datasets/mosaic_set.h"
#include "grader/truth.h"
#include "labs/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KB_DET_FILE "TS-DETECT-PREDICTIONS-FORMAT"
#define KB_DET_MAP_TARGET "TS-DETECT-MAP-BELOW-TARGET"

struct detect_state {
    int ok;
    struct detect_predictions p;
    char err[600];
    int has_map50; /* honesty.map recomputed it against the grader's truth */
    double map50;
    struct det_reeval *reeval; /* --reeval's state (reeval_detect.c) */
};

static void state_free(void *v)
{
    struct detect_state *s = v;
    det_reeval_free(s->reeval);
    detect_predictions_free(&s->p);
    free(s);
}

int detect_model_begin(struct grade_ctx *g, const struct sub_model *sm)
{
    struct detect_state *s = calloc(1, sizeof *s);
    if (!s)
        return lab_err(LAB_EINTERNAL, "free some memory", "out of memory");
    g->m.task = s;
    g->m.task_free = state_free;
    if (!sm->predictions)
        snprintf(s->err, sizeof s->err, "models/%s/predictions.safetensors is missing", sm->name);
    else if (detect_read_predictions(sm->predictions, &s->p) != LAB_OK)
        snprintf(s->err, sizeof s->err, "%s", lab_err_message());
    else
        s->ok = 1;
    return LAB_OK;
}

const struct detect_predictions *det_decoded(struct grade_ctx *g, struct check_out *o)
{
    const struct detect_state *s = g->m.task;
    if (s && s->ok)
        return &s->p;
    check_set(o, CHECK_SKIPPED, NULL, "skipped: the predictions do not follow the detect format (see "
              "shape.detections)");
    return NULL;
}

static enum check_status shape_detections(struct grade_ctx *g, struct check_out *o)
{
    const struct detect_state *s = g->m.task;
    if (!s || !s->ok)
        return check_set(o, CHECK_FAIL, KB_DET_FILE, "%s", s ? s->err : "no predictions were decoded");
    return check_set(o, CHECK_PASS, NULL, "%lld detections on %lld images in the detect format", (long long)s->p.m,
                     (long long)s->p.n);
}

#define WRAP(fn, call)                                              \
    static enum check_status fn(struct grade_ctx *g, struct check_out *o) \
    {                                                               \
        const struct detect_predictions *p = det_decoded(g, o);     \
        return p ? call : o->status;                                \
    }
WRAP(boxes_format, det_check_box_format(p, o))
WRAP(boxes_pixels, det_check_pixels(p, o))
WRAP(boxes_inside, det_check_inside(p, o))
WRAP(scores_range, det_check_scores(p, o))
WRAP(boxes_duplicates, det_check_duplicates(p, lab_cfg_num(g->sub->config, "detect.nms_iou", 0.7), o))

static enum check_status scores_threshold(struct grade_ctx *g, struct check_out *o)
{
    const struct detect_predictions *p = det_decoded(g, o);
    if (!p)
        return o->status;
    const json_t *conf = lab_cfg_get(g->sub->config, "detect.conf");
    if (!json_is_number(conf))
        return check_skip_uncounted(o, "config.json names no confidence threshold (detect.conf)");
    return det_check_conf(p, json_number_value(conf), o);
}

/* The grader's own boxes for the mosaics the predictions name: rendered
 * from eval_set, which must cover the whole set the lab evaluates (at least
 * the manifest's quick eval_subset, each canvas once, in order, at its
 * size) and be of the test split: mosaics of the training split are what
 * the weights were fitted to. Canvases kept for re-evaluation are bounded
 * (DET_MAX_CANVAS_BYTES): an untrusted eval_set may name 100,000 of 1024
 * pixels. */
#define DET_MAX_CANVAS_BYTES ((size_t)1 << 30)
enum check_status det_truth_for(struct grade_ctx *g, const struct detect_predictions *p, int canvases,
                                struct truth_boxes *t, struct check_out *o)
{
    memset(t, 0, sizeof *t);
    if (!p->eval_set[0])
        return check_set(o, CHECK_FAIL, KB_DET_FILE, "predictions.safetensors names no eval_set: the grader cannot "
                         "tell which images the boxes are for (lab writes it; docs/submission-format.md, \"detect\")");
    struct ds_mosaic_config cfg;
    int train = 0;
    int rc = ds_mosaic_set_parse(p->eval_set, &train, &cfg);
    if (!rc && train)
        return check_set(o, CHECK_FAIL, KB_DET_FILE, "eval_set %s names mosaics of Fashion-MNIST's training split; "
                         "the lab evaluates on the test split (lab writes fashion-mnist-mosaic:test:...)", p->eval_set);
    if (!rc && canvases && cfg.n * (size_t)cfg.size * (size_t)cfg.size > DET_MAX_CANVAS_BYTES)
        return check_set(o, CHECK_FAIL, KB_DET_FILE, "eval_set %s is %zu canvases of %d pixels, more than the grader "
                         "re-runs (1 GiB of canvases; the lab evaluates 300 of 96)", p->eval_set, cfg.n, cfg.size);
    if (!rc)
        rc = truth_mosaic_render(&cfg, train, g->opts ? g->opts->data_dir : NULL, canvases, t);
    if (rc == LAB_EUSAGE)
        return check_set(o, CHECK_FAIL, KB_DET_FILE, "eval_set: %s", lab_err_message());
    if (rc)
        return check_set(o, CHECK_ERROR, NULL, "the grader's ground truth is unavailable: %s%s%s", lab_err_message(),
                         lab_err_fix()[0] ? "; fix: " : "", lab_err_fix());
    int64_t need = lab_cfg_int(g->lab, "quick.data.eval_subset", 1);
    const char *why = NULL;
    if ((int64_t)t->n_images < need)
        why = "fewer canvases than the lab evaluates";
    else if (p->n != (int64_t)t->n_images)
        why = "a number of images other than eval_set's";
    for (int64_t i = 0; !why && i < p->n; i++)
        if (p->indices[i] != i || p->image_sizes[2 * i] != t->size || p->image_sizes[2 * i + 1] != t->size)
            why = "indices or image sizes other than eval_set's canvases, in order";
    if (why) {
        enum check_status st = check_set(o, CHECK_FAIL, KB_DET_FILE,
                                         "the predictions cover %lld images of %s, %s (the lab evaluates %lld)",
                                         (long long)p->n, p->eval_set, why, (long long)need);
        truth_boxes_free(t);
        return st;
    }
    return CHECK_PASS;
}

/* Predictions on a student's own dataset: nothing to recompute them
 * against. The check is skipped but still counted (max_score does not
 * change): left out, a quick-mode submission could rename its eval_set to
 * escape honesty.map; the report says the points are the instructor's to
 * give by hand. */
static int own_dataset(const struct detect_predictions *p)
{
    return !strncmp(p->eval_set, DETECT_EVAL_SET_OWN, strlen(DETECT_EVAL_SET_OWN));
}

static int quick_mode(const struct grade_ctx *g)
{
    return !strcmp(lab_cfg_str(g->sub->config, "data.dataset", ""), "fashion-mnist-mosaic");
}

/* The count metrics.json claims in a study row against the predictions'. */
static int study_row_matches(const struct detect_predictions *p, const json_t *row, double conf, char *why,
                             size_t cap)
{
    int64_t total = 0, per_class[1024] = {0};
    int64_t *per_image = calloc((size_t)(p->n > 0 ? p->n : 1), sizeof *per_image);
    if (!per_image)
        return snprintf(why, cap, "out of memory"), 0;
    for (int64_t i = 0; i < p->m; i++)
        if (p->scores[i] > conf) { /* as NMS keeps a box: score > conf */
            total++;
            per_image[p->image_index[i]]++;
            if (p->classes[i] >= 0 && p->classes[i] < 1024)
                per_class[p->classes[i]]++;
        }
    const json_t *img = json_object_get(row, "per_image"), *cls = json_object_get(row, "per_class"), *v;
    int ok = json_integer_value(json_object_get(row, "detections")) == total;
    if (!ok)
        snprintf(why, cap, "at conf %g metrics.json counts %lld detections, the predictions %lld", conf,
                 (long long)json_integer_value(json_object_get(row, "detections")), (long long)total);
    if (ok && (!json_is_array(img) || (int64_t)json_array_size(img) != p->n))
        ok = 0, snprintf(why, cap, "at conf %g per_image is not a list of %lld counts", conf, (long long)p->n);
    for (int64_t i = 0; ok && i < p->n; i++)
        if (json_integer_value(json_array_get(img, (size_t)i)) != per_image[i])
            ok = 0, snprintf(why, cap, "at conf %g image %lld has %lld detections in metrics.json, %lld in the "
                             "predictions", conf, (long long)i, (long long)json_integer_value(json_array_get(img, (size_t)i)),
                             (long long)per_image[i]);
    size_t k;
    int64_t listed = 0;
    json_array_foreach(cls, k, v)
    {
        if (!ok)
            break;
        int64_t c = json_integer_value(json_object_get(v, "class")), n = json_integer_value(json_object_get(v, "count"));
        listed += n;
        if (c < 0 || c >= 1024 || per_class[c] != n)
            ok = 0, snprintf(why, cap, "at conf %g class %lld has %lld detections in metrics.json, %lld in the "
                             "predictions", conf, (long long)c, (long long)n, (long long)(c >= 0 && c < 1024 ? per_class[c] : 0));
    }
    if (ok && (!json_is_array(cls) || listed != total))
        ok = 0, snprintf(why, cap, "at conf %g per_class lists %lld of %lld detections", conf, (long long)listed,
                         (long long)total);
    free(per_image);
    return ok;
}

/* A full run detects on sample images nobody labelled, so there is no mAP
 * to recompute. What the predictions do determine is the threshold study
 * from the predictions' own threshold (detect.conf) up: NMS at a higher
 * threshold keeps exactly the saved boxes that score above it
 * (labs/2.2.3-yolo-detection/study.h), so those rows of metrics.json must
 * be the predictions' counts, per image and per class. */
static enum check_status honesty_study(struct grade_ctx *g, const struct detect_predictions *p, const json_t *mm,
                                       struct check_out *o)
{
    const json_t *rows = json_object_get(mm, "threshold_study"), *conf = lab_cfg_get(g->sub->config, "detect.conf");
    if (!json_is_array(rows) || !json_array_size(rows) || !json_is_number(conf))
        return check_set(o, CHECK_FAIL, KB_DET_METRICS, "metrics.json has no threshold_study for %s, or config.json no "
                         "detect.conf: a full run writes both (docs/labs/2.2.3.md)", g->m.name);
    if (json_integer_value(json_object_get(mm, "detections")) != p->m)
        return check_set(o, CHECK_FAIL, KB_DET_METRICS, "metrics.json counts %lld detections, the predictions hold %lld",
                         (long long)json_integer_value(json_object_get(mm, "detections")), (long long)p->m);
    double c0 = json_number_value(conf);
    size_t i, checked = 0;
    const json_t *row;
    char why[300];
    json_array_foreach(rows, i, row)
    {
        double c = json_number_value(json_object_get(row, "conf"));
        if (c < c0)
            continue; /* below the saved threshold: those boxes are not in the predictions */
        if (!study_row_matches(p, row, c, why, sizeof why))
            return check_set(o, CHECK_FAIL, KB_DET_METRICS, "the threshold study is not the predictions': %s", why);
        checked++;
    }
    if (!checked)
        return check_set(o, CHECK_FAIL, KB_DET_METRICS, "no threshold_study row is at or above the predictions' "
                         "threshold %g, so none can be checked", c0);
    return check_set(o, CHECK_PASS, NULL, "the threshold study's %zu row(s) at conf >= %g match the predictions per "
                     "image and per class (%zu below it are not in the predictions; no mAP: the sample images "
                     "have no labels)", checked, c0, json_array_size(rows) - checked);
}

static enum check_status honesty_map(struct grade_ctx *g, struct check_out *o)
{
    const struct detect_predictions *p = det_decoded(g, o);
    if (!p)
        return o->status;
    if (own_dataset(p))
        return check_set(o, CHECK_SKIPPED, NULL, "skipped: the predictions are for the student's own dataset (%s), "
                         "of which the grader holds no copy, so their mAP cannot be recomputed; these points are "
                         "the instructor's to give by hand", p->eval_set);
    if (!quick_mode(g) && json_object_get(json_object_get(json_object_get(g->sub->metrics, "models"), g->m.name),
                                          "threshold_study"))
        return honesty_study(g, p, json_object_get(json_object_get(g->sub->metrics, "models"), g->m.name), o);
    struct truth_boxes t;
    if (det_truth_for(g, p, 0, &t, o) != CHECK_PASS)
        return o->status;
    struct det_boxes truth = {t.g, t.boxes, NULL, t.classes, t.image};
    const json_t *mm = json_object_get(json_object_get(g->sub->metrics, "models"), g->m.name);
    struct detect_state *s = g->m.task;
    double m50 = -1;
    enum check_status st = det_check_map_ex(p, &truth, lab_cfg_int(g->sub->config, "data.num_classes", 10), mm, o, &m50);
    if (m50 >= 0)
        s->has_map50 = 1, s->map50 = m50;
    truth_boxes_free(&t);
    return st;
}

int det_submitted_map50(const struct grade_ctx *g, double *map50)
{
    const struct detect_state *s = g->m.task;
    *map50 = s && s->has_map50 ? s->map50 : 0;
    return s && s->has_map50;
}

struct det_reeval **det_reeval_slot(struct grade_ctx *g)
{
    struct detect_state *s = g->m.task;
    return s ? &s->reeval : NULL;
}

static const json_t *map_target(const struct grade_ctx *g)
{
    const json_t *t = lab_cfg_get(g->lab, quick_mode(g) ? "thresholds.quick.map50" : "thresholds.full.map50");
    return json_is_number(t) ? t : NULL;
}

/* Judged on the grader's recomputed mAP50 only (honesty.map runs first). */
static enum check_status results_map(struct grade_ctx *g, struct check_out *o)
{
    const struct detect_predictions *p = det_decoded(g, o);
    if (!p)
        return o->status;
    if (own_dataset(p))
        return check_set(o, CHECK_SKIPPED, NULL, "skipped: the course sets no mAP50 target for a student's own "
                         "dataset; these points are the instructor's to give by hand");
    const struct detect_state *s = g->m.task;
    const json_t *want = map_target(g);
    /* Nothing to reach is reached (as checks_classify.c's results.threshold):
     * counting the points in every mode keeps one max_score for the lab. */
    if (!want)
        return check_set(o, CHECK_PASS, NULL, "the course sets no mAP50 target for the full mode (its sample images "
                         "have no labels): nothing to reach");
    if (!s->has_map50)
        return check_set(o, CHECK_SKIPPED, NULL, "skipped: mAP50 could not be recomputed (see honesty.map)");
    double t = json_number_value(want);
    if (s->map50 < t)
        return check_set(o, CHECK_FAIL, KB_DET_MAP_TARGET, "mAP50 %.4f (recomputed) is below the target %.2f",
                         s->map50, t);
    return check_set(o, CHECK_PASS, NULL, "mAP50 %.4f (recomputed) reaches the target %.2f", s->map50, t);
}

const struct rubric_check checks_detect[] = {
    {"shape.detections", "predictions follow the detect format", 2, RC_PER_MODEL, 10, shape_detections,
     {KB_DET_FILE}, 0, NULL},
    {"boxes.format", "boxes are x1, y1, x2, y2", 2, RC_PER_MODEL, 10, boxes_format, {KB_DET_FORMAT}, 0, NULL},
    {"boxes.pixels", "boxes are in pixels, not normalized", 1, RC_PER_MODEL, 10, boxes_pixels, {KB_DET_NORMALIZED},
     0, NULL},
    {"boxes.inside", "boxes lie inside their images", 1, RC_PER_MODEL, 10, boxes_inside, {KB_DET_OUTSIDE}, 0, NULL},
    {"scores.range", "scores are probabilities", 1, RC_PER_MODEL, 10, scores_range, {KB_DET_SCORES}, 0, NULL},
    {"boxes.duplicates", "NMS removed the duplicates", 1, RC_PER_MODEL, 30, boxes_duplicates, {KB_DET_DUPLICATES}, 0,
     NULL},
    {"scores.threshold", "the confidence threshold is honoured", 1, RC_PER_MODEL, 10, scores_threshold,
     {KB_DET_CONF}, 0, NULL},
    {"honesty.map", "metrics.json's mAP matches the predictions", 3, RC_PER_MODEL, 60, honesty_map,
     {KB_DET_METRICS, KB_DET_FILE, KB_DET_DUPLICATES}, 0, NULL},
    {"results.threshold", "mAP50 reaches the course target", 3, RC_PER_MODEL, 10, results_map, {KB_DET_MAP_TARGET},
     0, NULL},
    {"reeval.load", "the weights load into the lab's YOLOv8", 2, RC_PER_MODEL | RC_REEVAL, 120, det_reeval_load,
     {"TS-STATE-DICT-MISMATCH"}, 0, NULL},
    {"reeval.detections", "the weights reproduce the submitted detections", 3, RC_PER_MODEL | RC_REEVAL, 600,
     det_reeval_detections, {"TS-REEVAL-MISMATCH"}, 0, NULL},
    {"reeval.heldout", "the weights score as well on mosaics the student never saw", 2, RC_PER_MODEL | RC_REEVAL,
     600, det_reeval_heldout, {"TS-REEVAL-HELDOUT-GAP"}, 0, NULL},
    {"reeval.batch", "outputs do not depend on the batch", 1, RC_PER_MODEL | RC_REEVAL, 120, det_reeval_batch,
     {"TS-BATCH-DEPENDENT"}, 0, NULL},
    {NULL, NULL, 0, 0, 0, NULL, {NULL}, 0, NULL},
};
