#include "labs/2.2.4-unet-segmentation/seg_models.h"

#include "base/error.h"
#include "base/suggest.h"
#include "labs/models/attention_unet.h"
#include "labs/models/deeplabv3.h"
#include "labs/models/unet.h"

#include <string.h>

const char *const seg_model_names[] = {"unet", "larger-unet", "attention-unet", "deeplabv3-resnet50", NULL};

int seg_model_check(const char *name)
{
    for (int i = 0; seg_model_names[i]; i++)
        if (!strcmp(name, seg_model_names[i]))
            return LAB_OK;
    const char *near = lab_suggest_loose(name, seg_model_names);
    if (near)
        return lab_err(LAB_EUSAGE, "models: unet, larger-unet, attention-unet, deeplabv3-resnet50",
                       "unknown model '%s' (did you mean %s?)", name, near);
    return lab_err(LAB_EUSAGE, "models: unet, larger-unet, attention-unet, deeplabv3-resnet50",
                   "unknown model '%s'", name);
}

int seg_model_size_multiple(const char *name) { return strcmp(name, "attention-unet") ? 1 : 16; }

int seg_model_create(const char *name, int in_channels, int num_classes, int base_width, struct model **out)
{
    int rc = seg_model_check(name);
    if (rc)
        return rc;
    if (!strcmp(name, "unet"))
        return unet_create(in_channels, num_classes, base_width, out);
    if (!strcmp(name, "larger-unet"))
        return unet_transposed_create(in_channels, num_classes, 2 * base_width, out);
    if (!strcmp(name, "attention-unet"))
        return attention_unet_create(in_channels, num_classes, base_width, out);
    return deeplabv3_resnet50_create(in_channels, num_classes, out);
}
