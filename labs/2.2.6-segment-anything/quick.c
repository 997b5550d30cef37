/* Lab 2.2.6 quick mode (labs/2.2.6-segment-anything/quick.h). Each step
 * encodes a batch of mosaics once and decodes two prompt sets per image on
 * one instance drawn at random: its box with SAM's coordinate noise (a
 * normal of 10% of the side, at most `box_jitter_max` px) and a point drawn
 * uniformly inside the instance, single-mask output for both; then, with
 * train.corrective, clicks where the point's mask is wrong
 * (quick_corrective.h). Evaluation
 * prompts are deterministic so that a grader can regenerate them: every
 * instance's exact box, and its pixel nearest the instance's centroid. */
#include "labs/2.2.6-segment-anything/quick.h"
#include "labs/2.2.6-segment-anything/quick_auto.h"
#include "labs/2.2.6-segment-anything/quick_corrective.h"
#include "labs/2.2.6-segment-anything/quick_plots.h"

#include "base/error.h"
#include "base/progress.h"
#include "datasets/loaders.h"
#include "datasets/mosaic.h"
#include "datasets/rng.h"
#include "labs/config.h"
#include "labs/models/nn.h"
#include "labs/models/sam.h"
#include "labs/models/weights.h"
#include "labs/tasks/task.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>


struct qcfg {
    int size, steps, batch, log_every, multimask, corrective;
    int64_t train_n, eval_n;
    double lr, wd, jitter, jitter_max, max_seconds;
    struct sam_quick_weights w;
    uint64_t seed;
};

static void cfg_of(const json_t *c, struct qcfg *q)
{
    q->size = (int)lab_cfg_int(c, "sam.img_size", 64);
    q->steps = (int)lab_cfg_int(c, "train.steps", 600);
    q->batch = (int)lab_cfg_int(c, "train.batch_size", 8);
    q->log_every = (int)lab_cfg_int(c, "train.log_every", 50);
    q->multimask = lab_cfg_bool(c, "train.multimask", 1);
    q->corrective = (int)lab_cfg_int(c, "train.corrective", 0);
    q->train_n = lab_cfg_int(c, "data.train_subset", 4000);
    q->eval_n = lab_cfg_int(c, "data.eval_subset", 200);
    q->lr = lab_cfg_num(c, "train.lr", 8e-4);
    q->wd = lab_cfg_num(c, "train.weight_decay", 0.1);
    q->jitter = lab_cfg_num(c, "prompt.box_jitter", 0.1);
    q->jitter_max = lab_cfg_num(c, "prompt.box_jitter_max", 20);
    q->max_seconds = lab_cfg_num(c, "train.max_seconds", 0);
    q->w.focal = lab_cfg_num(c, "loss.focal_weight", 20);
    q->w.dice = lab_cfg_num(c, "loss.dice_weight", 1);
    q->w.iou = lab_cfg_num(c, "loss.iou_weight", 1);
    q->seed = (uint64_t)lab_cfg_int(c, "seed", 42);
}

int sam_quick_config(const json_t *config, struct sam_config *c)
{
    int g[SAM_MAX_GLOBAL], ng = 0;
    const json_t *gl = lab_cfg_get(config, "sam.global_attn_indexes");
    for (size_t i = 0; json_is_array(gl) && i < json_array_size(gl) && ng < SAM_MAX_GLOBAL; i++)
        g[ng++] = (int)json_integer_value(json_array_get(gl, i));
    sam_config_custom(c, (int)lab_cfg_int(config, "sam.embed_dim", 96), (int)lab_cfg_int(config, "sam.depth", 2),
                      (int)lab_cfg_int(config, "sam.heads", 4), ng, g);
    c->img_size = (int)lab_cfg_int(config, "sam.img_size", 64);
    c->patch = (int)lab_cfg_int(config, "sam.patch", 8);
    c->window = (int)lab_cfg_int(config, "sam.window", 4);
    return sam_config_check(c);
}

static int get_canvas(const struct ds_dataset *d, size_t i, int S, struct ds_sample *smp)
{
    memset(smp, 0, sizeof *smp);
    LAB_TRY(ds_dataset_get(d, i, smp));
    int ok = smp->image.w == S && smp->image.h == S && smp->image.c == 1 && smp->nobj > 0;
    for (int j = 0; ok && j < smp->nobj; j++)
        ok = smp->inst[j].px != NULL;
    if (!ok) {
        ds_sample_free(smp);
        return lab_err(LAB_EINTERNAL, NULL, "mosaic %zu is not a %dx%d gray canvas with instance masks", i, S, S);
    }
    return LAB_OK;
}

struct batch {
    float *x, *boxes, *points, *truth;
    int *labels;
    uint8_t *truth8; /* the same masks, for the corrective clicks */
};

static int sample_batch(const struct ds_dataset *d, const struct qcfg *q, struct ds_rng *rng, struct batch *b)
{
    int S = q->size;
    size_t px = (size_t)S * S;
    for (int i = 0; i < q->batch; i++) {
        struct ds_sample smp;
        LAB_TRY(get_canvas(d, (size_t)ds_rng_below(rng, d->n), S, &smp));
        sam_normalize_gray(smp.image.px, px, b->x + (size_t)i * 3 * px);
        int j = (int)ds_rng_below(rng, (uint64_t)smp.nobj);
        const uint8_t *m = smp.inst[j].px;
        size_t area = 0;
        for (size_t p = 0; p < px; p++)
            b->truth[(size_t)i * px + p] = m[p] ? 1.0f : 0.0f, b->truth8[(size_t)i * px + p] = m[p] != 0,
                              area += m[p] != 0;
        for (int k = 0; k < 4; k++) {
            const float *bx = smp.boxes[j];
            double side = k % 2 ? bx[3] - bx[1] : bx[2] - bx[0], n = ds_rng_normal(rng) * q->jitter * side;
            if (n > q->jitter_max)
                n = q->jitter_max;
            if (n < -q->jitter_max)
                n = -q->jitter_max;
            double v = bx[k] + n;
            b->boxes[i * 4 + k] = (float)(v < 0 ? 0 : v > S ? S : v);
        }
        size_t pick = (size_t)ds_rng_below(rng, area ? area : 1), seen = 0;
        for (size_t p = 0; p < px; p++)
            if (m[p] && seen++ == pick) {
                b->points[i * 2] = (float)(p % (size_t)S);
                b->points[i * 2 + 1] = (float)(p / (size_t)S);
                break;
            }
        b->labels[i] = 1;
        ds_sample_free(&smp);
    }
    return LAB_OK;
}

static int decode_kind(struct model *m, const ts_tensor *emb, const struct sam_prompts *pr, int multimask,
                       ts_tensor **low, ts_tensor **iou)
{
    ts_tensor *sparse, *dense;
    LAB_TRY(sam_prompt_encode(m, pr, &sparse, &dense));
    return sam_decode(m, emb, sparse, dense, multimask, low, iou);
}

static int train_step(struct model *m, ts_optim *opt, const struct qcfg *q, const struct batch *b, ts_device dev,
                      struct ds_rng *clicks, double *loss_out, double parts[3])
{
    int S = q->size;
    int64_t B = q->batch, xs[4] = {B, 3, S, S}, ts4[4] = {B, 1, S, S};
    ts_tensor *x, *t, *emb, *lb, *ib, *lp, *ip, *l1, *l2, *loss;
    int sets = 2;
    NN_TRY(ts_from_host(&x, b->x, TS_F32, 4, xs, dev));
    NN_TRY(ts_from_host(&t, b->truth, TS_F32, 4, ts4, dev));
    LAB_TRY(sam_encode(m, x, NULL, &emb));
    struct sam_prompts pb = {.batch = B, .boxes = b->boxes};
    struct sam_prompts pp = {.batch = B, .n_points = 1, .coords = b->points, .labels = b->labels};
    LAB_TRY(decode_kind(m, emb, &pb, 0, &lb, &ib));
    LAB_TRY(decode_kind(m, emb, &pp, 0, &lp, &ip));
    double p1[3], p2[3], p3[3] = {0, 0, 0};
    LAB_TRY(sam_quick_loss(lb, ib, t, &q->w, &l1, p1));
    LAB_TRY(sam_quick_loss(lp, ip, t, &q->w, &l2, p2));
    NN_TRY(ts_add(&loss, l1, l2));
    if (q->multimask) { /* the point again with three outputs: a point is ambiguous (SAM's training) */
        ts_tensor *lm, *im, *l3, *sum;
        LAB_TRY(decode_kind(m, emb, &pp, 1, &lm, &im));
        LAB_TRY(sam_quick_loss_multimask(lm, im, t, &q->w, &l3, p3));
        NN_TRY(ts_add(&sum, loss, l3));
        loss = sum;
        sets = 3;
    }
    if (q->corrective > 0) { /* clicks where the point's mask is wrong, each round from the last */
        struct sam_corrective_batch cb = {.emb = emb, .truth_t = t, .truth = b->truth8, .coords = b->points,
                                          .labels = b->labels, .batch = B, .S = S};
        LAB_TRY(sam_corrective_train(m, &cb, lp, q->corrective, &q->w, clicks, &loss, p3));
        sets += q->corrective;
    }
    if (ts_optim_zero_grad(opt) || ts_backward(loss, NULL) || ts_optim_step(opt))
        return nn_fail(TS_ETORCH, "a SAM training step");
    NN_TRY(ts_item_f64(loss, loss_out));
    for (int k = 0; k < 3; k++)
        parts[k] = (p1[k] + p2[k] + p3[k]) / sets;
    if (!isfinite(*loss_out))
        return lab_err(LAB_EFAIL, "lower the learning rate (--set train.lr=...) (lab explain TS-NAN-LOGITS)",
                       "the training loss became %f", *loss_out);
    return LAB_OK;
}

static int train(struct lab_run *r, struct model *m, const struct ds_dataset *tr, const struct qcfg *q, json_t *mm)
{
    struct ts_adamw_opts ao = {.lr = q->lr, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = q->wd};
    ts_optim *opt = NULL;
    if (ts_optim_adamw(&opt, m->params, &ao) != TS_OK)
        return nn_fail(TS_ETORCH, "creating AdamW");
    size_t px = (size_t)q->size * q->size, B = (size_t)q->batch;
    struct batch b = {malloc(sizeof(float) * 3 * px * B), malloc(sizeof(float) * 4 * B), malloc(sizeof(float) * 2 * B),
                      malloc(sizeof(float) * px * B), malloc(sizeof(int) * B), malloc(px * B)};
    int rc = b.x && b.boxes && b.points && b.truth && b.labels && b.truth8
                 ? LAB_OK
                 : lab_err(LAB_EINTERNAL, NULL, "out of memory");
    struct ds_rng rng, clicks; /* clicks on a stream of their own: the batches stay those of a run without them */
    ds_rng_seed(&rng, q->seed, 2206, 1);
    ds_rng_seed(&clicks, q->seed, 2206, 2);
    json_t *curve = json_array();
    double t0 = lab_monotonic_s(), sum = 0, ps[3] = {0, 0, 0};
    int done = 0, win = 0;
    for (int s = 0; !rc && s < q->steps; s++) {
        if (lab_interrupted) {
            rc = lab_err(LAB_EINTERRUPTED, "run it again", "interrupted");
            break;
        }
        if (q->max_seconds > 0 && lab_monotonic_s() - t0 > q->max_seconds) {
            lab_say(r, "stopping after %d steps: train.max_seconds %.0f reached", s, q->max_seconds);
            break;
        }
        /* linear warmup over the first 5% of the steps, then cosine */
        int warm = q->steps / 20 > 0 ? q->steps / 20 : 1;
        double lr = s < warm ? q->lr * (s + 1) / warm : ts_lr_cosine(q->lr, q->lr * 0.01, s - warm, q->steps - warm);
        ts_optim_set_lr(opt, -1, lr);
        rc = sample_batch(tr, q, &rng, &b);
        double l = 0, parts[3] = {0, 0, 0};
        ts_scope_begin();
        if (!rc)
            rc = train_step(m, opt, q, &b, r->dev.device, &clicks, &l, parts);
        ts_scope_end();
        if (rc)
            break;
        done++, win++, sum += l;
        for (int k = 0; k < 3; k++)
            ps[k] += parts[k];
        if (win == q->log_every || s == q->steps - 1) {
            lab_say(r, "step %d/%d: loss %.4f (focal %.4f, dice %.4f, iou mse %.4f), %.0f s", s + 1, q->steps, sum / win,
                    ps[0] / win, ps[1] / win, ps[2] / win, lab_monotonic_s() - t0);
            json_array_append_new(curve, json_pack("{s:i, s:f, s:f, s:f, s:f}", "step", s + 1, "loss", sum / win,
                                                   "focal", ps[0] / win, "dice", ps[1] / win, "iou_mse", ps[2] / win));
            sum = 0, win = 0, ps[0] = ps[1] = ps[2] = 0;
        }
    }
    double secs = lab_monotonic_s() - t0;
    json_object_set_new(mm, "curve", curve);
    json_object_set_new(mm, "steps", json_integer(done));
    json_object_set_new(mm, "train_time_s", json_real(secs));
    json_object_set_new(mm, "images_per_s", json_real(secs > 0 ? (double)done * q->batch / secs : 0));
    free(b.x), free(b.boxes), free(b.points), free(b.truth), free(b.labels), free(b.truth8);
    ts_optim_free(opt);
    return rc;
}

struct preds {
    uint8_t *masks;
    float *iou, *prompts, *row_iou; /* row_iou: each mask's IoU with its instance */
    int64_t *image_index;
    size_t n, cap;
    double iou_sum[2];
    size_t count[2];
};

/* one held-out mosaic: its instances' exact boxes, then their centre points,
 * through SAM's named forward (the grader re-evaluates the same way) */
static int eval_image(struct model *m, const struct ds_sample *smp, int S, ts_device dev, size_t image,
                      struct preds *p)
{
    int n = smp->nobj;
    size_t px = (size_t)S * S;
    float coords[DS_MAX_OBJECTS * 2], boxes[DS_MAX_OBJECTS * 4], *x = malloc(sizeof(float) * 3 * px);
    if (!x)
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    sam_normalize_gray(smp->image.px, px, x);
    for (int j = 0; j < n; j++) {
        memcpy(boxes + j * 4, smp->boxes[j], sizeof(float) * 4);
        ds_mask_center_point(smp->inst[j].px, S, coords + j * 2);
    }
    int64_t xs[4] = {1, 3, S, S}, bs[2] = {n, 4}, cs[2] = {n, 2};
    ts_tensor *xt, *bt, *ct, *bin;
    int bad = ts_from_host(&xt, x, TS_F32, 4, xs, dev) || ts_from_host(&bt, boxes, TS_F32, 2, bs, dev) ||
              ts_from_host(&ct, coords, TS_F32, 2, cs, dev);
    free(x);
    if (bad)
        return nn_fail(TS_ETORCH, "uploading an eval mosaic");
    struct model_tensors in = {0}, out = {0};
    LAB_TRY(model_tensors_add(&in, "pixel_values", xt));
    LAB_TRY(model_tensors_add(&in, "boxes", bt));
    LAB_TRY(model_tensors_add(&in, "point_coords", ct));
    LAB_TRY(model_run(m, &in, 0, &out));
    NN_TRY(ts_gt_scalar(&bin, model_tensors_get(&out, "masks"), 0.0));
    uint8_t *dst = p->masks + p->n * px;
    if (ts_to_host(bin, TS_U8, dst, px * (size_t)(2 * n)) ||
        ts_to_host(model_tensors_get(&out, "iou_predictions"), TS_F32, p->iou + p->n, sizeof(float) * (size_t)(2 * n)))
        return nn_fail(TS_ETORCH, "reading the eval masks");
    for (int r = 0; r < 2 * n; r++) {
        int kind = r >= n, j = r % n;
        const uint8_t *pm = dst + (size_t)r * px, *tm = smp->inst[j].px;
        size_t in_px = 0, un = 0;
        for (size_t k = 0; k < px; k++)
            in_px += pm[k] && tm[k], un += pm[k] || tm[k];
        p->row_iou[p->n + (size_t)r] = un ? (float)((double)in_px / (double)un) : 0.0f;
        p->iou_sum[kind] += un ? (double)in_px / (double)un : 0.0;
        p->count[kind]++;
        float *pp = p->prompts + (p->n + (size_t)r) * 4;
        if (kind)
            pp[0] = coords[j * 2], pp[1] = coords[j * 2 + 1], pp[2] = 1, pp[3] = 0;
        else
            memcpy(pp, boxes + j * 4, sizeof(float) * 4);
        p->image_index[p->n + (size_t)r] = (int64_t)image;
    }
    p->n += (size_t)(2 * n);
    return LAB_OK;
}

static int evaluate(struct model *m, const struct ds_dataset *ev, const struct qcfg *q, ts_device dev, struct preds *p)
{
    int S = q->size;
    size_t px = (size_t)S * S;
    p->cap = ev->n * 2 * DS_MAX_OBJECTS;
    p->masks = malloc(p->cap * px);
    p->iou = malloc(sizeof(float) * p->cap);
    p->prompts = malloc(sizeof(float) * 4 * p->cap);
    p->image_index = malloc(sizeof(int64_t) * p->cap);
    p->row_iou = malloc(sizeof(float) * p->cap);
    int rc = p->masks && p->iou && p->prompts && p->image_index && p->row_iou ? LAB_OK
                                                                : lab_err(LAB_EINTERNAL, NULL, "out of memory");
    int grad = ts_no_grad_push();
    for (size_t i = 0; !rc && i < ev->n; i++) {
        struct ds_sample smp;
        if ((rc = get_canvas(ev, i, S, &smp)))
            break;
        ts_scope_begin();
        rc = eval_image(m, &smp, S, dev, i, p);
        ts_scope_end();
        ds_sample_free(&smp);
    }
    ts_grad_mode_pop(grad);
    return rc;
}

static int save_predictions(struct lab_run *r, const struct preds *p, int S, size_t n_images)
{
    char path[4200];
    LAB_TRY(lab_run_path(r, "models/sam/predictions.safetensors", path, sizeof path));
    int64_t *idx = malloc(sizeof *idx * n_images);
    if (!idx)
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    for (size_t i = 0; i < n_images; i++)
        idx[i] = (int64_t)i;
    int64_t P = (int64_t)p->n;
    struct ts_host_tensor t[5] = {
        {.name = "masks", .dtype = TS_U8, .ndim = 3, .shape = {P, S, S}, .data = p->masks,
         .nbytes = p->n * (size_t)S * S},
        {.name = "iou_predictions", .dtype = TS_F32, .ndim = 1, .shape = {P}, .data = p->iou,
         .nbytes = p->n * sizeof(float)},
        {.name = "prompts", .dtype = TS_F32, .ndim = 2, .shape = {P, 4}, .data = p->prompts,
         .nbytes = p->n * 4 * sizeof(float)},
        {.name = "image_index", .dtype = TS_I64, .ndim = 1, .shape = {P}, .data = p->image_index,
         .nbytes = p->n * sizeof(int64_t)},
        {.name = "indices", .dtype = TS_I64, .ndim = 1, .shape = {(int64_t)n_images}, .data = idx,
         .nbytes = n_images * sizeof(int64_t)},
    };
    json_t *meta = json_pack("{s:s}", "format", "lab-prompt-masks-v1");
    int rc = weights_save_host(t, 5, path, meta);
    json_decref(meta);
    free(idx);
    return rc;
}

static int open_mosaics(const struct qcfg *q, struct ds_dataset **itr, struct ds_dataset **iev, struct ds_dataset **tr,
                        struct ds_dataset **ev)
{
    LAB_TRY(ds_fashion_mnist_open(NULL, 1, itr));
    LAB_TRY(ds_fashion_mnist_open(NULL, 0, iev));
    struct ds_mosaic_config a = {.size = q->size, .n = (size_t)q->train_n, .seed = q->seed};
    struct ds_mosaic_config b = {.size = q->size, .n = (size_t)q->eval_n, .seed = q->seed + 1};
    LAB_TRY(ds_mosaic_open(*itr, &a, tr));
    return ds_mosaic_open(*iev, &b, ev);
}

int sam_quick_run(struct lab_run *r)
{
    struct qcfg q;
    cfg_of(r->config, &q);
    struct sam_config sc;
    LAB_TRY(sam_quick_config(r->config, &sc));
    if (q.corrective < 0 || q.corrective > 8)
        return lab_err(LAB_EUSAGE, "use train.corrective 0..8 (SAM trains with up to 8 clicks)",
                       "train.corrective is %d", q.corrective);
    if (q.steps < 0 || q.batch < 1 || q.batch > 256 || q.train_n < 1 || q.eval_n < 1 || q.log_every < 1)
        return lab_err(LAB_EUSAGE, "use train.steps >= 0, train.batch_size 1..256, subsets >= 1, train.log_every >= 1",
                       "the training sizes are out of range");
    struct ds_dataset *itr = NULL, *iev = NULL, *tr = NULL, *ev = NULL;
    struct model *m = NULL;
    struct preds p;
    memset(&p, 0, sizeof p);
    json_t *mm = json_object();
    int rc = open_mosaics(&q, &itr, &iev, &tr, &ev);
    if (!rc && ts_manual_seed(q.seed) != TS_OK)
        rc = nn_fail(TS_ETORCH, "ts_manual_seed");
    if (!rc)
        rc = sam_new(&sc, &m);
    if (!rc) {
        lab_say(r, "data fashion-mnist mosaics %dx%d: %zu training, %zu held-out canvases (instance masks)", q.size,
                q.size, tr->n, ev->n);
        lab_say(r, "sam: encoder width %d, depth %d, heads %d, patch %d (a %dx%d embedding), %lld parameters", sc.embed_dim,
                sc.depth, sc.heads, sc.patch, sc.img_size / sc.patch, sc.img_size / sc.patch,
                (long long)model_num_params(m));
        lab_say(r, "loss focal:dice:iou-mse %g:%g:%g; AdamW lr %g wd %g, %d steps of %d images (a box and a point "
                   "each%s)",
                q.w.focal, q.w.dice, q.w.iou, q.lr, q.wd, q.steps, q.batch,
                q.multimask ? ", the point also with three outputs, the best one learning" : "");
        if (q.corrective > 0)
            lab_say(r, "corrective clicks: %d per step after the point's mask, each where the last mask is wrong, "
                       "with that mask as the mask prompt", q.corrective);
        json_object_set_new(mm, "params", json_integer(model_num_params(m)));
        rc = train(r, m, tr, &q, mm);
    }
    double t0 = lab_monotonic_s();
    if (!rc)
        rc = evaluate(m, ev, &q, r->dev.device, &p);
    if (!rc) {
        double box = p.count[0] ? p.iou_sum[0] / (double)p.count[0] : 0;
        double pt = p.count[1] ? p.iou_sum[1] / (double)p.count[1] : 0;
        double ms = (lab_monotonic_s() - t0) * 1000.0 / (double)ev->n;
        lab_say(r, "held-out: mIoU box %.4f, point %.4f over %zu instances in %zu mosaics (%.1f ms per mosaic)", box, pt,
                p.count[0], ev->n, ms);
        json_object_set_new(mm, "miou_box", json_real(box));
        json_object_set_new(mm, "miou_point", json_real(pt));
        json_object_set_new(mm, "prompt_miou", json_real((box + pt) / 2));
        json_object_set_new(mm, "instances", json_integer((json_int_t)p.count[0]));
        json_object_set_new(mm, "test_images", json_integer((json_int_t)ev->n));
        json_object_set_new(mm, "eval_ms_per_image", json_real(ms));
        rc = save_predictions(r, &p, q.size, ev->n);
    }
    if (!rc) { /* the interactive use: the centre point, then one click where its mask is wrong */
        double corrected;
        size_t n;
        rc = sam_corrective_miou(m, ev, q.size, r->dev.device, &corrected, &n);
        if (!rc) {
            lab_say(r, "held-out: mIoU point + one corrective click %.4f over %zu instances", corrected, n);
            json_object_set_new(mm, "miou_point_corrected", json_real(corrected));
        }
    }
    if (!rc) {
        struct sam_quick_rows rows = {.masks = p.masks, .prompts = p.prompts, .iou = p.row_iou,
                                      .image_index = p.image_index, .n = p.n, .S = q.size};
        rc = sam_quick_plots(r, json_object_get(mm, "curve"), ev, &rows, 8);
    }
    if (!rc)
        rc = sam_quick_auto(r, m, ev, mm);
    char path[4200];
    if (!rc) {
        json_t *meta = json_pack("{s:s, s:s, s:s}", "format", "pt", "lab", "2.2.6", "model", "sam");
        if (!(rc = lab_run_path(r, "models/sam/model.safetensors", path, sizeof path)))
            rc = weights_save(m->params, path, meta, NULL, 0);
        json_decref(meta);
    }
    if (!rc) {
        json_object_set_new(r->metrics, "lab", json_string("2.2.6"));
        json_object_set_new(r->metrics, "dataset", json_string("fashion-mnist-mosaic"));
        json_object_set_new(mm, "status", json_string("done"));
        json_t *models = json_object();
        json_object_set(models, "sam", mm);
        json_object_set_new(r->metrics, "models", models);
        rc = lab_run_save_metrics(r);
    }
    json_decref(mm);
    free(p.masks), free(p.iou), free(p.prompts), free(p.image_index), free(p.row_iou);
    model_free(m);
    ds_dataset_free(tr);
    ds_dataset_free(ev);
    ds_dataset_free(itr);
    ds_dataset_free(iev);
    return rc;
}
