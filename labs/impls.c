#include "labs/lab.h"

#include <string.h>

extern const struct lab_impl lab_cnn_architectures, lab_vision_transformer;
extern const struct lab_impl lab_unet_segmentation;

static const struct lab_impl *const impls[] = {&lab_cnn_architectures, &lab_vision_transformer,
                                              &lab_unet_segmentation};

const struct lab_impl *lab_impl_find(const char *id)
{
    for (size_t i = 0; i < sizeof impls / sizeof impls[0]; i++)
        if (strcmp(impls[i]->id, id) == 0)
            return impls[i];
    return NULL;
}
