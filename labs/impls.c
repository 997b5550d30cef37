#include "labs/lab.h"

#include <string.h>

extern const struct lab_impl lab_cnn_architectures, lab_vision_transformer, lab_segment_anything;
extern const struct lab_impl lab_transfer_learning, lab_yolo_detection, lab_unet_segmentation;

static const struct lab_impl *const impls[] = {&lab_cnn_architectures, &lab_transfer_learning, &lab_yolo_detection,
                                               &lab_unet_segmentation, &lab_vision_transformer, &lab_segment_anything};

const struct lab_impl *lab_impl_find(const char *id)
{
    for (size_t i = 0; i < sizeof impls / sizeof impls[0]; i++)
        if (strcmp(impls[i]->id, id) == 0)
            return impls[i];
    return NULL;
}
