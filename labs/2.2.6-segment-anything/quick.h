/* Lab 2.2.6's quick mode: a small SAM (the same code, a 64 px input and a
 * narrow encoder) trained offline on Fashion-MNIST mosaics' instance masks
 * with prompts sampled as SAM's training samples them, then evaluated per
 * prompt kind on held-out mosaics. */
#ifndef LAB_SAM_QUICK_H
#define LAB_SAM_QUICK_H

#include "labs/run.h"
#include "shim/torchshim.h"

#include <jansson.h>
#include <stdint.h>

struct sam_quick_weights {
    double focal, dice, iou;
};

/* low_res [B, 1, h, w] logits (bilinearly resized to the truth's size),
 * iou_pred [B, 1], truth [B, 1, H, W] 0/1 f32 -> the weighted sum; parts
 * (may be NULL) gets focal, dice and IoU-MSE. */
int sam_quick_loss(const ts_tensor *low_res, const ts_tensor *iou_pred, const ts_tensor *truth,
                   const struct sam_quick_weights *w, ts_tensor **loss, double parts[3]);
/* The same for multimask output, low_res [B, K, h, w] and iou_pred [B, K]
 * (K <= 3) against truth [B, 1, H, W], as SAM trains ambiguous prompts: the
 * mask part is that of each row's best mask (the lowest focal + dice), the
 * IoU part covers all K predictions; parts are the best masks'. */
int sam_quick_loss_multimask(const ts_tensor *low_res, const ts_tensor *iou_pred, const ts_tensor *truth,
                             const struct sam_quick_weights *w, ts_tensor **loss, double parts[3]);

/* The quick model's SAM configuration from config "sam.*"; LAB_EUSAGE
 * naming the key when it is out of range. */
struct sam_config;
int sam_quick_config(const json_t *config, struct sam_config *c);

int sam_quick_run(struct lab_run *r);

#endif
