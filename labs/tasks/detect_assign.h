/* Ultralytics' YOLOv8 training targets and loss terms (utils/tal.py
 * TaskAlignedAssigner, utils/loss.py v8DetectionLoss / BboxLoss /
 * DFLoss, utils/metrics.py bbox_iou with CIoU) on host arrays. The
 * assigner runs without gradients in Ultralytics too (on detached
 * predictions), so training can compute its targets here and feed them to
 * the autograd loss as constants. yolo_loss_host computes the three loss
 * items without gradients: the reference the autograd version is tested
 * against, and a check of the assigner on the fixture. */
#ifndef LAB_TASKS_DETECT_ASSIGN_H
#define LAB_TASKS_DETECT_ASSIGN_H

#include <stddef.h>
#include <stdint.h>

/* CIoU of two x1, y1, x2, y2 boxes, eps 1e-7, in float32 as bbox_iou. */
float det_ciou(const float *b1, const float *b2);

struct tal_input {
    int64_t b, a, g, k;       /* images, anchors, ground-truth slots per image, classes */
    const float *pd_scores;   /* [b, a, k] class probabilities (sigmoid) */
    const float *pd_bboxes;   /* [b, a, 4] decoded x1, y1, x2, y2, pixels */
    const float *anc_points;  /* [a, 2] anchor centres, pixels */
    const int64_t *gt_labels; /* [b, g] */
    const float *gt_bboxes;   /* [b, g, 4] pixels, x1, y1, x2, y2 */
    const uint8_t *mask_gt;   /* [b, g] 1 for a real box, 0 for padding */
};

/* v8DetectionLoss's assigner: topk 10, alpha 0.5, beta 6.0, eps 1e-9. */
struct tal_params {
    int topk;
    double alpha, beta, eps;
};
#define TAL_DEFAULTS ((struct tal_params){10, 0.5, 6.0, 1e-9})

struct tal_output {
    int64_t *target_labels; /* [b, a] */
    float *target_bboxes;   /* [b, a, 4] pixels */
    float *target_scores;   /* [b, a, k] */
    uint8_t *fg_mask;       /* [b, a] */
    int64_t *target_gt_idx; /* [b, a] */
};

int tal_assign(const struct tal_input *in, const struct tal_params *p, struct tal_output *out);
void tal_output_free(struct tal_output *o);

/* The loss items [box, cls, dfl] with the gains (7.5, 0.5, 1.5) applied and
 * not multiplied by the batch size, as v8DetectionLoss's second return:
 *   raw [b, a, 4 * reg_max + k] head outputs per anchor (DFL logits, class
 *   logits), anchors [a, 2] and strides [a] in grid units / pixels per
 *   unit, targets from tal_assign. */
int yolo_loss_host(const float *raw, int64_t b, int64_t a, int64_t k, int reg_max, const float *anchors_grid,
                   const float *strides, const struct tal_output *t, double items[3]);

/* DFL decode of one anchor: expected bin of each side's softmax (grid
 * units), then x1 y1 x2 y2 around the anchor (grid units). */
void dfl_decode(const float *dist, int reg_max, const float *anchor, float *box);

#endif
