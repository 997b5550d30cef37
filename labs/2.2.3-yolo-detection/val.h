/* `lab val 2.2.3`: YOLOv8 weights (an Ultralytics .pt, safetensors or a
 * state dict) evaluated on a YOLO-format dataset's split as `yolo val`
 * does (evaluate.h): a per-class table on `say` in Ultralytics' layout
 * (Class, Images, Instances, P, R, mAP50, mAP50-95, `all` first) and
 * out/val.json with COCO's and Ultralytics' figures, per class, the
 * settings and the weights' and dataset's sha256. */
#ifndef LAB_YOLO_VAL_H
#define LAB_YOLO_VAL_H

#include "labs/val.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

int yolo_val(const struct val_opts *o, FILE *say);

/* The per-class rows of the table and val.json from a model's metrics
 * (detect_metrics_to_json's "coco" and "ultralytics") and the ground
 * truth's counts: images[k] holding class k, instances[k] boxes of it.
 * Rows only for classes with ground truth, as Ultralytics prints them;
 * the `all` row first. Prints when say is not NULL. */
json_t *yolo_val_table(const json_t *mm, const char *const *names, int64_t k, const int64_t *images,
                       const int64_t *instances, int64_t n_images, FILE *say);

#endif
