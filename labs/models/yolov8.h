/* YOLOv8 n/s/m/l/x as Ultralytics builds it from cfg/models/v8/yolov8.yaml:
 * its state-dict keys ("model.0.conv.weight" ... "model.22.dfl.conv.weight")
 * and shapes (../shared/reference/2.2.3-yolov8*.tsv), BatchNorm eps 1e-3
 * momentum 0.03, SiLU everywhere (also after SPPF's cv1, as the released
 * weights run), the DFL Detect head (reg_max 16, strides 8/16/32). */
#ifndef LAB_YOLOV8_H
#define LAB_YOLOV8_H

#include "labs/models/model.h"

#define YOLOV8_LAYERS 23 /* model.0 .. model.22 (Detect) */
#define YOLOV8_REG_MAX 16

/* scale: 'n', 's', 'm', 'l' or 'x'; num_classes > 0 (COCO: 80). */
int yolov8_create(char scale, int num_classes, struct model **out);
/* A YOLOv8 of other depth and width multiples (max channels 1024, as n/s):
 * the quick mode's narrower detector. Same keys; shapes follow the rule. */
int yolov8_create_scaled(double depth, double width, int num_classes, struct model **out);
/* "yolov8n" .. "yolov8x" -> its scale letter, or 0. */
char yolov8_scale_of(const char *name);
int yolov8_num_classes(const struct model *m);

/* Eval forward of x [B, 3, H, W] (H, W multiples of 32), RGB in [0, 1]:
 * *y [B, 4 + nc, A] as Ultralytics' eval output (rows 0-3 cx, cy, w, h in
 * input pixels, then sigmoid class scores; A = sum of the three grids,
 * level by level, row-major), raw[3] (may be NULL) the maps
 * [B, 64 + nc, H/s, W/s] for s = 8, 16, 32. layers (may be NULL) receives
 * the output of model.0 .. model.21. training: BN batch statistics, and *y
 * is left NULL (only raw is computed, as the train-mode Detect returns). */
int yolov8_forward(struct model *m, const ts_tensor *x, int training, ts_tensor **y, ts_tensor *raw[3],
                   ts_tensor *layers[YOLOV8_LAYERS - 1]);

/* The eval output from the three raw maps: DFL expectation -> ltrb ->
 * cx, cy, w, h times stride; class logits through a sigmoid. */
int yolov8_decode(const struct model *m, ts_tensor *const raw[3], ts_tensor **y);

/* Builds the YOLOv8 a weights file holds (scale from model.0's width,
 * classes from the head) and loads it strictly (labs/models/yolov8_load.c):
 * a safetensors file with Ultralytics' keys, a plain state dict saved with
 * torch.save, or an Ultralytics checkpoint (.pt: zip + pickle of a
 * DetectionModel, read without Python through shim/pth.h's PTH_MODULES;
 * `ema` preferred over `model`). fp16 weights become fp32. */
int yolov8_load(const char *path, struct model **out);
/* Whether SPPF's cv1 is followed by SiLU (1, the released YOLOv8 weights
 * and Ultralytics < 8.4) or by nothing (0: a checkpoint trained with 8.4+,
 * whose pickled tree has an Identity there; yolov8_load reads it). */
int yolov8_set_sppf_act(struct model *m, int silu);

#endif
