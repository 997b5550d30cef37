/* The detect task's predictions reader. It takes a file a student made, so
 * it checks every name, dtype and shape before copying, and bounds what it
 * allocates; it needs no libtorch (the fuzz target links it alone). */
#include "labs/tasks/detect.h"

#include "base/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIX_FORMAT "write predictions.safetensors as docs/submission-format.md says (\"detect\"), e.g. with lab's own writer"

void detect_predictions_free(struct detect_predictions *p)
{
    free(p->boxes);
    free(p->scores);
    free(p->classes);
    free(p->image_index);
    free(p->indices);
    free(p->image_sizes);
    memset(p, 0, sizeof *p);
}

/* The tensor `name` as dtype [rows] or [rows, cols] (cols 0: 1-d); rows < 0
 * takes the file's. Copies into a fresh array. */
static int take(const st_file *f, const char *name, enum st_dtype dtype, int64_t *rows, int64_t cols, void **out)
{
    const struct st_tensor *t = st_find(f, name);
    if (!t)
        return lab_err(LAB_EUSAGE, FIX_FORMAT, "predictions.safetensors has no tensor '%s'", name);
    int want_ndim = cols ? 2 : 1;
    if (t->dtype != dtype || t->ndim != want_ndim || (cols && t->shape[1] != cols) ||
        (*rows >= 0 && t->shape[0] != *rows) || t->shape[0] < 0 || t->shape[0] > DETECT_MAX_ROWS) {
        char want[64];
        if (*rows >= 0)
            snprintf(want, sizeof want, cols ? "[%lld, %lld]" : "[%lld]", (long long)*rows, (long long)cols);
        else
            snprintf(want, sizeof want, cols ? "[M, %lld] (M <= %lld)" : "[M] (M <= %lld)",
                     (long long)(cols ? cols : DETECT_MAX_ROWS), (long long)DETECT_MAX_ROWS);
        return lab_err(LAB_EUSAGE, FIX_FORMAT, "predictions.safetensors: '%s' is %s with %d dims (first %lld); the "
                       "detect format wants %s %s", name, st_dtype_name(t->dtype), t->ndim,
                       (long long)(t->ndim ? t->shape[0] : 0), st_dtype_name(dtype), want);
    }
    *rows = t->shape[0];
    size_t bytes = (size_t)*rows * (size_t)(cols ? cols : 1) * st_dtype_size(dtype);
    if (bytes != t->nbytes)
        return lab_err(LAB_EUSAGE, FIX_FORMAT, "predictions.safetensors: '%s' holds %zu bytes, not %zu", name,
                       t->nbytes, bytes);
    *out = malloc(bytes ? bytes : 1);
    if (!*out)
        return lab_err(LAB_EINTERNAL, "free some memory", "out of memory reading '%s' (%zu bytes)", name, bytes);
    memcpy(*out, t->data, bytes);
    return LAB_OK;
}

int detect_read_predictions(const st_file *f, struct detect_predictions *out)
{
    memset(out, 0, sizeof *out);
    const char *format = st_metadata_get(f, "format");
    if (!format || strcmp(format, DETECT_PREDICTIONS_FORMAT) != 0)
        return lab_err(LAB_EUSAGE, FIX_FORMAT, "predictions.safetensors has format '%s', not '%s'",
                       format ? format : "(none)", DETECT_PREDICTIONS_FORMAT);
    int64_t m = -1, n = -1;
    void *v[6] = {0};
    int rc;
    if ((rc = take(f, "boxes", ST_F32, &m, 4, &v[0])) || (rc = take(f, "scores", ST_F32, &m, 0, &v[1])) ||
        (rc = take(f, "classes", ST_I64, &m, 0, &v[2])) || (rc = take(f, "image_index", ST_I64, &m, 0, &v[3])) ||
        (rc = take(f, "indices", ST_I64, &n, 0, &v[4])) || (rc = take(f, "image_sizes", ST_I64, &n, 2, &v[5]))) {
        for (int i = 0; i < 6; i++)
            free(v[i]);
        return rc;
    }
    *out = (struct detect_predictions){.m = m, .n = n, .boxes = v[0], .scores = v[1], .classes = v[2],
                                       .image_index = v[3], .indices = v[4], .image_sizes = v[5]};
    const char *set = st_metadata_get(f, "eval_set");
    snprintf(out->eval_set, sizeof out->eval_set, "%s", set ? set : "");
    for (int64_t i = 0; i < m; i++)
        if (out->image_index[i] < 0 || out->image_index[i] >= n) {
            rc = lab_err(LAB_EUSAGE, "image_index must name a row of 'indices' (0..N-1)",
                         "predictions.safetensors: image_index[%lld] = %lld, but there are %lld images",
                         (long long)i, (long long)out->image_index[i], (long long)n);
            break;
        }
    for (int64_t i = 0; !rc && i < n * 2; i++)
        if (out->image_sizes[i] <= 0 || out->image_sizes[i] > (1 << 16))
            rc = lab_err(LAB_EUSAGE, "image_sizes holds each image's height and width in pixels",
                         "predictions.safetensors: image_sizes[%lld][%lld] = %lld is not a size in 1..65536",
                         (long long)(i / 2), (long long)(i % 2), (long long)out->image_sizes[i]);
    if (rc)
        detect_predictions_free(out);
    return rc;
}

struct det_boxes detect_predictions_boxes(const struct detect_predictions *p)
{
    return (struct det_boxes){(size_t)p->m, p->boxes, p->scores, p->classes, p->image_index};
}

