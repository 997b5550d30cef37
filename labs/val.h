/* `lab val`: a lab's model, from any weights, evaluated on a labelled
 * dataset the user names, as Ultralytics' `yolo val` does: the figures
 * printed per class and written to out/val.json. Only labs with an
 * evaluator of their own (lab_impl.val: 2.2.3's detections) have one. */
#ifndef LAB_VAL_H
#define LAB_VAL_H

#include <stdio.h>

struct val_opts {
    const char *lab;      /* "2.2.3" */
    const char *weights;  /* a weights file (.pt, .safetensors) */
    const char *data;     /* data.yaml or the folder holding it */
    const char *split;    /* "val" (default), "train", "test" */
    const char *out;      /* where val.json goes */
    const char *device;   /* "auto", "cpu", "cuda:N" */
    /* 0 / negative: Ultralytics' val defaults (640, 16, 0.001, 0.7, 300) */
    int imgsz, batch, max_det;
    double conf, iou;
};

int lab_val(const struct val_opts *o, FILE *say);

#endif
