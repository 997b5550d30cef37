/* The block the course's U-Nets share (labs/models/unet.c,
 * labs/models/attention_unet.c): DoubleConv = [conv k3 p1 without bias ->
 * BN -> ReLU] x 2 under "<prefix>.double_conv.{0,1,3,4}". */
#ifndef LAB_UNET_PARTS_H
#define LAB_UNET_PARTS_H

#include "labs/models/nn.h"

struct double_conv {
    struct nn_conv c1, c2;
    struct nn_bn b1, b2;
};
int unet_double_conv_init(ts_params *p, const char *prefix, int64_t cin, int64_t cout, struct double_conv *d);
int unet_double_conv_fwd(const struct double_conv *d, const ts_tensor *x, int training, ts_tensor **y);

#endif
