#include "labs/2.2.6-segment-anything/detect.h"

#include "base/error.h"
#include "base/log.h"
#include "labs/2.2.6-segment-anything/boxes.h"
#include "labs/lab.h"

#include <jansson.h>
#include <stdlib.h>

int sam_detect_and_segment(const struct predict_opts *o, struct sam_predictor *p, const struct ds_image *im,
                           FILE *say)
{
    const struct lab_impl *yolo = lab_impl_find("2.2.3");
    if (!yolo || !yolo->detect)
        return lab_err(LAB_EINTERNAL, NULL, "lab 2.2.3 has no detector in this build");
    struct lab_detect_opts d = {.weights = o->detect, .device = o->device, .conf = o->conf >= 0 ? o->conf : 0.5,
                                .iou = o->iou >= 0 ? o->iou : 0.7, .imgsz = o->imgsz, .max_det = o->max_det,
                                .classes = o->classes};
    struct lab_detection *dets = NULL;
    int n = 0;
    int rc = yolo->detect(&d, im, &dets, &n);
    if (rc)
        return lab_err_context(rc, "the detector %s", o->detect);
    double(*boxes)[4] = n ? malloc(sizeof *boxes * (size_t)n) : NULL;
    if (n && !boxes)
        rc = lab_err(LAB_EINTERNAL, NULL, "out of memory");
    for (int i = 0; !rc && i < n; i++) {
        boxes[i][0] = dets[i].x1;
        boxes[i][1] = dets[i].y1;
        boxes[i][2] = dets[i].x2;
        boxes[i][3] = dets[i].y2;
    }
    json_t *detector = json_pack("{s:s, s:f, s:f, s:i, s:i, s:o}", "weights", o->detect, "conf", d.conf, "iou", d.iou,
                                 "imgsz", o->imgsz > 0 ? o->imgsz : 640, "max_det", o->max_det > 0 ? o->max_det : 300,
                                 "classes", o->classes ? json_string(o->classes) : json_null());
    if (!rc && n) {
        rc = sam_predictor_set_image(p, im);
        if (!rc && say)
            fprintf(say, "image %dx%d, embedding %s\n", im->w, im->h, p->from_cache ? "from the cache" : "computed");
    }
    struct sam_boxes b = {.n = n, .box = (const double(*)[4])boxes, .det = dets, .detector = detector};
    if (!rc)
        rc = sam_predict_boxes(o, p, im, &b);
    if (!rc && !n)
        lab_warn("no detections at conf %g%s%s: %s/predictions.json lists none (a lower --conf finds more; "
                 "lab explain TS-YOLO-NO-DETECTIONS)", d.conf, o->classes ? " among --classes " : "",
                 o->classes ? o->classes : "", o->out);
    else if (!rc && say)
        fprintf(say, "Detected and segmented %d object%s: wrote %s/predictions.json, %s/overlay.png, "
                "det_I_mask_K.png and outputs.safetensors\n", n, n == 1 ? "" : "s", o->out, o->out);
    json_decref(detector);
    free(boxes);
    free(dets);
    return rc;
}
