#include "labs/2.2.3-yolo-detection/detect_hook.h"

#include "base/error.h"
#include "datasets/image.h"
#include "labs/2.2.3-yolo-detection/infer.h"
#include "labs/2.2.3-yolo-detection/predict.h"
#include "labs/device.h"
#include "labs/models/nn.h"
#include "labs/models/yolov8.h"

#include <stdio.h>
#include <stdlib.h>

int yolo_detect_hook(const struct lab_detect_opts *o, const struct ds_image *im, struct lab_detection **out, int *n)
{
    *out = NULL;
    *n = 0;
    struct yolo_nms_opts nms = {.conf = o->conf, .iou = o->iou, .max_det = o->max_det > 0 ? o->max_det : 300};
    int imgsz = o->imgsz > 0 ? o->imgsz : 640;
    if (imgsz % 32)
        return lab_err(LAB_EUSAGE, "use --imgsz 320, 640 or 1280 (a multiple of 32)", "--imgsz %d", imgsz);
    struct model *m = NULL;
    struct lab_device_choice dev;
    int *keep = NULL, nkeep = 0, nd = 0;
    struct yolo_det *dets = malloc(sizeof *dets * (size_t)nms.max_det);
    struct lab_detection *res = NULL;
    int rc = dets ? LAB_OK : lab_err(LAB_EINTERNAL, NULL, "out of memory");
    if (!rc)
        rc = yolov8_load(o->weights, &m);
    const char *const *names = !rc && yolov8_num_classes(m) == 80 ? yolo_coco_names : NULL;
    if (!rc)
        rc = yolo_parse_classes(o->classes, names, yolov8_num_classes(m), &keep, &nkeep);
    if (!rc)
        rc = lab_choose_device(o->device ? o->device : "auto", "fp32", &dev);
    if (!rc && ts_params_to(m->params, dev.device, -1) != TS_OK)
        rc = nn_fail(TS_ETORCH, "moving the detector's weights");
    if (!rc) {
        int grad = ts_no_grad_push();
        rc = yolo_detect_pixels(m, dev.device, im, imgsz, &nms, dets, &nd);
        ts_grad_mode_pop(grad);
    }
    if (!rc && nd && !(res = calloc((size_t)nd, sizeof *res)))
        rc = lab_err(LAB_EINTERNAL, NULL, "out of memory");
    for (int i = 0; !rc && i < nd; i++) {
        int wanted = !nkeep;
        for (int k = 0; k < nkeep; k++)
            wanted |= keep[k] == dets[i].cls;
        if (!wanted)
            continue;
        struct lab_detection *d = &res[(*n)++];
        *d = (struct lab_detection){dets[i].x1, dets[i].y1, dets[i].x2, dets[i].y2, dets[i].conf, dets[i].cls, ""};
        if (names)
            snprintf(d->name, sizeof d->name, "%s", names[dets[i].cls]);
        else
            snprintf(d->name, sizeof d->name, "class%d", dets[i].cls);
    }
    if (rc) {
        free(res);
        *n = 0;
    } else {
        *out = res;
    }
    free(keep);
    free(dets);
    model_free(m);
    return rc;
}
