/* Corrective points, as SAM's interactive training adds them: after a
 * prediction, one more click where it is wrong (a positive point on a
 * missed object pixel, a negative one on a pixel it claimed wrongly), with
 * the previous low-res logits as the mask prompt, and the new prediction
 * learns the same mask. */
#ifndef LAB_SAM_QUICK_CORRECTIVE_H
#define LAB_SAM_QUICK_CORRECTIVE_H

#include "datasets/rng.h"
#include "labs/2.2.6-segment-anything/quick.h"
#include "labs/models/model.h"
#include "shim/torchshim.h"

#include <stdint.h>

/* The next click on one S x S mask: `logits` (> 0 is the object) against
 * `truth` (nonzero is the object). With `rng`, a pixel drawn uniformly from
 * the error (SAM's training); without, the error pixel farthest from any
 * correct pixel (city-block), the first in raster order on ties (the usual
 * interactive-segmentation evaluation click, deterministic). *label is 1 on
 * a missed object pixel, 0 on a false one. Without any error: the object's
 * centre point, positive. */
void sam_corrective_click(const float *logits, const uint8_t *truth, int S, struct ds_rng *rng, float xy[2],
                          int *label);

/* Training: `rounds` corrective clicks after the single-mask prediction
 * `low` [B, 1, h, w] of the one-point prompts (coords [B, 2], labels [B]) on
 * the embeddings `emb`; each round's prediction adds its sam_quick_loss
 * against truth_t [B, 1, S, S] (host copy truth [B, S, S]) to *loss and its
 * parts to parts_sum. Clicks are drawn from `rng`. */
struct sam_corrective_batch {
    const ts_tensor *emb, *truth_t;
    const uint8_t *truth;
    const float *coords;
    const int *labels;
    int64_t batch;
    int S;
};
int sam_corrective_train(struct model *m, const struct sam_corrective_batch *b, const ts_tensor *low, int rounds,
                         const struct sam_quick_weights *w, struct ds_rng *rng, ts_tensor **loss, double parts_sum[3]);

/* Evaluation of one instance: its centre point decoded once, then one
 * deterministic corrective click (above); -> the IoU of the corrected mask
 * with the instance, at S x S. */
int sam_corrective_eval(struct model *m, const ts_tensor *emb, const uint8_t *truth, int S, double *iou);

/* sam_corrective_eval over every instance of the held-out S x S mosaics
 * `ev` (each encoded once) -> the mean IoU and the instance count. */
struct ds_dataset;
int sam_corrective_miou(struct model *m, const struct ds_dataset *ev, int S, ts_device dev, double *miou,
                        size_t *count);

#endif
