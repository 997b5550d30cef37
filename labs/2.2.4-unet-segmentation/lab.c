/* Lab 2.2.4: a bilinear U-Net trained with the course's CE + Dice loss on
 * the segment task. Full mode segments Pascal VOC 2012 (train list for
 * training, val list for evaluation, resized to data.canvas square as the
 * course does, 255 kept as the ignore label). Quick mode segments
 * Fashion-MNIST mosaics (background + 10 classes, one-pixel 255 borders as
 * VOC's) with a narrow U-Net, since the course's width does not train in
 * minutes on a CPU. Batches are built here rather than through
 * labs/train.h, whose loop is classifier-only. */
#include "base/error.h"
#include "datasets/augment.h"
#include "datasets/loaders.h"
#include "datasets/mosaic.h"
#include "labs/2.2.4-unet-segmentation/seg_models.h"
#include "labs/2.2.4-unet-segmentation/seg_plots.h"
#include "labs/config.h"
#include "labs/lab.h"
#include "labs/models/nn.h"
#include "labs/models/weights.h"
#include "labs/run.h"
#include "labs/tasks/segment.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define IGNORE_ID 255

struct seg_cfg {
    int size, width, classes, epochs, batch, channels;
    int full;               /* data.dataset voc2012 */
    int64_t train_n, eval_n; /* mosaics to render; for VOC the first N of a list, 0 all of it */
    int64_t max_batches;    /* train.max_batches: > 0 caps each epoch (tests, smoke runs) */
    int joint;              /* data.augment "joint": ds_aug_joint on training samples */
    double scale_max;       /* data.augment_scale: its largest zoom */
    double lr, wd, mean[3], std[3], ce_w, dice_w, smooth, gamma;
    int loss_kind;  /* train.loss, segment_loss_kind_parse's */
    int border_bg;  /* data.border "background": the notebook's remap of 255 to 0, training masks only */
    int cosine; /* train.schedule "cosine": per epoch, as torch's CosineAnnealingLR(T_max = epochs) */
    int bf16;   /* the run's precision: forward passes under bf16 autocast */
    uint64_t seed;
};

static void cfg_of(const json_t *c, struct seg_cfg *s)
{
    s->size = (int)lab_cfg_int(c, "data.canvas", 48);
    s->width = (int)lab_cfg_int(c, "model.base_width", 64);
    s->classes = (int)lab_cfg_int(c, "data.num_classes", 11);
    s->epochs = (int)lab_cfg_int(c, "train.epochs", 1);
    s->batch = (int)lab_cfg_int(c, "train.batch_size", 8);
    s->full = strcmp(lab_cfg_str(c, "data.dataset", ""), "voc2012") == 0;
    s->train_n = lab_cfg_int(c, "data.train_subset", s->full ? 0 : 2000);
    s->eval_n = lab_cfg_int(c, "data.eval_subset", s->full ? 0 : 200);
    s->max_batches = lab_cfg_int(c, "train.max_batches", 0);
    s->joint = strcmp(lab_cfg_str(c, "data.augment", "none"), "joint") == 0;
    s->scale_max = lab_cfg_num(c, "data.augment_scale", 1.5);
    s->lr = lab_cfg_num(c, "train.lr", 1e-3);
    s->wd = lab_cfg_num(c, "train.weight_decay", 1e-4);
    s->seed = (uint64_t)lab_cfg_int(c, "seed", 42);
    s->ce_w = lab_cfg_num(c, "loss.ce_weight", 0.5);
    s->dice_w = lab_cfg_num(c, "loss.dice_weight", 0.5);
    s->smooth = lab_cfg_num(c, "loss.dice_smooth", 1.0);
    s->gamma = lab_cfg_num(c, "loss.focal_gamma", 2.0);
    s->border_bg = strcmp(lab_cfg_str(c, "data.border", "ignore"), "background") == 0;
    s->loss_kind = SEGMENT_LOSS_CE_DICE;
    segment_loss_kind_parse(lab_cfg_str(c, "train.loss", "ce_dice"), &s->loss_kind);
    s->cosine = strcmp(lab_cfg_str(c, "train.schedule", "cosine"), "cosine") == 0;
    const json_t *in = json_array_get(lab_cfg_get(c, "data.input_size"), 0);
    s->channels = in ? (int)json_integer_value(in) : s->full ? 3 : 1;
    /* one value per channel; a single value serves every channel */
    const json_t *ms = lab_cfg_get(c, "data.normalize.mean"), *ds = lab_cfg_get(c, "data.normalize.std");
    for (size_t ch = 0; ch < 3; ch++) {
        const json_t *m = json_array_get(ms, ch < json_array_size(ms) ? ch : 0);
        const json_t *d = json_array_get(ds, ch < json_array_size(ds) ? ch : 0);
        s->mean[ch] = m ? json_number_value(m) : 0.0;
        s->std[ch] = d && json_number_value(d) > 0 ? json_number_value(d) : 1.0;
    }
}

static int validate(const json_t *config)
{
    const char *name = lab_cfg_str(config, "model.name", "unet");
    LAB_TRY(seg_model_check(name));
    const char *ds = lab_cfg_str(config, "data.dataset", "");
    if (strcmp(ds, "fashion-mnist-mosaic") != 0 && strcmp(ds, "voc2012") != 0)
        return lab_err(LAB_EUSAGE, "data.dataset: voc2012 (the full mode) or fashion-mnist-mosaic (--quick)",
                       "lab 2.2.4 cannot train on '%s'", ds);
    const char *aug = lab_cfg_str(config, "data.augment", "none");
    if (strcmp(aug, "none") != 0 && strcmp(aug, "joint") != 0)
        return lab_err(LAB_EUSAGE,
                       "data.augment: none (the course's) or joint (one flip, zoom and crop per sample, applied "
                       "to the image and its mask alike)",
                       "unknown data.augment '%s'", aug);
    const char *border = lab_cfg_str(config, "data.border", "ignore");
    if (strcmp(border, "ignore") != 0 && strcmp(border, "background") != 0)
        return lab_err(LAB_EUSAGE,
                       "data.border: ignore (255 left out of the loss) or background (the notebook's remap to 0)",
                       "unknown data.border '%s'", border);
    int kind;
    LAB_TRY(segment_loss_kind_parse(lab_cfg_str(config, "train.loss", "ce_dice"), &kind));
    struct seg_cfg s;
    cfg_of(config, &s);
    if (s.width < 1 || s.width > 256)
        return lab_err(LAB_EUSAGE, "set model.base_width between 1 and 256 (the course's is 64)",
                       "model.base_width %d is out of range", s.width);
    if (s.size < 16 || s.size > 512)
        return lab_err(LAB_EUSAGE, "set data.canvas between 16 and 512", "data.canvas %d is out of range", s.size);
    if (s.channels != (s.full ? 3 : 1))
        return lab_err(LAB_EUSAGE, s.full ? "set data.input_size to [3, S, S]: VOC images are RGB"
                                          : "set data.input_size to [1, S, S]: the mosaics are gray",
                       "data.input_size has %d channel(s)", s.channels);
    if (!(s.scale_max >= 1.0 && s.scale_max <= 4.0))
        return lab_err(LAB_EUSAGE, "set data.augment_scale between 1 and 4 (the largest zoom; 1.5 by default)",
                       "data.augment_scale %g is out of range", s.scale_max);
    if (s.size % seg_model_size_multiple(name))
        return lab_err(LAB_EUSAGE, "set data.canvas to a multiple of 16 (48 in quick mode, 256 in the course)",
                       "%s's decoder does not pad, so data.canvas %d must be a multiple of 16", name, s.size);
    const char *sched = lab_cfg_str(config, "train.schedule", "cosine"), *opt = lab_cfg_str(config, "train.optimizer", "adamw");
    if (strcmp(sched, "cosine") != 0 && strcmp(sched, "none") != 0)
        return lab_err(LAB_EUSAGE, "train.schedule: cosine or none", "unknown schedule '%s'", sched);
    if (strcmp(opt, "adamw") != 0)
        return lab_err(LAB_EUSAGE, "train.optimizer: adamw", "lab 2.2.4 trains with AdamW, not '%s'", opt);
    int64_t least = s.full ? 0 : 1; /* VOC: 0 takes the whole list */
    if (s.batch < 1 || s.epochs < 0 || s.train_n < least || s.eval_n < least || s.max_batches < 0)
        return lab_err(LAB_EUSAGE,
                       s.full ? "use train.batch_size >= 1, train.epochs >= 0, train.max_batches >= 0 and subsets >= 0 "
                                "(0: the whole list)"
                              : "use train.batch_size >= 1, train.epochs >= 0, train.max_batches >= 0 and subsets >= 1",
                       "the training sizes are out of range");
    return LAB_OK;
}

/* The course's models at the course's sizes (3 channels, width 64). */
static int create_model(const char *name, int num_classes, struct model **out)
{
    return seg_model_create(name, 3, num_classes, 64, out);
}

/* A configuration's model: its input channels, base width and classes come
 * from the configuration, since a segmenter's classes (background included)
 * are the data's, not the caller's classifier count. */
static int create_model_cfg(const json_t *config, const char *name, int num_classes, struct model **out)
{
    const json_t *in = json_array_get(lab_cfg_get(config, "data.input_size"), 0);
    int k = (int)lab_cfg_int(config, "data.num_classes", num_classes);
    return seg_model_create(name, in ? (int)json_integer_value(in) : 3, k,
                            (int)lab_cfg_int(config, "model.base_width", 64), out);
}

/* Sample i of `d` at S x S with its class mask (255 borders): a VOC image
 * resized as the course does, or a mosaic with its borders marked. A
 * training sample (epoch >= 0) gets the joint augmentation when asked,
 * drawn from (seed, epoch, i) so a run repeats. */
static int get_sample(const struct ds_dataset *d, const struct seg_cfg *s, size_t i, int epoch, struct ds_sample *smp)
{
    memset(smp, 0, sizeof *smp);
    int rc = ds_dataset_get(d, i, smp);
    if (!rc && s->full)
        rc = ds_voc_resize(smp, s->size);
    if (!rc && (smp->image.w != s->size || smp->image.h != s->size || smp->image.c != s->channels || !smp->mask.px))
        rc = lab_err(LAB_EINTERNAL, NULL, "sample %zu is not a %dx%dx%d image with a mask", i, s->size, s->size,
                     s->channels);
    if (!rc && !s->full)
        rc = segment_mark_borders(smp->mask.px, s->size, s->size, IGNORE_ID);
    if (!rc && epoch >= 0 && s->joint) {
        struct ds_rng g;
        ds_rng_seed(&g, s->seed, (uint64_t)epoch, (uint64_t)i);
        rc = ds_aug_joint(smp, s->scale_max, &g);
    }
    if (rc)
        ds_sample_free(smp);
    return rc;
}

/* Samples order[0..n) of `d` as normalized images [n,C,S,S] and class
 * masks with borders at 255; epoch < 0 for evaluation. */
static int load_batch(const struct ds_dataset *d, const struct seg_cfg *s, const size_t *order, size_t n, float *x,
                      uint8_t *mask, int epoch)
{
    size_t px = (size_t)s->size * s->size, c = (size_t)s->channels;
    for (size_t i = 0; i < n; i++) {
        struct ds_sample smp;
        LAB_TRY(get_sample(d, s, order[i], epoch, &smp));
        for (size_t ch = 0; ch < c; ch++)
            for (size_t p = 0; p < px; p++)
                x[(i * c + ch) * px + p] = (float)((smp.image.px[p * c + ch] / 255.0 - s->mean[ch]) / s->std[ch]);
        memcpy(mask + i * px, smp.mask.px, px);
        ds_sample_free(&smp);
        /* the notebook's masks, for training only: evaluation keeps 255
         * ignored so both settings are scored alike */
        if (epoch >= 0 && s->border_bg)
            segment_borders_to_background(mask + i * px, px, IGNORE_ID);
    }
    return LAB_OK;
}

static uint64_t next_rand(uint64_t *st)
{
    *st ^= *st << 13, *st ^= *st >> 7, *st ^= *st << 17;
    return *st;
}

/* The model's logits, in fp32 (the loss and the argmax read them so), under
 * bf16 autocast when the run's precision is bf16. */
static int seg_forward(struct model *m, const ts_tensor *x, int training, const struct seg_cfg *s, ts_device dev,
                       ts_tensor **logits)
{
    int token = 0;
    if (s->bf16 && ts_autocast_push(dev, TS_BF16, &token) != TS_OK)
        return nn_fail(TS_ETORCH, "bf16 autocast");
    ts_tensor *raw = NULL;
    int rc = m->forward(m, x, training, &raw);
    if (s->bf16)
        ts_autocast_pop(token);
    LAB_TRY(rc);
    NN_TRY(ts_to(logits, raw, dev, TS_F32));
    return LAB_OK;
}

static int train_step(struct model *m, ts_optim *opt, const struct seg_cfg *s, const struct segment_loss_cfg *lc,
                      const float *x, const uint8_t *mask, int64_t n, ts_device dev, double *loss_out)
{
    size_t px = (size_t)s->size * s->size;
    int64_t *tgt = malloc(sizeof *tgt * px * (size_t)n);
    if (!tgt)
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    for (size_t i = 0; i < px * (size_t)n; i++)
        tgt[i] = mask[i];
    int64_t xs[4] = {n, s->channels, s->size, s->size}, ts3[3] = {n, s->size, s->size};
    ts_tensor *xt, *yt, *logits, *loss;
    int rc = LAB_OK;
    if (ts_from_host(&xt, x, TS_F32, 4, xs, dev) || ts_from_host(&yt, tgt, TS_I64, 3, ts3, dev))
        rc = nn_fail(TS_ETORCH, "uploading a batch");
    free(tgt);
    if (!rc)
        rc = seg_forward(m, xt, 1, s, dev, &logits);
    if (!rc)
        rc = segment_loss(logits, yt, lc, &loss);
    if (!rc && (ts_optim_zero_grad(opt) || ts_backward(loss, NULL) || ts_optim_step(opt)))
        rc = nn_fail(TS_ETORCH, "a training step");
    if (!rc && ts_item_f64(loss, loss_out))
        rc = nn_fail(TS_ETORCH, "reading the loss");
    if (!rc && !isfinite(*loss_out))
        rc = lab_err(LAB_EFAIL, "lower the learning rate (--lr) (lab explain TS-NAN-LOGITS)",
                     "the training loss became %f", *loss_out);
    return rc;
}


/* The training and eval splits: VOC's train and val lists, or mosaics
 * rendered from Fashion-MNIST's train and test items. */
static int open_data(const struct seg_cfg *s, struct ds_dataset **items_tr, struct ds_dataset **items_ev,
                     struct ds_dataset **tr, struct ds_dataset **ev)
{
    if (s->full) {
        LAB_TRY(ds_voc_open(NULL, 1, tr));
        return ds_voc_open(NULL, 0, ev);
    }
    LAB_TRY(ds_fashion_mnist_open(NULL, 1, items_tr));
    LAB_TRY(ds_fashion_mnist_open(NULL, 0, items_ev));
    struct ds_mosaic_config a = {.size = s->size, .n = (size_t)s->train_n, .seed = s->seed};
    struct ds_mosaic_config b = {.size = s->size, .n = (size_t)s->eval_n, .seed = s->seed + 1};
    LAB_TRY(ds_mosaic_open(*items_tr, &a, tr));
    return ds_mosaic_open(*items_ev, &b, ev);
}

/* The first n samples of d, or all of them when n is 0 (or more than d has). */
static size_t split_n(const struct ds_dataset *d, int64_t n)
{
    return n > 0 && (size_t)n < d->n ? (size_t)n : d->n;
}

/* Predicted masks of the eval split's first n samples into pred [n,S,S],
 * truth into truth, both u8. */
static int evaluate(struct model *m, const struct ds_dataset *d, size_t n, const struct seg_cfg *s, ts_device dev,
                    uint8_t *pred, uint8_t *truth)
{
    size_t px = (size_t)s->size * s->size;
    float *x = malloc(sizeof *x * px * (size_t)s->channels * (size_t)s->batch);
    size_t *order = malloc(sizeof *order * (size_t)s->batch);
    int rc = x && order ? LAB_OK : lab_err(LAB_EINTERNAL, NULL, "out of memory");
    int grad = ts_no_grad_push();
    for (size_t b0 = 0; !rc && b0 < n; b0 += (size_t)s->batch) {
        size_t bn = n - b0 < (size_t)s->batch ? n - b0 : (size_t)s->batch;
        for (size_t i = 0; i < bn; i++)
            order[i] = b0 + i;
        rc = load_batch(d, s, order, bn, x, truth + b0 * px, -1);
        ts_scope_begin();
        int64_t xs[4] = {(int64_t)bn, s->channels, s->size, s->size};
        ts_tensor *xt, *logits;
        if (!rc && ts_from_host(&xt, x, TS_F32, 4, xs, dev))
            rc = nn_fail(TS_ETORCH, "uploading an eval batch");
        if (!rc)
            rc = seg_forward(m, xt, 0, s, dev, &logits);
        if (!rc)
            rc = segment_argmax_masks(logits, pred + b0 * px, bn * px);
        ts_scope_end();
    }
    ts_grad_mode_pop(grad);
    free(x);
    free(order);
    return rc;
}

/* The mIoU of pred against truth (n pixels), for the per-epoch curve. */
static int score(const uint8_t *pred, const uint8_t *truth, size_t n, int k, double *miou)
{
    struct segment_confusion conf = {0};
    struct segment_metrics met = {0};
    int rc = segment_confusion_init(&conf, k);
    if (!rc)
        rc = segment_confusion_add(&conf, pred, truth, n, IGNORE_ID);
    if (!rc)
        rc = segment_metrics_compute(&conf, &met);
    if (!rc)
        *miou = met.miou;
    segment_metrics_free(&met);
    segment_confusion_free(&conf);
    return rc;
}

/* Trains, scoring the eval split after each epoch (the mIoU curve); pred
 * and truth hold the last epoch's masks. */
static int train_loop(struct lab_run *r, struct model *m, const struct ds_dataset *tr, const struct ds_dataset *ev,
                      size_t n_ev, const struct seg_cfg *s, json_t *mm, uint8_t *pred, uint8_t *truth)
{
    struct ts_adamw_opts ao = {.lr = s->lr, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = s->wd};
    ts_optim *opt = NULL;
    if (ts_optim_adamw(&opt, m->params, &ao) != TS_OK)
        return nn_fail(TS_ETORCH, "creating AdamW");
    struct segment_loss_cfg lc;
    segment_loss_cfg_course(&lc);
    lc.ignore = IGNORE_ID;
    lc.kind = s->loss_kind;
    lc.ce_weight = s->ce_w, lc.dice_weight = s->dice_w, lc.dice_smooth = s->smooth, lc.focal_gamma = s->gamma;
    size_t n = split_n(tr, s->train_n), px = (size_t)s->size * s->size;
    size_t *perm = malloc(sizeof *perm * n);
    float *x = malloc(sizeof *x * px * (size_t)s->channels * (size_t)s->batch);
    uint8_t *mask = malloc(px * (size_t)s->batch);
    int rc = perm && x && mask ? LAB_OK : lab_err(LAB_EINTERNAL, NULL, "out of memory");
    json_t *epochs = json_array();
    uint64_t st = s->seed * 2654435761u + 1;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long images = 0;
    for (int ep = 0; !rc && ep < s->epochs; ep++) {
        if (s->cosine)
            ts_optim_set_lr(opt, -1, ts_lr_cosine(s->lr, 0.0, ep, s->epochs));
        for (size_t i = 0; i < n; i++)
            perm[i] = i;
        for (size_t i = n; i > 1; i--) {
            size_t j = (size_t)(next_rand(&st) % i), t = perm[i - 1];
            perm[i - 1] = perm[j], perm[j] = t;
        }
        double sum = 0;
        long batches = 0;
        for (size_t b0 = 0; !rc && b0 < n && !(s->max_batches && batches >= s->max_batches); b0 += (size_t)s->batch) {
            if (lab_interrupted) {
                rc = lab_err(LAB_EINTERRUPTED, "run it again", "interrupted");
                break;
            }
            size_t bn = n - b0 < (size_t)s->batch ? n - b0 : (size_t)s->batch;
            rc = load_batch(tr, s, perm + b0, bn, x, mask, ep);
            double l = 0;
            ts_scope_begin();
            if (!rc)
                rc = train_step(m, opt, s, &lc, x, mask, (int64_t)bn, r->dev.device, &l);
            ts_scope_end();
            sum += l, batches++, images += (long)bn;
            if (!rc && batches % 25 == 0)
                lab_say(r, "epoch %d batch %ld: loss %.4f", ep + 1, batches, sum / batches);
        }
        double miou = 0;
        if (!rc)
            rc = evaluate(m, ev, n_ev, s, r->dev.device, pred, truth);
        if (!rc)
            rc = score(pred, truth, px * n_ev, s->classes, &miou);
        if (!rc) {
            lab_say(r, "epoch %d: train loss %.4f, test mIoU %.4f", ep + 1, sum / (batches ? batches : 1), miou);
            json_array_append_new(epochs, json_pack("{s:i, s:f, s:f}", "epoch", ep + 1, "train_loss",
                                                    sum / (batches ? batches : 1), "test_miou", miou));
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    json_object_set_new(mm, "epochs", epochs);
    json_object_set_new(mm, "train_time_s", json_real(secs));
    json_object_set_new(mm, "images_per_s", json_real(secs > 0 ? (double)images / secs : 0));
    free(perm);
    free(x);
    free(mask);
    ts_optim_free(opt);
    return rc;
}

/* The run's figures; the validation view shows the eval split's first
 * images (the course's: the first 4 of VOC's val list). */
static int plots(struct lab_run *r, const struct ds_dataset *ev, size_t n_ev, const struct seg_cfg *s,
                 const json_t *mm, const struct segment_metrics *met, const uint8_t *pred, const uint8_t *truth)
{
    enum { SHOWN = 4 };
    size_t px = (size_t)s->size * s->size * (size_t)s->channels, shown = n_ev < SHOWN ? n_ev : SHOWN;
    const char *split = s->full ? "VOC val images" : "test mosaics";
    LAB_TRY(seg_plot_curves(r, json_object_get(mm, "epochs")));
    LAB_TRY(seg_plot_iou_bars(r, met->iou, (int)met->k, s->full ? ds_voc_classes : NULL, split));
    uint8_t *img = malloc(px * SHOWN);
    if (!img)
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    int rc = LAB_OK;
    for (size_t i = 0; !rc && i < shown; i++) {
        struct ds_sample smp;
        if (!(rc = get_sample(ev, s, i, -1, &smp)))
            memcpy(img + i * px, smp.image.px, px);
        ds_sample_free(&smp);
    }
    if (!rc)
        rc = seg_plot_validation(r, img, s->channels, truth, pred, shown, s->size, (int)shown,
                                 s->full ? "val image" : "test mosaic", split);
    free(img);
    return rc;
}

static int run(struct lab_run *r)
{
    struct seg_cfg s;
    cfg_of(r->config, &s);
    s.bf16 = r->dev.bf16;
    LAB_TRY(validate(r->config));
    struct ds_dataset *itr = NULL, *iev = NULL, *tr = NULL, *ev = NULL;
    struct model *m = NULL;
    uint8_t *pred = NULL, *truth = NULL;
    int64_t *idx = NULL;
    struct segment_confusion conf = {0};
    struct segment_metrics met = {0};
    json_t *mm = json_object();
    int rc = open_data(&s, &itr, &iev, &tr, &ev);
    size_t n_ev = rc ? 0 : split_n(ev, s.eval_n);
    if (!rc && ts_manual_seed(s.seed) != TS_OK)
        rc = nn_fail(TS_ETORCH, "ts_manual_seed");
    const char *name = lab_cfg_str(r->config, "model.name", "unet");
    if (!rc)
        rc = create_model_cfg(r->config, name, s.classes, &m);
    if (!rc) {
        if (s.full)
            lab_say(r, "data voc2012: %zu train, %zu val images resized to %dx%d (images bilinear, masks nearest), "
                    "%d classes (255 ignored)", split_n(tr, s.train_n), n_ev, s.size, s.size, s.classes);
        else
            lab_say(r, "data fashion-mnist mosaics %dx%d: %zu training, %zu test canvases, %d classes (255 borders "
                    "ignored)", s.size, s.size, tr->n, n_ev, s.classes);
        if (s.joint)
            lab_say(r, "augmentation: joint (per training sample one flip p 0.5, zoom 1..%g, crop back to %dx%d, "
                    "image and mask alike)", s.scale_max, s.size, s.size);
        if (s.max_batches)
            lab_say(r, "at most %lld batch(es) an epoch (train.max_batches)", (long long)s.max_batches);
        char width[64];
        snprintf(width, sizeof width, strcmp(name, "deeplabv3-resnet50") ? "base width %d" : "ResNet-50 backbone",
                 s.width);
        lab_say(r, "%s: %s, %lld parameters; AdamW lr %g weight decay %g, %d epoch(s), batch %d", name, width,
                (long long)model_num_params(m), s.lr, s.wd, s.epochs, s.batch);
        lab_say(r, "schedule %s", s.cosine ? "cosine per epoch" : "none");
        lab_say(r, "loss %s; training borders %s", lab_cfg_str(r->config, "train.loss", "ce_dice"),
                s.border_bg ? "as background (the notebook's remap; evaluation still ignores them)" : "ignored");
        json_object_set_new(mm, "params", json_integer(model_num_params(m)));
        json_object_set_new(mm, "base_width", json_integer(s.width));
        json_object_set_new(mm, "train_images", json_integer((json_int_t)split_n(tr, s.train_n)));
        json_object_set_new(mm, "augment", json_string(s.joint ? "joint" : "none"));
    }
    size_t px = (size_t)s.size * s.size;
    if (!rc) {
        pred = malloc(px * n_ev);
        truth = malloc(px * n_ev);
        idx = malloc(sizeof *idx * n_ev);
        if (!pred || !truth || !idx)
            rc = lab_err(LAB_EINTERNAL, NULL, "out of memory");
    }
    if (!rc)
        rc = train_loop(r, m, tr, ev, n_ev, &s, mm, pred, truth);
    if (!rc && s.epochs == 0)
        rc = evaluate(m, ev, n_ev, &s, r->dev.device, pred, truth);
    if (!rc)
        rc = segment_confusion_init(&conf, s.classes);
    if (!rc)
        rc = segment_confusion_add(&conf, pred, truth, px * n_ev, IGNORE_ID);
    if (!rc)
        rc = segment_metrics_compute(&conf, &met);
    char path[4200];
    if (!rc) {
        segment_metrics_to_json(&met, mm);
        json_t *names = json_array();
        for (int c = 0; c < s.classes; c++)
            json_array_append_new(names, json_string(s.full && c < 21 ? ds_voc_classes[c]
                                                     : c == 0        ? "background"
                                                     : c <= 10       ? ds_fashion_mnist_classes[c - 1]
                                                                     : "class"));
        json_object_set_new(mm, "class_names", names);
        json_object_set_new(mm, "test_images", json_integer((json_int_t)n_ev));
        lab_say(r, "test: mIoU %.4f over %lld present classes, pixel accuracy %.4f, mean Dice %.4f", met.miou,
                (long long)met.present, met.pixel_accuracy, met.mdice);
        json_t *meta = json_pack("{s:s, s:s, s:s}", "format", "pt", "lab", "2.2.4", "model", name);
        char rel[128];
        snprintf(rel, sizeof rel, "models/%s/model.safetensors", name);
        if (!(rc = lab_run_path(r, rel, path, sizeof path)))
            rc = weights_save(m->params, path, meta, NULL, 0);
        json_decref(meta);
    }
    if (!rc) {
        for (size_t i = 0; i < n_ev; i++)
            idx[i] = (int64_t)i;
        char rel[128];
        snprintf(rel, sizeof rel, "models/%s/predictions.safetensors", name);
        if (!(rc = lab_run_path(r, rel, path, sizeof path)))
            rc = segment_save_predictions(path, pred, idx, (int64_t)n_ev, s.size, s.size,
                                          s.full ? "voc2012/val" : "fashion-mnist-mosaic/test");
    }
    if (!rc)
        rc = plots(r, ev, n_ev, &s, mm, &met, pred, truth);
    if (!rc) {
        json_object_set_new(r->metrics, "lab", json_string("2.2.4"));
        json_object_set_new(r->metrics, "dataset", json_string(s.full ? "voc2012" : "fashion-mnist-mosaic"));
        json_object_set_new(mm, "status", json_string("done"));
        json_t *models = json_object();
        json_object_set(models, name, mm);
        json_object_set_new(r->metrics, "models", models);
        rc = lab_run_save_metrics(r);
    }
    json_decref(mm);
    segment_metrics_free(&met);
    segment_confusion_free(&conf);
    free(pred);
    free(truth);
    free(idx);
    model_free(m);
    ds_dataset_free(tr);
    ds_dataset_free(ev);
    ds_dataset_free(itr);
    ds_dataset_free(iev);
    return rc;
}

const struct lab_impl lab_unet_segmentation = {
    .id = "2.2.4", .validate = validate, .run = run, .create_model = create_model, .create_model_cfg = create_model_cfg};
