/* Mixup (Zhang et al., 2018) as the course solution's mixup_data does it:
 * one mixing weight per batch, lambda ~ Beta(alpha, alpha), and a random
 * permutation of the batch; every image becomes
 * lambda * x[i] + (1 - lambda) * x[perm[i]] and keeps two labels, y[i] and
 * y[perm[i]], which the loss weighs by lambda and 1 - lambda. */
#ifndef DS_MIXUP_H
#define DS_MIXUP_H

#include "datasets/pipeline.h"
#include "datasets/rng.h"

#include <stdint.h>

/* Draws lambda (1 when alpha <= 0, as the solution does) and a uniform
 * permutation perm[0..n). */
void ds_mixup_draw(struct ds_rng *r, int n, double alpha, double *lambda, int64_t *perm);
/* Mixes b's images in place and writes the second labels, y[perm[i]], to
 * labels_b[0..n). */
int ds_mixup_apply(struct ds_batch *b, double lambda, const int64_t *perm, int64_t *labels_b);
/* The generator for a batch: from the run's seed and the batch's samples,
 * so a resumed run mixes every batch as the uninterrupted one did. */
void ds_mixup_seed(struct ds_rng *r, uint64_t seed, const struct ds_batch *b);

#endif
