/* Augmentations on one sample, applied in a fixed order (the order of the
 * fields below). Geometric ones move the class mask, instance masks and boxes
 * with the image; masks are always resampled "nearest" so labels (and VOC's
 * 255) are never blended. Every random draw comes from the caller's ds_rng.
 * A zeroed struct means "no augmentation, no normalization". */
#ifndef DS_AUGMENT_H
#define DS_AUGMENT_H

#include "datasets/dataset.h"
#include "datasets/rng.h"

#include <jansson.h>

struct ds_augment {
    int pad;                       /* zero border on every side (Fashion-MNIST 28 -> 32: pad = 2) */
    int resize_w, resize_h;        /* > 0: resize to exactly this size */
    int resize_short;              /* > 0: resize so the short side is this (torchvision Resize(int)) */
    enum ds_resample resample;     /* for resize and random resized crop; masks use nearest */
    int rrc_size;                  /* > 0: RandomResizedCrop to rrc_size x rrc_size */
    float rrc_scale[2], rrc_ratio[2]; /* default (0.08, 1) and (3/4, 4/3) when zero */
    int center_crop;               /* > 0: CenterCrop */
    int crop_size, crop_padding;   /* crop_size > 0: RandomCrop(crop_size, padding) */
    float hflip_p;                 /* horizontal flip probability (0.5 for "hflip": true) */
    int randaug_n, randaug_m;      /* RandAugment(n, m) with torchvision's 14 ops, 31 magnitude bins */
    float jitter[4];               /* ColorJitter(brightness, contrast, saturation, hue) */
    int to_rgb;                    /* repeat a gray channel to 3 */
    uint8_t mask_fill;             /* class-mask value for padding (0 background, 255 for VOC ignore) */
    /* On the float CHW tensor, after scaling to [0, 1]: */
    int normalize;
    float mean[3], std[3];
    float erase_p; /* RandomErasing(p, scale (0.02, 0.33), ratio (0.3, 3.3), value 0) */
};

/* Reads a lab.json "augment" object (and "normalize", "resize", "pad", "to_rgb"
 * keys of the enclosing "data" object) into *a; unknown keys are an error
 * naming the key. */
int ds_augment_from_json(const json_t *data, struct ds_augment *a);

/* The geometric and color steps, on the 8-bit sample in place. */
int ds_augment_sample(const struct ds_augment *a, struct ds_sample *s, struct ds_rng *r);
/* Writes the image as float CHW (divided by 255, normalized, erased) to dst. */
void ds_augment_to_chw(const struct ds_augment *a, const struct ds_image *im, float *dst, struct ds_rng *r);

/* Single steps, exposed for tests and for labs that compose their own. */
int ds_aug_crop(struct ds_sample *s, int x, int y, int w, int h, uint8_t mask_fill);
int ds_aug_resize(struct ds_sample *s, int w, int h, enum ds_resample method);
void ds_aug_hflip(struct ds_sample *s);
void ds_aug_color_jitter(struct ds_image *im, const float jitter[4], struct ds_rng *r);
int ds_aug_randaugment(struct ds_sample *s, int n, int m, struct ds_rng *r);
void ds_aug_random_erasing(float *chw, int c, int h, int w, float p, struct ds_rng *r);

/* Joint augmentation of a segmentation sample: one horizontal flip (p 0.5),
 * one zoom by a factor uniform in [1, scale_max] (image bilinear, class mask
 * nearest) and one random crop back to the input's size, drawn once and
 * applied to the image and its mask alike. Zooming in only, the crop never
 * leaves the image: no padding, and every mask value (255 included) is one
 * the input had. */
int ds_aug_joint(struct ds_sample *s, double scale_max, struct ds_rng *r);

#endif
