/* Lab 2.2.3: YOLOv8 detection. The models (labs/models/yolov8.h),
 * predictions on the user's images (predict.c), the full run with the
 * released weights: detection on the sample images, the threshold study
 * and the benchmarks (full.c), and quick training on Fashion-MNIST mosaics
 * (quick.c). */
#include "base/error.h"
#include "labs/2.2.3-yolo-detection/full.h"
#include "labs/2.2.3-yolo-detection/predict.h"
#include "labs/2.2.3-yolo-detection/quick.h"
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

/* --quick trains on mosaics (quick.c); otherwise the released weights' study (full.c). */
static int validate(const json_t *config)
{
    return lab_cfg_bool(config, "quick", 0) ? yolo_quick_validate(config) : yolo_full_validate(config);
}

static int run(struct lab_run *r)
{
    return lab_cfg_bool(r->config, "quick", 0) ? yolo_quick_run(r) : yolo_full_run(r);
}

const struct lab_impl lab_yolo_detection = {
    .id = "2.2.3", .validate = validate, .run = run, .create_model = create_model,
    .predict = yolo_predict, .fp32_only = 1};
