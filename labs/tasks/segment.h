/* The segment task (lab 2.2.4): its losses and its metrics. Pixels labelled
 * `ignore` (255: VOC's object borders and difficult regions) count nowhere:
 * not in the cross-entropy, not in the Dice sums, not in the confusion
 * matrix. The course's notebook remaps them to background, which
 * --set data.border=background reproduces upstream of these functions. */
#ifndef LAB_TASKS_SEGMENT_H
#define LAB_TASKS_SEGMENT_H

#include "shim/torchshim.h"

#include <jansson.h>
#include <stdint.h>

enum segment_loss_kind {
    SEGMENT_LOSS_CE_DICE = 0, /* the course's: ce_weight * CE + dice_weight * Dice */
    SEGMENT_LOSS_CE,
    SEGMENT_LOSS_DICE,
    SEGMENT_LOSS_FOCAL, /* mean over kept pixels of (1 - p_t)^gamma * -log p_t */
};
struct segment_loss_cfg {
    int kind;
    double ce_weight, dice_weight, dice_smooth, focal_gamma;
    int64_t ignore;
};
/* The course's defaults: CE+Dice 0.5/0.5, smooth 1.0, gamma 2, ignore 255. */
void segment_loss_cfg_course(struct segment_loss_cfg *c);
/* "ce_dice" | "ce" | "dice" | "focal" (train.loss); LAB_EUSAGE otherwise. */
int segment_loss_kind_parse(const char *name, int *kind);

/* logits f32 [B, K, H, W], target i64 [B, H, W] with values in 0..K-1 or
 * cfg->ignore -> a 0-d loss with a graph back to the logits. Dice is
 * softmax-based, summed over batch, height and width per class, averaged
 * over all K classes (absent ones included, as the course's). */
int segment_loss(const ts_tensor *logits, const ts_tensor *target, const struct segment_loss_cfg *cfg,
                 ts_tensor **loss);

/* A confusion matrix over a whole split, row = ground truth, column =
 * prediction; ignored ground-truth pixels are skipped. */
struct segment_confusion {
    int64_t k;
    int64_t *counts; /* [k * k] */
    int64_t ignored; /* ground-truth pixels skipped */
};
int segment_confusion_init(struct segment_confusion *c, int64_t k);
void segment_confusion_free(struct segment_confusion *c);
/* n pixels of predicted class ids and ground truth (u8). A prediction or a
 * ground truth outside 0..k-1 (ignore aside) is an error naming the value. */
int segment_confusion_add(struct segment_confusion *c, const uint8_t *pred, const uint8_t *truth, size_t n,
                          int ignore);

struct segment_metrics {
    int64_t k;
    double *iou;  /* [k]; NaN for a class in neither prediction nor ground truth */
    double *dice; /* [k]; NaN likewise */
    double miou;  /* mean over the non-NaN classes (the course's "present"); 0 if none */
    double mdice;
    double pixel_accuracy; /* over kept pixels */
    int64_t present;
};
int segment_metrics_compute(const struct segment_confusion *c, struct segment_metrics *out);
void segment_metrics_free(struct segment_metrics *m);
/* miou, mean_dice, pixel_accuracy, per_class_iou (null for NaN) into obj. */
void segment_metrics_to_json(const struct segment_metrics *m, json_t *obj);

/* The predicted class of each pixel: argmax over dim 1 of logits
 * [B, K, H, W] (any float dtype, any device), written to dst as u8
 * [B, H, W]; cap is dst's size in bytes. K must be <= 255. */
int segment_argmax_masks(const ts_tensor *logits, uint8_t *dst, size_t cap);

/* Marks object borders as `ignore`, one pixel wide, as VOC's annotations
 * do: a pixel becomes `ignore` when one of its 8 neighbours has a larger
 * class id than its own, so the ring lies on the background side of an
 * object and on the lower-id side where two objects touch. mask [h, w]. */
int segment_mark_borders(uint8_t *mask, int h, int w, uint8_t ignore);
/* The course's behaviour (data.border=background): `ignore` becomes 0. */
void segment_borders_to_background(uint8_t *mask, size_t n, uint8_t ignore);

/* The predictions format name (labs/tasks/task.c, "segment"). */
#define SEGMENT_PREDICTIONS_FORMAT "lab-masks-v1"
/* models/<m>/predictions.safetensors: masks u8 [n, h, w] (the predicted
 * class of each pixel at the evaluation resolution) and indices i64 [n]
 * (each image's position in the eval split); eval_set, when not NULL, names
 * that split in the metadata ("voc2012/val", "fashion-mnist-mosaic/test"). */
int segment_save_predictions(const char *path, const uint8_t *masks, const int64_t *indices, int64_t n, int64_t h,
                             int64_t w, const char *eval_set);

#endif
