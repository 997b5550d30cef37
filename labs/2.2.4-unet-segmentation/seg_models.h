/* Lab 2.2.4's models by their `--model` names: the course's U-Net
 * ("unet"), the solution's exercises "larger-unet" (LargerUNet,
 * bilinear=False) and "attention-unet" (AttentionUNet), and the
 * challenge's "deeplabv3-resnet50" (torchvision's). model.base_width is
 * the U-Net's width (64 in the course); the others scale with it as the
 * solution relates them: larger-unet has twice it (128 at 64), the
 * attention U-Net the same; DeepLabV3's ResNet-50 has no width. */
#ifndef LAB_224_SEG_MODELS_H
#define LAB_224_SEG_MODELS_H

#include "labs/models/model.h"

/* NULL-terminated, in lab.json's order. */
extern const char *const seg_model_names[];
/* LAB_EUSAGE naming the choices for a name that is none of them. */
int seg_model_check(const char *name);
/* The attention U-Net's decoder does not pad: 16 for it, 1 otherwise. */
int seg_model_size_multiple(const char *name);
int seg_model_create(const char *name, int in_channels, int num_classes, int base_width, struct model **out);

#endif
