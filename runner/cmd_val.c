/* lab val: a lab's weights evaluated on a labelled dataset (labs/val.h). */
#include "base/error.h"
#include "labs/val.h"
#include "runner/cli.h"

#include <stdio.h>

enum { O_WEIGHTS = 1, O_DATA, O_SPLIT, O_OUT, O_DEVICE, O_IMGSZ, O_BATCH, O_CONF, O_IOU, O_MAX_DET };

const struct lab_opt lab_val_options[] = {
    {O_WEIGHTS, "weights", 0, LAB_OPT_STR, "FILE", "the weights: an Ultralytics .pt, a .safetensors (a run's\nmodels/<m>/model.safetensors) or a state dict", 0, 0, NULL},
    {O_DATA, "data", 0, LAB_OPT_STR, "PATH", "a YOLO-format dataset: its data.yaml or the folder holding it", 0, 0, NULL},
    {O_SPLIT, "split", 0, LAB_OPT_STR, "S", "val (default), train or test", 0, 0, NULL},
    {O_OUT, "out", 0, LAB_OPT_STR, "DIR", "where val.json goes", 0, 0, NULL},
    {O_DEVICE, "device", 0, LAB_OPT_STR, "D", "auto (default), cpu, cuda or cuda:N", 0, 0, NULL},
    {O_IMGSZ, "imgsz", 0, LAB_OPT_INT, "N", "input size, a multiple of 32 (default 640)", 32, 8192, NULL},
    {O_BATCH, "batch", 0, LAB_OPT_INT, "N", "images per forward pass (default 16)", 1, 1024, NULL},
    {O_CONF, "conf", 0, LAB_OPT_NUM, "P", "keep boxes scoring above P (default 0.001, as yolo val)", 0, 1, NULL},
    {O_IOU, "iou", 0, LAB_OPT_NUM, "T", "NMS IoU threshold (default 0.7)", 0, 1, NULL},
    {O_MAX_DET, "max-det", 0, LAB_OPT_INT, "N", "at most N boxes per image (default 300)", 1, 30000, NULL},
    {0},
};

int cmd_val(int argc, char **argv)
{
    struct val_opts o = {.device = "auto", .split = "val", .conf = -1, .iou = -1};
    int c;
    struct lab_opts p;
    lab_opts_init(&p, "val", lab_val_options, argc, argv);
    while ((c = lab_opts_next(&p)) > 0) {
        switch (c) {
        case O_WEIGHTS: o.weights = p.value; break;
        case O_DATA: o.data = p.value; break;
        case O_SPLIT: o.split = p.value; break;
        case O_OUT: o.out = p.value; break;
        case O_DEVICE: o.device = p.value; break;
        case O_IMGSZ: o.imgsz = (int)p.ival; break;
        case O_BATCH: o.batch = (int)p.ival; break;
        case O_CONF: o.conf = p.num; break;
        case O_IOU: o.iou = p.num; break;
        case O_MAX_DET: o.max_det = (int)p.ival; break;
        }
    }
    if (c < 0)
        return c;
    if (p.npos != 1)
        return lab_cli_usage("val", "val takes one lab id, e.g. `lab val 2.2.3 --weights FILE --data DIR/data.yaml --out DIR`");
    if (!o.weights || !o.data || !o.out)
        return lab_cli_usage("val", "--weights, --data and --out are required");
    o.lab = p.pos[0];
    return lab_val(&o, stdout);
}
