/* Ultralytics' val loop over a detection dataset, shared by the quick run,
 * training on a student's dataset and `lab val`: each image letterboxed to
 * the square imgsz (pad 114), the model's eval output, the boxes clipped
 * to the image's part of the input, class-aware NMS, the boxes mapped back
 * to the original pixels (scale_boxes). Where this differs from
 * Ultralytics' DetectionValidator is in docs/labs/2.2.3.md, "lab val". */
#ifndef LAB_YOLO_EVALUATE_H
#define LAB_YOLO_EVALUATE_H

#include "datasets/dataset.h"
#include "labs/2.2.3-yolo-detection/infer.h"
#include "labs/models/model.h"
#include "labs/tasks/detect.h"

#include <stdio.h>

/* The ground truth of the evaluated images, in their pixels (owned). */
struct yolo_truth {
    size_t g;
    float *boxes;      /* [g, 4] */
    int64_t *classes;  /* [g] */
    int64_t *image;    /* [g] */
};

/* Runs m over every image of d (a YOLO-layout dataset: all of each
 * image's boxes; any other: its samples' boxes) in batches of `batch`:
 * p gets the detections, indices 0..n-1 and the original image sizes, t
 * the boxes. say (may be NULL) gets a line every 50 batches. */
int yolo_evaluate(struct model *m, ts_device dev, const struct ds_dataset *d, int imgsz, int batch,
                  const struct yolo_nms_opts *nms, struct detect_predictions *p, struct yolo_truth *t, FILE *say);
void yolo_truth_free(struct yolo_truth *t);

#endif
