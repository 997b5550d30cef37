/* Lab 2.2.3 on a student's own dataset: `lab run 2.2.3 --set
 * data.dataset=PATH` (data.yaml or the folder holding it, the
 * Ultralytics/YOLO layout) trains the configured YOLOv8 with the quick
 * run's trainer (trainer.h) on the train split, from scratch or from
 * --set train.weights=FILE, and evaluates on the val split as `lab val`
 * does, writing the quick run's artifacts. */
#ifndef LAB_YOLO_DATASET_H
#define LAB_YOLO_DATASET_H

#include "labs/run.h"

#include <jansson.h>

/* 1 when data.dataset names a path (has a '/', ends in .yaml/.yml, or is
 * an existing folder) rather than a registered dataset. */
int yolo_dataset_is_path(const char *dataset);
int yolo_dataset_validate(const json_t *config);
int yolo_dataset_run(struct lab_run *r);

#endif
