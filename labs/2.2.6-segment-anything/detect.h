/* `lab predict 2.2.6 --detect YOLO-WEIGHTS`: the solution's
 * detect_and_segment. Lab 2.2.3's detector (through its lab_impl detect
 * hook, so no 2.2.3 code is included here) finds boxes on the image at conf
 * 0.5 (--conf), IoU 0.7, optionally only --classes; each box, in the
 * detector's order, prompts SAM on its own (boxes.h). Both models get the
 * image as RGB (the solution hands YOLO an RGB array it reads as BGR). */
#ifndef LAB_SAM_DETECT_H
#define LAB_SAM_DETECT_H

#include "datasets/image.h"
#include "labs/2.2.6-segment-anything/predictor.h"
#include "labs/predict.h"

#include <stdio.h>

/* p is initialised, not yet given the image (no detections: no encode, an
 * empty list in predictions.json, a warning on stderr, LAB_OK). */
int sam_detect_and_segment(const struct predict_opts *o, struct sam_predictor *p, const struct ds_image *im,
                           FILE *say);

#endif
