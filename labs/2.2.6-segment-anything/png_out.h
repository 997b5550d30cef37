/* 8-bit PNGs of masks, overlays and cutouts for `lab predict 2.2.6`,
 * written atomically. */
#ifndef LAB_SAM_PNG_OUT_H
#define LAB_SAM_PNG_OUT_H

#include <stddef.h>
#include <stdint.h>

/* channels 1 (gray), 3 (RGB) or 4 (RGBA); rows top to bottom, interleaved. */
int sam_png_write(const char *path, const uint8_t *px, int w, int h, int channels);
/* The colour mask i is drawn in (overlays, automatic masks, plots): distinct
 * for neighbouring i, never black or white. */
void sam_mask_colour(size_t i, uint8_t col[3]);

#endif
