/* Lab 2.2.3's YOLOv8 trainer, shared by the quick run (Fashion-MNIST
 * mosaics) and training on a student's own YOLO-format dataset
 * (dataset.c). It follows Ultralytics' trainer where a short run reaches
 * it: the optimizer `auto` picks for fewer than 10,000 iterations (AdamW,
 * lr0 = 0.002 * 5 / (4 + nc), momentum 0.9), a linear warm-up from 0, the
 * linear decay to lrf 0.01 per epoch, gradient clipping at 10, and the EMA
 * whose decay ramps as 0.9999 (1 - exp(-updates / tau)). Each image is
 * letterboxed to the square input (a mosaic already is one: unchanged) and
 * gray images repeat into three channels; there is no augmentation. */
#ifndef LAB_YOLO_TRAINER_H
#define LAB_YOLO_TRAINER_H

#include "datasets/dataset.h"
#include "labs/ema.h"
#include "labs/models/model.h"
#include "labs/run.h"
#include "labs/tasks/detect.h"

#include <jansson.h>
#include <stdint.h>

struct yolo_train_cfg {
    const char *model;
    double depth, width; /* 0: the named scale's */
    int size, classes, epochs, batch, warmup, max_det;
    int64_t train_n, eval_n, max_batches; /* max_batches 0: all (CI shortens with it) */
    double lr, momentum, wd, lrf, ema_tau, conf, iou;
    uint64_t seed;
};

/* models/NAME/model.safetensors (m's weights, metadata naming the lab,
 * the model and, when not NULL, the weights it started from) and
 * models/NAME/predictions.safetensors in the run directory. */
int yolo_write_outputs(struct lab_run *r, struct model *m, const char *name, const char *source,
                       const struct detect_predictions *p);

/* The run's settings; `classes` is the dataset's class count (it sets the
 * default lr0, as Ultralytics' `auto` does). */
void yolo_train_cfg_of(const json_t *config, int classes, struct yolo_train_cfg *s);
/* LAB_EUSAGE naming the setting when the model, sizes or thresholds are
 * out of range. */
int yolo_train_cfg_check(const struct yolo_train_cfg *s);
/* The YOLOv8 of s->model, or of the multiples when both are set. */
int yolo_train_create(const struct yolo_train_cfg *s, struct model **m);
/* Trains m (and its average e) on tr; adds epochs, train_time_s,
 * train_batches and images_per_s to mm. */
int yolo_train(struct lab_run *r, struct model *m, struct ema *e, const struct ds_dataset *tr,
               const struct yolo_train_cfg *s, json_t *mm);

/* Samples order[0..n) of d letterboxed to x [n,3,S,S] (RGB / 255, gray
 * repeated, pad 114), and their boxes moved with the image into boxes
 * [n, DS_MAX_OBJECTS, 4] (pixels of the input), labels and mask (0 for the
 * unused slots). */
int yolo_load_batch(const struct ds_dataset *d, int size, const size_t *order, size_t n, float *x, int64_t *labels,
                    float *boxes, uint8_t *mask);

/* What the run evaluates on, for its metrics and messages. */
struct yolo_eval_spec {
    const char *dataset;          /* metrics.json "dataset" */
    const char *eval_set;         /* the predictions' eval_set */
    const char *const *names;     /* s->classes class names */
    const char *what, *unit;      /* "held-out test", "mosaics" */
};

/* The run after the model is built: trains m on tr (its EMA from m's
 * weights), then evaluates and saves the average on ev as Ultralytics'
 * val does, and writes metrics.json (map50, map50_95 Ultralytics', both
 * evaluators' figures), models/<model>/model.safetensors and
 * predictions.safetensors. */
int yolo_train_and_evaluate(struct lab_run *r, struct model *m, const struct ds_dataset *tr,
                            const struct ds_dataset *ev, const struct yolo_train_cfg *s,
                            const struct yolo_eval_spec *spec);

#endif
