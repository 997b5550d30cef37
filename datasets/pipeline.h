/* Batches from a dataset, built on worker threads ahead of use (a prefetch
 * queue), in a fixed order. Every random choice for the sample at position k
 * of epoch e comes from a generator seeded with (seed, e, k), and the shuffle
 * from (seed, e), so the same seed gives the same batches whatever the
 * number of threads. The output is plain memory: float [N, C, H, W] images
 * and int64 [N] labels (plus masks and boxes when the dataset has them); the
 * labs hand it to the shim themselves. */
#ifndef DS_PIPELINE_H
#define DS_PIPELINE_H

#include "datasets/augment.h"
#include "datasets/dataset.h"

#include <stddef.h>
#include <stdint.h>

struct ds_pipeline_config {
    int batch_size;
    int threads;  /* 0: build batches in the calling thread */
    int prefetch; /* batches built ahead (default 2 per thread) */
    uint64_t seed;
    int shuffle;
    int drop_last;
    int want_instances; /* copy instance masks into the batch */
    struct ds_augment augment;
};

struct ds_batch {
    int n, c, h, w;
    float *images;     /* [n, c, h, w] */
    int64_t *labels;   /* [n] */
    int64_t *indices;  /* [n] dataset index of each sample */
    uint8_t *masks;    /* [n, h, w] class masks, or NULL */
    int32_t *nobj;     /* [n], or NULL when the dataset has no boxes */
    float *boxes;      /* [n, DS_MAX_OBJECTS, 4], unused rows zero */
    int64_t *box_labels; /* [n, DS_MAX_OBJECTS], unused -1 */
    uint8_t *instances;  /* [n, DS_MAX_OBJECTS, h, w] when want_instances, else NULL */
};
void ds_batch_free(struct ds_batch *b);

struct ds_pipeline;
/* The dataset must outlive the pipeline. Starts epoch 0. */
int ds_pipeline_open(const struct ds_dataset *d, const struct ds_pipeline_config *cfg, struct ds_pipeline **out);
/* The next batch of the epoch in order, or *out = NULL at the end of it. */
int ds_pipeline_next(struct ds_pipeline *p, struct ds_batch **out);
/* Stops the current epoch (if running) and starts `epoch`. */
int ds_pipeline_start_epoch(struct ds_pipeline *p, int epoch);
size_t ds_pipeline_num_batches(const struct ds_pipeline *p);
void ds_pipeline_close(struct ds_pipeline *p);

/* Builds batch `k` of `epoch` directly (what a worker does). */
int ds_pipeline_build(const struct ds_pipeline *p, int epoch, size_t k, struct ds_batch **out);

#endif
