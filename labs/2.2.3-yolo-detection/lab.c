/* Lab 2.2.3: YOLOv8 detection. This version builds and loads the models
 * (labs/models/yolov8.h) and predicts on the user's images (predict.c);
 * the lab's full and quick runs are not written yet, and say so. */
#include "base/error.h"
#include "labs/2.2.3-yolo-detection/predict.h"
#include "labs/lab.h"
#include "labs/models/yolov8.h"

#include <jansson.h>

#include <string.h>

static int create_model(const char *name, int num_classes, struct model **out)
{
    char scale = yolov8_scale_of(name);
    if (!scale)
        return lab_err(LAB_EUSAGE, "use yolov8n, yolov8s, yolov8m, yolov8l or yolov8x",
                       "lab 2.2.3 has no model '%s'", name ? name : "");
    return yolov8_create(scale, num_classes, out);
}

/* Refused before a run directory is made. */
static int validate(const json_t *config)
{
    (void)config;
    return lab_err(LAB_EUSAGE,
                   "run the pretrained detector on your images: lab predict 2.2.3 --weights yolov8n.pt "
                   "--source IMAGE --out DIR",
                   "lab 2.2.3's full and quick runs (threshold study, benchmark, training) are not in this version");
}

static int run(struct lab_run *r)
{
    (void)r;
    return validate(NULL);
}

const struct lab_impl lab_yolo_detection = {
    .id = "2.2.3", .validate = validate, .run = run, .create_model = create_model, .predict = yolo_predict};
