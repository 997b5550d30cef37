/* Lab 2.2.3's quick run: the shared trainer (trainer.h) on Fashion-MNIST
 * mosaics, from scratch. Mosaics are gray; the three channels repeat them.
 * Evaluation is Ultralytics' val (conf 0.001, IoU 0.7, max_det 300;
 * evaluate.h) on mosaics of the test split the run never trained on. */
#include "labs/2.2.3-yolo-detection/quick.h"

#include "base/error.h"
#include "datasets/loaders.h"
#include "datasets/mosaic.h"
#include "datasets/mosaic_set.h"
#include "labs/2.2.3-yolo-detection/dataset.h"
#include "labs/2.2.3-yolo-detection/evaluate.h"
#include "labs/2.2.3-yolo-detection/trainer.h"
#include "labs/config.h"
#include "labs/ema.h"
#include "labs/models/nn.h"
#include "labs/models/yolov8.h"
#include "labs/tasks/detect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kFashion[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                         "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

int yolo_quick_validate(const json_t *config)
{
    struct yolo_train_cfg s;
    yolo_train_cfg_of(config, (int)lab_cfg_int(config, "data.num_classes", 10), &s);
    const char *ds = lab_cfg_str(config, "data.dataset", "");
    if (yolo_dataset_is_path(ds))
        return lab_err(LAB_EUSAGE, "leave out --quick to train on your own dataset: lab run 2.2.3 --set "
                       "data.dataset=PATH", "--quick trains on Fashion-MNIST mosaics, not on %s", ds);
    if (strcmp(ds, "fashion-mnist-mosaic") != 0)
        return lab_err(LAB_EUSAGE, "run the quick mode (lab run 2.2.3 --quick), or train on your own YOLO-format "
                       "dataset with --set data.dataset=PATH/data.yaml",
                       "lab 2.2.3's quick mode trains only on fashion-mnist-mosaic, not '%s'", ds);
    LAB_TRY(yolo_train_cfg_check(&s));
    if (s.size > 640)
        return lab_err(LAB_EUSAGE, "set data.input_size to [3, S, S] with S a multiple of 32 (the quick mode's is 96)",
                       "input size %d is not a multiple of 32 in 32..640", s.size);
    if (s.classes != 10)
        return lab_err(LAB_EUSAGE, "keep data.num_classes at 10 (Fashion-MNIST)", "%d classes", s.classes);
    return LAB_OK;
}

static int open_mosaics(const struct yolo_train_cfg *s, struct ds_dataset **items_tr, struct ds_dataset **items_ev,
                        struct ds_dataset **tr, struct ds_dataset **ev, char *eval_set, size_t cap)
{
    LAB_TRY(ds_fashion_mnist_open(NULL, 1, items_tr));
    LAB_TRY(ds_fashion_mnist_open(NULL, 0, items_ev));
    struct ds_mosaic_config a = {.size = s->size, .n = (size_t)s->train_n, .seed = s->seed};
    struct ds_mosaic_config b = {.size = s->size, .n = (size_t)s->eval_n, .seed = s->seed + 1};
    LAB_TRY(ds_mosaic_open(*items_tr, &a, tr));
    LAB_TRY(ds_mosaic_set_name(0, &b, eval_set, cap));
    return ds_mosaic_open(*items_ev, &b, ev);
}

int yolo_quick_run(struct lab_run *r)
{
    struct yolo_train_cfg s;
    yolo_train_cfg_of(r->config, (int)lab_cfg_int(r->config, "data.num_classes", 10), &s);
    LAB_TRY(yolo_quick_validate(r->config));
    struct ds_dataset *itr = NULL, *iev = NULL, *tr = NULL, *ev = NULL;
    struct model *m = NULL;
    char eval_set[128] = "";
    int rc = open_mosaics(&s, &itr, &iev, &tr, &ev, eval_set, sizeof eval_set);
    if (!rc && ts_manual_seed(s.seed) != TS_OK)
        rc = nn_fail(TS_ETORCH, "ts_manual_seed");
    if (!rc)
        rc = yolo_train_create(&s, &m);
    if (!rc) {
        lab_say(r, "data fashion-mnist mosaics %dx%d: %zu training, %zu held-out test canvases, %d classes", s.size,
                s.size, tr->n, ev->n, s.classes);
        struct yolo_eval_spec spec = {.dataset = "fashion-mnist-mosaic", .eval_set = eval_set, .names = kFashion,
                                      .what = "held-out test", .unit = "mosaics"};
        rc = yolo_train_and_evaluate(r, m, tr, ev, &s, &spec);
    }
    model_free(m);
    ds_dataset_free(tr);
    ds_dataset_free(ev);
    ds_dataset_free(itr);
    ds_dataset_free(iev);
    return rc;
}
