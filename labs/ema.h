/* An exponential moving average of a model's weights, as
 * torch.optim.swa_utils.AveragedModel(model, avg_fn=decay * avg + (1 -
 * decay) * p, use_buffers=True): the first update after an optimizer step
 * takes the weights, every later one makes each floating entry decay * ema +
 * (1 - decay) * current; integer buffers (BatchNorm's num_batches_tracked)
 * are copied. Evaluation and the saved weights use the
 * average; checkpoints keep it under "ema.<name>" so a resumed run goes on
 * with it. */
#ifndef LAB_EMA_H
#define LAB_EMA_H

#include "labs/models/model.h"

#include <stddef.h>

struct ema {
    double decay;
    size_t n;
    ts_tensor **shadow; /* per store entry, in store order (owned) */
    char **names;
    int updates;
};

/* A copy of m's current weights (decay in (0, 1)). */
int ema_init(struct ema *e, struct model *m, double decay);
void ema_free(struct ema *e);
int ema_update(struct ema *e, struct model *m);
/* Exchanges the model's weights and the average (twice restores them). */
int ema_swap(struct ema *e, struct model *m);
/* Host copies named "ema.<name>" for a checkpoint; free each data and name,
 * then the array. */
int ema_export(const struct ema *e, struct ts_host_tensor **items, size_t *n);
/* Restores the average from a checkpoint's "ema." items (others ignored). */
int ema_import(struct ema *e, const struct ts_host_tensor *items, size_t n);

#endif
