#include "labs/train.h"

#include "base/error.h"
#include "base/fsutil.h"
#include "base/progress.h"
#include "datasets/mixup.h"
#include "datasets/pipeline.h"
#include "labs/config.h"
#include "labs/ema.h"
#include "labs/models/nn.h"
#include "labs/models/vit.h"
#include "labs/models/weights.h"
#include "labs/tasks/classify.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int train_config_read(const json_t *config, const struct lab_device_choice *dev, struct train_config *out)
{
    memset(out, 0, sizeof *out);
    out->epochs = (int)lab_cfg_int(config, "train.epochs", 1);
    out->batch_size = (int)lab_cfg_int(config, "train.batch_size", 128);
    out->lr = lab_cfg_num(config, "train.lr", 0.01);
    out->momentum = lab_cfg_num(config, "train.momentum", 0.9);
    out->weight_decay = lab_cfg_num(config, "train.weight_decay", 0);
    out->label_smoothing = lab_cfg_num(config, "train.label_smoothing", 0);
    out->mixup = lab_cfg_num(config, "train.mixup", 0);
    out->grad_clip = lab_cfg_num(config, "train.grad_clip", 0);
    out->warmup_epochs = (int)lab_cfg_int(config, "train.warmup_epochs", 0);
    out->warmup_start_factor = lab_cfg_num(config, "train.warmup_start_factor", 0.01);
    out->threads = (int)lab_cfg_int(config, "data.threads", 2);
    out->seed = (uint64_t)lab_cfg_int(config, "seed", 42);
    snprintf(out->optimizer, sizeof out->optimizer, "%s", lab_cfg_str(config, "train.optimizer", "sgd"));
    snprintf(out->schedule, sizeof out->schedule, "%s", lab_cfg_str(config, "train.schedule", "cosine"));
    out->device = dev->device;
    out->bf16 = dev->bf16;
    out->accumulate = (int)lab_cfg_int(config, "train.accumulate", 1);
    out->groups = lab_cfg_get(config, "train.param_groups");
    out->freeze = lab_cfg_get(config, "train.freeze");
    if (json_is_array(out->groups) && json_array_size(out->groups) == 0)
        out->groups = NULL;
    if (json_is_array(out->freeze) && json_array_size(out->freeze) == 0)
        out->freeze = NULL;
    out->unfreeze_epoch = (int)lab_cfg_int(config, "train.unfreeze_epoch", -1);
    out->ema_decay = lab_cfg_num(config, "train.ema_decay", 0);
    out->distill_temperature = lab_cfg_num(config, "train.distill_temperature", 3.0);
    out->distill_alpha = lab_cfg_num(config, "train.distill_alpha", 0.5);
    if (out->ema_decay < 0 || out->ema_decay >= 1)
        return lab_err(LAB_EUSAGE, "use 0 (off) or a decay below 1, e.g. 0.999", "train.ema_decay is %g",
                       out->ema_decay);
    if (out->accumulate < 1 || out->accumulate > 1024)
        return lab_err(LAB_EUSAGE, "use a whole number from 1 to 1024", "train.accumulate is %d", out->accumulate);
    if ((out->groups && !json_is_array(out->groups)) || (out->freeze && !json_is_array(out->freeze)))
        return lab_err(LAB_EUSAGE, "give a list: train.param_groups [{\"prefix\": ..., \"lr\": ...}], train.freeze [\"prefix\", ...]",
                       "train.param_groups or train.freeze is not a list");
    size_t gi;
    const json_t *g;
    json_array_foreach(out->groups, gi, g)
    {
        if (!json_is_string(json_object_get(g, "prefix")))
            return lab_err(LAB_EUSAGE, "give each group a \"prefix\" of state-dict names", "train.param_groups[%zu] has no prefix", gi);
    }
    json_array_foreach(out->freeze, gi, g)
    {
        if (!json_is_string(g))
            return lab_err(LAB_EUSAGE, "list name prefixes as strings", "train.freeze[%zu] is not a string", gi);
    }
    if (strcmp(out->optimizer, "sgd") && strcmp(out->optimizer, "adamw"))
        return lab_err(LAB_EUSAGE, "use sgd or adamw", "unknown train.optimizer '%s'", out->optimizer);
    if (strcmp(out->schedule, "cosine") && strcmp(out->schedule, "batch_cosine") &&
        strcmp(out->schedule, "warmup_cosine") && strcmp(out->schedule, "onecycle") && strcmp(out->schedule, "none"))
        return lab_err(LAB_EUSAGE, "use cosine, batch_cosine, warmup_cosine, onecycle or none", "unknown train.schedule '%s'",
                       out->schedule);
    return LAB_OK;
}

void eval_result_free(struct eval_result *e)
{
    if (!e)
        return;
    free(e->logits);
    free(e->labels);
    free(e->indices);
    memset(e, 0, sizeof *e);
}

/* Host batch -> tensors on the device; on the CPU the batch memory is used
 * in place (it outlives the step's scope). */
static int upload(const struct ds_batch *b, ts_device device, ts_tensor **x, ts_tensor **y)
{
    int64_t xs[4] = {b->n, b->c, b->h, b->w}, ys[1] = {b->n};
    if (device == TS_CPU) {
        NN_TRY(ts_from_blob(x, b->images, TS_F32, 4, xs));
        NN_TRY(ts_from_blob(y, b->labels, TS_I64, 1, ys));
    } else {
        NN_TRY(ts_from_host(x, b->images, TS_F32, 4, xs, device));
        NN_TRY(ts_from_host(y, b->labels, TS_I64, 1, ys, device));
    }
    return LAB_OK;
}

/* Forward under autocast when asked. */
static int forward_outputs(struct model *m, const ts_tensor *x, int training, const struct train_config *tc,
                           struct model_tensors *out)
{
    int token = 0;
    if (tc->bf16)
        NN_TRY(ts_autocast_push(tc->device, TS_BF16, &token));
    struct model_tensors in = {0};
    int rc = model_tensors_add(&in, "pixel_values", (ts_tensor *)x);
    if (!rc)
        rc = model_run(m, &in, training, out);
    if (tc->bf16)
        ts_autocast_pop(token);
    return rc;
}

/* Output `name` as fp32. */
static int output_fp32(const struct model *m, const struct model_tensors *out, const char *name,
                       const struct train_config *tc, ts_tensor **t)
{
    ts_tensor *raw = model_tensors_get(out, name);
    if (!raw)
        return strcmp(name, "logits")
                   ? lab_err(LAB_EUSAGE, "distil into a model with a distillation head (--model deit)",
                             "%s has no '%s' output", m->name, name)
                   : lab_err(LAB_EINTERNAL, NULL, "%s returned no 'logits'", m->name);
    NN_TRY(ts_to(t, raw, tc->device, TS_F32));
    return LAB_OK;
}

/* Forward under autocast when asked; logits come back as fp32. */
static int forward_fp32(struct model *m, const ts_tensor *x, int training, const struct train_config *tc,
                        ts_tensor **logits)
{
    struct model_tensors out;
    LAB_TRY(forward_outputs(m, x, training, tc, &out));
    return output_fp32(m, &out, "logits", tc, logits);
}

/* DeiT's loss: the CLS head against the labels, the distillation head
 * against the teacher's logits (the teacher in eval mode, no gradient);
 * *logits gets the model's own ("logits", the heads' average). */
static int distill_loss(struct model *m, const ts_tensor *x, const ts_tensor *y, const struct train_config *tc,
                        ts_tensor **logits, ts_tensor **loss)
{
    struct model_tensors out, tout;
    ts_tensor *cls, *dist, *teacher;
    LAB_TRY(forward_outputs(m, x, 1, tc, &out));
    LAB_TRY(output_fp32(m, &out, "logits", tc, logits));
    LAB_TRY(output_fp32(m, &out, "cls_logits", tc, &cls));
    LAB_TRY(output_fp32(m, &out, "dist_logits", tc, &dist));
    int grad = ts_no_grad_push();
    int rc = forward_outputs(tc->teacher, x, 0, tc, &tout);
    if (!rc)
        rc = output_fp32(tc->teacher, &tout, "logits", tc, &teacher);
    ts_grad_mode_pop(grad);
    LAB_TRY(rc);
    return vit_distillation_loss(cls, dist, teacher, y, tc->distill_temperature, tc->distill_alpha, loss);
}

int classifier_evaluate(struct lab_run *r, struct model *m, const struct classify_data *d,
                        const struct train_config *tc, struct eval_result *out)
{
    memset(out, 0, sizeof *out);
    struct ds_pipeline_config pc = {.batch_size = tc->batch_size, .threads = tc->threads, .seed = tc->seed,
                                    .augment = d->eval_aug};
    struct ds_pipeline *p;
    LAB_TRY(ds_pipeline_open(d->eval, &pc, &p));
    int64_t n = (int64_t)d->eval->n, classes = d->eval->num_classes;
    out->logits = malloc((size_t)(n * classes) * sizeof(float));
    out->labels = malloc((size_t)n * sizeof(int64_t));
    out->indices = malloc((size_t)n * sizeof(int64_t));
    out->n = n;
    out->classes = classes;
    int rc = out->logits && out->labels && out->indices ? LAB_OK : lab_err(LAB_EINTERNAL, NULL, "out of memory");
    int grad = ts_no_grad_push();
    double loss_sum = 0;
    int64_t done = 0, correct = 0;
    struct lab_progress prog;
    lab_progress_start(&prog, r->say, LAB_PROGRESS_AUTO, "  eval", (uint64_t)n, "img");
    struct ds_batch *b = NULL;
    while (!rc && (rc = ds_pipeline_next(p, &b)) == LAB_OK && b) {
        ts_scope_begin();
        ts_tensor *x, *y, *logits, *loss, *pred, *hits, *nhit;
        rc = upload(b, tc->device, &x, &y);
        if (!rc)
            rc = forward_fp32(m, x, 0, tc, &logits);
        if (!rc && done + b->n > n)
            rc = lab_err(LAB_EINTERNAL, NULL, "evaluation produced more samples than the split has");
        if (!rc) {
            int trc = ts_cross_entropy(&loss, logits, y, NULL, TS_RED_SUM, -100, 0);
            double l = 0;
            int64_t c = 0;
            if (!trc)
                trc = ts_item_f64(loss, &l);
            if (!trc)
                trc = ts_argmax(&pred, logits, 1, 0);
            if (!trc)
                trc = ts_eq(&hits, pred, y);
            if (!trc)
                trc = ts_sum(&nhit, hits, TS_ALL, 0);
            if (!trc)
                trc = ts_item_i64(nhit, &c);
            if (!trc)
                trc = ts_to_host(logits, TS_F32, out->logits + done * classes,
                                 (size_t)(b->n * classes) * sizeof(float));
            rc = trc ? nn_fail(trc, "evaluation") : LAB_OK;
            loss_sum += l;
            correct += c;
        }
        if (!rc) {
            memcpy(out->labels + done, b->labels, (size_t)b->n * sizeof(int64_t));
            memcpy(out->indices + done, b->indices, (size_t)b->n * sizeof(int64_t));
            done += b->n;
        }
        ts_scope_end();
        ds_batch_free(b);
        lab_progress_update(&prog, (uint64_t)done, NULL);
    }
    ts_grad_mode_pop(grad);
    ds_pipeline_close(p);
    if (!rc && done != n)
        rc = lab_err(LAB_EINTERNAL, NULL, "evaluation saw %lld of %lld samples", (long long)done, (long long)n);
    if (rc) {
        eval_result_free(out);
        return rc;
    }
    out->loss = loss_sum / (double)n;
    out->accuracy = (double)correct / (double)n;
    char extra[64];
    snprintf(extra, sizeof extra, "loss %.4f acc %.2f%%", out->loss, 100 * out->accuracy);
    lab_progress_finish(&prog, extra);
    return LAB_OK;
}

static double lr_at(const struct train_config *tc, int epoch, long step, long steps_per_epoch)
{
    if (strcmp(tc->schedule, "cosine") == 0)
        return ts_lr_cosine(tc->lr, 0, epoch, tc->epochs);
    /* Quick runs last one epoch: a per-epoch cosine would keep the rate at
     * its peak to the last batch, leaving weights that batch norm's running
     * statistics do not describe, so eval accuracy collapses. */
    if (strcmp(tc->schedule, "batch_cosine") == 0)
        return ts_lr_cosine(tc->lr, 0, (long)epoch * steps_per_epoch + step, (long)tc->epochs * steps_per_epoch);
    if (strcmp(tc->schedule, "warmup_cosine") == 0)
        return ts_lr_warmup_cosine(tc->lr, tc->warmup_start_factor, (long)tc->warmup_epochs * steps_per_epoch, 0,
                                   (long)epoch * steps_per_epoch + step, (long)tc->epochs * steps_per_epoch);
    /* torch.optim.lr_scheduler.OneCycleLR's defaults, momentum cycled too. */
    if (strcmp(tc->schedule, "onecycle") == 0)
        return ts_lr_onecycle(tc->lr, (long)tc->epochs * steps_per_epoch, 0.3, 25, 1e4, 0.85, 0.95,
                              (long)epoch * steps_per_epoch + step, NULL);
    return tc->lr;
}

static int has_prefix(const char *name, const char *prefix) { return strncmp(name, prefix, strlen(prefix)) == 0; }

/* Group tags by the first matching train.param_groups prefix (group 0: the
 * rest), and requires_grad off for train.freeze's prefixes. */
static int apply_groups(struct model *m, const struct train_config *tc, int frozen)
{
    for (size_t i = 0; i < ts_params_count(m->params); i++) {
        const char *name;
        ts_tensor *t;
        int kind, group;
        NN_TRY(ts_params_at(m->params, i, &name, &t, &kind, &group));
        if (kind != TS_PARAM)
            continue;
        size_t gi;
        const json_t *g;
        int tag = 0;
        json_array_foreach(tc->groups, gi, g)
        {
            if (!tag && has_prefix(name, json_string_value(json_object_get(g, "prefix"))))
                tag = (int)gi + 1;
        }
        if (tc->groups)
            NN_TRY(ts_params_set_group(m->params, name, tag));
        int freeze = 0;
        json_array_foreach(tc->freeze, gi, g) freeze |= has_prefix(name, json_string_value(g));
        if (tc->freeze)
            NN_TRY(ts_set_requires_grad(t, !(freeze && frozen)));
    }
    return LAB_OK;
}

/* Sets every group's lr for this step: the schedule's multiple of the
 * group's own base lr (schedules with eta_min 0 scale with their base). */
static void set_lrs(ts_optim *opt, const struct train_config *tc, double lr)
{
    ts_optim_set_lr(opt, -1, lr);
    size_t gi;
    const json_t *g;
    json_array_foreach(tc->groups, gi, g)
    {
        const json_t *base = json_object_get(g, "lr");
        if (json_is_number(base) && tc->lr > 0)
            ts_optim_set_lr(opt, (int)gi + 1, lr * json_number_value(base) / tc->lr);
    }
}

static void set_group_decay(ts_optim *opt, const struct train_config *tc)
{
    size_t gi;
    const json_t *g;
    json_array_foreach(tc->groups, gi, g)
    {
        const json_t *wd = json_object_get(g, "weight_decay");
        ts_optim_set_weight_decay(opt, (int)gi + 1, json_is_number(wd) ? json_number_value(wd) : tc->weight_decay);
    }
}

static int make_optimizer(struct model *m, const struct train_config *tc, ts_optim **out)
{
    if (strcmp(tc->optimizer, "adamw") == 0) {
        struct ts_adamw_opts o = {.lr = tc->lr, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8,
                                  .weight_decay = tc->weight_decay};
        NN_TRY(ts_optim_adamw(out, m->params, &o));
    } else {
        struct ts_sgd_opts o = {.lr = tc->lr, .momentum = tc->momentum, .weight_decay = tc->weight_decay};
        NN_TRY(ts_optim_sgd(out, m->params, &o));
    }
    return LAB_OK;
}

int train_optimizer(struct model *m, const struct train_config *tc, ts_optim **out)
{
    LAB_TRY(apply_groups(m, tc, 1));
    LAB_TRY(make_optimizer(m, tc, out));
    set_group_decay(*out, tc);
    return LAB_OK;
}

void train_set_lr(ts_optim *opt, const struct train_config *tc, int epoch, long step, long steps_per_epoch)
{
    double lr = lr_at(tc, epoch, step, steps_per_epoch);
    if (strcmp(tc->schedule, "onecycle") == 0) { /* OneCycleLR cycles momentum (AdamW's beta1) too */
        double momentum;
        ts_lr_onecycle(tc->lr, (long)tc->epochs * steps_per_epoch, 0.3, 25, 1e4, 0.85, 0.95,
                       (long)epoch * steps_per_epoch + step, &momentum);
        ts_optim_set_momentum(opt, -1, momentum);
    }
    if (tc->groups)
        set_lrs(opt, tc, lr);
    else
        ts_optim_set_lr(opt, -1, lr);
}

/* One batch: its gradients, and with `step` the optimizer step (with
 * accumulation the loss is divided by the batches per step, so the summed
 * gradients are those of their mean); adds the batch's summed loss and hits. */
int train_batch(struct model *m, ts_optim *opt, struct ds_batch *b, const struct train_config *tc, int first,
                int step, double *loss_sum, int64_t *correct)
{
    ts_tensor *x, *y, *y_b = NULL, *logits, *loss, *pred, *hits, *nhit, *scaled;
    double lambda = 1;
    if (tc->mixup > 0) {
        int64_t *perm = malloc((size_t)b->n * 2 * sizeof *perm), *labels_b = perm + b->n;
        struct ds_rng r;
        if (!perm)
            return lab_err(LAB_EINTERNAL, NULL, "out of memory");
        ds_mixup_seed(&r, tc->seed, b);
        ds_mixup_draw(&r, b->n, tc->mixup, &lambda, perm);
        int rc = ds_mixup_apply(b, lambda, perm, labels_b);
        int ts_rc = rc ? TS_OK : ts_from_host(&y_b, labels_b, TS_I64, 1, (int64_t[]){b->n}, tc->device);
        free(perm);
        LAB_TRY(rc);
        NN_TRY(ts_rc);
    }
    LAB_TRY(upload(b, tc->device, &x, &y));
    if (tc->teacher) {
        LAB_TRY(distill_loss(m, x, y, tc, &logits, &loss));
    } else {
        LAB_TRY(forward_fp32(m, x, 1, tc, &logits));
        if (y_b)
            LAB_TRY(classify_loss_mixed(logits, y, y_b, lambda, tc->label_smoothing, &loss));
        else
            LAB_TRY(classify_loss(logits, y, tc->label_smoothing, &loss));
    }
    if (first)
        NN_TRY(ts_optim_zero_grad(opt));
    if (tc->accumulate > 1) {
        NN_TRY(ts_mul_scalar(&scaled, loss, 1.0 / tc->accumulate));
        NN_TRY(ts_backward(scaled, NULL));
    } else {
        NN_TRY(ts_backward(loss, NULL));
    }
    if (step && tc->grad_clip > 0)
        NN_TRY(ts_clip_grad_norm(m->params, tc->grad_clip, 2.0, NULL));
    if (step)
        NN_TRY(ts_optim_step(opt));
    double l;
    int64_t c;
    int grad = ts_no_grad_push();
    int rc = ts_item_f64(loss, &l);
    if (!rc)
        rc = ts_argmax(&pred, logits, 1, 0);
    if (!rc) /* under mixup a hit is the label with the larger weight */
        rc = ts_eq(&hits, pred, y_b && lambda < 0.5 ? y_b : y);
    if (!rc)
        rc = ts_sum(&nhit, hits, TS_ALL, 0);
    if (!rc)
        rc = ts_item_i64(nhit, &c);
    ts_grad_mode_pop(grad);
    if (rc)
        return nn_fail(rc, "reading the loss");
    if (!isfinite(l))
        return lab_err(LAB_EFAIL, "lower the learning rate (--lr) or use --precision fp32 (lab explain TS-NAN-LOGITS)",
                       "the training loss became %f", l);
    *loss_sum += l * b->n;
    *correct += c;
    return LAB_OK;
}

static int save_checkpoint(struct model *m, ts_optim *opt, const struct ema *ema, const char *path, int epoch,
                           const json_t *history)
{
    struct ts_host_tensor *state = NULL, *avg = NULL;
    size_t n = 0, n_avg = 0;
    void *blob = NULL;
    if (ts_optim_state_export(opt, &state, &n, &blob) != TS_OK)
        return nn_fail(TS_ETORCH, "exporting the optimizer state");
    int erc = ema ? ema_export(ema, &avg, &n_avg) : LAB_OK;
    struct ts_host_tensor *all = erc ? NULL : malloc((n + n_avg + 1) * sizeof *all);
    if (all) {
        memcpy(all, state, n * sizeof *all);
        if (n_avg)
            memcpy(all + n, avg, n_avg * sizeof *all);
    } else if (!erc) {
        erc = lab_err(LAB_EINTERNAL, NULL, "out of memory");
    }
    char ep[16];
    snprintf(ep, sizeof ep, "%d", epoch);
    char *hist = json_dumps(history, JSON_COMPACT);
    json_t *meta = json_pack("{s:s, s:s}", "epoch", ep, "history", hist ? hist : "[]");
    int rc = erc ? erc : weights_save(m->params, path, meta, all, n + n_avg);
    json_decref(meta);
    free(hist);
    free(all);
    for (size_t i = 0; i < n_avg; i++) {
        free((void *)avg[i].name);
        free((void *)avg[i].data);
    }
    free(avg);
    free(state);
    free(blob);
    return rc;
}

/* Restores weights, optimizer state and history; returns the next epoch. */
static int load_checkpoint(struct model *m, ts_optim *opt, struct ema *ema, const char *path, json_t *epochs,
                           int *next_epoch)
{
    st_file *f;
    LAB_TRY(st_open(path, &f));
    struct ts_host_tensor *items = NULL;
    size_t n = 0;
    int rc = weights_host_view(f, NULL, &items, &n);
    /* Optimizer state and the weights' average are stored under "optim."
     * and "ema." names next to the weights. */
    size_t split = 0;
    struct ts_host_tensor *weights = NULL;
    if (!rc) {
        weights = malloc((n + 1) * sizeof *weights);
        for (size_t i = 0; i < n; i++)
            if (strncmp(items[i].name, "optim.", 6) != 0 && strncmp(items[i].name, "ema.", 4) != 0)
                weights[split++] = items[i];
        struct ts_load_report rep;
        int trc = ts_params_load_host(m->params, weights, split, 1, &rep);
        ts_load_report_free(&rep);
        if (!trc)
            trc = ts_optim_state_import(opt, items, n);
        if (trc)
            rc = lab_err(LAB_EUSAGE, "start a new run instead of --resume", "checkpoint %s does not fit: %s", path,
                         ts_last_error());
        if (!rc && ema)
            rc = ema_import(ema, items, n);
    }
    const char *ep = rc ? NULL : st_metadata_get(f, "epoch");
    const char *hist = rc ? NULL : st_metadata_get(f, "history");
    json_t *h = hist ? json_loads(hist, 0, NULL) : NULL;
    if (!rc && (!ep || !json_is_array(h)))
        rc = lab_err(LAB_EUSAGE, "start a new run instead of --resume", "checkpoint %s lacks its epoch record", path);
    if (!rc) {
        json_array_extend(epochs, h);
        *next_epoch = atoi(ep) + 1;
    }
    json_decref(h);
    free(weights);
    free(items);
    st_close(f);
    return rc;
}

int classifier_train(struct lab_run *r, struct model *m, const struct classify_data *d, const struct train_config *tc,
                     const char *ckpt_path, json_t *metrics, struct eval_result *final)
{
    memset(final, 0, sizeof *final);
    NN_TRY(ts_params_to(m->params, tc->device, -1));
    ts_optim *opt;
    LAB_TRY(train_optimizer(m, tc, &opt));
    struct ema ema_state, *ema = NULL;
    if (tc->ema_decay > 0) {
        int erc = ema_init(&ema_state, m, tc->ema_decay);
        if (erc) {
            ts_optim_free(opt);
            return erc;
        }
        ema = &ema_state;
    }
    struct ds_pipeline_config pc = {.batch_size = tc->batch_size, .threads = tc->threads, .seed = tc->seed,
                                    .shuffle = 1, .drop_last = 0, .augment = d->train_aug};
    struct ds_pipeline *p = NULL;
    json_t *epochs = json_array();
    int start = 0, rc = LAB_OK;
    if (lab_path_exists(ckpt_path)) {
        rc = load_checkpoint(m, opt, ema, ckpt_path, epochs, &start);
        if (!rc)
            lab_say(r, "  resuming %s after epoch %d", m->name, start);
    }
    if (!rc)
        rc = ds_pipeline_open(d->train, &pc, &p);
    if (!rc && tc->mixup > 0) /* the train accuracy printed below is then of mixed images */
        lab_say(r, "  mixup: alpha %g, one lambda ~ Beta(%g, %g) and one permutation per batch", tc->mixup, tc->mixup,
                tc->mixup);
    long steps = p ? (long)ds_pipeline_num_batches(p) : 0;
    double train_time = 0;
    int64_t images = 0;
    for (size_t i = 0; i < json_array_size(epochs); i++) {
        train_time += json_number_value(json_object_get(json_array_get(epochs, i), "seconds"));
        images += json_integer_value(json_object_get(json_array_get(epochs, i), "images"));
    }
    for (int epoch = start; !rc && epoch < tc->epochs; epoch++) {
        /* Reseeding per epoch makes dropout after a resume the same as without one. */
        ts_manual_seed(tc->seed * 1000003u + (uint64_t)epoch);
        if ((rc = ds_pipeline_start_epoch(p, epoch)))
            break;
        char label[64];
        snprintf(label, sizeof label, "  %s epoch %d/%d", m->name, epoch + 1, tc->epochs);
        struct lab_progress prog;
        lab_progress_start(&prog, r->say, LAB_PROGRESS_AUTO, label, (uint64_t)d->train->n, "img");
        double t0 = lab_monotonic_s(), loss_sum = 0;
        int64_t seen = 0, correct = 0;
        struct ds_batch *b = NULL;
        if (tc->freeze && epoch == tc->unfreeze_epoch && (rc = apply_groups(m, tc, 0)))
            break;
        for (long step = 0; !rc && (rc = ds_pipeline_next(p, &b)) == LAB_OK && b; step++) {
            train_set_lr(opt, tc, epoch, step, steps);
            int k = tc->accumulate;
            ts_scope_begin();
            int stepped = step % k == k - 1 || step == steps - 1;
            rc = train_batch(m, opt, b, tc, step % k == 0, stepped, &loss_sum, &correct);
            ts_scope_end();
            if (!rc && ema && stepped)
                rc = ema_update(ema, m);
            seen += b->n;
            ds_batch_free(b);
            char extra[80];
            snprintf(extra, sizeof extra, "loss %.4f acc %.2f%%", loss_sum / (double)seen,
                     100.0 * (double)correct / (double)seen);
            lab_progress_update(&prog, (uint64_t)seen, extra);
            if (lab_interrupted && !rc)
                rc = LAB_EINTERRUPTED;
        }
        if (rc)
            break;
        double secs = lab_monotonic_s() - t0;
        char extra[80];
        snprintf(extra, sizeof extra, "loss %.4f acc %.2f%%", loss_sum / (double)seen, 100.0 * correct / seen);
        lab_progress_finish(&prog, extra);
        train_time += secs;
        images += seen;
        eval_result_free(final);
        /* With an average, it is what is evaluated (and saved at the end). */
        if (ema && (rc = ema_swap(ema, m)))
            break;
        rc = classifier_evaluate(r, m, d, tc, final);
        int src = ema ? ema_swap(ema, m) : LAB_OK;
        if (rc || (rc = src))
            break;
        json_array_append_new(epochs, json_pack("{s:i, s:f, s:f, s:f, s:f, s:f, s:f, s:I}", "epoch", epoch + 1,
                                                "lr", lr_at(tc, epoch, 0, steps), "train_loss",
                                                loss_sum / (double)seen, "train_accuracy",
                                                (double)correct / (double)seen, "test_loss", final->loss,
                                                "test_accuracy", final->accuracy, "seconds", secs, "images",
                                                (json_int_t)seen));
        lab_say(r, "  %s epoch %d/%d: train loss %.4f acc %.2f%%, test loss %.4f acc %.2f%%, %.1f s", m->name,
                epoch + 1, tc->epochs, loss_sum / (double)seen, 100.0 * correct / seen, final->loss,
                100 * final->accuracy, secs);
        rc = save_checkpoint(m, opt, ema, ckpt_path, epoch, epochs);
        /* Tests only: a Ctrl-C after the N-th epoch of the process, at a known point. */
        static int epochs_done;
        const char *stop = getenv("LAB_TEST_INTERRUPT_AFTER_EPOCHS");
        if (!rc && stop && ++epochs_done == atoi(stop))
            raise(SIGINT);
        /* After the last epoch the model is complete: the lab writes its
         * artifacts and stops before the next one. */
        if (!rc && lab_interrupted && epoch + 1 < tc->epochs)
            rc = LAB_EINTERRUPTED;
    }
    if (!rc && ema) /* the model keeps the average: its weights are the ones evaluated */
        rc = ema_swap(ema, m);
    if (!rc && !final->logits) /* resumed after the last epoch: evaluate again */
        rc = classifier_evaluate(r, m, d, tc, final);
    if (!rc) {
        json_object_set_new(metrics, "params", json_integer(model_num_params(m)));
        json_object_set_new(metrics, "test_accuracy", json_real(final->accuracy));
        json_object_set_new(metrics, "test_loss", json_real(final->loss));
        json_object_set_new(metrics, "train_time_s", json_real(train_time));
        json_object_set_new(metrics, "images_per_s", json_real(train_time > 0 ? (double)images / train_time : 0));
        json_object_set(metrics, "epochs", epochs);
        struct classify_metrics cm;
        if (!(rc = classify_metrics_compute(final, &cm)))
            classify_metrics_to_json(&cm, metrics);
        classify_metrics_free(&cm);
    }
    json_decref(epochs);
    ds_pipeline_close(p);
    ts_optim_free(opt);
    ema_free(ema);
    return rc;
}
