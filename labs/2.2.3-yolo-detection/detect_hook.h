/* 2.2.3's detector for other labs (struct lab_impl's detect hook): what
 * `lab predict 2.2.3` finds on one image, as plain boxes, so that 2.2.6 can
 * prompt SAM with them as the course's detect_and_segment does. */
#ifndef LAB_YOLO_DETECT_HOOK_H
#define LAB_YOLO_DETECT_HOOK_H

#include "labs/lab.h"

/* lab_impl.detect: yolov8_load, yolo_detect_pixels (letterbox, forward,
 * NMS, boxes in original pixels), then the --classes filter on each kept
 * box, after NMS as the solution skips them (class-aware NMS makes the two
 * orders agree but for the max_det cut). */
int yolo_detect_hook(const struct lab_detect_opts *o, const struct ds_image *im, struct lab_detection **out, int *n);

#endif
