#include "labs/2.2.1-cnn-architectures/cnn_models.h"

#include "base/error.h"
#include "labs/models/resnet.h"

#include <string.h>

const char *const cnn_model_names[] = {"lenet5", "alexnet", "vgg11", "resnet18", "lenet5-maxpool", "se-resnet18",
                                       NULL};

int cnn_model_create(const char *name, int num_classes, struct model **out)
{
    if (strcmp(name, "lenet5") == 0)
        return lenet5_create(num_classes, 0, out);
    if (strcmp(name, "lenet5-maxpool") == 0)
        return lenet5_create(num_classes, 1, out);
    if (strcmp(name, "alexnet") == 0)
        return alexnet_create(num_classes, out);
    if (strcmp(name, "vgg11") == 0)
        return vgg11_create(num_classes, out);
    if (strcmp(name, "resnet18") == 0)
        return resnet18_create(num_classes, 0, out);
    if (strcmp(name, "se-resnet18") == 0)
        return resnet18_create(num_classes, 1, out);
    return lab_err(LAB_EUSAGE, "models: lenet5, alexnet, vgg11, resnet18, lenet5-maxpool, se-resnet18, all",
                   "unknown model '%s'", name);
}
