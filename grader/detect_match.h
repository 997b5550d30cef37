/* Whether two sets of detections of the same images are one model's: the
 * grader's re-run of the submitted weights against the submitted
 * predictions (reeval.detections, grader/reeval_detect.c). Per image, the
 * top detections of each side are looked for in the other side's whole
 * list, so a detection that crossed the confidence threshold or max_det on
 * one side only is no miss; a match is the same class, a box that overlaps
 * almost exactly and a score within a tolerance. Plain arrays, so the unit
 * tests call it on synthetic detections. */
#ifndef GRADER_DETECT_MATCH_H
#define GRADER_DETECT_MATCH_H

#include "labs/tasks/detect.h"

#include <stdint.h>

struct det_match_tol {
    int top_k;        /* per image and side, the highest-scoring detections looked for */
    double min_iou;   /* a match: the same class and IoU at least this */
    double score_tol; /* and |score difference| at most this */
};

struct det_match_stats {
    int64_t looked[2], found[2]; /* [0]: ours looked for in theirs, [1]: theirs in ours */
    /* The first miss in image order (image -1 when none): which side's
     * detection, its image, class, score and box, and the nearest box of
     * its class on the other side (IoU 0 when there is none). */
    int miss_side;
    int64_t miss_image, miss_class;
    float miss_score, miss_box[4], near_iou;
};

/* LAB_EUSAGE when the two do not cover the same number of images. */
int det_match(const struct detect_predictions *ours, const struct detect_predictions *theirs,
              const struct det_match_tol *tol, struct det_match_stats *out);
/* The share of the looked-for detections found, both sides together (1
 * when neither has any). */
double det_match_share(const struct det_match_stats *s);

#endif
