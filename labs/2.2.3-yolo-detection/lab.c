/* Lab 2.2.3: YOLOv8 detection. The models (labs/models/yolov8.h),
 * predictions on the user's images (predict.c), any weights evaluated on a
 * YOLO-format dataset (val.c), its boxes for 2.2.6's --detect
 * (detect_hook.c), the full run with the released weights: detection on the
 * sample images, the threshold study and the benchmarks (full.c), quick
 * training on Fashion-MNIST mosaics (quick.c) and training on a student's
 * own YOLO-format dataset (dataset.c). */
#include "base/error.h"
#include "labs/2.2.3-yolo-detection/dataset.h"
#include "labs/2.2.3-yolo-detection/detect_hook.h"
#include "labs/2.2.3-yolo-detection/full.h"
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

/* --quick trains on mosaics (quick.c); data.dataset naming anything but
 * the full mode's sample images is the student's dataset (dataset.c), so
 * that a mistyped path is told it does not exist; otherwise the released
 * weights' study (full.c). */
enum mode { QUICK, DATASET, FULL };
static enum mode mode_of(const json_t *config)
{
    if (lab_cfg_bool(config, "quick", 0))
        return QUICK;
    const char *ds = lab_cfg_str(config, "data.dataset", "");
    return yolo_dataset_is_path(ds) || strcmp(ds, "ultralytics-samples") ? DATASET : FULL;
}

static int validate(const json_t *config)
{
    enum mode m = mode_of(config);
    return m == QUICK ? yolo_quick_validate(config) : m == DATASET ? yolo_dataset_validate(config)
                                                                   : yolo_full_validate(config);
}

static int run(struct lab_run *r)
{
    enum mode m = mode_of(r->config);
    return m == QUICK ? yolo_quick_run(r) : m == DATASET ? yolo_dataset_run(r) : yolo_full_run(r);
}

const struct lab_impl lab_yolo_detection = {
    .id = "2.2.3", .validate = validate, .run = run, .create_model = create_model,
    .predict = yolo_predict, .val = yolo_val, .detect = yolo_detect_hook, .own_data = 1, .fp32_only = 1};
