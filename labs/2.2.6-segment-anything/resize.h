/* SAM's ResizeLongestSide(1024) as segment_anything applies it to a uint8
 * image: torchvision's to_pil_image + resize, i.e. Pillow's bilinear filter
 * (antialiased when shrinking: the triangle widens with the scale) in its
 * 8-bit fixed-point arithmetic, horizontal pass first, then vertical. */
#ifndef LAB_SAM_RESIZE_H
#define LAB_SAM_RESIZE_H

#include "datasets/image.h"

/* ResizeLongestSide.get_preprocess_shape: the long side becomes `target`,
 * the other int(side * scale + 0.5). */
void sam_preprocess_shape(int h, int w, int target, int *new_h, int *new_w);
/* Pillow's Image.resize((w, h), BILINEAR) of an 8-bit image (any channel
 * count) into a new image. */
int sam_pil_resize_bilinear(const struct ds_image *in, int w, int h, struct ds_image *out);

#endif
