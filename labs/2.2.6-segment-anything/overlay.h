/* Drawing masks and prompts over an RGB image, for the quick mode's and the
 * full mode's figures: a mask tinted half-way to a colour, a box's outline,
 * a point as a cross. */
#ifndef LAB_SAM_OVERLAY_H
#define LAB_SAM_OVERLAY_H

#include "datasets/image.h"

#include <stdint.h>

/* Every pixel where mask (w*h, nonzero = in) is set moves half-way to c. */
void sam_overlay_tint(struct ds_image *t, const uint8_t *mask, const uint8_t c[3]);
/* The outline of [x1, x2) x [y1, y2) (x2 and y2 exclusive), clipped. */
void sam_overlay_box(struct ds_image *t, int x1, int y1, int x2, int y2, const uint8_t c[3]);
/* A cross of arm `arm` pixels centred on (x, y), clipped. */
void sam_overlay_cross(struct ds_image *t, int x, int y, int arm, const uint8_t c[3]);

#endif
