/* SamAutomaticMaskGenerator (segment_anything/automatic_mask_generator.py)
 * with binary-mask RLE output: every crop is encoded, prompted with single
 * foreground points from its grid (multimask), filtered by predicted IoU,
 * stability and crop edges, de-duplicated by box NMS within and across
 * crops (smaller crops preferred), then holes and islands under
 * min_mask_region_area are removed with a last NMS. */
#ifndef LAB_SAM_GENERATOR_H
#define LAB_SAM_GENERATOR_H

#include "datasets/image.h"
#include "labs/2.2.6-segment-anything/predictor.h"

#include <stdint.h>

struct sam_amg_opts {
    int points_per_side, points_per_batch, crop_n_layers, crop_n_points_downscale_factor;
    double pred_iou_thresh, stability_score_thresh, stability_score_offset, box_nms_thresh, crop_nms_thresh,
        crop_overlap_ratio;
    long min_mask_region_area;
};
/* The library's defaults (points_per_side 32, 64 per batch, 0.88, 0.95,
 * 1.0, 0.7, crop_n_layers 0, 0.7, 512/1500, factor 1, min area 0). */
void sam_amg_defaults(struct sam_amg_opts *o);

struct sam_amg_mask {
    int64_t *rle; /* column-major counts over the whole image, malloc'd */
    size_t n_rle;
    long area;
    double bbox_xywh[4];
    float predicted_iou, stability;
    double point[2];
    int crop_xywh[4];
};

struct sam_amg_result {
    struct sam_amg_mask *masks;
    size_t n;
    int h, w;
};
void sam_amg_result_free(struct sam_amg_result *r);

/* The predictor's model and cache are used; its current image changes. */
int sam_amg_generate(struct sam_predictor *p, const struct ds_image *im, const struct sam_amg_opts *o,
                     struct sam_amg_result *out);

#endif
