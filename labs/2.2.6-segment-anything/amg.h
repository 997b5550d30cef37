/* The host-side pieces of SAM's automatic mask generator
 * (segment_anything/utils/amg.py), restated in C: crop boxes, point grids,
 * the stability score, boxes of masks, column-major RLE, greedy box NMS and
 * the small-region / hole removal (8-connected components, as cv2's). */
#ifndef LAB_SAM_AMG_H
#define LAB_SAM_AMG_H

#include <stddef.h>
#include <stdint.h>

#define SAM_AMG_MAX_CROPS 341 /* 1 + 4 + 16 + 64 + 256: crop_n_layers <= 4 */

/* generate_crop_boxes: XYXY boxes and their layer; *n receives the count. */
int sam_amg_crop_boxes(int h, int w, int n_layers, double overlap_ratio, int (*boxes)[4], int *layers, int *n);
/* build_point_grid(n): n*n (x, y) in [0, 1], y-major (pts[2k], pts[2k+1]). */
int sam_amg_point_grid(int n, double *pts);
/* build_all_layer_point_grids: the side of layer i's grid. */
int sam_amg_layer_side(int n_per_side, int layer, int scale_per_layer);

/* count(logit > thr + offset) / count(logit > thr - offset); NaN for 0/0. */
float sam_amg_stability(const float *logits, size_t n, float threshold, float offset);
/* batched_mask_to_box: inclusive x1, y1 of the last set column / row;
 * 0, 0, 0, 0 for an empty mask. */
void sam_amg_mask_box(const uint8_t *mask, int h, int w, int64_t box[4]);

/* mask_to_rle_pytorch: column-major runs starting with a 0-run. *counts is
 * malloc'd (caller frees). */
int sam_amg_rle_encode(const uint8_t *mask, int h, int w, int64_t **counts, size_t *n);
/* rle_to_mask into h*w bytes; LAB_EUSAGE when the runs do not cover h*w. */
int sam_amg_rle_decode(const int64_t *counts, size_t n, int h, int w, uint8_t *mask);

/* torchvision nms: by score, highest first, dropping boxes whose IoU with a
 * kept one exceeds iou_thr; keep receives indices, *n_keep their count. */
int sam_amg_box_nms(const float (*boxes)[4], const float *scores, size_t n, float iou_thr, size_t *keep,
                    size_t *n_keep);

/* remove_small_regions: holes (mode 1) fills background regions under
 * area_thresh; islands (mode 0) drops mask regions under it, keeping the
 * largest when all are small. In place; *changed as upstream's flag. */
enum { SAM_AMG_ISLANDS = 0, SAM_AMG_HOLES = 1 };
int sam_amg_remove_small_regions(uint8_t *mask, int h, int w, long area_thresh, int mode, int *changed);

#endif
