/* A model: its parameter store (PyTorch state-dict names) and a forward
 * function. Forward runs inside a ts scope opened by the caller. */
#ifndef LAB_MODEL_H
#define LAB_MODEL_H

#include "shim/torchshim.h"

struct model {
    char name[32];
    ts_params *params;
    void *net; /* the architecture's layers */
    int (*forward)(struct model *m, const ts_tensor *x, int training, ts_tensor **out);
};

/* A zeroed model with a new store and `net` of `net_size` bytes. */
int model_new(const char *name, size_t net_size, struct model **out);
void model_free(struct model *m);
/* Number of trainable parameter elements. */
int64_t model_num_params(const struct model *m);

#endif
