/* The name of a set of Fashion-MNIST mosaics, written into a detect
 * predictions file's "eval_set" so the grader can render the same canvases
 * again (a canvas depends only on the seed, the index and the split's
 * items) and hold its own ground truth: "fashion-mnist-mosaic:<train|test>:
 * size=S:n=N:seed=K", the mosaic defaults for the rest. */
#ifndef DS_MOSAIC_SET_H
#define DS_MOSAIC_SET_H

#include "datasets/mosaic.h"

#include <stddef.h>

#define DS_MOSAIC_SET_PREFIX "fashion-mnist-mosaic:"

int ds_mosaic_set_name(int train, const struct ds_mosaic_config *cfg, char *out, size_t cap);
/* LAB_EUSAGE unless name is exactly what ds_mosaic_set_name writes, with
 * 16 <= size <= 1024 and 1 <= n <= 100000. */
int ds_mosaic_set_parse(const char *name, int *train, struct ds_mosaic_config *cfg);

#endif
