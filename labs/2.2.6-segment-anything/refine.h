/* The course solution's mask tools for `lab predict 2.2.6`: refine_mask
 * (small regions erased, holes filled, the boundary closed) and the
 * MagicWand's grow / shrink choice among the three multimask outputs. */
#ifndef LAB_SAM_REFINE_H
#define LAB_SAM_REFINE_H

#include <stddef.h>
#include <stdint.h>

/* In place on an h x w mask (nonzero = object), as the solution's
 * refine_mask(min_area) does it: 4-connected components under min_area
 * pixels erased; background not 4-connected to the image border filled;
 * a closing with OpenCV's 5 x 5 ellipse, pixels outside the image neither
 * feeding the dilation nor eroding; the result 0/1. LAB_EINTERNAL when out
 * of memory. */
int sam_refine_mask(uint8_t *mask, int h, int w, long min_area);

/* The index of the largest (grow) or smallest (shrink) of k masks of px
 * pixels each, by pixel count, the first on ties. */
int sam_mask_by_area(const uint8_t *masks, int k, size_t px, int largest);
/* The current one of k masks: by area with grow or shrink (MagicWand's rule,
 * pixel count, not score), else the highest predicted IoU (the first on ties). */
int sam_current_mask(const uint8_t *masks, const float *iou, int k, size_t px, int grow, int shrink);

#endif
