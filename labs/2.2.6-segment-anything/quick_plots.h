/* The quick mode's figures in plots/: the training loss and its parts, and
 * the held-out mosaics with the masks their box and point prompts gave. */
#ifndef LAB_SAM_QUICK_PLOTS_H
#define LAB_SAM_QUICK_PLOTS_H

#include "datasets/dataset.h"
#include "labs/run.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* The evaluation's rows: each mosaic's box prompts, then its point prompts,
 * one per instance in the mosaic's order. */
struct sam_quick_rows {
    const uint8_t *masks;       /* [n, S, S] 0/1 */
    const float *prompts;       /* [n, 4]: x1, y1, x2, y2, or x, y, label, 0 */
    const float *iou;           /* [n] IoU with the instance */
    const int64_t *image_index; /* [n] */
    size_t n;
    int S;
};

/* plots/loss.png from the run's curve ([{step, loss, focal, dice,
 * iou_mse}]) and plots/prompt-masks.png from the first `shown` mosaics of
 * `ev`, each tile captioned with its mIoU, green when it reaches the lab's
 * target for the kind. */
int sam_quick_plots(struct lab_run *r, const json_t *curve, const struct ds_dataset *ev,
                    const struct sam_quick_rows *rows, int shown);

#endif
