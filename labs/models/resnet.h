/* ResNet-18 for 32x32 inputs as the course defines it (3x3 stem, no max
 * pool, BasicBlocks with a 1x1 conv + BN `shortcut` when the shape
 * changes), and SE-ResNet-18, whose blocks rescale channels by a
 * squeeze-and-excitation gate (`se.excite.0/2`, reduction 16) after bn2. */
#ifndef LAB_RESNET_H
#define LAB_RESNET_H

#include "labs/models/model.h"

int resnet18_create(int num_classes, int squeeze_excite, struct model **out);

#endif
