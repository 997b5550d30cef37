/* The detect task's rubric functions: decode a model's predictions once
 * (detect_model_begin), then run the array checks of checks_detect.c on
 * them, with the thresholds the run's config.json says it used. */
#include "grader/checks_detect.h"
#include "grader/rubric.h"

#include "base/error.h"
#include "labs/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KB_DET_FILE "TS-DETECT-PREDICTIONS-FORMAT"

struct detect_state {
    int ok;
    struct detect_predictions p;
    char err[600];
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
    {NULL, NULL, 0, 0, 0, NULL, {NULL}, 0, NULL},
};
