/* The dataset abstraction the labs use: a dataset has n samples, and
 * `get` (thread-safe) produces sample i as an 8-bit HWC image with its label,
 * and for detection/segmentation data a class mask, boxes and instance masks.
 * The pipeline (pipeline.h) batches samples on worker threads. */
#ifndef DS_DATASET_H
#define DS_DATASET_H

#include "datasets/image.h"

#include <stddef.h>
#include <stdint.h>

#define DS_MAX_OBJECTS 16

struct ds_sample {
    struct ds_image image;
    int64_t label;        /* image class; -1 when the sample has none */
    struct ds_image mask; /* per-pixel class (c = 1); px NULL when absent */
    int nobj;
    float boxes[DS_MAX_OBJECTS][4]; /* x1, y1, x2, y2 in pixels; x2/y2 exclusive */
    int64_t box_labels[DS_MAX_OBJECTS];
    struct ds_image inst[DS_MAX_OBJECTS]; /* 0/1 instance masks; px NULL when absent */
};

void ds_sample_free(struct ds_sample *s); /* frees the buffers, keeps the struct */

struct ds_dataset {
    char name[64];
    size_t n;
    int num_classes;
    int (*get)(const struct ds_dataset *d, size_t i, struct ds_sample *out);
    void (*destroy)(struct ds_dataset *d); /* frees ctx */
    void *ctx;
};

int ds_dataset_get(const struct ds_dataset *d, size_t i, struct ds_sample *out);
void ds_dataset_free(struct ds_dataset *d);

/* A dataset held in memory: n images of h x w x c bytes and n labels. It
 * takes ownership of both buffers. */
int ds_memory_dataset(const char *name, size_t n, int h, int w, int c, uint8_t *pixels, int64_t *labels,
                      int num_classes, struct ds_dataset **out);
/* The first `n` samples of d (n <= d->n), sharing d's memory; free the
 * subset before d. */
int ds_subset_dataset(const struct ds_dataset *d, size_t n, struct ds_dataset **out);

#endif
