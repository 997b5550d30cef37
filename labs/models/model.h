/* A model: its parameter store (PyTorch state-dict names) and a forward
 * function. Forward runs inside a ts scope opened by the caller. */
#ifndef LAB_MODEL_H
#define LAB_MODEL_H

#include "shim/torchshim.h"

/* Named tensors in and out of a model: "pixel_values" in and "logits" out
 * for a classifier; a detector returns its three maps, a promptable
 * segmenter takes an image and prompts and returns masks and IoU scores
 * (names by task: docs/submission-format.md). Tensors are borrowed from
 * the caller's scope. */
#define MODEL_MAX_TENSORS 8
struct model_tensors {
    size_t n;
    const char *names[MODEL_MAX_TENSORS];
    ts_tensor *tensors[MODEL_MAX_TENSORS];
};
/* NULL when absent. */
ts_tensor *model_tensors_get(const struct model_tensors *t, const char *name);
/* LAB_EINTERNAL past MODEL_MAX_TENSORS. */
int model_tensors_add(struct model_tensors *t, const char *name, ts_tensor *tensor);

struct model {
    char name[32];
    ts_params *params;
    void *net; /* the architecture's layers */
    /* One image batch in, one tensor out (classifiers): "pixel_values" ->
     * "logits" through model_run. */
    int (*forward)(struct model *m, const ts_tensor *x, int training, ts_tensor **out);
    /* Named tensors in and out; NULL for a model that has only `forward`. */
    int (*forward_named)(struct model *m, const struct model_tensors *in, int training, struct model_tensors *out);
};

/* Runs the model on named inputs: forward_named where the model has one,
 * else `forward` from "pixel_values" to "logits". */
int model_run(struct model *m, const struct model_tensors *in, int training, struct model_tensors *out);

/* A zeroed model with a new store and `net` of `net_size` bytes. */
int model_new(const char *name, size_t net_size, struct model **out);
void model_free(struct model *m);
/* Number of trainable parameter elements. */
int64_t model_num_params(const struct model *m);

#endif
