/* Lab 2.2.3: YOLOv8 detection. This version builds and loads the models
 * (labs/models/yolov8.h), predicts on the user's images (predict.c),
 * evaluates any weights on a YOLO-format dataset (val.c), trains in quick
 * mode on Fashion-MNIST mosaics (quick.c) and on a student's own dataset
 * (dataset.c); the full run (the released weights' study and benchmarks)
 * is not written yet. */
#include "base/error.h"
#include "labs/2.2.3-yolo-detection/dataset.h"
#include "labs/2.2.3-yolo-detection/predict.h"
#include "labs/2.2.3-yolo-detection/quick.h"
#include "labs/2.2.3-yolo-detection/val.h"
#include "labs/config.h"
#include "labs/lab.h"
#include "labs/models/yolov8.h"

#include <string.h>

static int create_model(const char *name, int num_classes, struct model **out)
{
    char scale = yolov8_scale_of(name);
    if (!scale)
        return lab_err(LAB_EUSAGE, "use yolov8n, yolov8s, yolov8m, yolov8l or yolov8x",
                       "lab 2.2.3 has no model '%s'", name ? name : "");
    return yolov8_create(scale, num_classes, out);
}

/* --quick: the mosaics; data.dataset a path: the student's dataset; else
 * the full mode (the notebook's study), refused until it is written (and
 * refused earlier by `lab run` while quick_only). */
enum mode { QUICK, DATASET, FULL };
static enum mode mode_of(const json_t *config)
{
    if (json_is_true(lab_cfg_get(config, "quick")))
        return QUICK;
    /* anything but the full mode's own images is a path, so that a mistyped
     * one is told it holds no data.yaml */
    const char *ds = lab_cfg_str(config, "data.dataset", "");
    return yolo_dataset_is_path(ds) || strcmp(ds, "coco-samples") ? DATASET : FULL;
}

static int no_full_mode(void)
{
    return lab_err(LAB_EUSAGE, "run its quick mode (lab run 2.2.3 --quick), train on your own YOLO-format dataset "
                   "(--set data.dataset=PATH/data.yaml), or run the released weights on your images (lab predict "
                   "2.2.3 --weights FILE --source IMAGE --out DIR)",
                   "lab 2.2.3 has only a quick mode and own-dataset training in this version: its full mode is not "
                   "written yet (`lab info 2.2.3`)");
}

static int validate(const json_t *config)
{
    enum mode m = mode_of(config);
    return m == QUICK ? yolo_quick_validate(config) : m == DATASET ? yolo_dataset_validate(config) : no_full_mode();
}

static int run(struct lab_run *r)
{
    enum mode m = mode_of(r->config);
    return m == QUICK ? yolo_quick_run(r) : m == DATASET ? yolo_dataset_run(r) : no_full_mode();
}

const struct lab_impl lab_yolo_detection = {
    .id = "2.2.3", .validate = validate, .run = run, .create_model = create_model,
    .predict = yolo_predict, .val = yolo_val, .quick_only = 1, .own_data = 1, .fp32_only = 1};
