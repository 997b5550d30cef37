/* A greyscale dataset (Fashion-MNIST standing in for CIFAR-100) fed to a
 * 3-channel pretrained backbone: the grey channel is repeated three times,
 * as torchvision's Grayscale(num_output_channels=3) does before timm's
 * transform. Without it the run loads the checkpoint and then fails on the
 * first batch with a shape error. */
#ifndef LAB_TRANSFER_CHANNELS_H
#define LAB_TRANSFER_CHANNELS_H

#include "datasets/augment.h"

/* data_channels: the dataset's (1 or 3); model_channels: the checkpoint's
 * pretrained_cfg input_size[0]. Sets to_rgb in both transforms when grey
 * meets RGB and returns 1; 0 when nothing changes; LAB_EUSAGE for colour
 * images into a 1-channel checkpoint (lab does not convert to grey). */
int transfer_match_channels(int data_channels, int model_channels, struct ds_augment *train, struct ds_augment *eval);

#endif
