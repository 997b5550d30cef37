#include "labs/models/weights.h"

#include "base/error.h"
#include "labs/models/nn.h"
#include "shim/pth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    int ts;
    enum st_dtype st;
} dtype_map[] = {
    {TS_U8, ST_U8}, {TS_I64, ST_I64}, {TS_F16, ST_F16}, {TS_BF16, ST_BF16},
    {TS_F32, ST_F32}, {TS_BOOL, ST_BOOL}, {TS_I32, ST_I32}, {TS_F64, ST_F64},
};

int weights_st_dtype(int ts_dtype)
{
    for (size_t i = 0; i < sizeof dtype_map / sizeof dtype_map[0]; i++)
        if (dtype_map[i].ts == ts_dtype)
            return (int)dtype_map[i].st;
    return -1;
}

int weights_ts_dtype(enum st_dtype st)
{
    for (size_t i = 0; i < sizeof dtype_map / sizeof dtype_map[0]; i++)
        if (dtype_map[i].st == st)
            return dtype_map[i].ts;
    return -1;
}

static int add_host(st_writer *w, const struct ts_host_tensor *t)
{
    int st = weights_st_dtype(t->dtype);
    if (st < 0)
        return lab_err(LAB_EINTERNAL, NULL, "tensor %s has a dtype safetensors cannot hold", t->name);
    return st_writer_add(w, t->name, (enum st_dtype)st, t->ndim, t->shape, t->data, t->nbytes);
}

static int set_metadata(st_writer *w, const json_t *metadata)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)metadata, key, v)
    {
        int rc = json_is_string(v) ? st_writer_set_metadata(w, key, json_string_value(v))
                                   : lab_err(LAB_EINTERNAL, NULL, "metadata %s is not a string", key);
        if (rc)
            return rc;
    }
    return LAB_OK;
}

int weights_save_host(const struct ts_host_tensor *items, size_t n, const char *path, const json_t *metadata)
{
    st_writer *w;
    int rc = st_writer_new(&w);
    for (size_t i = 0; !rc && i < n; i++)
        rc = add_host(w, &items[i]);
    if (!rc && metadata)
        rc = set_metadata(w, metadata);
    if (!rc)
        rc = st_writer_write(w, path);
    st_writer_free(w);
    return rc;
}

int weights_save(const ts_params *p, const char *path, const json_t *metadata, const struct ts_host_tensor *extra,
                 size_t n_extra)
{
    struct ts_host_tensor *items = NULL;
    size_t n = 0;
    void *blob = NULL;
    int rc = ts_params_export_host(p, &items, &n, &blob);
    if (rc != TS_OK)
        return nn_fail(rc, "exporting weights");
    struct ts_host_tensor *all = malloc((n + n_extra + 1) * sizeof *all);
    if (!all) {
        rc = lab_err(LAB_EINTERNAL, NULL, "out of memory saving %s", path);
    } else {
        memcpy(all, items, n * sizeof *all);
        if (n_extra)
            memcpy(all + n, extra, n_extra * sizeof *all);
        rc = weights_save_host(all, n + n_extra, path, metadata);
    }
    free(all);
    free(items);
    free(blob);
    return rc;
}

int weights_host_view(const st_file *f, const char *skip_prefix, struct ts_host_tensor **items, size_t *n)
{
    size_t count = st_count(f), k = 0;
    struct ts_host_tensor *out = calloc(count + 1, sizeof *out);
    if (!out)
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    for (size_t i = 0; i < count; i++) {
        const struct st_tensor *t = st_at(f, i);
        if (skip_prefix && strncmp(t->name, skip_prefix, strlen(skip_prefix)) == 0)
            continue;
        int dt = weights_ts_dtype(t->dtype);
        if (dt < 0) {
            free(out);
            return lab_err(LAB_EUSAGE, "save weights as float32, float16, bfloat16 or integer tensors",
                           "tensor %s has dtype %s, which lab cannot load", t->name, st_dtype_name(t->dtype));
        }
        out[k] = (struct ts_host_tensor){.name = t->name, .dtype = dt, .ndim = t->ndim, .data = t->data,
                                         .nbytes = t->nbytes};
        memcpy(out[k].shape, t->shape, sizeof t->shape);
        k++;
    }
    *items = out;
    *n = k;
    return LAB_OK;
}

void weights_append_names(char *buf, size_t cap, const char *label, char *const *names, size_t shown, size_t total)
{
    if (!total)
        return;
    /* `shown` is the room of the report's list (TS_REPORT_MAX), not how many
     * names it holds: never read past `total`, whose slots are NULL. */
    size_t listed = shown < total ? shown : total;
    if (listed > 5)
        listed = 5;
    size_t len = strlen(buf);
    len += (size_t)snprintf(buf + len, cap - len, "%s%zu %s (", len ? "; " : "", total, label);
    for (size_t i = 0; i < listed && names[i] && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%s", i ? ", " : "", names[i]);
    if (len < cap)
        snprintf(buf + len, cap - len, "%s)", total > listed ? ", ..." : "");
}

/* Loads host tensors into the store; on a misfit the message names the
 * keys and points to the troubleshooting entry. */
static int load_items(ts_params *p, const char *path, const struct ts_host_tensor *items, size_t n, int strict,
                      struct ts_load_report *report)
{
    struct ts_load_report local = {0};
    int rc = LAB_OK, trc = ts_params_load_host(p, items, n, strict, &local);
    if (trc != TS_OK) {
        char detail[1536] = "";
        weights_append_names(detail, sizeof detail, "missing", local.missing, TS_REPORT_MAX, local.n_missing);
        weights_append_names(detail, sizeof detail, "unexpected", local.unexpected, TS_REPORT_MAX, local.n_unexpected);
        weights_append_names(detail, sizeof detail, "mis-shaped", local.mismatched, TS_REPORT_MAX, local.n_mismatched);
        rc = lab_err(trc == TS_EARG ? LAB_EUSAGE : LAB_EINTERNAL,
                     "the file must hold this architecture's state dict (lab explain TS-STATE-DICT-MISMATCH)",
                     "%s does not fit the model: %s", path, detail[0] ? detail : ts_last_error());
    }
    if (report)
        *report = local;
    else
        ts_load_report_free(&local);
    return rc;
}

int weights_load(ts_params *p, const char *path, int strict, const char *skip_prefix, struct ts_load_report *report)
{
    st_file *f;
    int rc = st_open(path, &f);
    if (rc)
        return rc;
    struct ts_host_tensor *items;
    size_t n;
    if ((rc = weights_host_view(f, skip_prefix, &items, &n))) {
        st_close(f);
        return rc;
    }
    rc = load_items(p, path, items, n, strict, report);
    free(items);
    st_close(f);
    return rc;
}

/* A torch.save zip starts with a local file header. */
static int is_zip(const char *path)
{
    unsigned char magic[4] = {0};
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t got = fread(magic, 1, sizeof magic, f);
    fclose(f);
    return got == 4 && magic[0] == 'P' && magic[1] == 'K' && magic[2] == 3 && magic[3] == 4;
}

static int load_pth(ts_params *p, const char *path, int strict, const char *skip_prefix,
                    struct ts_load_report *report)
{
    pth_file *f;
    int rc = pth_load(path, &f);
    if (rc)
        return rc;
    size_t count = pth_count(f), k = 0;
    struct ts_host_tensor *items = calloc(count + 1, sizeof *items);
    if (!items) {
        pth_free(f);
        return lab_err(LAB_EINTERNAL, NULL, "out of memory reading %s", path);
    }
    for (size_t i = 0; i < count && !rc; i++) {
        const struct pth_tensor *t = pth_at(f, i);
        if (skip_prefix && strncmp(t->name, skip_prefix, strlen(skip_prefix)) == 0)
            continue;
        int dt = weights_ts_dtype(t->dtype);
        if (dt < 0) {
            rc = lab_err(LAB_EUSAGE, "save weights as float32, float16, bfloat16 or integer tensors",
                         "tensor %s of %s has dtype %s, which lab cannot load", t->name, path,
                         st_dtype_name(t->dtype));
            break;
        }
        items[k] = (struct ts_host_tensor){.name = t->name, .dtype = dt, .ndim = t->ndim, .data = t->data,
                                           .nbytes = t->nbytes};
        memcpy(items[k].shape, t->shape, sizeof items[k].shape);
        k++;
    }
    if (!rc)
        rc = load_items(p, path, items, k, strict, report);
    free(items);
    pth_free(f);
    return rc;
}

int weights_load_any(ts_params *p, const char *path, int strict, const char *skip_prefix,
                     struct ts_load_report *report)
{
    if (is_zip(path))
        return load_pth(p, path, strict, skip_prefix, report);
    return weights_load(p, path, strict, skip_prefix, report);
}
