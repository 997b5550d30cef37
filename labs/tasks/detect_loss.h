/* Ultralytics' YOLOv8 loss (v8DetectionLoss) through the shim, so its
 * gradients reach the network: BCE over all anchors and classes, CIoU box
 * loss and DFL on the positives, each / max(sum of target scores, 1),
 * gains box 7.5, cls 0.5, dfl 1.5. The targets come from tal_assign
 * (detect_assign.h) as constants, as Ultralytics computes them without
 * gradients. */
#ifndef LAB_TASKS_DETECT_LOSS_H
#define LAB_TASKS_DETECT_LOSS_H

#include "labs/tasks/detect_assign.h"
#include "shim/torchshim.h"

/* raw: [b, a, 4 * reg_max + k] head outputs per anchor (the three levels'
 * maps flattened and concatenated in Ultralytics' anchor order), F32.
 * anchors_grid [a, 2] (grid units) and strides [a] on the host.
 * *items: [3] = box, cls, dfl with the gains (v8DetectionLoss's second
 * return); *total: their sum times b (what its trainer backpropagates).
 * Both belong to the caller's scope. */
int yolo_loss(const ts_tensor *raw, int64_t b, int64_t a, int64_t k, int reg_max, const float *anchors_grid,
              const float *strides, const struct tal_output *t, ts_tensor **items, ts_tensor **total);

#endif
