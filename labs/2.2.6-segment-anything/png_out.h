/* 8-bit PNGs of masks, overlays and cutouts for `lab predict 2.2.6`,
 * written atomically. */
#ifndef LAB_SAM_PNG_OUT_H
#define LAB_SAM_PNG_OUT_H

#include <stdint.h>

/* channels 1 (gray), 3 (RGB) or 4 (RGBA); rows top to bottom, interleaved. */
int sam_png_write(const char *path, const uint8_t *px, int w, int h, int channels);

#endif
