/* predictions.safetensors of the detect task and its metrics.json entry.
 * The reader takes a file a student made, so it checks every name, dtype
 * and shape before copying, and bounds the sizes it allocates. */
#include "labs/tasks/detect.h"

#include "base/error.h"
#include "labs/models/weights.h"

#include <stdlib.h>
#include <string.h>

#define FIX_FORMAT "write predictions.safetensors as docs/submission-format.md says (\"detect\"), e.g. with lab's own writer"

int detect_save_predictions(const char *path, const struct detect_predictions *p)
{
    struct ts_host_tensor t[6] = {
        {.name = "boxes", .dtype = TS_F32, .ndim = 2, .shape = {p->m, 4}, .data = p->boxes,
         .nbytes = (size_t)p->m * 4 * sizeof(float)},
        {.name = "scores", .dtype = TS_F32, .ndim = 1, .shape = {p->m}, .data = p->scores,
         .nbytes = (size_t)p->m * sizeof(float)},
        {.name = "classes", .dtype = TS_I64, .ndim = 1, .shape = {p->m}, .data = p->classes,
         .nbytes = (size_t)p->m * sizeof(int64_t)},
        {.name = "image_index", .dtype = TS_I64, .ndim = 1, .shape = {p->m}, .data = p->image_index,
         .nbytes = (size_t)p->m * sizeof(int64_t)},
        {.name = "indices", .dtype = TS_I64, .ndim = 1, .shape = {p->n}, .data = p->indices,
         .nbytes = (size_t)p->n * sizeof(int64_t)},
        {.name = "image_sizes", .dtype = TS_I64, .ndim = 2, .shape = {p->n, 2}, .data = p->image_sizes,
         .nbytes = (size_t)p->n * 2 * sizeof(int64_t)},
    };
    json_t *meta = json_pack("{s:s, s:s}", "format", DETECT_PREDICTIONS_FORMAT, "eval_set", p->eval_set);
    int rc = weights_save_host(t, 6, path, meta);
    json_decref(meta);
    return rc;
}

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

static json_t *reals(const double *v, int64_t n, size_t stride)
{
    json_t *a = json_array();
    for (int64_t i = 0; i < n; i++)
        json_array_append_new(a, v[(size_t)i * stride] < 0 ? json_null() : json_real(v[(size_t)i * stride]));
    return a;
}

void detect_metrics_to_json(const struct coco_result *c, const struct ultra_result *u, const char *const *names,
                            json_t *mm)
{
    int64_t k = c ? c->k : u ? u->k : 0;
    if (names) {
        json_t *a = json_array();
        for (int64_t i = 0; i < k; i++)
            json_array_append_new(a, json_string(names[i] ? names[i] : ""));
        json_object_set_new(mm, "class_names", a);
    }
    if (c) {
        json_t *pr = json_array();
        for (int64_t i = 0; i < k; i++)
            json_array_append_new(pr, reals(c->pr50 + i * DET_RECALL_POINTS, DET_RECALL_POINTS, 1));
        json_object_set_new(mm, "coco",
                            json_pack("{s:s, s:f, s:f, s:f, s:o, s:o, s:o}", "source",
                                      "COCO (pycocotools COCOeval bbox, maxDets 100, area all)", "AP", c->ap, "AP50",
                                      c->ap50, "AP75", c->ap75, "per_class_AP", reals(c->class_ap, k, 1),
                                      "per_class_AP50", reals(c->class_ap50, k, 1), "pr_curve50", pr));
    }
    if (u) {
        json_t *ap = json_array();
        for (int64_t i = 0; i < k; i++) {
            double s = 0;
            for (int t = 0; t < DET_IOU_THRESHOLDS; t++)
                s += u->class_ap[i * DET_IOU_THRESHOLDS + t];
            json_array_append_new(ap, u->class_ap[i * DET_IOU_THRESHOLDS] < 0 ? json_null()
                                                                               : json_real(s / DET_IOU_THRESHOLDS));
        }
        json_object_set_new(
            mm, "ultralytics",
            json_pack("{s:s, s:f, s:f, s:f, s:f, s:f, s:f, s:o, s:o, s:o, s:o}", "source",
                      "Ultralytics (DetectionValidator, ap_per_class)", "mAP50", u->map50, "mAP50-95", u->map,
                      "mAP75", u->map75, "precision", u->precision, "recall", u->recall, "confidence",
                      u->conf_at_max_f1, "per_class_AP50", reals(u->class_ap, k, DET_IOU_THRESHOLDS),
                      "per_class_AP50-95", ap, "per_class_precision", reals(u->class_p, k, 1),
                      "per_class_recall", reals(u->class_r, k, 1)));
        json_t *cm = json_array();
        for (int64_t r = 0; r <= k; r++) {
            json_t *row = json_array();
            for (int64_t col = 0; col <= k; col++)
                json_array_append_new(row, json_integer(u->confusion[r * (k + 1) + col]));
            json_array_append_new(cm, row);
        }
        json_object_set_new(mm, "confusion", cm);
    }
}
