/* Lab 2.2.3: YOLOv8 detection. This version builds and loads the models
 * (labs/models/yolov8.h), predicts on the user's images (predict.c) and
 * trains in quick mode on Fashion-MNIST mosaics (quick.c); the full run
 * (the released weights' study and benchmarks) is not written yet. */
#include "base/error.h"
#include "labs/2.2.3-yolo-detection/predict.h"
#include "labs/2.2.3-yolo-detection/quick.h"
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

const struct lab_impl lab_yolo_detection = {
    .id = "2.2.3", .validate = yolo_quick_validate, .run = yolo_quick_run, .create_model = create_model,
    .predict = yolo_predict, .quick_only = 1, .fp32_only = 1};
