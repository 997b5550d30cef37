/* Checks on submitted segmentation masks (the segment task, lab 2.2.4), on
 * plain arrays so tests call them on synthetic masks; the segment task's
 * rubric (grader/checks_segment.c) calls them. Each fills a check_out as
 * grader/checks.h. */
#ifndef GRADER_CHECKS_MASKS_H
#define GRADER_CHECKS_MASKS_H

#include "grader/checks.h"

#include <stddef.h>
#include <stdint.h>

/* masks.range: every predicted id in [0, classes); 255 in a prediction means
 * the ignore label leaked into the argmax target (TS-DEVICE-ASSERT-LABELS). */
enum check_status check_masks_range(const uint8_t *masks, size_t n, int64_t classes, struct check_out *o);

/* masks.one_class: more than one class predicted over the split; a single
 * class is the course's "IoU is 0" (TS-IOU-ZERO). */
enum check_status check_masks_not_one_class(const uint8_t *masks, size_t n, struct check_out *o);

/* honesty.miou: mIoU recomputed from the predictions against the grader's
 * own ground truth (ignore pixels left out), within `tol` of the reported
 * value (TS-METRICS-MISMATCH). *recomputed (may be NULL) receives it. */
enum check_status check_masks_miou(const uint8_t *pred, const uint8_t *truth, size_t n, int64_t classes,
                                   uint8_t ignore, double reported, double tol, double *recomputed,
                                   struct check_out *o);

#endif
