/* Lab 2.2.4: a bilinear U-Net trained with the course's CE + Dice loss on
 * the segment task. Quick mode segments Fashion-MNIST mosaics (background +
 * 10 classes, one-pixel 255 borders as VOC's) with a narrow U-Net, since
 * the course's width does not train in minutes on a CPU. Batches are built
 * here rather than through labs/train.h, whose loop is classifier-only. */
#include "base/error.h"
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
    int size, width, classes, epochs, batch;
    int64_t train_n, eval_n, max_batches; /* max_batches 0: every batch (CI shortens epochs with it) */
    double lr, wd, mean, std, ce_w, dice_w, smooth, gamma;
    int loss_kind;  /* train.loss, segment_loss_kind_parse's */
    int border_bg;  /* data.border "background": the notebook's remap of 255 to 0, training masks only */
    int cosine; /* train.schedule "cosine": per epoch, as torch's CosineAnnealingLR(T_max = epochs) */
    uint64_t seed;
};

static void cfg_of(const json_t *c, struct seg_cfg *s)
{
    s->size = (int)lab_cfg_int(c, "data.canvas", 48);
    s->width = (int)lab_cfg_int(c, "model.base_width", 64);
    s->classes = (int)lab_cfg_int(c, "data.num_classes", 11);
    s->epochs = (int)lab_cfg_int(c, "train.epochs", 1);
    s->batch = (int)lab_cfg_int(c, "train.batch_size", 8);
    s->train_n = lab_cfg_int(c, "data.train_subset", 2000);
    s->eval_n = lab_cfg_int(c, "data.eval_subset", 200);
    s->max_batches = lab_cfg_int(c, "train.max_batches", 0);
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
    const json_t *m = json_array_get(lab_cfg_get(c, "data.normalize.mean"), 0);
    const json_t *d = json_array_get(lab_cfg_get(c, "data.normalize.std"), 0);
    s->mean = m ? json_number_value(m) : 0.0;
    s->std = d && json_number_value(d) > 0 ? json_number_value(d) : 1.0;
}

static int validate(const json_t *config)
{
    const char *name = lab_cfg_str(config, "model.name", "unet");
    LAB_TRY(seg_model_check(name));
    const char *ds = lab_cfg_str(config, "data.dataset", "");
    if (strcmp(ds, "fashion-mnist-mosaic") != 0)
        return lab_err(LAB_EUSAGE, "run the quick mode (--quick); VOC training is not implemented yet",
                       "lab 2.2.4 can train only on fashion-mnist-mosaic, not '%s'", ds);
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
    if (s.size % seg_model_size_multiple(name))
        return lab_err(LAB_EUSAGE, "set data.canvas to a multiple of 16 (48 in quick mode, 256 in the course)",
                       "%s's decoder does not pad, so data.canvas %d must be a multiple of 16", name, s.size);
    const char *sched = lab_cfg_str(config, "train.schedule", "cosine"), *opt = lab_cfg_str(config, "train.optimizer", "adamw");
    if (strcmp(sched, "cosine") != 0 && strcmp(sched, "none") != 0)
        return lab_err(LAB_EUSAGE, "train.schedule: cosine or none", "unknown schedule '%s'", sched);
    if (strcmp(opt, "adamw") != 0)
        return lab_err(LAB_EUSAGE, "train.optimizer: adamw", "lab 2.2.4 trains with AdamW, not '%s'", opt);
    if (s.batch < 1 || s.epochs < 0 || s.train_n < 1 || s.eval_n < 1 || s.max_batches < 0)
        return lab_err(LAB_EUSAGE, "use train.batch_size >= 1, train.epochs >= 0, subsets >= 1 and train.max_batches >= 0",
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

/* Samples [first, first + n) of `d` as normalized images [n,1,S,S] and
 * class masks with borders at 255; order maps batch positions to indices. */
static int load_batch(const struct ds_dataset *d, const struct seg_cfg *s, const size_t *order, size_t n, float *x,
                      uint8_t *mask, int training)
{
    size_t px = (size_t)s->size * s->size;
    for (size_t i = 0; i < n; i++) {
        struct ds_sample smp;
        memset(&smp, 0, sizeof smp);
        LAB_TRY(ds_dataset_get(d, order[i], &smp));
        int ok = smp.image.w == s->size && smp.image.h == s->size && smp.image.c == 1 && smp.mask.px;
        if (ok) {
            for (size_t p = 0; p < px; p++)
                x[i * px + p] = (float)((smp.image.px[p] / 255.0 - s->mean) / s->std);
            memcpy(mask + i * px, smp.mask.px, px);
        }
        ds_sample_free(&smp);
        if (!ok)
            return lab_err(LAB_EINTERNAL, NULL, "mosaic %zu is not a %dx%d gray canvas with a mask", order[i], s->size,
                           s->size);
        LAB_TRY(segment_mark_borders(mask + i * px, s->size, s->size, IGNORE_ID));
        /* the notebook's masks, for training only: evaluation keeps 255
         * ignored so both settings are scored alike */
        if (training && s->border_bg)
            segment_borders_to_background(mask + i * px, px, IGNORE_ID);
    }
    return LAB_OK;
}

static uint64_t next_rand(uint64_t *st)
{
    *st ^= *st << 13, *st ^= *st >> 7, *st ^= *st << 17;
    return *st;
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
    int64_t xs[4] = {n, 1, s->size, s->size}, ts3[3] = {n, s->size, s->size};
    ts_tensor *xt, *yt, *logits, *loss;
    int rc = LAB_OK;
    if (ts_from_host(&xt, x, TS_F32, 4, xs, dev) || ts_from_host(&yt, tgt, TS_I64, 3, ts3, dev))
        rc = nn_fail(TS_ETORCH, "uploading a batch");
    free(tgt);
    if (!rc)
        rc = m->forward(m, xt, 1, &logits);
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


static int open_mosaics(const struct seg_cfg *s, struct ds_dataset **items_tr, struct ds_dataset **items_ev,
                        struct ds_dataset **tr, struct ds_dataset **ev)
{
    LAB_TRY(ds_fashion_mnist_open(NULL, 1, items_tr));
    LAB_TRY(ds_fashion_mnist_open(NULL, 0, items_ev));
    struct ds_mosaic_config a = {.size = s->size, .n = (size_t)s->train_n, .seed = s->seed};
    struct ds_mosaic_config b = {.size = s->size, .n = (size_t)s->eval_n, .seed = s->seed + 1};
    LAB_TRY(ds_mosaic_open(*items_tr, &a, tr));
    return ds_mosaic_open(*items_ev, &b, ev);
}

/* Predicted masks of the whole eval split into pred [n,S,S], truth into
 * truth, both u8. */
static int evaluate(struct model *m, const struct ds_dataset *d, const struct seg_cfg *s, ts_device dev,
                    uint8_t *pred, uint8_t *truth)
{
    size_t px = (size_t)s->size * s->size, n = d->n;
    float *x = malloc(sizeof *x * px * (size_t)s->batch);
    size_t *order = malloc(sizeof *order * (size_t)s->batch);
    int rc = x && order ? LAB_OK : lab_err(LAB_EINTERNAL, NULL, "out of memory");
    int grad = ts_no_grad_push();
    for (size_t b0 = 0; !rc && b0 < n; b0 += (size_t)s->batch) {
        size_t bn = n - b0 < (size_t)s->batch ? n - b0 : (size_t)s->batch;
        for (size_t i = 0; i < bn; i++)
            order[i] = b0 + i;
        rc = load_batch(d, s, order, bn, x, truth + b0 * px, 0);
        ts_scope_begin();
        int64_t xs[4] = {(int64_t)bn, 1, s->size, s->size};
        ts_tensor *xt, *logits;
        if (!rc && ts_from_host(&xt, x, TS_F32, 4, xs, dev))
            rc = nn_fail(TS_ETORCH, "uploading an eval batch");
        if (!rc)
            rc = m->forward(m, xt, 0, &logits);
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
                      const struct seg_cfg *s, json_t *mm, uint8_t *pred, uint8_t *truth)
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
    size_t n = tr->n, px = (size_t)s->size * s->size;
    size_t *perm = malloc(sizeof *perm * n);
    float *x = malloc(sizeof *x * px * (size_t)s->batch);
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
        for (size_t b0 = 0; !rc && b0 < n; b0 += (size_t)s->batch) {
            if (s->max_batches && batches >= s->max_batches)
                break;
            if (lab_interrupted) {
                rc = lab_err(LAB_EINTERRUPTED, "run it again", "interrupted");
                break;
            }
            size_t bn = n - b0 < (size_t)s->batch ? n - b0 : (size_t)s->batch;
            rc = load_batch(tr, s, perm + b0, bn, x, mask, 1);
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
            rc = evaluate(m, ev, s, r->dev.device, pred, truth);
        if (!rc)
            rc = score(pred, truth, px * ev->n, s->classes, &miou);
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

/* The run's figures; the validation view shows the first test mosaics. */
static int plots(struct lab_run *r, const struct ds_dataset *ev, const struct seg_cfg *s, const json_t *mm,
                 const struct segment_metrics *met, const uint8_t *pred, const uint8_t *truth)
{
    enum { SHOWN = 4 };
    size_t px = (size_t)s->size * s->size, shown = ev->n < SHOWN ? ev->n : SHOWN;
    LAB_TRY(seg_plot_curves(r, json_object_get(mm, "epochs")));
    LAB_TRY(seg_plot_iou_bars(r, met->iou, (int)met->k));
    uint8_t *gray = malloc(px * SHOWN);
    if (!gray)
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    int rc = LAB_OK;
    for (size_t i = 0; !rc && i < shown; i++) {
        struct ds_sample smp;
        memset(&smp, 0, sizeof smp);
        rc = ds_dataset_get(ev, i, &smp);
        if (!rc && (smp.image.w != s->size || smp.image.h != s->size || smp.image.c != 1))
            rc = lab_err(LAB_EINTERNAL, NULL, "mosaic %zu is not a %dx%d gray canvas", i, s->size, s->size);
        if (!rc)
            memcpy(gray + i * px, smp.image.px, px);
        ds_sample_free(&smp);
    }
    if (!rc)
        rc = seg_plot_validation(r, gray, truth, pred, shown, s->size, (int)shown);
    free(gray);
    return rc;
}

static int run(struct lab_run *r)
{
    struct seg_cfg s;
    cfg_of(r->config, &s);
    LAB_TRY(validate(r->config));
    struct ds_dataset *itr = NULL, *iev = NULL, *tr = NULL, *ev = NULL;
    struct model *m = NULL;
    uint8_t *pred = NULL, *truth = NULL;
    int64_t *idx = NULL;
    struct segment_confusion conf = {0};
    struct segment_metrics met = {0};
    json_t *mm = json_object();
    int rc = open_mosaics(&s, &itr, &iev, &tr, &ev);
    if (!rc && ts_manual_seed(s.seed) != TS_OK)
        rc = nn_fail(TS_ETORCH, "ts_manual_seed");
    const char *name = lab_cfg_str(r->config, "model.name", "unet");
    if (!rc)
        rc = create_model_cfg(r->config, name, s.classes, &m);
    if (!rc) {
        lab_say(r, "data fashion-mnist mosaics %dx%d: %zu training, %zu test canvases, %d classes (255 borders ignored)",
                s.size, s.size, tr->n, ev->n, s.classes);
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
        json_object_set_new(mm, "train_images", json_integer((json_int_t)tr->n));
    }
    size_t px = (size_t)s.size * s.size;
    if (!rc) {
        pred = malloc(px * ev->n);
        truth = malloc(px * ev->n);
        idx = malloc(sizeof *idx * ev->n);
        if (!pred || !truth || !idx)
            rc = lab_err(LAB_EINTERNAL, NULL, "out of memory");
    }
    if (!rc)
        rc = train_loop(r, m, tr, ev, &s, mm, pred, truth);
    if (!rc && s.epochs == 0)
        rc = evaluate(m, ev, &s, r->dev.device, pred, truth);
    if (!rc)
        rc = segment_confusion_init(&conf, s.classes);
    if (!rc)
        rc = segment_confusion_add(&conf, pred, truth, px * ev->n, IGNORE_ID);
    if (!rc)
        rc = segment_metrics_compute(&conf, &met);
    char path[4200];
    if (!rc) {
        segment_metrics_to_json(&met, mm);
        json_object_set_new(mm, "test_images", json_integer((json_int_t)ev->n));
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
        for (size_t i = 0; i < ev->n; i++)
            idx[i] = (int64_t)i;
        char rel[128];
        snprintf(rel, sizeof rel, "models/%s/predictions.safetensors", name);
        if (!(rc = lab_run_path(r, rel, path, sizeof path)))
            rc = segment_save_predictions(path, pred, idx, (int64_t)ev->n, s.size, s.size);
    }
    if (!rc)
        rc = plots(r, ev, &s, mm, &met, pred, truth);
    if (!rc) {
        json_object_set_new(r->metrics, "lab", json_string("2.2.4"));
        json_object_set_new(r->metrics, "dataset", json_string("fashion-mnist-mosaic"));
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
    .id = "2.2.4", .validate = validate, .run = run, .create_model = create_model, .create_model_cfg = create_model_cfg,
    .quick_only = 1, .fp32_only = 1};
