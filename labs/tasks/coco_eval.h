/* Detection metrics on host arrays (no tensors, no network), so the lab and
 * the grader compute the same figures from a predictions file and a ground
 * truth: COCO's box AP as pycocotools' COCOeval computes it (bbox, area
 * "all", maxDets 100, nothing crowd), and Ultralytics' own validation
 * figures (DetectionValidator matching + ap_per_class), which differ from
 * COCO's by design (see ../shared/reference/README.md, 2.2.3-map.json).
 * Boxes are x1, y1, x2, y2 in pixels. */
#ifndef LAB_TASKS_COCO_EVAL_H
#define LAB_TASKS_COCO_EVAL_H

#include <stddef.h>
#include <stdint.h>

#define DET_IOU_THRESHOLDS 10 /* 0.50:0.05:0.95 */
#define DET_RECALL_POINTS 101 /* COCO's recall thresholds 0:0.01:1 */
#define DET_CURVE_POINTS 1000 /* Ultralytics' confidence grid */

/* A set of detections (predictions or ground truth) over images 0..n_images-1.
 * scores is NULL for ground truth. */
struct det_boxes {
    size_t n;
    const float *boxes;    /* [n, 4] */
    const float *scores;   /* [n] or NULL */
    const int64_t *classes;
    const int64_t *image;  /* which image each box is on */
};

/* Image indices within 0..n_images-1, classes within 0..k-1, finite
 * coordinates (and scores when need_scores); `what` names a box in the
 * message. */
int det_boxes_check(const struct det_boxes *b, const char *what, int64_t n_images, int64_t k, int need_scores);

struct coco_result {
    int64_t k;               /* classes 0..k-1 */
    double ap, ap50, ap75;   /* mean over classes that have ground truth */
    double *class_ap;        /* [k] AP50-95, -1 for a class without ground truth */
    double *class_ap50;      /* [k] */
    /* [k, 101] COCO precision at each recall threshold, IoU 0.5 (the PR
     * curve); -1 for a class without ground truth. */
    double *pr50;
};

/* COCO evaluation. Fails (lab_err) on a class outside 0..k-1 in the ground
 * truth, an image index outside 0..n_images-1, or a non-finite coordinate. */
int coco_evaluate(const struct det_boxes *gt, const struct det_boxes *pred, int64_t n_images, int64_t k,
                  struct coco_result *out);
void coco_result_free(struct coco_result *r);

struct ultra_result {
    int64_t k;                 /* classes 0..k-1 */
    int64_t n_classes_with_gt; /* the rows Ultralytics averages over */
    double map50, map, map75;  /* Ultralytics' mAP50, mAP50-95, mAP75 */
    double precision, recall;  /* mean over classes at the max-F1 confidence */
    double conf_at_max_f1;     /* that confidence (on the 0..1 grid of 1000) */
    /* [k, 10] AP per class and threshold; rows of classes without ground
     * truth are -1. */
    double *class_ap;
    double *class_p, *class_r, *class_f1; /* [k] at conf_at_max_f1, -1 without ground truth */
    /* [n_pred, 10]: 1 where a prediction is a true positive at a threshold,
     * in the order of the input predictions. */
    uint8_t *tp;
    /* [(k + 1) * (k + 1)], Ultralytics' layout: row = predicted class, column
     * = true class, index k = background; detections with conf > 0.25,
     * matched at IoU > 0.45. */
    int64_t *confusion;
};

int ultra_evaluate(const struct det_boxes *gt, const struct det_boxes *pred, int64_t n_images, int64_t k,
                   struct ultra_result *out);
void ultra_result_free(struct ultra_result *r);

#endif
