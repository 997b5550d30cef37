/* A SAM checkpoint (the official .pth state dicts, or safetensors with the
 * same keys) into a model whose encoder configuration is read off the
 * tensors: width from pos_embed, depth from the blocks, head width from
 * rel_pos_h's columns, global blocks from its 127 rows. */
#ifndef LAB_SAM_CHECKPOINT_H
#define LAB_SAM_CHECKPOINT_H

#include "labs/models/model.h"

int sam_checkpoint_load(const char *path, struct model **out);

#endif
