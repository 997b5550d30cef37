/* lab predict: a lab's model on the user's own images (labs/predict.c). */
#include "base/error.h"
#include "labs/predict.h"
#include "runner/cli.h"

#include <stdio.h>

enum { O_WEIGHTS = 1, O_SOURCE, O_MODEL, O_OUT, O_DEVICE, O_CONF, O_IOU, O_IMGSZ, O_CLASSES, O_MAX_DET,
       O_POINT, O_BOX, O_MULTIMASK, O_CUTOUT, O_AUTO, O_PPS, O_PRED_IOU, O_STABILITY, O_REFINE, O_GROW, O_SHRINK, O_DETECT };

const struct lab_opt lab_predict_options[] = {
    {O_WEIGHTS, "weights", 0, LAB_OPT_STR, "RUN-DIR|FILE", "a run directory (its config.json gives the architecture)\nor a weights file (the lab's default configuration)", 0, 0, NULL},
    {O_SOURCE, "source", 0, LAB_OPT_STR, "IMAGE|DIR", "a PNG/JPEG image or a folder of them", 0, 0, NULL},
    {O_OUT, "out", 0, LAB_OPT_STR, "DIR", "where predictions.json and outputs.safetensors go", 0, 0, NULL},
    {O_MODEL, "model", 0, LAB_OPT_STR, "NAME", "one of the run's models (or the lab's, with a weights file)", 0, 0, NULL},
    {O_DEVICE, "device", 0, LAB_OPT_STR, "D", "auto (default), cpu, cuda or cuda:N", 0, 0, NULL},
    {O_CONF, "conf", 0, LAB_OPT_NUM, "P", "detection: keep boxes scoring above P (default 0.25;\n2.2.6 --detect: 0.5)", 0, 1, NULL},
    {O_IOU, "iou", 0, LAB_OPT_NUM, "T", "detection: NMS IoU threshold (default 0.7; the course's custom NMS uses 0.45)", 0, 1, NULL},
    {O_IMGSZ, "imgsz", 0, LAB_OPT_INT, "N", "detection: input size, a multiple of 32 (default 640)", 32, 8192, NULL},
    {O_CLASSES, "classes", 0, LAB_OPT_STR, "A,B", "detection: only these classes, by name or id (person,car,bus)", 0, 0, NULL},
    {O_MAX_DET, "max-det", 0, LAB_OPT_INT, "N", "detection: at most N boxes per image (default 300)", 1, 30000, NULL},
    {O_POINT, "point", 0, LAB_OPT_STR, "X,Y[,L]", "2.2.6: a prompt point in image pixels, label 1 (foreground,\nthe default) or 0 (background); repeat for more", 0, 0, NULL},
    {O_BOX, "box", 0, LAB_OPT_STR, "X1,Y1,X2,Y2", "2.2.6: a box prompt in image pixels; repeat for several boxes,\neach prompted on its own (box_I_mask_K.png, overlay.png)", 0, 0, NULL},
    {O_DETECT, "detect", 0, LAB_OPT_STR, "WEIGHTS", "2.2.6: prompt SAM with the boxes of a 2.2.3 YOLOv8 checkpoint\n(.pt or safetensors; --conf 0.5 by default, --iou, --classes)", 0, 0, NULL},
    {O_MULTIMASK, "multimask", 0, LAB_OPT_FLAG, NULL, "2.2.6: three masks with their predicted IoU (default: one)", 0, 0, NULL},
    {O_CUTOUT, "cutout", 0, LAB_OPT_FLAG, NULL, "2.2.6: also write cutout.png, the image with the background\nremoved (RGBA, the best mask as alpha)", 0, 0, NULL},
    {O_AUTO, "auto", 0, LAB_OPT_FLAG, NULL, "2.2.6: generate every mask (points_per_side 32, crop_n_layers 1,\npred_iou_thresh 0.88, stability 0.95, min region 100) into auto.json", 0, 0, NULL},
    {O_PPS, "points-per-side", 0, LAB_OPT_INT, "N", "2.2.6 --auto: the point grid's side (default 32)", 1, 256, NULL},
    {O_PRED_IOU, "pred-iou-thresh", 0, LAB_OPT_NUM, "X", "2.2.6 --auto: keep masks whose predicted IoU exceeds X\n(default 0.88)", 0, 1, NULL},
    {O_REFINE, "refine", 0, LAB_OPT_INT, "N", "2.2.6: refine every mask as the solution's refine_mask does: erase\nregions under N pixels (the course's 500), fill holes, close the edge", 1, 1 << 30, NULL},
    {O_GROW, "grow", 0, LAB_OPT_FLAG, NULL, "2.2.6 --multimask: the largest of the three masks is the current one\n(the solution's MagicWand.grow; it is the cutout's)", 0, 0, NULL},
    {O_SHRINK, "shrink", 0, LAB_OPT_FLAG, NULL, "2.2.6 --multimask: the smallest of the three is the current one", 0, 0, NULL},
    {O_STABILITY, "stability-thresh", 0, LAB_OPT_NUM, "X", "2.2.6 --auto: keep masks whose stability score reaches X\n(default 0.95)", 0, 1, NULL},
    {0},
};

int cmd_predict(int argc, char **argv)
{
    struct predict_opts o = {.device = "auto", .conf = -1, .iou = -1, .pred_iou_thresh = -1, .stability_thresh = -1};
    const char *points[PREDICT_MAX_POINTS], *boxes[PREDICT_MAX_BOXES];
    int c;
    struct lab_opts p;
    lab_opts_init(&p, "predict", lab_predict_options, argc, argv);
    while ((c = lab_opts_next(&p)) > 0) {
        switch (c) {
        case O_WEIGHTS: o.weights = p.value; break;
        case O_SOURCE: o.source = p.value; break;
        case O_MODEL: o.model = p.value; break;
        case O_OUT: o.out = p.value; break;
        case O_DEVICE: o.device = p.value; break;
        case O_CONF: o.conf = p.num; break;
        case O_IOU: o.iou = p.num; break;
        case O_IMGSZ: o.imgsz = (int)p.ival; break;
        case O_CLASSES: o.classes = p.value; break;
        case O_MAX_DET: o.max_det = (int)p.ival; break;
        case O_POINT:
            if (o.n_points == PREDICT_MAX_POINTS)
                return lab_cli_usage("predict", "at most %d --point prompts", PREDICT_MAX_POINTS);
            points[o.n_points++] = p.value;
            break;
        case O_BOX:
            if (o.n_boxes == PREDICT_MAX_BOXES)
                return lab_cli_usage("predict", "at most %d --box prompts", PREDICT_MAX_BOXES);
            boxes[o.n_boxes++] = p.value;
            break;
        case O_DETECT: o.detect = p.value; break;
        case O_MULTIMASK: o.multimask = 1; break;
        case O_CUTOUT: o.cutout = 1; break;
        case O_AUTO: o.auto_masks = 1; break;
        case O_PPS: o.points_per_side = (int)p.ival; break;
        case O_PRED_IOU: o.pred_iou_thresh = p.num; break;
        case O_STABILITY: o.stability_thresh = p.num; break;
        case O_REFINE: o.refine = (long)p.ival; break;
        case O_GROW: o.grow = 1; break;
        case O_SHRINK: o.shrink = 1; break;
        }
    }
    if (c < 0)
        return c;
    if (p.npos != 1)
        return lab_cli_usage("predict", "predict takes one lab id, e.g. `lab predict 2.2.5 --weights RUN --source IMG --out DIR`");
    if (!o.weights || !o.source || !o.out)
        return lab_cli_usage("predict", "--weights, --source and --out are required");
    o.lab = p.pos[0];
    o.points = points;
    o.boxes = boxes;
    return lab_predict(&o, stdout);
}
