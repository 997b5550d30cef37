/* `lab predict 2.2.3`: YOLOv8 weights (an Ultralytics .pt, or safetensors
 * with its keys) on the user's PNG/JPEG images, as Ultralytics' predict:
 * per image <stem>.json (xyxy in original pixels, confidence, class id and
 * name) and <stem>.png with the boxes drawn, plus predictions.json listing
 * them all. */
#ifndef LAB_YOLO_PREDICT_H
#define LAB_YOLO_PREDICT_H

#include "datasets/image.h"
#include "labs/2.2.3-yolo-detection/infer.h"
#include "labs/models/model.h"
#include "labs/predict.h"

#include <jansson.h>
#include <stdio.h>

int yolo_predict(const struct predict_opts *o, FILE *say);

/* One image in memory through Ultralytics' predict up to NMS: letterbox
 * (rect, as predict pads), forward; *pred the [4 + nc, A] output (malloc'd),
 * lb the letterbox, so that several NMS settings can share one forward. */
int yolo_infer_pixels(struct model *m, ts_device dev, const struct ds_image *im, int imgsz,
                      struct yolo_letterbox *lb, float **pred, int64_t *anchors);
/* The whole predict: yolo_infer_pixels, NMS, boxes in original pixels. */
int yolo_detect_pixels(struct model *m, ts_device dev, const struct ds_image *im, int imgsz,
                       const struct yolo_nms_opts *nms, struct yolo_det *dets, int *n);
/* dir/<stem of source>.json (source, width, height, detections) and
 * dir/<stem>.png with the boxes drawn; *doc (may be NULL) gets the json. */
int yolo_write_detections(const char *dir, const char *source, const struct ds_image *im,
                          const struct yolo_det *dets, int n, const char *const *names, json_t **doc);

/* "person,car,2" -> class ids (names from `names`, nc of them); an unknown
 * name is an error listing the valid ones (unlike the course's solution,
 * which then silently filters everything out). *ids malloc'd. */
int yolo_parse_classes(const char *spec, const char *const *names, int nc, int **ids, int *n);

#endif
