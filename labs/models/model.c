#include "labs/models/model.h"

#include "base/error.h"
#include "labs/models/nn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int model_new(const char *name, size_t net_size, struct model **out)
{
    struct model *m = calloc(1, sizeof *m);
    void *net = calloc(1, net_size);
    if (!m || !net) {
        free(m);
        free(net);
        return lab_err(LAB_EINTERNAL, NULL, "out of memory creating %s", name);
    }
    snprintf(m->name, sizeof m->name, "%s", name);
    m->net = net;
    int rc = ts_params_new(&m->params);
    if (rc != TS_OK) {
        model_free(m);
        return nn_fail(rc, "ts_params_new");
    }
    *out = m;
    return LAB_OK;
}

void model_free(struct model *m)
{
    if (!m)
        return;
    ts_params_free(m->params);
    free(m->net);
    free(m);
}

int64_t model_num_params(const struct model *m) { return ts_params_numel(m->params, TS_PARAM); }

ts_tensor *model_tensors_get(const struct model_tensors *t, const char *name)
{
    for (size_t i = 0; t && i < t->n; i++)
        if (strcmp(t->names[i], name) == 0)
            return t->tensors[i];
    return NULL;
}

int model_tensors_add(struct model_tensors *t, const char *name, ts_tensor *tensor)
{
    if (t->n == MODEL_MAX_TENSORS)
        return lab_err(LAB_EINTERNAL, NULL, "more than %d named tensors", MODEL_MAX_TENSORS);
    t->names[t->n] = name;
    t->tensors[t->n++] = tensor;
    return LAB_OK;
}

int model_run(struct model *m, const struct model_tensors *in, int training, struct model_tensors *out)
{
    memset(out, 0, sizeof *out);
    if (m->forward_named)
        return m->forward_named(m, in, training, out);
    ts_tensor *x = model_tensors_get(in, "pixel_values"), *y = NULL;
    if (!x)
        return lab_err(LAB_EINTERNAL, NULL, "%s takes a 'pixel_values' tensor", m->name);
    int rc = m->forward(m, x, training, &y);
    return rc ? rc : model_tensors_add(out, "logits", y);
}
