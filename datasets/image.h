/* An 8-bit image, rows top to bottom, channels interleaved (HWC), plus the
 * geometric operations the augmentations share. Functions that change the
 * size allocate a new pixel buffer and free the old one. */
#ifndef DS_IMAGE_H
#define DS_IMAGE_H

#include <stddef.h>
#include <stdint.h>

struct ds_image {
    int w, h, c; /* c is 1 (gray) or 3 (RGB) for images, 1 for masks */
    uint8_t *px; /* w*h*c bytes, owned */
};

enum ds_resample {
    DS_RESAMPLE_NEAREST, /* masks always use this: labels are never blended */
    DS_RESAMPLE_BILINEAR,
    /* PIL's BICUBIC (what timm's eval transform does to a PIL image, as a
     * pretrained_cfg "interpolation": "bicubic" asks): a = -0.5, the kernel
     * widened when shrinking, weights in PIL's 22-bit fixed point,
     * horizontal pass then vertical, each rounded to 8 bits. */
    DS_RESAMPLE_BICUBIC,
};

/* "nearest", "bilinear" or "bicubic"; LAB_EUSAGE naming the valid ones otherwise. */
int ds_resample_parse(const char *name, enum ds_resample *out);

int ds_image_alloc(struct ds_image *im, int w, int h, int c); /* zero-filled */
void ds_image_free(struct ds_image *im);                     /* NULL and empty are fine */
int ds_image_copy(struct ds_image *dst, const struct ds_image *src);

/* Resamples to w x h: nearest and bilinear with half-pixel centres, like
 * torchvision on tensors without antialias; bicubic as PIL (see above). */
int ds_image_resize(struct ds_image *im, int w, int h, enum ds_resample method);
/* Keeps the rectangle [x, x+w) x [y, y+h); parts outside the image are `fill`. */
int ds_image_crop(struct ds_image *im, int x, int y, int w, int h, uint8_t fill);
void ds_image_hflip(struct ds_image *im);
/* Gray to RGB by repeating the channel; RGB stays RGB. */
int ds_image_to_rgb(struct ds_image *im);

#endif
