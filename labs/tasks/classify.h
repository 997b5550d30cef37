/* The classify task (labs 2.2.1, 2.2.2, 2.2.5): what every image classifier
 * lab shares beyond the training loop (labs/train.h): its loss, its metrics
 * (top-1, top-5, per-class accuracy, confusion matrix), its predictions
 * format (docs/submission-format.md, "classify"), the preprocessed inputs
 * the grader's norm.inputs check reads, and its plots. The grader's checks
 * for this task are in grader/checks_classify.c. */
#ifndef LAB_TASKS_CLASSIFY_H
#define LAB_TASKS_CLASSIFY_H

#include "datasets/dataset.h"
#include "datasets/augment.h"
#include "labs/run.h"
#include "labs/train.h"
#include "shim/torchshim.h"

#include <jansson.h>
#include <stdint.h>

/* The predictions.safetensors format name, in its metadata. */
#define CLASSIFY_PREDICTIONS_FORMAT "lab-predictions-v1"

/* Cross-entropy over logits [B, K] and labels [B], mean over the batch, with
 * label smoothing as torch.nn.CrossEntropyLoss(label_smoothing=s). */
int classify_loss(const ts_tensor *logits, const ts_tensor *labels, double smoothing, ts_tensor **loss);
/* The mixup loss, the solution's mixup_criterion:
 * lambda * loss(labels_a) + (1 - lambda) * loss(labels_b). */
int classify_loss_mixed(const ts_tensor *logits, const ts_tensor *labels_a, const ts_tensor *labels_b, double lambda,
                        double smoothing, ts_tensor **loss);

/* Metrics of one evaluation, computed on the host from its logits. */
struct classify_metrics {
    int64_t n, k;
    double top1, top5;     /* top-5 is top-k with k = min(5, classes) */
    double *per_class;     /* [k] accuracy per true class (0 for a class with no sample) */
    int64_t *confusion;    /* [k * k], row = true class, column = predicted */
};
int classify_metrics_compute(const struct eval_result *e, struct classify_metrics *out);
void classify_metrics_free(struct classify_metrics *m);
/* Adds top5_accuracy, per_class_accuracy and confusion to a model's metrics object. */
void classify_metrics_to_json(const struct classify_metrics *m, json_t *model_metrics);

/* models/<m>/predictions.safetensors: logits f32 [N, K], labels i64 [N],
 * indices i64 [N] (positions in the eval split). */
int classify_save_predictions(const char *path, const struct eval_result *e);
/* inputs.safetensors: one eval batch as the model saw it (pixel_values
 * f32 [B, C, H, W]). */
int classify_save_inputs(struct lab_run *r, const struct ds_dataset *eval, const struct ds_augment *eval_aug);

/* plots/<name>-{loss,accuracy,confusion,samples}.png from the model's
 * metrics (its "epochs" array) and its last evaluation. */
int classify_plots(struct lab_run *r, const char *name, const json_t *model_metrics, const struct ds_dataset *eval,
                   const char *const *class_names, const struct eval_result *e);

/* comparison.md and plots/comparison.png over the models of a run, with the
 * course's target of this mode per model (thresholds: {model: accuracy}). */
int classify_write_comparison(struct lab_run *r, const json_t *models, const json_t *thresholds);

#endif
