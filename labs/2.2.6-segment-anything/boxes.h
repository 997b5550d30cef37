/* Several boxes on one encoded image, each prompted on its own, as the
 * solution's BoxSelector.add_box (one predict call per box, multimask off
 * unless asked) and its detect_and_segment (a 2.2.3 detector's boxes, in
 * its order): masks are not combined, overlaps are allowed. Writes
 * <prefix>_<i>_mask_<k>.png and _overlay_<k>.png per box, overlay.png (every
 * box's current mask over the image, labelled), predictions.json (one entry
 * per box) and outputs.safetensors; prefix "box" or "det". */
#ifndef LAB_SAM_BOXES_H
#define LAB_SAM_BOXES_H

#include "datasets/image.h"
#include "labs/2.2.6-segment-anything/predictor.h"
#include "labs/lab.h"
#include "labs/predict.h"

#include <jansson.h>
#include <stdint.h>

struct sam_boxes {
    int n;
    const double (*box)[4];              /* x1, y1, x2, y2 in original pixels */
    const struct lab_detection *det;     /* n detections the boxes came from, or NULL (--box) */
    json_t *detector;                    /* borrowed: the detector's settings; non-NULL: the "detections" layout */
};

/* The predictor holds the image's embedding (unless b->n is 0: then only
 * the empty predictions.json). o gives multimask, grow/shrink, refine,
 * cutout (the union of the current masks) and out. */
int sam_predict_boxes(const struct predict_opts *o, struct sam_predictor *p, const struct ds_image *im,
                      const struct sam_boxes *b);

/* overlay.png: the current masks painted in order at alpha 0.5 (later over
 * earlier; Set3 colours for boxes, tab10 for detections, as the solution's
 * plots), then each box outlined (red "Box i", or lime "name NN%"). */
int sam_boxes_overlay(const char *path, const struct ds_image *im, const uint8_t *const *masks,
                      const struct sam_boxes *b);

#endif
