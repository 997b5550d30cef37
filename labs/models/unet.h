/* The course's U-Net (lab 2.2.4): UNet(n_channels, n_classes, bilinear=True)
 * with its state-dict names ("inc.double_conv.0.weight", "down1.maxpool_conv
 * .1...", "up1.conv...", "outc"). DoubleConv = [conv k3 p1 without bias ->
 * BN -> ReLU] x 2; downs are MaxPool 2 -> DoubleConv; ups are bilinear x2
 * (align_corners) -> pad to the skip's size -> cat [skip, up] ->
 * DoubleConv; outc is a 1x1 conv. Any input size: odd sizes take the
 * padding path. */
#ifndef LAB_UNET_H
#define LAB_UNET_H

#include "labs/models/model.h"

/* width 64 is the course's (13,392,661 parameters for 3 -> 21); a smaller
 * base width scales every level (quick modes). */
int unet_create(int in_channels, int num_classes, int width, struct model **out);
/* UNet(bilinear=False), the solution's LargerUNet at width 128
 * (124,124,053 parameters for 3 -> 21): each up is ConvTranspose2d(in ->
 * in/2, k2, s2) ("upN.up") before the pad and concatenation, the deepest
 * level has 16 * width channels and each DoubleConv(in -> out) halves. */
int unet_transposed_create(int in_channels, int num_classes, int width, struct model **out);

#endif
