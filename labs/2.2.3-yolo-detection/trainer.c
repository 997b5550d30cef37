#include "labs/2.2.3-yolo-detection/trainer.h"

#include "base/error.h"
#include "labs/2.2.3-yolo-detection/evaluate.h"
#include "labs/2.2.3-yolo-detection/infer.h"
#include "labs/config.h"
#include "labs/models/nn.h"
#include "labs/models/weights.h"
#include "labs/models/yolov8.h"
#include "labs/tasks/detect_assign.h"
#include "labs/tasks/detect_loss.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REG YOLOV8_REG_MAX

void yolo_train_cfg_of(const json_t *c, int classes, struct yolo_train_cfg *s)
{
    s->model = lab_cfg_str(c, "model", "yolov8n");
    s->depth = lab_cfg_num(c, "yolo.depth_multiple", 0);
    s->width = lab_cfg_num(c, "yolo.width_multiple", 0);
    const json_t *in = json_array_get(lab_cfg_get(c, "data.input_size"), 1);
    s->size = in ? (int)json_integer_value(in) : 96;
    s->classes = classes;
    s->train_n = lab_cfg_int(c, "data.train_subset", 4000);
    s->eval_n = lab_cfg_int(c, "data.eval_subset", 500);
    s->epochs = (int)lab_cfg_int(c, "train.epochs", 1);
    s->batch = (int)lab_cfg_int(c, "train.batch_size", 16);
    s->max_batches = lab_cfg_int(c, "train.max_batches", 0);
    s->warmup = (int)lab_cfg_int(c, "train.warmup_iters", 100);
    double lr = lab_cfg_num(c, "train.lr", 0); /* 0: `auto`'s lr0 for this many classes */
    s->lr = lr > 0 ? lr : 0.002 * 5 / (4 + s->classes);
    s->momentum = lab_cfg_num(c, "train.momentum", 0.9);
    s->wd = lab_cfg_num(c, "train.weight_decay", 0.0005);
    s->lrf = lab_cfg_num(c, "train.lrf", 0.01);
    s->ema_tau = lab_cfg_num(c, "train.ema_tau", 2000);
    s->conf = lab_cfg_num(c, "detect.conf", 0.001);
    s->iou = lab_cfg_num(c, "detect.nms_iou", 0.7);
    s->max_det = (int)lab_cfg_int(c, "detect.max_det", 300);
    s->seed = (uint64_t)lab_cfg_int(c, "seed", 42);
}

int yolo_train_cfg_check(const struct yolo_train_cfg *s)
{
    if (!yolov8_scale_of(s->model))
        return lab_err(LAB_EUSAGE, "set model to yolov8n, yolov8s, yolov8m, yolov8l or yolov8x", "unknown model '%s'",
                       s->model);
    if (s->size < 32 || s->size > 1280 || s->size % 32)
        return lab_err(LAB_EUSAGE, "set data.input_size to [3, S, S] with S a multiple of 32 (the quick mode's is 96)",
                       "input size %d is not a multiple of 32 in 32..1280", s->size);
    if (s->batch < 1 || s->epochs < 1 || s->train_n < 1 || s->eval_n < 1 || s->eval_n > 100000 || s->max_batches < 0 ||
        s->warmup < 0 || !(s->lr > 0) || !(s->conf >= 0 && s->conf < 1) || !(s->iou > 0 && s->iou <= 1) ||
        s->max_det < 1)
        return lab_err(LAB_EUSAGE, "use batch_size, epochs and subsets >= 1, lr > 0, detect.conf in [0, 1)",
                       "the run's sizes or thresholds are out of range");
    return LAB_OK;
}

int yolo_train_create(const struct yolo_train_cfg *s, struct model **m)
{
    if (s->depth > 0 || s->width > 0) {
        if (!(s->depth > 0 && s->width > 0))
            return lab_err(LAB_EUSAGE, "set both yolo.depth_multiple and yolo.width_multiple, or neither",
                           "only one YOLOv8 multiple is set");
        return yolov8_create_scaled(s->depth, s->width, s->classes, m);
    }
    return yolov8_create(yolov8_scale_of(s->model), s->classes, m);
}

struct anchors {
    int64_t a;
    float *grid, *px, *stride; /* [a,2] grid units, [a,2] pixels, [a] */
};

static int anchors_make(int size, struct anchors *an)
{
    an->a = 0;
    for (int l = 0; l < 3; l++)
        an->a += (int64_t)(size >> (3 + l)) * (size >> (3 + l));
    an->grid = malloc(sizeof(float) * 2 * (size_t)an->a);
    an->px = malloc(sizeof(float) * 2 * (size_t)an->a);
    an->stride = malloc(sizeof(float) * (size_t)an->a);
    if (!an->grid || !an->px || !an->stride)
        return lab_err(LAB_EINTERNAL, "free some memory", "out of memory");
    int64_t i = 0;
    for (int l = 0; l < 3; l++) {
        int hw = size >> (3 + l), st = 8 << l;
        for (int y = 0; y < hw; y++)
            for (int x = 0; x < hw; x++, i++) {
                an->grid[i * 2] = (float)x + 0.5f, an->grid[i * 2 + 1] = (float)y + 0.5f;
                an->px[i * 2] = an->grid[i * 2] * (float)st, an->px[i * 2 + 1] = an->grid[i * 2 + 1] * (float)st;
                an->stride[i] = (float)st;
            }
    }
    return LAB_OK;
}

static void anchors_free(struct anchors *an)
{
    free(an->grid);
    free(an->px);
    free(an->stride);
}

int yolo_load_batch(const struct ds_dataset *d, int size, const size_t *order, size_t n, float *x, int64_t *labels,
                      float *boxes, uint8_t *mask)
{
    size_t px = (size_t)size * size;
    for (size_t i = 0; i < n; i++) {
        struct ds_sample smp;
        memset(&smp, 0, sizeof smp);
        LAB_TRY(ds_dataset_get(d, order[i], &smp));
        struct yolo_letterbox lb;
        int rc = yolo_letterbox_plan(smp.image.w, smp.image.h, size, 0, &lb);
        if (!rc && (lb.out_w != size || lb.out_h != size))
            rc = lab_err(LAB_EINTERNAL, NULL, "image %zu letterboxed to %dx%d, not %d", order[i], lb.out_w, lb.out_h,
                         size);
        if (!rc)
            rc = yolo_letterbox_apply(smp.image.px, smp.image.c, &lb, x + i * 3 * px);
        double sx = (double)lb.new_w / lb.src_w, sy = (double)lb.new_h / lb.src_h;
        for (int g = 0; !rc && g < DS_MAX_OBJECTS; g++) {
            size_t o = i * DS_MAX_OBJECTS + (size_t)g;
            mask[o] = g < smp.nobj;
            labels[o] = g < smp.nobj ? smp.box_labels[g] : 0;
            for (int c = 0; c < 4; c++)
                boxes[o * 4 + c] = g >= smp.nobj ? 0
                                   : c % 2       ? (float)(smp.boxes[g][c] * sy + lb.top)
                                                 : (float)(smp.boxes[g][c] * sx + lb.left);
        }
        ds_sample_free(&smp);
        if (rc)
            return rc;
    }
    return LAB_OK;
}

/* The three train-mode maps as [n, a, 64 + k] in Ultralytics' anchor order. */
static int flatten_maps(ts_tensor *const raw[3], int64_t n, int64_t ch, int size, ts_tensor **out)
{
    ts_tensor *flat[3], *cat, *perm;
    for (int l = 0; l < 3; l++) {
        int64_t hw = size >> (3 + l), shp[3] = {n, ch, hw * hw};
        if (ts_reshape(&flat[l], raw[l], 3, shp))
            return nn_fail(TS_ETORCH, "flattening a head map");
    }
    int64_t dims[3] = {0, 2, 1};
    if (ts_cat(&cat, (const ts_tensor *const *)flat, 3, 2) || ts_permute(&perm, cat, 3, dims) ||
        ts_contiguous(out, perm))
        return nn_fail(TS_ETORCH, "joining the head maps");
    return LAB_OK;
}

struct step_buf {
    float *x, *gt_boxes, *host, *scores, *pd;
    int64_t *gt_labels;
    uint8_t *mask;
};

static int train_step(struct model *m, ts_optim *opt, const struct yolo_train_cfg *s, const struct anchors *an,
                      struct step_buf *b, int64_t n, ts_device dev, double items[3])
{
    int64_t k = s->classes, ch = 4 * REG + k, a = an->a, xs[4] = {n, 3, s->size, s->size};
    ts_tensor *xt, *raw[3] = {NULL, NULL, NULL}, *y = NULL, *rt, *it, *tot;
    if (ts_from_host(&xt, b->x, TS_F32, 4, xs, dev))
        return nn_fail(TS_ETORCH, "uploading a batch");
    LAB_TRY(yolov8_forward(m, xt, 1, &y, raw, NULL));
    LAB_TRY(flatten_maps(raw, n, ch, s->size, &rt));
    if (ts_to_host(rt, TS_F32, b->host, sizeof(float) * (size_t)(n * a * ch)))
        return nn_fail(TS_ETORCH, "reading the head maps");
    for (int64_t o = 0; o < n * a; o++) {
        float box[4];
        dfl_decode(b->host + o * ch, REG, an->grid + (o % a) * 2, box);
        for (int c = 0; c < 4; c++)
            b->pd[o * 4 + c] = box[c] * an->stride[o % a];
        for (int64_t c = 0; c < k; c++)
            b->scores[o * k + c] = 1.0f / (1.0f + expf(-b->host[o * ch + 4 * REG + c]));
    }
    struct tal_input in = {n, a, DS_MAX_OBJECTS, k, b->scores, b->pd, an->px, b->gt_labels, b->gt_boxes, b->mask};
    struct tal_params prm = TAL_DEFAULTS;
    struct tal_output t;
    LAB_TRY(tal_assign(&in, &prm, &t));
    int rc = yolo_loss(rt, n, a, k, REG, an->grid, an->stride, &t, &it, &tot);
    tal_output_free(&t);
    if (rc)
        return rc;
    double norm = 0;
    if (ts_optim_zero_grad(opt) || ts_backward(tot, NULL) || ts_clip_grad_norm(m->params, 10.0, 2.0, &norm) ||
        ts_optim_step(opt))
        return nn_fail(TS_ETORCH, "a training step");
    float v[3];
    if (ts_to_host(it, TS_F32, v, sizeof v))
        return nn_fail(TS_ETORCH, "reading the loss");
    for (int i = 0; i < 3; i++)
        items[i] = v[i];
    if (!isfinite(items[0] + items[1] + items[2]))
        return lab_err(LAB_EFAIL, "lower the learning rate (--set train.lr=...) (lab explain TS-NAN-LOGITS)",
                       "the training loss became %f + %f + %f", items[0], items[1], items[2]);
    return LAB_OK;
}

static uint64_t next_rand(uint64_t *st)
{
    *st ^= *st << 13, *st ^= *st >> 7, *st ^= *st << 17;
    return *st;
}

static int train_loop(struct lab_run *r, struct model *m, struct ema *e, const struct ds_dataset *tr,
                      const struct yolo_train_cfg *s, const struct anchors *an, json_t *mm)
{
    struct ts_adamw_opts ao = {.lr = s->lr, .beta1 = s->momentum, .beta2 = 0.999, .eps = 1e-8, .weight_decay = s->wd};
    ts_optim *opt = NULL;
    if (ts_optim_adamw(&opt, m->params, &ao) != TS_OK)
        return nn_fail(TS_ETORCH, "creating AdamW");
    size_t n = tr->n, B = (size_t)s->batch, a = (size_t)an->a, ch = 4 * REG + (size_t)s->classes;
    struct step_buf b = {
        .x = malloc(sizeof(float) * B * 3 * (size_t)s->size * s->size),
        .gt_boxes = malloc(sizeof(float) * B * DS_MAX_OBJECTS * 4),
        .host = malloc(sizeof(float) * B * a * ch),
        .scores = malloc(sizeof(float) * B * a * (size_t)s->classes),
        .pd = malloc(sizeof(float) * B * a * 4),
        .gt_labels = malloc(sizeof(int64_t) * B * DS_MAX_OBJECTS),
        .mask = malloc(B * DS_MAX_OBJECTS),
    };
    size_t *perm = malloc(sizeof *perm * n);
    int rc = perm && b.x && b.gt_boxes && b.host && b.scores && b.pd && b.gt_labels && b.mask
                 ? LAB_OK
                 : lab_err(LAB_EINTERNAL, "free some memory", "out of memory");
    json_t *epochs = json_array();
    uint64_t st = s->seed * 2654435761u + 1;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long images = 0, iter = 0;
    for (int ep = 0; !rc && ep < s->epochs; ep++) {
        /* Ultralytics' linear schedule: lr0 ((1 - ep / epochs)(1 - lrf) + lrf) */
        double lr_ep = s->lr * ((1.0 - (double)ep / s->epochs) * (1.0 - s->lrf) + s->lrf);
        for (size_t i = 0; i < n; i++)
            perm[i] = i;
        for (size_t i = n; i > 1; i--) {
            size_t j = (size_t)(next_rand(&st) % i), t = perm[i - 1];
            perm[i - 1] = perm[j], perm[j] = t;
        }
        double sum[3] = {0, 0, 0};
        long batches = 0;
        for (size_t b0 = 0; !rc && b0 < n; b0 += B) {
            if (s->max_batches && batches >= s->max_batches)
                break;
            if (lab_interrupted) {
                rc = lab_err(LAB_EINTERRUPTED, "run it again", "interrupted");
                break;
            }
            size_t bn = n - b0 < B ? n - b0 : B;
            double lr = iter < s->warmup ? lr_ep * (double)(iter + 1) / (s->warmup + 1) : lr_ep;
            ts_optim_set_lr(opt, -1, lr);
            rc = yolo_load_batch(tr, s->size, perm + b0, bn, b.x, b.gt_labels, b.gt_boxes, b.mask);
            double it[3] = {0, 0, 0};
            ts_scope_begin();
            if (!rc)
                rc = train_step(m, opt, s, an, &b, (int64_t)bn, r->dev.device, it);
            ts_scope_end();
            if (!rc) {
                e->decay = 0.9999 * (1.0 - exp(-(double)(e->updates + 1) / s->ema_tau));
                rc = ema_update(e, m);
            }
            for (int i = 0; i < 3; i++)
                sum[i] += it[i];
            batches++, iter++, images += (long)bn;
            if (!rc && batches % 25 == 0)
                lab_say(r, "epoch %d batch %ld: box %.4f cls %.4f dfl %.4f", ep + 1, batches, sum[0] / batches,
                        sum[1] / batches, sum[2] / batches);
        }
        if (!rc && batches) {
            lab_say(r, "epoch %d: box %.4f cls %.4f dfl %.4f (%ld batches)", ep + 1, sum[0] / batches,
                    sum[1] / batches, sum[2] / batches, batches);
            json_array_append_new(epochs, json_pack("{s:i, s:f, s:f, s:f, s:i}", "epoch", ep + 1, "box_loss",
                                                    sum[0] / batches, "cls_loss", sum[1] / batches, "dfl_loss",
                                                    sum[2] / batches, "batches", (int)batches));
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    json_object_set_new(mm, "epochs", epochs);
    json_object_set_new(mm, "train_time_s", json_real(secs));
    json_object_set_new(mm, "train_batches", json_integer(iter));
    json_object_set_new(mm, "images_per_s", json_real(secs > 0 ? (double)images / secs : 0));
    free(perm);
    free(b.x), free(b.gt_boxes), free(b.host), free(b.scores), free(b.pd), free(b.gt_labels), free(b.mask);
    ts_optim_free(opt);
    return rc;
}

int yolo_train(struct lab_run *r, struct model *m, struct ema *e, const struct ds_dataset *tr,
               const struct yolo_train_cfg *s, json_t *mm)
{
    struct anchors an = {0};
    int rc = anchors_make(s->size, &an);
    if (!rc)
        rc = train_loop(r, m, e, tr, s, &an, mm);
    anchors_free(&an);
    return rc;
}

int yolo_write_outputs(struct lab_run *r, struct model *m, const char *name, const char *source,
                       const struct detect_predictions *p)
{
    char rel[160], path[4200];
    json_t *meta = json_pack("{s:s, s:s, s:s}", "format", "pt", "lab", "2.2.3", "model", name);
    if (meta && source)
        json_object_set_new(meta, "source", json_string(source));
    snprintf(rel, sizeof rel, "models/%s/model.safetensors", name);
    int rc = lab_run_path(r, rel, path, sizeof path);
    if (!rc)
        rc = weights_save(m->params, path, meta, NULL, 0);
    json_decref(meta);
    snprintf(rel, sizeof rel, "models/%s/predictions.safetensors", name);
    if (!rc)
        rc = lab_run_path(r, rel, path, sizeof path);
    return rc ? rc : detect_save_predictions(path, p);
}

int yolo_train_and_evaluate(struct lab_run *r, struct model *m, const struct ds_dataset *tr,
                            const struct ds_dataset *ev, const struct yolo_train_cfg *s,
                            const struct yolo_eval_spec *spec)
{
    struct ema e = {0};
    struct detect_predictions p = {0};
    struct yolo_truth t = {0};
    json_t *mm = json_object();
    snprintf(p.eval_set, sizeof p.eval_set, "%s", spec->eval_set);
    int rc = ema_init(&e, m, 0.9999);
    if (!rc) {
        char scale[64] = "its own depth and width multiples";
        if (s->depth > 0)
            snprintf(scale, sizeof scale, "depth %g, width %g", s->depth, s->width);
        lab_say(r, "%s (%s): %lld parameters; AdamW lr %g momentum %g weight decay %g, %d epoch(s), "
                "batch %d, warm-up %d iterations, EMA tau %g",
                s->model, scale, (long long)model_num_params(m), s->lr, s->momentum, s->wd, s->epochs, s->batch,
                s->warmup, s->ema_tau);
        json_object_set_new(mm, "params", json_integer(model_num_params(m)));
        json_object_set_new(mm, "train_images", json_integer((json_int_t)tr->n));
        rc = yolo_train(r, m, &e, tr, s, mm);
    }
    if (!rc)
        rc = ema_swap(&e, m); /* evaluate and save the average, as Ultralytics does */
    struct yolo_nms_opts no = {.conf = s->conf, .iou = s->iou, .max_det = s->max_det};
    if (!rc)
        rc = yolo_evaluate(m, r->dev.device, ev, s->size, s->batch, &no, &p, &t, NULL);
    if (!rc) {
        struct det_boxes truth = {t.g, t.boxes, NULL, t.classes, t.image};
        rc = detect_evaluate(&p, &truth, s->classes, spec->names, mm);
    }
    if (!rc) {
        const json_t *u = json_object_get(mm, "ultralytics"), *c = json_object_get(mm, "coco");
        double m50 = json_number_value(json_object_get(u, "mAP50"));
        double m95 = json_number_value(json_object_get(u, "mAP50-95"));
        json_object_set_new(mm, "map50", json_real(m50));
        json_object_set_new(mm, "map50_95", json_real(m95));
        json_object_set_new(mm, "test_images", json_integer((json_int_t)ev->n));
        json_object_set_new(mm, "detections", json_integer(p.m));
        json_object_set_new(mm, "eval_set", json_string(p.eval_set));
        lab_say(r, "%s (%zu %s, %zu boxes, %lld detections): Ultralytics mAP50 %.4f mAP50-95 %.4f; "
                "COCO AP50 %.4f AP %.4f",
                spec->what, ev->n, spec->unit, t.g, (long long)p.m, m50, m95,
                json_number_value(json_object_get(c, "AP50")), json_number_value(json_object_get(c, "AP")));
        rc = yolo_write_outputs(r, m, s->model, NULL, &p);
    }
    if (!rc) {
        json_object_set_new(r->metrics, "lab", json_string("2.2.3"));
        json_object_set_new(r->metrics, "dataset", json_string(spec->dataset));
        json_object_set_new(mm, "status", json_string("done"));
        json_t *models = json_object();
        json_object_set(models, s->model, mm);
        json_object_set_new(r->metrics, "models", models);
        rc = lab_run_save_metrics(r);
    }
    json_decref(mm);
    detect_predictions_free(&p);
    yolo_truth_free(&t);
    ema_free(&e);
    return rc;
}
