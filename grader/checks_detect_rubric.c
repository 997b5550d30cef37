/* The detect task's rubric functions: decode a model's predictions once
 * (detect_model_begin), then run the array checks of checks_detect.c on
 * them, with the thresholds the run's config.json says it used. */
#include "grader/checks_detect.h"
#include "grader/rubric.h"

#include "base/error.h"
#include "grader/grade.h"
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
};

static void state_free(void *v)
{
    struct detect_state *s = v;
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

/* The decoded predictions, or NULL with o set to why the check skipped. */
static const struct detect_predictions *decoded(struct grade_ctx *g, struct check_out *o)
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
        const struct detect_predictions *p = decoded(g, o);         \
        return p ? call : o->status;                                \
    }
WRAP(boxes_format, det_check_box_format(p, o))
WRAP(boxes_pixels, det_check_pixels(p, o))
WRAP(boxes_inside, det_check_inside(p, o))
WRAP(scores_range, det_check_scores(p, o))
WRAP(boxes_duplicates, det_check_duplicates(p, lab_cfg_num(g->sub->config, "detect.nms_iou", 0.7), o))

static enum check_status scores_threshold(struct grade_ctx *g, struct check_out *o)
{
    const struct detect_predictions *p = decoded(g, o);
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
 * size). CHECK_PASS when t is filled; otherwise o says why. */
static enum check_status truth_for(struct grade_ctx *g, const struct detect_predictions *p, struct truth_boxes *t,
                                   struct check_out *o)
{
    memset(t, 0, sizeof *t);
    if (!p->eval_set[0])
        return check_set(o, CHECK_FAIL, KB_DET_FILE, "predictions.safetensors names no eval_set: the grader cannot "
                         "tell which images the boxes are for (lab writes it; docs/submission-format.md, \"detect\")");
    int rc = truth_mosaic_boxes(p->eval_set, g->opts ? g->opts->data_dir : NULL, t);
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

static enum check_status honesty_map(struct grade_ctx *g, struct check_out *o)
{
    const struct detect_predictions *p = decoded(g, o);
    if (!p)
        return o->status;
    if (own_dataset(p))
        return check_set(o, CHECK_SKIPPED, NULL, "skipped: the predictions are for the student's own dataset (%s), "
                         "of which the grader holds no copy, so their mAP cannot be recomputed; these points are "
                         "the instructor's to give by hand", p->eval_set);
    struct truth_boxes t;
    if (truth_for(g, p, &t, o) != CHECK_PASS)
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

static const json_t *map_target(const struct grade_ctx *g)
{
    int quick = !strcmp(lab_cfg_str(g->sub->config, "data.dataset", ""), "fashion-mnist-mosaic");
    const json_t *t = lab_cfg_get(g->lab, quick ? "thresholds.quick.map50" : "thresholds.full.map50");
    return json_is_number(t) ? t : NULL;
}

/* Judged on the grader's recomputed mAP50 only (honesty.map runs first). */
static enum check_status results_map(struct grade_ctx *g, struct check_out *o)
{
    const struct detect_predictions *p = decoded(g, o);
    if (!p)
        return o->status;
    if (own_dataset(p))
        return check_set(o, CHECK_SKIPPED, NULL, "skipped: the course sets no mAP50 target for a student's own "
                         "dataset; these points are the instructor's to give by hand");
    const struct detect_state *s = g->m.task;
    const json_t *want = map_target(g);
    if (!want)
        return check_skip_uncounted(o, "the course sets no mAP50 target for this mode");
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
    {NULL, NULL, 0, 0, 0, NULL, {NULL}, 0, NULL},
};
