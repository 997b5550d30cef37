/* The architectures of lab 2.2.1, by the names the course uses. */
#ifndef LAB_CNN_MODELS_H
#define LAB_CNN_MODELS_H

#include "labs/models/model.h"

int lenet5_create(int num_classes, int max_pool, struct model **out);
int alexnet_create(int num_classes, struct model **out);
int vgg11_create(int num_classes, struct model **out);

/* By name: lenet5, lenet5-maxpool, alexnet, vgg11, resnet18, se-resnet18. */
int cnn_model_create(const char *name, int num_classes, struct model **out);
extern const char *const cnn_model_names[]; /* NULL-terminated */

#endif
