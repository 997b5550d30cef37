/* Training and evaluating image classifiers: the loop labs 2.2.1, 2.2.2
 * and 2.2.5 share. Data comes from the datasets pipeline as host batches;
 * the forward pass runs under bf16 autocast when the run asked for it, the
 * loss and metrics in fp32. A checkpoint is written at the end of every
 * epoch so an interrupted run resumes from its last complete epoch with the
 * same results as a run that never stopped. */
#ifndef LAB_TRAIN_H
#define LAB_TRAIN_H

#include "datasets/augment.h"
#include "datasets/dataset.h"
#include "datasets/pipeline.h"
#include "labs/models/model.h"
#include "labs/run.h"

#include <jansson.h>
#include <stdint.h>

struct train_config {
    int epochs, batch_size, threads;
    char optimizer[8]; /* sgd | adamw */
    double lr, momentum, weight_decay, label_smoothing, grad_clip;
    double mixup; /* train.mixup: Beta(alpha, alpha) of datasets/mixup.h; 0 off */
    char schedule[16]; /* cosine (per epoch) | batch_cosine, warmup_cosine, onecycle (per batch) | none */
    int warmup_epochs;
    double warmup_start_factor;
    uint64_t seed;
    ts_device device;
    int bf16;
    int accumulate; /* batches per optimizer step (gradient accumulation), >= 1 */
    const json_t *groups; /* train.param_groups: [{"prefix", "lr", "weight_decay"}], borrowed; NULL: one group */
    const json_t *freeze; /* train.freeze: state-dict name prefixes not trained, borrowed */
    int unfreeze_epoch;   /* train.unfreeze_epoch: from this epoch (0-based) on the frozen train too; -1 never */
    double ema_decay;     /* train.ema_decay: > 0 keeps an average of the weights (labs/ema.h), evaluated and saved */
    /* Distillation (DeiT): with a teacher, the loss is vit_distillation_loss
     * of the model's "cls_logits" and "dist_logits" against the teacher's
     * logits (train.distill_temperature, train.distill_alpha). The teacher is
     * the lab's to load and free (labs/teacher.h); NULL: none. */
    struct model *teacher;
    double distill_temperature, distill_alpha;
};
/* Reads the "train" group and "seed" of a resolved configuration. */
int train_config_read(const json_t *config, const struct lab_device_choice *dev, struct train_config *out);

struct eval_result {
    int64_t n, classes;
    float *logits;    /* [n, classes] */
    int64_t *labels;  /* [n] */
    int64_t *indices; /* [n] positions in the eval split */
    double loss, accuracy;
};
void eval_result_free(struct eval_result *e);

struct classify_data {
    const struct ds_dataset *train, *eval;
    struct ds_augment train_aug, eval_aug;
};

/* The recipe's optimizer over m's parameters: groups by prefix with their
 * lr and weight decay, frozen prefixes without gradients. */
int train_optimizer(struct model *m, const struct train_config *tc, ts_optim **out);
/* Sets every group's learning rate for batch `step` of `epoch`. */
void train_set_lr(ts_optim *opt, const struct train_config *tc, int epoch, long step, long steps_per_epoch);
/* One training batch inside the caller's ts scope: zero the gradients when
 * `first`, backward (the loss over tc->accumulate with accumulation), and
 * with `step` clip and step. Adds the batch's summed loss and hits. With
 * tc->mixup the batch's images are mixed in place first. */
int train_batch(struct model *m, ts_optim *opt, struct ds_batch *b, const struct train_config *tc, int first,
                int step, double *loss_sum, int64_t *correct);

/* Evaluates in eval mode without gradients, in dataset order. */
int classifier_evaluate(struct lab_run *r, struct model *m, const struct classify_data *d,
                        const struct train_config *tc, struct eval_result *out);

/* Trains m, evaluating after every epoch, and fills `metrics` (an object:
 * params, epochs[], test_accuracy, test_loss, train_time_s, images_per_s).
 * `ckpt_path` is the checkpoint file; when it exists training resumes from
 * it. *final receives the last evaluation. */
int classifier_train(struct lab_run *r, struct model *m, const struct classify_data *d, const struct train_config *tc,
                     const char *ckpt_path, json_t *metrics, struct eval_result *final);

#endif
