/* Lab 2.2.3's quick run: a YOLOv8 trained from scratch on Fashion-MNIST
 * detection mosaics with Ultralytics' loss (tasks/detect_loss.h), evaluated
 * on held-out mosaics with COCO's and Ultralytics' figures. */
#ifndef LAB_YOLO_QUICK_H
#define LAB_YOLO_QUICK_H

#include "labs/run.h"

#include <jansson.h>

int yolo_quick_validate(const json_t *config);
int yolo_quick_run(struct lab_run *r);

#endif
