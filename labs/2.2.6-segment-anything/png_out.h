/* 8-bit PNGs of masks, overlays and cutouts for `lab predict 2.2.6`,
 * written atomically. */
#ifndef LAB_SAM_PNG_OUT_H
#define LAB_SAM_PNG_OUT_H

#include "datasets/image.h"

#include <stddef.h>
#include <stdint.h>

/* channels 1 (gray), 3 (RGB) or 4 (RGBA); rows top to bottom, interleaved. */
int sam_png_write(const char *path, const uint8_t *px, int w, int h, int channels);
/* The colour mask i is drawn in (overlays, automatic masks, plots): distinct
 * for neighbouring i, never black or white. */
void sam_mask_colour(size_t i, uint8_t col[3]);

/* dir/mask_name (the mask as 0/255 gray) and dir/overlay_name (the RGB
 * image with the mask half-way to the colour of multimask output k, as
 * every prompt's overlay_K.png); *area the mask's pixel count. */
int sam_png_mask_pair(const char *dir, const char *mask_name, const char *overlay_name, const struct ds_image *im,
                      const uint8_t *mask, int k, long long *area);
/* dir/cutout.png: the RGB image with alpha 255 where mask is set, else 0. */
int sam_png_cutout(const char *dir, const struct ds_image *im, const uint8_t *mask);

#endif
