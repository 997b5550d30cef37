/* The solution's AttentionUNet (lab 2.2.4, sol [7]-[8]) under its
 * state-dict names: encoder "inc", "down1..4" as the U-Net's at widths
 * w..16w; per level L = 4..1 an attention gate "attL" (W_g, W_x: 1x1 conv
 * without bias + BN; psi: 1x1 conv to 1 channel + BN + sigmoid; gate,
 * skip, skip/2 channels), "upL" ConvTranspose2d(k2, s2) halving the
 * channels and "conv_upL" DoubleConv(2c -> c) on cat [attended skip,
 * upsampled]; "outc" 1x1. 31,563,581 parameters at w = 64 for 3 -> 21.
 *
 * The solution's forward raises a channel mismatch at att4 (it gates with
 * the 512-channel upsampled tensor; att4 expects 1024). This one gates
 * each level with the decoder tensor before its transposed conv (x5, then
 * conv_up4's, conv_up3's, conv_up2's outputs), the fix that keeps every
 * tensor of the state dict (shared/reference/README.md's bugs list). The
 * gate resizes g to the skip's size (bilinear, align_corners). The decoder
 * does not pad, so H and W must be multiples of 16. */
#ifndef LAB_ATTENTION_UNET_H
#define LAB_ATTENTION_UNET_H

#include "labs/models/model.h"

int attention_unet_create(int in_channels, int num_classes, int width, struct model **out);

#endif
