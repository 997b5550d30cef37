/* The detect task (lab 2.2.3): its predictions file (docs/submission-
 * format.md, "detect") written by the lab and read back by `lab val` and
 * the grader, and its metrics.json entry (COCO's and Ultralytics' figures
 * side by side, labelled as whose they are). The metrics themselves are in
 * tasks/coco_eval.h; the grader's checks in grader/checks_detect.c. */
#ifndef LAB_TASKS_DETECT_H
#define LAB_TASKS_DETECT_H

#include "labs/tasks/coco_eval.h"
#include "shim/safetensors.h"

#include <jansson.h>
#include <stdint.h>

#define DETECT_PREDICTIONS_FORMAT "lab-detections-v1"
/* The eval_set of predictions on a student's own YOLO-format dataset
 * ("yolo-dataset:val:n=N:sha256=HEX", lab 2.2.3 --set data.dataset=PATH):
 * images the grader has no copy of, so it cannot recompute their mAP. */
#define DETECT_EVAL_SET_OWN "yolo-dataset:"
/* The most detections or images a predictions file may hold: 5,000 images
 * x 300 detections is 1.5 M; this leaves room and bounds what an untrusted
 * file makes the grader allocate (2^24 x 28 bytes = 470 MB at most). */
#define DETECT_MAX_ROWS ((int64_t)1 << 24)

/* One evaluation's detections, owned arrays. Boxes are x1, y1, x2, y2 in
 * the pixels of the original image (image_sizes gives its height, width). */
struct detect_predictions {
    int64_t m, n;           /* detections, images */
    float *boxes;           /* [m, 4] */
    float *scores;          /* [m] */
    int64_t *classes;       /* [m] */
    int64_t *image_index;   /* [m] row of indices */
    int64_t *indices;       /* [n] position of each image in the eval split */
    int64_t *image_sizes;   /* [n, 2] height, width */
    char eval_set[128];     /* which evaluation images (metadata "eval_set"), "" when absent */
};

/* models/<m>/predictions.safetensors, format DETECT_PREDICTIONS_FORMAT. */
int detect_save_predictions(const char *path, const struct detect_predictions *p);
/* Reads and validates an open file: tensor names, dtypes and shapes as the
 * format says, image_index within 0..n-1, sizes positive; LAB_EUSAGE with
 * the tensor and the fix otherwise. Values (box order, score range) are the
 * grader's checks, not refused here. */
int detect_read_predictions(const st_file *f, struct detect_predictions *out);
void detect_predictions_free(struct detect_predictions *p);

/* The evaluation as arrays for coco_eval.h (views into p, valid while p is). */
struct det_boxes detect_predictions_boxes(const struct detect_predictions *p);

/* Adds "coco" {AP, AP50, AP75, per_class_AP, per_class_AP50, pr_curve50},
 * "ultralytics" {mAP50, mAP50-95, mAP75, precision, recall, confidence,
 * per_class_AP50, per_class_AP50-95, per_class_precision, per_class_recall}
 * and "confusion" ([K+1][K+1], row = predicted, column = true, last =
 * background) to a model's metrics; names (K entries) may be NULL. */
void detect_metrics_to_json(const struct coco_result *c, const struct ultra_result *u, const char *const *names,
                            json_t *model_metrics);

/* Evaluates p against truth (k classes) with both evaluators and adds the
 * figures to model_metrics as detect_metrics_to_json does: what the lab and
 * `lab val` write. */
int detect_evaluate(const struct detect_predictions *p, const struct det_boxes *truth, int64_t k,
                    const char *const *names, json_t *model_metrics);

#endif
