#include "labs/2.2.3-yolo-detection/val.h"

#include "base/error.h"
#include "base/fsutil.h"
#include "base/jsonio.h"
#include "datasets/hash.h"
#include "datasets/yolo_read.h"
#include "labs/2.2.3-yolo-detection/evaluate.h"
#include "labs/device.h"
#include "labs/models/nn.h"
#include "labs/models/yolov8.h"
#include "labs/tasks/detect.h"

#include <stdlib.h>
#include <string.h>

static double num_at(const json_t *obj, const char *key, int64_t i)
{
    const json_t *v = json_array_get(json_object_get(obj, key), (size_t)i);
    return json_is_number(v) ? json_number_value(v) : -1;
}

json_t *yolo_val_table(const json_t *mm, const char *const *names, int64_t k, const int64_t *images,
                       const int64_t *instances, int64_t n_images, FILE *say)
{
    const json_t *u = json_object_get(mm, "ultralytics"), *c = json_object_get(mm, "coco");
    json_t *rows = json_array();
    int64_t total = 0;
    for (int64_t i = 0; i < k; i++)
        total += instances[i];
    if (say) {
        fprintf(say, "%22s%11s%11s%11s%11s%11s%11s\n", "Class", "Images", "Instances", "Box(P", "R", "mAP50",
                "mAP50-95)");
        fprintf(say, "%22s%11lld%11lld%11.3g%11.3g%11.3g%11.3g\n", "all", (long long)n_images, (long long)total,
                json_number_value(json_object_get(u, "precision")), json_number_value(json_object_get(u, "recall")),
                json_number_value(json_object_get(u, "mAP50")), json_number_value(json_object_get(u, "mAP50-95")));
    }
    for (int64_t i = 0; i < k; i++) {
        if (!instances[i])
            continue;
        char id[24];
        snprintf(id, sizeof id, "class%lld", (long long)i);
        const char *name = names && names[i] ? names[i] : id;
        double p = num_at(u, "per_class_precision", i), r = num_at(u, "per_class_recall", i);
        double a50 = num_at(u, "per_class_AP50", i), a = num_at(u, "per_class_AP50-95", i);
        if (say)
            fprintf(say, "%22.22s%11lld%11lld%11.3g%11.3g%11.3g%11.3g\n", name, (long long)images[i],
                    (long long)instances[i], p, r, a50, a);
        json_array_append_new(rows, json_pack("{s:I, s:s, s:I, s:I, s:f, s:f, s:f, s:f, s:f, s:f}", "class",
                                              (json_int_t)i, "name", name, "images", (json_int_t)images[i],
                                              "instances", (json_int_t)instances[i], "precision", p, "recall", r,
                                              "mAP50", a50, "mAP50-95", a, "coco_AP50", num_at(c, "per_class_AP50", i),
                                              "coco_AP", num_at(c, "per_class_AP", i)));
    }
    return rows;
}

/* Images holding each class and boxes of each, from the ground truth. */
static int count_truth(const struct yolo_truth *t, int64_t k, int64_t **images, int64_t **instances)
{
    *images = calloc((size_t)k, sizeof **images);
    *instances = calloc((size_t)k, sizeof **instances);
    int64_t *last = malloc(sizeof *last * (size_t)k);
    if (!*images || !*instances || !last) {
        free(last);
        return lab_err(LAB_EINTERNAL, "free some memory", "out of memory");
    }
    for (int64_t i = 0; i < k; i++)
        last[i] = -1;
    for (size_t g = 0; g < t->g; g++) {
        int64_t c = t->classes[g];
        (*instances)[c]++;
        if (last[c] != t->image[g])
            (*images)[c]++, last[c] = t->image[g];
    }
    free(last);
    return LAB_OK;
}

static int check_opts(const struct val_opts *o, int imgsz, int batch, const struct yolo_nms_opts *nms)
{
    if (imgsz < 32 || imgsz % 32)
        return lab_err(LAB_EUSAGE, "use --imgsz 320, 640 or 1280 (a multiple of 32)", "--imgsz %d", imgsz);
    if (batch < 1 || batch > 1024)
        return lab_err(LAB_EUSAGE, "use --batch between 1 and 1024", "--batch %d", batch);
    if (!(nms->conf >= 0 && nms->conf < 1) || !(nms->iou > 0 && nms->iou <= 1) || nms->max_det < 1)
        return lab_err(LAB_EUSAGE, "use --conf in [0, 1), --iou in (0, 1] and --max-det >= 1",
                       "--conf %g --iou %g --max-det %d", nms->conf, nms->iou, nms->max_det);
    if (!o->weights || !o->data || !o->out)
        return lab_err(LAB_EUSAGE, "give --weights FILE --data PATH/data.yaml --out DIR", "missing arguments");
    return LAB_OK;
}

int yolo_val(const struct val_opts *o, FILE *say)
{
    int imgsz = o->imgsz > 0 ? o->imgsz : 640, batch = o->batch > 0 ? o->batch : 16;
    const char *split = o->split ? o->split : "val";
    struct yolo_nms_opts nms = {.conf = o->conf >= 0 ? o->conf : 0.001, .iou = o->iou >= 0 ? o->iou : 0.7,
                                .max_det = o->max_det > 0 ? o->max_det : 300};
    struct model *m = NULL;
    struct ds_dataset *d = NULL;
    struct yolo_data yd = {0};
    struct detect_predictions p = {0};
    struct yolo_truth t = {0};
    struct lab_device_choice dev;
    int64_t *images = NULL, *instances = NULL;
    json_t *mm = json_object(), *doc = NULL;
    char wsha[65] = "", dsha[65] = "";
    int rc = check_opts(o, imgsz, batch, &nms);
    if (!rc)
        rc = ds_yolo_open(o->data, split, &d, &yd);
    if (!rc && !strcmp(split, "val") && !yd.val[0])
        rc = lab_err(LAB_EUSAGE, "add `val: images/val` to data.yaml (or give --split train)",
                     "%s names no val split", o->data);
    if (!rc)
        rc = yolov8_load(o->weights, &m);
    if (!rc && yolov8_num_classes(m) != yd.nc)
        rc = lab_err(LAB_EUSAGE, "evaluate weights trained on this dataset's classes, or fix data.yaml's nc and names",
                     "the weights %s detect %d classes, %s names %lld", o->weights, yolov8_num_classes(m), o->data,
                     (long long)yd.nc);
    if (!rc)
        rc = ds_hash_file(o->weights, "sha256", wsha, sizeof wsha);
    if (!rc)
        rc = ds_yolo_digest(d, dsha, sizeof dsha);
    if (!rc)
        rc = lab_choose_device(o->device ? o->device : "auto", "fp32", &dev);
    if (!rc && ts_params_to(m->params, dev.device, -1) != TS_OK)
        rc = nn_fail(TS_ETORCH, "moving the weights");
    if (!rc && say)
        fprintf(say, "%s (%d classes) on %s split %s: %zu images, imgsz %d, conf %g, iou %g, max_det %d, %s\n",
                m->name, yolov8_num_classes(m), o->data, split, d->n, imgsz, nms.conf, nms.iou, nms.max_det,
                dev.device_name);
    if (!rc)
        rc = yolo_evaluate(m, dev.device, d, imgsz, batch, &nms, &p, &t, say);
    if (!rc) {
        struct det_boxes truth = {t.g, t.boxes, NULL, t.classes, t.image};
        rc = detect_evaluate(&p, &truth, yd.nc, (const char *const *)yd.names, mm);
    }
    if (!rc)
        rc = count_truth(&t, yd.nc, &images, &instances);
    if (!rc) {
        json_t *rows = yolo_val_table(mm, (const char *const *)yd.names, yd.nc, images, instances, p.n, say);
        json_t *names = json_array();
        for (int64_t i = 0; i < yd.nc; i++)
            json_array_append_new(names, json_string(yd.names[i]));
        doc = json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:i}, s:{s:s, s:s, s:s, s:I, s:I, s:o}, "
                        "s:{s:i, s:i, s:f, s:f, s:i, s:s, s:s, s:b}, s:I}",
                        "format", "lab-val-v1", "lab", "2.2.3", "weights", "path", o->weights, "sha256", wsha,
                        "model", m->name, "classes", yolov8_num_classes(m), "data", "path", o->data, "split", split,
                        "sha256", dsha, "images", (json_int_t)p.n, "instances", (json_int_t)t.g, "names", names,
                        "settings", "imgsz", imgsz, "batch", batch, "conf", nms.conf, "iou", nms.iou, "max_det",
                        nms.max_det, "device", dev.device_name, "letterbox", "square", "rect", 0, "detections",
                        (json_int_t)p.m);
        json_object_set(doc, "coco", json_object_get(mm, "coco"));
        json_object_set(doc, "ultralytics", json_object_get(mm, "ultralytics"));
        json_object_set(doc, "confusion", json_object_get(mm, "confusion"));
        json_object_set_new(doc, "per_class", rows);
    }
    char path[4300];
    if (!rc)
        rc = lab_mkdir_p(o->out);
    if (!rc) {
        snprintf(path, sizeof path, "%s/val.json", o->out);
        rc = lab_json_save(path, doc);
    }
    if (!rc && say) {
        const json_t *c = json_object_get(mm, "coco");
        fprintf(say, "COCO (pycocotools) AP50 %.4f AP %.4f; wrote %s\n", json_number_value(json_object_get(c, "AP50")),
                json_number_value(json_object_get(c, "AP")), path);
    }
    json_decref(doc);
    json_decref(mm);
    free(images), free(instances);
    detect_predictions_free(&p);
    yolo_truth_free(&t);
    ds_dataset_free(d);
    yolo_data_free(&yd);
    model_free(m);
    return rc;
}
