/* A view of a labelled dataset restricted to the classes [lo, hi), relabelled
 * 0 .. hi-lo-1: the quick mode's source task (Fashion-MNIST 0-4) and target
 * task (5-9) are two such views of one dataset. */
#ifndef LAB_TRANSFER_CLASSES_H
#define LAB_TRANSFER_CLASSES_H

#include "datasets/dataset.h"

#include <stdint.h>

/* The samples of `base` with lo <= label < hi in dataset order, at most
 * `per_class` of each class (0: all) and at most `max_total` (0: all). The
 * view borrows base: free it first. */
int transfer_class_view(const struct ds_dataset *base, int lo, int hi, size_t per_class, size_t max_total,
                        struct ds_dataset **out);

/* n samples of `base` drawn at random from `seed` (the same seed, the same
 * samples), in base's order: the course's 10,000-image training subset
 * (the notebook's randperm, unseeded there). n >= base->n: all of them.
 * Borrows base. */
int transfer_seeded_subset(const struct ds_dataset *base, size_t n, uint64_t seed, struct ds_dataset **out);

#endif
