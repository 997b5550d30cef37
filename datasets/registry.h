/* What the labs and the grader know about each classification dataset, in
 * one place: its splits and their sizes, class names, the normalization the
 * course uses, how its images become the 3x32x32 input of the course's
 * models, how to open a split and how to read the eval split's labels alone
 * (the grader's ground truth). */
#ifndef DS_REGISTRY_H
#define DS_REGISTRY_H

#include "datasets/augment.h"
#include "datasets/dataset.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct ds_info {
    const char *name; /* the manifest name: "fashion-mnist", "cifar-10" */
    int num_classes;
    const char *const *class_names; /* [num_classes] */
    size_t train_size, eval_size;
    int height, width, channels; /* as stored */
    /* Normalize() constants per RGB channel; alt_std is a second accepted
     * form (CIFAR-10's std is quoted two ways), zero when there is none. */
    double mean[3], std[3], alt_std[3];
    /* To the course's 3x32x32: zero border and gray -> RGB. */
    int pad, to_rgb;
    /* dir NULL: the default location (Debian's copy, then the cache). */
    int (*open)(const char *dir, int train, struct ds_dataset **out);
    /* The eval split's labels only, without decoding images. */
    int (*eval_labels)(const char *dir, int64_t **labels, size_t *n);
};

/* NULL when the name is not a registered dataset. */
const struct ds_info *ds_info_find(const char *name);
/* Like ds_info_find, but LAB_EUSAGE naming the registered datasets when the
 * name is unknown; `who` says who asked ("lab 2.2.1", "the grader"). */
int ds_info_get(const char *name, const char *who, const struct ds_info **out);
/* Opens the train or eval split. */
int ds_info_open(const struct ds_info *d, const char *dir, int train, struct ds_dataset **out);

/* The eval transform of a lab's "data" configuration: its preprocessing
 * (pad, resize, RGB, normalize) without any random step. */
int ds_eval_augment(const json_t *data, struct ds_augment *out);

#endif
