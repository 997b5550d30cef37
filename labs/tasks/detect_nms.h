/* Ultralytics' non-maximum suppression of a YOLOv8 eval output, shared by
 * lab 2.2.3 (its predictor and its quick-mode val) and the grader, which
 * re-runs submitted weights and must post-process exactly as the lab did:
 * class-aware greedy NMS (one label per box, at most 30,000 candidates,
 * max_det kept). Host arrays, plain C. */
#ifndef LAB_TASKS_DETECT_NMS_H
#define LAB_TASKS_DETECT_NMS_H

#include <stddef.h>
#include <stdint.h>

struct yolo_det {
    float x1, y1, x2, y2, conf;
    int cls;
};

struct yolo_nms_opts {
    double conf, iou; /* 0.25 and 0.7 in predict */
    int max_det;      /* 300 */
    const int *classes; /* keep only these class ids (NULL: all) */
    int nclasses;
};

/* pred: one image's [4 + nc, A] (cx, cy, w, h in input pixels, then class
 * scores), row-major. out has room for max_det; *n the kept count, by
 * decreasing confidence. */
int yolo_nms(const float *pred, int nc, int64_t anchors, const struct yolo_nms_opts *o, struct yolo_det *out,
             int *n);
/* Clips the boxes of eval outputs y [n, rows, a] (rows 0-3 cx, cy, w, h)
 * to a side x side canvas, in place, before NMS: clipped after it, as
 * scale_boxes does, two boxes that leave the canvas on the same side can
 * become one box twice, which the grader's duplicates check rightly
 * refuses. */
void yolo_clip_cxcywh(float *y, size_t n, int64_t rows, int64_t a, float side);
/* The same for one image's rows r [rows, a], to any rectangle (2.2.3's
 * letterboxed image inside its padding). */
void yolo_clip_rect(float *r, int64_t a, float lo_x, float lo_y, float hi_x, float hi_y);

#endif
