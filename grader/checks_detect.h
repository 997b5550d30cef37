/* The detect task's checks (lab 2.2.3) on a decoded predictions file
 * (labs/tasks/detect.h): the box format mistakes students make when they
 * hand Ultralytics' or their own outputs over (centre or corner-size boxes
 * as corners, normalized boxes as pixels, boxes not clipped), scores that
 * are not probabilities, duplicates NMS should have removed, a confidence
 * threshold not honoured, and mAP recomputed against the grader's own
 * ground truth. Each names its troubleshooting id. Plain arrays in, so the
 * tests call them on synthetic predictions. */
#ifndef GRADER_CHECKS_DETECT_H
#define GRADER_CHECKS_DETECT_H

#include "grader/checks.h"
#include "grader/truth.h"
#include "labs/tasks/coco_eval.h"
#include "labs/tasks/detect.h"

#include <jansson.h>

#define KB_DET_FORMAT "TS-DETECT-BOX-FORMAT"
#define KB_DET_NORMALIZED "TS-DETECT-NORMALIZED"
#define KB_DET_OUTSIDE "TS-DETECT-OUTSIDE-IMAGE"
#define KB_DET_SCORES "TS-DETECT-SCORES"
#define KB_DET_DUPLICATES "TS-DETECT-DUPLICATES"
#define KB_DET_CONF "TS-DETECT-CONF-THRESHOLD"
#define KB_DET_METRICS "TS-METRICS-MISMATCH"

/* boxes.format: x1 <= x2 and y1 <= y2 for every box; when not, says
 * whether the boxes fit the image as [x, y, w, h] or [cx, cy, w, h]. */
enum check_status det_check_box_format(const struct detect_predictions *p, struct check_out *o);
/* boxes.pixels: not every coordinate within [0, 1] on images larger than
 * 2 x 2 pixels (normalized boxes given as pixels). */
enum check_status det_check_pixels(const struct detect_predictions *p, struct check_out *o);
/* boxes.inside: every box within its image, 1 pixel of tolerance. */
enum check_status det_check_inside(const struct detect_predictions *p, struct check_out *o);
/* scores.range: finite and within [0, 1]. */
enum check_status det_check_scores(const struct detect_predictions *p, struct check_out *o);
/* boxes.duplicates: no two boxes of one class on one image overlap above
 * iou (the NMS IoU the run used). */
enum check_status det_check_duplicates(const struct detect_predictions *p, double iou, struct check_out *o);
/* scores.threshold: no score below conf (the confidence threshold the run
 * says it used). */
enum check_status det_check_conf(const struct detect_predictions *p, double conf, struct check_out *o);
/* honesty.map: COCO's AP and Ultralytics' mAP50-95 recomputed from the
 * predictions against the grader's ground truth (k classes) agree with the
 * model's metrics.json entry ("coco"."AP", "ultralytics"."mAP50-95") within
 * 0.001. */
enum check_status det_check_map(const struct detect_predictions *p, const struct det_boxes *truth, int64_t k,
                                const json_t *model_metrics, struct check_out *o);
/* The same, also giving the recomputed Ultralytics mAP50 (when the
 * predictions could be evaluated) for the results check. */
enum check_status det_check_map_ex(const struct detect_predictions *p, const struct det_boxes *truth, int64_t k,
                                   const json_t *model_metrics, struct check_out *o, double *map50);

/* For the re-evaluation (grader/reeval_detect.c), from the rubric's state
 * of one model (checks_detect_rubric.c): the decoded predictions, or NULL
 * with o set to why the check skipped; the grader's own boxes (and, with
 * `canvases`, the gray canvases) of the eval_set they name, checked to be
 * the whole evaluation (CHECK_PASS when t is filled, o says why not);
 * the mAP50 honesty.map recomputed from the submitted boxes (0 when it
 * could not); the re-evaluation's own slot, freed with the model. */
struct det_reeval;
struct grade_ctx;
const struct detect_predictions *det_decoded(struct grade_ctx *g, struct check_out *o);
enum check_status det_truth_for(struct grade_ctx *g, const struct detect_predictions *p, int canvases,
                                struct truth_boxes *t, struct check_out *o);
int det_submitted_map50(const struct grade_ctx *g, double *map50);
struct det_reeval **det_reeval_slot(struct grade_ctx *g);
void det_reeval_free(struct det_reeval *r);

/* grader/reeval_detect.c: reeval.load (TS-STATE-DICT-MISMATCH),
 * reeval.detections (TS-REEVAL-MISMATCH), reeval.heldout
 * (TS-REEVAL-HELDOUT-GAP), reeval.batch (TS-BATCH-DEPENDENT). */
enum check_status det_reeval_load(struct grade_ctx *g, struct check_out *o);
enum check_status det_reeval_detections(struct grade_ctx *g, struct check_out *o);
enum check_status det_reeval_heldout(struct grade_ctx *g, struct check_out *o);
enum check_status det_reeval_batch(struct grade_ctx *g, struct check_out *o);

#endif
