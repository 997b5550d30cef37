#include "labs/2.2.3-yolo-detection/dataset.h"

#include "base/error.h"
#include "base/fsutil.h"
#include "base/jsonio.h"
#include "datasets/yolo_read.h"
#include "labs/2.2.3-yolo-detection/trainer.h"
#include "labs/config.h"
#include "labs/models/nn.h"
#include "labs/models/yolov8.h"
#include "labs/tasks/detect.h"

#include <stdio.h>
#include <string.h>

int yolo_dataset_is_path(const char *ds)
{
    size_t n = ds ? strlen(ds) : 0;
    if (!n)
        return 0;
    return strchr(ds, '/') || (n > 5 && !strcmp(ds + n - 5, ".yaml")) || (n > 4 && !strcmp(ds + n - 4, ".yml")) ||
           lab_is_dir(ds);
}

/* The settings a dataset run evaluates with: Ultralytics' val (val.*),
 * not the notebook's prediction threshold (detect.conf 0.25). */
static void val_settings(const json_t *c, struct yolo_train_cfg *s)
{
    s->conf = lab_cfg_num(c, "val.conf", 0.001);
    s->iou = lab_cfg_num(c, "val.iou", 0.7);
    s->max_det = (int)lab_cfg_int(c, "val.max_det", 300);
}

int yolo_dataset_validate(const json_t *config)
{
    struct yolo_train_cfg s;
    yolo_train_cfg_of(config, 1, &s);
    val_settings(config, &s);
    LAB_TRY(yolo_train_cfg_check(&s));
    const char *ds = lab_cfg_str(config, "data.dataset", "");
    if (!lab_path_exists(ds))
        return lab_err(LAB_EUSAGE, "give data.dataset as the path of a YOLO-format dataset's data.yaml or its folder "
                       "(--set data.dataset=PATH/data.yaml)", "data.dataset %s does not exist", ds);
    const char *w = lab_cfg_str(config, "train.weights", "");
    if (*w && !lab_path_exists(w))
        return lab_err(LAB_EUSAGE, "give an Ultralytics .pt or a .safetensors with --set train.weights=FILE, or leave "
                       "it empty to train from scratch", "train.weights %s does not exist", w);
    return LAB_OK;
}

/* The model: the weights file's (its classes must be the dataset's), or
 * a fresh one of the configured scale. */
static int make_model(const char *weights, const struct yolo_train_cfg *s, const char *data, struct model **m)
{
    if (!*weights)
        return yolo_train_create(s, m);
    LAB_TRY(yolov8_load(weights, m));
    if (yolov8_num_classes(*m) != s->classes) {
        int k = yolov8_num_classes(*m);
        model_free(*m);
        *m = NULL;
        return lab_err(LAB_EUSAGE, "start from weights with the dataset's classes, or from scratch (train.weights=\"\")",
                       "train.weights %s detects %d classes, %s names %d", weights, k, data, s->classes);
    }
    return LAB_OK;
}

/* config.json records the thresholds the evaluation used, where the
 * grader's checks read them (detect.conf, detect.nms_iou, detect.max_det). */
static int record_thresholds(struct lab_run *r, const struct yolo_train_cfg *s)
{
    json_t *d = json_object_get(r->config, "detect");
    if (!json_is_object(d))
        return LAB_OK;
    json_object_set_new(d, "conf", json_real(s->conf));
    json_object_set_new(d, "nms_iou", json_real(s->iou));
    json_object_set_new(d, "max_det", json_integer(s->max_det));
    char path[4200];
    snprintf(path, sizeof path, "%s/config.json", r->dir);
    return lab_json_save(path, r->config);
}

int yolo_dataset_run(struct lab_run *r)
{
    LAB_TRY(yolo_dataset_validate(r->config));
    const char *path = lab_cfg_str(r->config, "data.dataset", "");
    const char *weights = lab_cfg_str(r->config, "train.weights", "");
    struct ds_dataset *tr = NULL, *ev = NULL;
    struct yolo_data ytr = {0}, yev = {0};
    struct model *m = NULL;
    struct yolo_train_cfg s;
    char digest[65] = "", eval_set[128] = "";
    int rc = ds_yolo_open(path, "train", &tr, &ytr);
    if (!rc)
        rc = ds_yolo_open(path, "val", &ev, &yev);
    if (!rc && !yev.val[0])
        rc = lab_err(LAB_EUSAGE, "add `val: images/val` to data.yaml: the run evaluates on images it did not train on",
                     "%s names no val split", path);
    if (!rc && (ytr.nc < 1 || ytr.nc > 10000))
        rc = lab_err(LAB_EUSAGE, "give data.yaml between 1 and 10000 classes", "%s names %lld classes", path,
                     (long long)ytr.nc);
    if (!rc) {
        yolo_train_cfg_of(r->config, (int)ytr.nc, &s);
        val_settings(r->config, &s);
        rc = ds_yolo_digest(ev, digest, sizeof digest);
    }
    if (!rc) {
        /* the eval_set names the images by content: the grader has no copy of them */
        snprintf(eval_set, sizeof eval_set, DETECT_EVAL_SET_OWN "val:n=%zu:sha256=%s", ev->n, digest);
        rc = record_thresholds(r, &s);
    }
    if (!rc && ts_manual_seed(s.seed) != TS_OK)
        rc = nn_fail(TS_ETORCH, "ts_manual_seed");
    if (!rc)
        rc = make_model(weights, &s, path, &m);
    if (!rc) {
        if (*weights)
            s.model = m->name; /* the weights' scale, whatever `model` says */
        lab_say(r, "data %s: %zu training, %zu val images, %d classes, letterboxed to %dx%d; %s", path, tr->n, ev->n,
                s.classes, s.size, s.size, *weights ? weights : "from scratch");
        struct yolo_eval_spec spec = {.dataset = path, .eval_set = eval_set, .names = (const char *const *)ytr.names,
                                      .what = "val", .unit = "images"};
        rc = yolo_train_and_evaluate(r, m, tr, ev, &s, &spec);
    }
    if (!rc) {
        json_t *d = json_pack("{s:s, s:s, s:I, s:I, s:I}", "path", path, "val_sha256", digest, "classes",
                              (json_int_t)ytr.nc, "train_images", (json_int_t)tr->n, "val_images", (json_int_t)ev->n);
        json_object_set_new(r->metrics, "dataset_info", d);
        rc = lab_run_save_metrics(r);
    }
    model_free(m);
    ds_dataset_free(tr);
    ds_dataset_free(ev);
    yolo_data_free(&ytr);
    yolo_data_free(&yev);
    return rc;
}
