/* predictions.safetensors of the detect task (the writer; the reader is
 * detect_read.c) and its metrics.json entry. */
#include "labs/tasks/detect.h"

#include "base/error.h"
#include "labs/models/weights.h"

#include <stdlib.h>
#include <string.h>

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

int detect_evaluate(const struct detect_predictions *p, const struct det_boxes *truth, int64_t k,
                    const char *const *names, json_t *model_metrics)
{
    struct det_boxes pred = detect_predictions_boxes(p);
    struct coco_result c;
    struct ultra_result u;
    int rc = coco_evaluate(truth, &pred, p->n, k, &c);
    if (rc)
        return rc;
    if ((rc = ultra_evaluate(truth, &pred, p->n, k, &u))) {
        coco_result_free(&c);
        return rc;
    }
    detect_metrics_to_json(&c, &u, names, model_metrics);
    coco_result_free(&c);
    ultra_result_free(&u);
    return LAB_OK;
}
