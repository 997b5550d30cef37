/* The stages of strategy (c), gradual unfreezing: which of EfficientNet-B0's
 * top-level children train in each stage, for how many epochs, at which
 * learning rates. */
#ifndef LAB_TL_STAGES_H
#define LAB_TL_STAGES_H

#include <jansson.h>

/* timm's top-level children before the head, in order. */
#define TL_NBACKBONE 11
extern const char *const tl_backbone[TL_NBACKBONE];

/* The backbone children a stage keeps frozen: all of them with `all`, else
 * those `unfreeze` does not name. An entry names a child ("conv_head"), a
 * group of them ("blocks": blocks.0-6) or every one ("*"). New reference. */
json_t *tl_frozen_children(const json_t *unfreeze, int all);

/* The stages [{epochs, unfreeze, lr: {head, backbone}}] of train.gradual
 * (`gradual` is that group): its "stages" as written with "rule": "stages"
 * (the course's recipe), or with "rule": "solution" those of the course
 * solution's gradual_unfreeze(model, epoch, total, num_stages) over
 * solution.epochs at solution.lr: the candidates are timm's children but the
 * head (conv_stem, bn1, blocks, conv_head, bn2, global_pool); stage s
 * (0-based) of n trains the head and the last (s+1)*(6/n) candidates for
 * epochs/n epochs, the last stage the remainder. conv_stem and bn1 never
 * train. *out is a new reference. */
int tl_gradual_stages(const json_t *gradual, json_t **out);

#endif
