/* Re-evaluation of a submitted detector (`lab grade --reeval`, lab 2.2.3):
 * the weights, loaded strictly into the lab's YOLOv8 at the submission's
 * scale with Fashion-MNIST's 10 classes, run on the grader's own rendering
 * of the eval_set mosaics as the lab's val runs them (the canvas / 255 in
 * three channels, no letterbox at 96 x 96, boxes clipped to the canvas,
 * class-aware NMS at the run's conf, IoU and max_det: labs/tasks/
 * detect_nms.h). Their detections must be the submitted ones
 * (grader/detect_match.h) and score no less; then the same weights on
 * mosaics of the grader's own drawing, which no student saw, and a few
 * canvases one at a time against their batch. Boxes written from anything
 * but these weights (the ground truth, which anyone can render from the
 * public t10k items, or another run's detections) fail here. */
#include "grader/checks_detect.h"

#include "base/error.h"
#include "datasets/mosaic_set.h"
#include "grader/detect_match.h"
#include "grader/reeval.h"
#include "labs/config.h"
#include "labs/lab.h"
#include "labs/models/yolov8.h"
#include "labs/tasks/detect_nms.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Matching the weights' detections with the submitted ones, per image the
 * top DET_TOP_K of each side. Exact weights re-run in the lab's batches
 * give the lab's numbers up to summation order: boxes all but identical,
 * scores within float noise; an NMS near-tie may still swap a box now and
 * then. 4-bit weights move the scores and the box edges: measured on
 * quick runs, docs/labs/2.2.3.md. */
#define DET_TOP_K 20
#define DET_IOU_EXACT 0.99
#define DET_SCORE_EXACT 0.01
#define DET_AGREE_EXACT 0.98
#define DET_IOU_Q4 0.9
#define DET_SCORE_Q4 0.05
#define DET_AGREE_Q4 0.95
/* How far the submitted detections' mAP50 and mAP50-95 may lie above the
 * weights' own on the same mosaics. */
#define DET_MAP_SLACK_EXACT 0.002
#define DET_MAP_SLACK_Q4 0.01
/* How far the weights' mAP50 on the grader's own mosaics may fall below the
 * submission's on eval_set: the spread of honest runs between two draws
 * of 300 mosaics, measured in docs/labs/2.2.3.md. */
#define DET_HELDOUT_GAP 0.12

struct det_reeval {
    int size, batch;
    int64_t k, a;            /* classes, anchors */
    size_t rerun_n;          /* canvases kept for reeval.batch */
    uint8_t *canvases;       /* their gray canvases [rerun_n, size, size] */
    float *rerun;            /* their outputs in the first batch [rerun_n, 4 + k, a] */
    int has_map;             /* the weights' own figures on eval_set */
    double map50, map;
    struct ds_mosaic_config eval; /* eval_set, parsed */
};

void det_reeval_free(struct det_reeval *r)
{
    if (!r)
        return;
    free(r->canvases);
    free(r->rerun);
    free(r);
}

/* The lab's YOLOv8 for the submission: the scale its model's name says (or
 * config.json's yolo.depth_multiple / width_multiple, as the lab builds
 * it), always the 10 Fashion-MNIST classes, whatever the config claims. */
static int create_cfg(const json_t *config, const char *name, int num_classes, struct model **out)
{
    (void)num_classes;
    char scale = yolov8_scale_of(name);
    if (!scale)
        return lab_err(LAB_EUSAGE, "submit the models under the names `lab run` gives them",
                       "lab 2.2.3 has no model '%s'", name ? name : "");
    double depth = lab_cfg_num(config, "yolo.depth_multiple", 0), width = lab_cfg_num(config, "yolo.width_multiple", 0);
    if (depth > 0 || width > 0) {
        if (!(depth > 0 && depth <= 2 && width > 0 && width <= 2))
            return lab_err(LAB_EUSAGE, "set both yolo multiples within (0, 2], or neither",
                           "config.json's yolo.depth_multiple %g and width_multiple %g", depth, width);
        return yolov8_create_scaled(depth, width, 10, out);
    }
    return yolov8_create(scale, 10, out);
}

static const struct lab_impl detect_impl = {.id = "2.2.3", .create_model_cfg = create_cfg};

enum check_status det_reeval_load(struct grade_ctx *g, struct check_out *o)
{
    return reeval_load(g, &detect_impl, o);
}

static int anchors_of(int size)
{
    int a = 0;
    for (int l = 0; l < 3; l++)
        a += (size >> (3 + l)) * (size >> (3 + l));
    return a;
}

static int grow(struct detect_predictions *p, int64_t *cap, int64_t need)
{
    if (need <= *cap)
        return LAB_OK;
    int64_t c = *cap ? *cap : 4096;
    while (c < need)
        c *= 2;
    float *bx = realloc(p->boxes, sizeof(float) * 4 * (size_t)c);
    if (bx)
        p->boxes = bx;
    float *sc = realloc(p->scores, sizeof(float) * (size_t)c);
    if (sc)
        p->scores = sc;
    int64_t *cl = realloc(p->classes, sizeof(int64_t) * (size_t)c);
    if (cl)
        p->classes = cl;
    int64_t *ii = realloc(p->image_index, sizeof(int64_t) * (size_t)c);
    if (ii)
        p->image_index = ii;
    if (!bx || !sc || !cl || !ii)
        return lab_err(LAB_EINTERNAL, "free some memory", "out of memory");
    *cap = c;
    return LAB_OK;
}

/* The model's eval outputs of canvases [first, first + n) in batches of
 * `batch`: [n, 4 + k, a] into y. */
static int forward(struct grade_ctx *g, const struct det_reeval *r, const uint8_t *canvases, size_t n, int batch,
                   float *x, float *y)
{
    size_t px = (size_t)r->size * (size_t)r->size;
    for (size_t i = 0; i < n; i++)
        for (size_t p = 0; p < px; p++)
            x[(i * 3) * px + p] = x[(i * 3 + 1) * px + p] = x[(i * 3 + 2) * px + p] = canvases[i * px + p] / 255.0f;
    int64_t shape[4] = {(int64_t)n, 3, r->size, r->size};
    return reeval_forward(g, x, shape, batch, "preds", (size_t)((4 + r->k) * r->a), y);
}

/* The lab's val of the weights on n gray canvases: detections into out
 * (image_index the canvas), and the first batch's raw outputs of the first
 * r->rerun_n canvases into r->rerun when keep. */
static int detect_canvases(struct grade_ctx *g, struct det_reeval *r, const uint8_t *canvases, size_t n,
                           const struct yolo_nms_opts *no, int keep, struct detect_predictions *out)
{
    memset(out, 0, sizeof *out);
    out->n = (int64_t)n;
    size_t px = (size_t)r->size * (size_t)r->size, B = (size_t)r->batch, per = (size_t)((4 + r->k) * r->a);
    float *x = malloc(sizeof *x * B * 3 * px), *y = malloc(sizeof *y * B * per);
    struct yolo_det *det = malloc(sizeof *det * (size_t)no->max_det);
    int rc = x && y && det ? LAB_OK : lab_err(LAB_EINTERNAL, "free some memory", "out of memory");
    int64_t cap = 0;
    for (size_t b0 = 0; !rc && b0 < n; b0 += B) {
        size_t bn = n - b0 < B ? n - b0 : B;
        rc = forward(g, r, canvases + b0 * px, bn, r->batch, x, y);
        if (!rc && keep && b0 == 0) {
            r->rerun_n = bn < REEVAL_BATCH_SAMPLES ? bn : REEVAL_BATCH_SAMPLES;
            r->rerun = malloc(sizeof *r->rerun * r->rerun_n * per);
            r->canvases = malloc(r->rerun_n * px);
            if (!r->rerun || !r->canvases)
                rc = lab_err(LAB_EINTERNAL, "free some memory", "out of memory");
            else
                memcpy(r->rerun, y, sizeof *r->rerun * r->rerun_n * per), memcpy(r->canvases, canvases, r->rerun_n * px);
        }
        if (!rc)
            yolo_clip_cxcywh(y, bn, 4 + r->k, r->a, (float)r->size);
        for (size_t i = 0; !rc && i < bn; i++) {
            int nd = 0;
            rc = yolo_nms(y + i * per, (int)r->k, r->a, no, det, &nd);
            if (!rc)
                rc = grow(out, &cap, out->m + nd);
            for (int j = 0; !rc && j < nd; j++) {
                float c[4] = {det[j].x1, det[j].y1, det[j].x2, det[j].y2};
                for (int q = 0; q < 4; q++)
                    out->boxes[out->m * 4 + q] = c[q] < 0 ? 0 : c[q] > (float)r->size ? (float)r->size : c[q];
                out->scores[out->m] = det[j].conf;
                out->classes[out->m] = det[j].cls;
                out->image_index[out->m] = (int64_t)(b0 + i);
                out->m++;
            }
        }
    }
    free(x), free(y), free(det);
    return rc;
}

/* Ultralytics' mAP50 and mAP50-95 of p against t. */
static int score(const struct detect_predictions *p, const struct truth_boxes *t, int64_t k, double *m50, double *m)
{
    struct det_boxes truth = {t->g, t->boxes, NULL, t->classes, t->image};
    struct det_boxes pred = detect_predictions_boxes(p);
    struct ultra_result u;
    int rc = ultra_evaluate(&truth, &pred, (int64_t)t->n_images, k, &u);
    if (rc)
        return rc;
    *m50 = u.map50, *m = u.map;
    ultra_result_free(&u);
    return LAB_OK;
}

/* The run's NMS settings (the lab's val: conf 0.001, IoU 0.7, max_det 300
 * unless config.json says otherwise), within the ranges the lab accepts. */
static int nms_opts(const struct grade_ctx *g, struct yolo_nms_opts *no, struct check_out *o)
{
    *no = (struct yolo_nms_opts){.conf = lab_cfg_num(g->sub->config, "detect.conf", 0.001),
                                 .iou = lab_cfg_num(g->sub->config, "detect.nms_iou", 0.7),
                                 .max_det = (int)lab_cfg_int(g->sub->config, "detect.max_det", 300)};
    if (no->conf >= 0 && no->conf < 1 && no->iou > 0 && no->iou <= 1 && no->max_det >= 1 && no->max_det <= 3000)
        return 1;
    check_set(o, CHECK_FAIL, "TS-REEVAL-MISMATCH",
              "config.json's detect block (conf %g, nms_iou %g, max_det %d) is outside what the lab runs (conf in "
              "[0, 1), nms_iou in (0, 1], max_det 1..3000): the grader cannot re-run it",
              no->conf, no->iou, no->max_det);
    return 0;
}

static enum check_status rerun_failed(struct grade_ctx *g, struct check_out *o)
{
    return check_set(o, grade_expired(g) ? CHECK_TIMEOUT : CHECK_ERROR, NULL, "re-evaluation failed: %s",
                     lab_err_message());
}

enum check_status det_reeval_detections(struct grade_ctx *g, struct check_out *o)
{
    const struct detect_predictions *p = det_decoded(g, o);
    if (!p)
        return o->status;
    struct det_reeval **slot = det_reeval_slot(g);
    if (!reeval_model(g) || !slot)
        return check_set(o, CHECK_SKIPPED, NULL, "skipped: the weights did not load (see reeval.load)");
    /* the student's own images: nothing to run the weights on (counted, as honesty.map) */
    if (!strncmp(p->eval_set, DETECT_EVAL_SET_OWN, strlen(DETECT_EVAL_SET_OWN)))
        return check_set(o, CHECK_SKIPPED, NULL, "skipped: the predictions are for the student's own dataset, of "
                         "which the grader holds no copy to run the weights on; these points are the instructor's "
                         "to give by hand");
    struct yolo_nms_opts no;
    if (!nms_opts(g, &no, o))
        return o->status;
    struct truth_boxes t;
    if (det_truth_for(g, p, 1, &t, o) != CHECK_PASS)
        return o->status;
    if (t.size % 32) {
        truth_boxes_free(&t);
        return check_set(o, CHECK_FAIL, "TS-REEVAL-MISMATCH",
                         "eval_set's canvases are %d pixels a side; YOLOv8 evaluates multiples of 32 (the lab's 96)",
                         t.size);
    }
    struct det_reeval *r = calloc(1, sizeof *r);
    if (!r) {
        truth_boxes_free(&t);
        return check_set(o, CHECK_ERROR, NULL, "out of memory");
    }
    det_reeval_free(*slot);
    *slot = r;
    int train = 0;
    ds_mosaic_set_parse(p->eval_set, &train, &r->eval); /* det_truth_for parsed it */
    r->size = t.size, r->k = 10, r->a = anchors_of(t.size);
    int64_t batch = lab_cfg_int(g->sub->config, "train.batch_size", 16);
    r->batch = batch >= 1 && batch <= 256 ? (int)batch : 16; /* the lab's val batches are its training batch */
    struct detect_predictions ours;
    int rc = detect_canvases(g, r, t.canvases, t.n_images, &no, 1, &ours);
    double sub50 = 0, sub = 0;
    if (!rc)
        rc = score(&ours, &t, r->k, &r->map50, &r->map);
    if (!rc)
        rc = score(p, &t, r->k, &sub50, &sub);
    truth_boxes_free(&t);
    if (rc) {
        detect_predictions_free(&ours);
        return rerun_failed(g, o);
    }
    r->has_map = 1;
    int q4 = g->m.sm->weights_q4;
    struct det_match_tol tol = {DET_TOP_K, q4 ? DET_IOU_Q4 : DET_IOU_EXACT, q4 ? DET_SCORE_Q4 : DET_SCORE_EXACT};
    struct det_match_stats st;
    rc = det_match(&ours, p, &tol, &st);
    int64_t m_ours = ours.m;
    detect_predictions_free(&ours);
    if (rc)
        return check_set(o, CHECK_FAIL, "TS-REEVAL-MISMATCH", "%s", lab_err_message());
    double share = det_match_share(&st), want = q4 ? DET_AGREE_Q4 : DET_AGREE_EXACT;
    double slack = q4 ? DET_MAP_SLACK_Q4 : DET_MAP_SLACK_EXACT;
    const char *w = q4 ? " (at 4 bits)" : "";
    if (!(share >= want)) {
        const float *b = st.miss_box;
        return check_set(o, CHECK_FAIL, "TS-REEVAL-MISMATCH",
                         "the weights%s detect other boxes than the submitted ones: %.2f%% of the top %d detections "
                         "per image (%" PRId64 " of the weights', %" PRId64 " submitted) have their match (class, IoU "
                         ">= %g, score within %g), at least %g%% needed; first miss: %s detection [%.1f, %.1f, %.1f, "
                         "%.1f] class %" PRId64 " score %.3f on image %" PRId64 " (nearest box of its class: IoU "
                         "%.3f); the weights' own mAP50 is %.4f, the submitted %.4f",
                         w, 100 * share, DET_TOP_K, st.looked[0], st.looked[1], tol.min_iou, tol.score_tol,
                         100 * want, st.miss_side ? "submitted" : "the weights'", (double)b[0], (double)b[1],
                         (double)b[2], (double)b[3], st.miss_class, (double)st.miss_score, st.miss_image,
                         (double)st.near_iou, r->map50, sub50);
    }
    if (sub50 > r->map50 + slack || sub > r->map + slack)
        return check_set(o, CHECK_FAIL, "TS-REEVAL-MISMATCH",
                         "the submitted detections score mAP50 %.4f / mAP50-95 %.4f, the weights%s only %.4f / %.4f "
                         "(at most %g apart): the detections that differ were chosen",
                         sub50, sub, w, r->map50, r->map, slack);
    return check_set(o, CHECK_PASS, NULL,
                     "re-run on the grader's %zu mosaics in batches of %d%s: %.2f%% of the top %d detections per "
                     "image match (%" PRId64 " detections, %" PRId64 " submitted); the weights' own mAP50 %.4f, "
                     "mAP50-95 %.4f",
                     r->eval.n, r->batch, q4 ? " (weights at 4 bits)" : "", 100 * share, DET_TOP_K, m_ours, p->m,
                     r->map50, r->map);
}

/* The held-out draw's seed: from the submitted weights' checksum, so the
 * set is fixed per submission yet unknown before the weights are, and
 * never eval_set's own. */
static uint64_t heldout_seed(const struct grade_ctx *g, uint64_t eval_seed)
{
    char rel[200];
    snprintf(rel, sizeof rel, "models/%s/model.safetensors", g->m.name);
    uint64_t seed = 0x5eed2230ULL;
    for (size_t i = 0; i < g->sub->n_manifest; i++)
        if (!strcmp(g->sub->manifest[i].path, rel)) {
            char hex[13];
            memcpy(hex, g->sub->manifest[i].sha256, 12);
            hex[12] = '\0';
            seed = strtoull(hex, NULL, 16);
        }
    seed = 1000 + seed % 1000000000ULL;
    return seed == eval_seed ? seed + 1 : seed;
}

enum check_status det_reeval_heldout(struct grade_ctx *g, struct check_out *o)
{
    struct det_reeval **slot = det_reeval_slot(g);
    struct det_reeval *r = slot ? *slot : NULL;
    if (!r || !r->has_map)
        return check_set(o, CHECK_SKIPPED, NULL, "skipped: the detections were not re-evaluated (see "
                         "reeval.detections)");
    struct yolo_nms_opts no;
    if (!nms_opts(g, &no, o))
        return o->status;
    double own = 0;
    const char *whose = "the submission's (recomputed)";
    if (!det_submitted_map50(g, &own))
        own = r->map50, whose = "the weights' own";
    struct ds_mosaic_config cfg = r->eval;
    cfg.seed = heldout_seed(g, r->eval.seed);
    struct truth_boxes t;
    int rc = truth_mosaic_render(&cfg, 0, g->opts ? g->opts->data_dir : NULL, 1, &t);
    if (rc)
        return check_set(o, CHECK_ERROR, NULL, "the grader's held-out mosaics are unavailable: %s%s%s",
                         lab_err_message(), lab_err_fix()[0] ? "; fix: " : "", lab_err_fix());
    struct detect_predictions ours;
    double m50 = 0, m = 0;
    rc = detect_canvases(g, r, t.canvases, t.n_images, &no, 0, &ours);
    if (!rc)
        rc = score(&ours, &t, r->k, &m50, &m);
    detect_predictions_free(&ours);
    truth_boxes_free(&t);
    if (rc)
        return rerun_failed(g, o);
    if (m50 < own - DET_HELDOUT_GAP)
        return check_set(o, CHECK_FAIL, "TS-REEVAL-HELDOUT-GAP",
                         "on %zu test-split mosaics of the grader's drawing (seed %" PRIu64 ") the weights score "
                         "mAP50 %.4f, %.4f below %s %.4f on eval_set (at most %g): they fit the public evaluation "
                         "mosaics, not the task",
                         cfg.n, cfg.seed, m50, own - m50, whose, own, DET_HELDOUT_GAP);
    return check_set(o, CHECK_PASS, NULL,
                     "on %zu test-split mosaics of the grader's drawing (seed %" PRIu64 ") the weights score mAP50 "
                     "%.4f (mAP50-95 %.4f); %s on eval_set %.4f (at most %g lower allowed)",
                     cfg.n, cfg.seed, m50, m, whose, own, DET_HELDOUT_GAP);
}

enum check_status det_reeval_batch(struct grade_ctx *g, struct check_out *o)
{
    struct det_reeval **slot = det_reeval_slot(g);
    struct det_reeval *r = slot ? *slot : NULL;
    if (!r || !r->rerun)
        return check_set(o, CHECK_SKIPPED, NULL, "skipped: the detections were not re-evaluated (see "
                         "reeval.detections)");
    size_t px = (size_t)r->size * (size_t)r->size, per = (size_t)((4 + r->k) * r->a), n = r->rerun_n;
    float *x = malloc(sizeof *x * n * 3 * px), *one = malloc(sizeof *one * n * per);
    int rc = x && one ? forward(g, r, r->canvases, n, 1, x, one) : lab_err(LAB_EINTERNAL, "free some memory",
                                                                        "out of memory");
    double rel = rc ? 0 : rel_max_diff(one, r->rerun, n * per);
    free(x), free(one);
    if (rc)
        return rerun_failed(g, o);
    if (!(rel <= REEVAL_REL_TOL))
        return check_set(o, CHECK_FAIL, "TS-BATCH-DEPENDENT",
                         "the first %zu mosaics alone give other outputs than in a batch of %d: max |diff| / max "
                         "|output| = %.3g (tolerance %g)",
                         n, r->batch, rel, REEVAL_REL_TOL);
    return check_set(o, CHECK_PASS, NULL,
                     "the first %zu mosaics one at a time match their batch of %d (max rel diff %.2g)", n, r->batch,
                     rel);
}
