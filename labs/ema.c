#include "labs/ema.h"

#include "base/error.h"
#include "labs/models/nn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_float(int dtype) { return dtype == TS_F32 || dtype == TS_BF16 || dtype == TS_F16 || dtype == TS_F64; }

int ema_init(struct ema *e, struct model *m, double decay)
{
    memset(e, 0, sizeof *e);
    e->decay = decay;
    e->n = ts_params_count(m->params);
    e->shadow = calloc(e->n, sizeof *e->shadow);
    e->names = calloc(e->n, sizeof *e->names);
    if (!e->shadow || !e->names) {
        ema_free(e);
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    }
    int grad = ts_no_grad_push(), rc = LAB_OK;
    for (size_t i = 0; !rc && i < e->n; i++) {
        const char *name;
        ts_tensor *t;
        int kind, group;
        int trc = ts_params_at(m->params, i, &name, &t, &kind, &group);
        if (!trc)
            trc = ts_clone(&e->shadow[i], t);
        e->names[i] = strdup(name ? name : "");
        if (trc || !e->names[i])
            rc = trc ? nn_fail(trc, "copying the weights for their average") : lab_err(LAB_EINTERNAL, NULL, "out of memory");
    }
    ts_grad_mode_pop(grad);
    if (rc)
        ema_free(e);
    return rc;
}

void ema_free(struct ema *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->n; i++) {
        if (e->shadow)
            ts_tensor_free(e->shadow[i]);
        if (e->names)
            free(e->names[i]);
    }
    free(e->shadow);
    free(e->names);
    memset(e, 0, sizeof *e);
}

int ema_update(struct ema *e, struct model *m)
{
    int grad = ts_no_grad_push(), rc = TS_OK;
    ts_scope_begin();
    for (size_t i = 0; rc == TS_OK && i < e->n; i++) {
        const char *name;
        ts_tensor *t, *a, *b, *sum;
        int kind, group;
        rc = ts_params_at(m->params, i, &name, &t, &kind, &group);
        /* As AveragedModel: the first update takes the weights as they are. */
        if (rc == TS_OK && (!is_float(ts_dtype(t)) || e->updates == 0)) {
            rc = ts_copy_(e->shadow[i], t);
            continue;
        }
        if (rc == TS_OK)
            rc = ts_mul_scalar(&a, e->shadow[i], e->decay);
        if (rc == TS_OK)
            rc = ts_mul_scalar(&b, t, 1 - e->decay);
        if (rc == TS_OK)
            rc = ts_add(&sum, a, b);
        if (rc == TS_OK)
            rc = ts_copy_(e->shadow[i], sum);
    }
    ts_scope_end();
    ts_grad_mode_pop(grad);
    e->updates++;
    return rc == TS_OK ? LAB_OK : nn_fail(rc, "updating the weights' average");
}

int ema_swap(struct ema *e, struct model *m)
{
    int grad = ts_no_grad_push(), rc = TS_OK;
    ts_scope_begin();
    for (size_t i = 0; rc == TS_OK && i < e->n; i++) {
        const char *name;
        ts_tensor *t, *keep;
        int kind, group;
        rc = ts_params_at(m->params, i, &name, &t, &kind, &group);
        if (rc == TS_OK)
            rc = ts_clone(&keep, t);
        if (rc == TS_OK)
            rc = ts_copy_(t, e->shadow[i]);
        if (rc == TS_OK)
            rc = ts_copy_(e->shadow[i], keep);
    }
    ts_scope_end();
    ts_grad_mode_pop(grad);
    return rc == TS_OK ? LAB_OK : nn_fail(rc, "exchanging the weights and their average");
}

int ema_export(const struct ema *e, struct ts_host_tensor **items, size_t *n)
{
    *items = calloc(e->n ? e->n : 1, sizeof **items);
    *n = 0;
    if (!*items)
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    for (size_t i = 0; i < e->n; i++) {
        struct ts_host_tensor *h = &(*items)[i];
        int dt = ts_dtype(e->shadow[i]);
        h->dtype = is_float(dt) ? TS_F32 : TS_I64;
        h->ndim = ts_dim(e->shadow[i]);
        for (int d = 0; d < h->ndim && d < 8; d++)
            h->shape[d] = ts_size(e->shadow[i], d);
        h->nbytes = (size_t)ts_numel(e->shadow[i]) * (is_float(dt) ? sizeof(float) : sizeof(int64_t));
        char *name = malloc(strlen(e->names[i]) + 5);
        void *data = malloc(h->nbytes ? h->nbytes : 1);
        if (name)
            sprintf(name, "ema.%s", e->names[i]);
        h->name = name;
        h->data = data;
        *n = i + 1;
        if (!name || !data || ts_to_host(e->shadow[i], h->dtype, data, h->nbytes) != TS_OK)
            return lab_err(LAB_EINTERNAL, NULL, "cannot copy the weights' average for the checkpoint");
    }
    return LAB_OK;
}

int ema_import(struct ema *e, const struct ts_host_tensor *items, size_t n)
{
    size_t found = 0;
    for (size_t k = 0; k < n; k++) {
        if (strncmp(items[k].name, "ema.", 4) != 0)
            continue;
        for (size_t i = 0; i < e->n; i++) {
            if (strcmp(items[k].name + 4, e->names[i]) != 0)
                continue;
            ts_tensor *t = NULL;
            int dev = ts_device_of(e->shadow[i]);
            int trc = ts_from_host(&t, items[k].data, items[k].dtype, items[k].ndim, items[k].shape, dev);
            if (!trc && ts_numel(t) != ts_numel(e->shadow[i]))
                trc = TS_EARG;
            if (!trc)
                trc = ts_copy_(e->shadow[i], t);
            ts_tensor_free(t);
            if (trc)
                return lab_err(LAB_EUSAGE, "start a new run instead of --resume", "the checkpoint's %s does not fit",
                               items[k].name);
            found++;
        }
    }
    if (found != e->n)
        return lab_err(LAB_EUSAGE, "start a new run instead of --resume, or set train.ema_decay as the run had it",
                       "the checkpoint holds %zu of the %zu averaged weights", found, e->n);
    return LAB_OK;
}
