/* torchvision 0.14's deeplabv3_resnet50 as lab 2.2.4's challenge builds it
 * (lab [26]), under torchvision's state-dict names so its weights load
 * either way: "backbone.*" a ResNet-50 (Bottleneck, stride on the 3x3
 * conv, replace_stride_with_dilation [False, True, True]: output stride 8,
 * no fc), "classifier.*" DeepLabHead (ASPP 1x1 + 3x3 at dilations
 * 12/24/36 + image pooling, projected 1280 -> 256 with dropout 0.5, then
 * 3x3 256 -> 256 + BN + ReLU, "classifier.4" a 1x1 to the classes, the
 * course's fresh Conv2d(256, 21, 1)), and "aux_classifier.*" FCNHead on
 * layer3 (3x3 1024 -> 256, BN, ReLU, dropout 0.1, 1x1): the course's
 * pretrained=True forces aux_loss, so 42,004,074 parameters for 3 -> 21
 * (shared/reference/2.2.4-deeplabv3-resnet50.tsv). Backbone convs start
 * kaiming-normal (fan_out) as torchvision's ResNet; the heads keep
 * PyTorch's default init. Any input size (odd ones too: 65x65 is the
 * test's). */
#ifndef LAB_DEEPLABV3_H
#define LAB_DEEPLABV3_H

#include "labs/models/model.h"

int deeplabv3_resnet50_create(int in_channels, int num_classes, struct model **out);
/* torchvision's forward: the dict's "out" (m->forward returns it) and
 * "aux", each [N, classes, H, W], upsampled bilinearly (align_corners
 * False) to the input's size. aux may be NULL. */
int deeplabv3_forward_aux(struct model *m, const ts_tensor *x, int training, ts_tensor **out, ts_tensor **aux);

#endif
