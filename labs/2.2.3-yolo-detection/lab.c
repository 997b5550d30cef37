/* Lab 2.2.3: YOLOv8 detection. This version builds and loads the models
 * (labs/models/yolov8.h) and predicts on the user's images (predict.c);
 * the lab's full and quick runs are not written yet: no .run, so `lab run`
 * refuses and `lab list` / `lab info` say predict only. */
#include "base/error.h"
#include "labs/2.2.3-yolo-detection/predict.h"
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
    .id = "2.2.3", .create_model = create_model, .predict = yolo_predict};
