#include "labs/models/model.h"

#include "base/error.h"
#include "labs/models/nn.h"

#include <stdio.h>
#include <stdlib.h>

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
