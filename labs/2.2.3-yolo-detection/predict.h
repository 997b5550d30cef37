/* `lab predict 2.2.3`: YOLOv8 weights (an Ultralytics .pt, or safetensors
 * with its keys) on the user's PNG/JPEG images, as Ultralytics' predict:
 * per image <stem>.json (xyxy in original pixels, confidence, class id and
 * name) and <stem>.png with the boxes drawn, plus predictions.json listing
 * them all. */
#ifndef LAB_YOLO_PREDICT_H
#define LAB_YOLO_PREDICT_H

#include "labs/predict.h"

#include <stdio.h>

int yolo_predict(const struct predict_opts *o, FILE *say);

/* "person,car,2" -> class ids (names from `names`, nc of them); an unknown
 * name is an error listing the valid ones (unlike the course's solution,
 * which then silently filters everything out). *ids malloc'd. */
int yolo_parse_classes(const char *spec, const char *const *names, int nc, int **ids, int *n);

#endif
