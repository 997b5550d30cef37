#include "labs/2.2.6-segment-anything/auto_out.h"

#include "base/error.h"
#include "base/fsutil.h"
#include "labs/2.2.6-segment-anything/amg.h"
#include "labs/2.2.6-segment-anything/png_out.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* STEM.json: SamAutomaticMaskGenerator's records (bbox and crop_box XYWH,
 * segmentation as column-major RLE) and STEM.png, the masks coloured */
int sam_auto_write(const char *dir, const char *stem, const char *source, const struct ds_image *im,
                   const struct sam_amg_result *r)
{
    json_t *arr = json_array();
    size_t hw = (size_t)im->w * im->h;
    uint8_t *over = malloc(hw * 3), *mask = malloc(hw);
    int rc = over && mask ? LAB_OK : lab_err(LAB_EINTERNAL, NULL, "out of memory for the automatic masks");
    if (!rc)
        memcpy(over, im->px, hw * 3);
    for (size_t i = 0; !rc && i < r->n; i++) {
        const struct sam_amg_mask *m = &r->masks[i];
        json_t *counts = json_array();
        for (size_t k = 0; k < m->n_rle; k++)
            json_array_append_new(counts, json_integer(m->rle[k]));
        json_array_append_new(
            arr, json_pack("{s:{s:[i,i], s:o}, s:I, s:[f,f,f,f], s:f, s:[[f,f]], s:f, s:[i,i,i,i]}", "segmentation",
                           "size", r->h, r->w, "counts", counts, "area", (json_int_t)m->area, "bbox", m->bbox_xywh[0],
                           m->bbox_xywh[1], m->bbox_xywh[2], m->bbox_xywh[3], "predicted_iou", (double)m->predicted_iou,
                           "point_coords", m->point[0], m->point[1], "stability_score", (double)m->stability,
                           "crop_box", m->crop_xywh[0], m->crop_xywh[1], m->crop_xywh[2], m->crop_xywh[3]));
        rc = sam_amg_rle_decode(m->rle, m->n_rle, im->h, im->w, mask);
        uint8_t col[3];
        sam_mask_colour(i, col);
        for (size_t k = 0; !rc && k < hw; k++)
            if (mask[k])
                for (int ch = 0; ch < 3; ch++)
                    over[k * 3 + ch] = (uint8_t)((im->px[k * 3 + ch] + col[ch]) / 2);
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/%s.png", dir, stem);
    if (!rc)
        rc = sam_png_write(path, over, im->w, im->h, 3);
    if (!rc) {
        json_t *root = json_pack("{s:s, s:s, s:i, s:i, s:I, s:o}", "lab", "2.2.6", "source", source, "width", im->w,
                                 "height", im->h, "n_masks", (json_int_t)r->n, "masks", arr);
        arr = NULL;
        char *text = json_dumps(root, JSON_INDENT(1));
        snprintf(path, sizeof path, "%s/%s.json", dir, stem);
        rc = text ? lab_write_atomic(path, text, strlen(text)) : lab_err(LAB_EINTERNAL, NULL, "cannot encode JSON");
        free(text);
        json_decref(root);
    }
    json_decref(arr);
    free(over);
    free(mask);
    return rc;
}

