#include "labs/tasks/segment.h"

#include "base/error.h"
#include "labs/models/nn.h"
#include "labs/models/weights.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void segment_loss_cfg_course(struct segment_loss_cfg *c)
{
    *c = (struct segment_loss_cfg){.kind = SEGMENT_LOSS_CE_DICE, .ce_weight = 0.5, .dice_weight = 0.5,
                                   .dice_smooth = 1.0, .focal_gamma = 2.0, .ignore = 255};
}

int segment_loss_kind_parse(const char *name, int *kind)
{
    static const char *const names[] = {"ce_dice", "ce", "dice", "focal"};
    for (int i = 0; i < 4; i++)
        if (name && !strcmp(name, names[i])) {
            *kind = i;
            return LAB_OK;
        }
    return lab_err(LAB_EUSAGE, "use --set train.loss=ce_dice (the course's), ce, dice or focal",
                   "unknown segmentation loss '%s'", name ? name : "(none)");
}

/* Sum over every dimension but 1: [B, K, H, W] -> [K]. */
static int sum_but_channels(const ts_tensor *x, ts_tensor **y)
{
    ts_tensor *a, *b;
    NN_TRY(ts_sum(&a, x, 3, 0));
    NN_TRY(ts_sum(&b, a, 2, 0));
    NN_TRY(ts_sum(y, b, 0, 0));
    return LAB_OK;
}

/* 1 - mean_c (2 sum p t + s) / (sum p + sum t + s), kept pixels only. */
static int dice_loss(const ts_tensor *logits, const ts_tensor *target, const ts_tensor *ignored, double smooth,
                     ts_tensor **loss)
{
    ts_device dev = ts_device_of(logits);
    int64_t b = ts_size(logits, 0), k = ts_size(logits, 1), h = ts_size(logits, 2), w = ts_size(logits, 3);
    ts_tensor *clean, *t4, *ids, *ids4, *hit, *zeros, *onehot, *keep, *keep4, *prob, *p, *t, *pt, *inter, *ps,
        *tsum, *num, *den, *dice, *mean, *neg;
    NN_TRY(ts_masked_fill(&clean, target, ignored, 0.0));
    NN_TRY(ts_unsqueeze(&t4, clean, 1));
    NN_TRY(ts_arange(&ids, 0, (double)k, 1, TS_I64, dev));
    int64_t idshape[4] = {1, k, 1, 1};
    NN_TRY(ts_reshape(&ids4, ids, 4, idshape));
    NN_TRY(ts_eq(&hit, t4, ids4));
    int64_t full[4] = {b, k, h, w};
    NN_TRY(ts_zeros(&zeros, 4, full, TS_F32, dev));
    NN_TRY(ts_masked_fill(&onehot, zeros, hit, 1.0));
    int64_t kshape[4] = {b, 1, h, w};
    ts_tensor *ones, *ign4;
    NN_TRY(ts_ones(&ones, 4, kshape, TS_F32, dev));
    NN_TRY(ts_unsqueeze(&ign4, ignored, 1));
    NN_TRY(ts_masked_fill(&keep4, ones, ign4, 0.0));
    keep = keep4;
    ts_tensor *lf;
    NN_TRY(ts_to(&lf, logits, dev, TS_F32));
    NN_TRY(ts_softmax(&prob, lf, 1));
    NN_TRY(ts_mul(&p, prob, keep));
    NN_TRY(ts_mul(&t, onehot, keep));
    NN_TRY(ts_mul(&pt, p, t));
    LAB_TRY(sum_but_channels(pt, &inter));
    LAB_TRY(sum_but_channels(p, &ps));
    LAB_TRY(sum_but_channels(t, &tsum));
    ts_tensor *num0, *den0;
    NN_TRY(ts_mul_scalar(&num0, inter, 2.0));
    NN_TRY(ts_add_scalar(&num, num0, smooth));
    NN_TRY(ts_add(&den0, ps, tsum));
    NN_TRY(ts_add_scalar(&den, den0, smooth));
    NN_TRY(ts_div(&dice, num, den));
    NN_TRY(ts_mean(&mean, dice, TS_ALL, 0));
    NN_TRY(ts_neg(&neg, mean));
    NN_TRY(ts_add_scalar(loss, neg, 1.0));
    return LAB_OK;
}

static int focal_loss(const ts_tensor *logits, const ts_tensor *target, const ts_tensor *ignored, int64_t ignore,
                      double gamma, ts_tensor **loss)
{
    ts_tensor *ce, *negce, *pt, *one_minus, *mod, *weighted, *total, *kept, *kept_n, *count, *clamped;
    NN_TRY(ts_cross_entropy(&ce, logits, target, NULL, TS_RED_NONE, ignore, 0.0));
    NN_TRY(ts_neg(&negce, ce));
    NN_TRY(ts_exp(&pt, negce));
    NN_TRY(ts_neg(&one_minus, pt));
    NN_TRY(ts_add_scalar(&one_minus, one_minus, 1.0));
    NN_TRY(ts_pow_scalar(&mod, one_minus, gamma));
    NN_TRY(ts_mul(&weighted, mod, ce));
    NN_TRY(ts_sum(&total, weighted, TS_ALL, 0));
    ts_tensor *ones;
    NN_TRY(ts_ones(&ones, ts_dim(target), (int64_t[]){ts_size(target, 0), ts_size(target, 1), ts_size(target, 2)},
                   TS_F32, ts_device_of(logits)));
    NN_TRY(ts_masked_fill(&kept, ones, ignored, 0.0));
    NN_TRY(ts_sum(&kept_n, kept, TS_ALL, 0));
    /* an all-ignored batch gives 0, not 0/0 */
    NN_TRY(ts_clamp(&clamped, kept_n, 1.0, NAN));
    count = clamped;
    NN_TRY(ts_div(loss, total, count));
    return LAB_OK;
}

int segment_loss(const ts_tensor *logits, const ts_tensor *target, const struct segment_loss_cfg *cfg,
                 ts_tensor **loss)
{
    if (ts_dim(logits) != 4 || ts_dim(target) != 3 || ts_size(logits, 0) != ts_size(target, 0) ||
        ts_size(logits, 2) != ts_size(target, 1) || ts_size(logits, 3) != ts_size(target, 2))
        return lab_err(LAB_EUSAGE,
                       "make the model's output [B, classes, H, W] the size of the masks [B, H, W] (a U-Net "
                       "pads each up-sampled map to its skip's size for this)",
                       "the logits and the masks do not match in shape (TS-UNET-SHAPE)");
    ts_tensor *ign_value, *ignored;
    NN_TRY(ts_full(&ign_value, 0, NULL, (double)cfg->ignore, TS_I64, ts_device_of(target)));
    NN_TRY(ts_eq(&ignored, target, ign_value));
    ts_tensor *ce = NULL, *dice = NULL;
    switch (cfg->kind) {
    case SEGMENT_LOSS_FOCAL:
        return focal_loss(logits, target, ignored, cfg->ignore, cfg->focal_gamma, loss);
    case SEGMENT_LOSS_CE:
        NN_TRY(ts_cross_entropy(loss, logits, target, NULL, TS_RED_MEAN, cfg->ignore, 0.0));
        return LAB_OK;
    case SEGMENT_LOSS_DICE:
        return dice_loss(logits, target, ignored, cfg->dice_smooth, loss);
    case SEGMENT_LOSS_CE_DICE: {
        ts_tensor *a, *b;
        NN_TRY(ts_cross_entropy(&ce, logits, target, NULL, TS_RED_MEAN, cfg->ignore, 0.0));
        LAB_TRY(dice_loss(logits, target, ignored, cfg->dice_smooth, &dice));
        NN_TRY(ts_mul_scalar(&a, ce, cfg->ce_weight));
        NN_TRY(ts_mul_scalar(&b, dice, cfg->dice_weight));
        NN_TRY(ts_add(loss, a, b));
        return LAB_OK;
    }
    default:
        return lab_err(LAB_EINTERNAL, NULL, "unknown segmentation loss kind %d", cfg->kind);
    }
}

int segment_confusion_init(struct segment_confusion *c, int64_t k)
{
    memset(c, 0, sizeof *c);
    if (k < 1 || k > 255)
        return lab_err(LAB_EUSAGE, "use 1-255 classes (255 is the ignore label)", "%lld classes",
                       (long long)k);
    c->counts = calloc((size_t)(k * k), sizeof *c->counts);
    if (!c->counts)
        return lab_err(LAB_EENV, "free some memory", "out of memory for a %lldx%lld confusion matrix",
                       (long long)k, (long long)k);
    c->k = k;
    return LAB_OK;
}

void segment_confusion_free(struct segment_confusion *c)
{
    free(c->counts);
    memset(c, 0, sizeof *c);
}

int segment_confusion_add(struct segment_confusion *c, const uint8_t *pred, const uint8_t *truth, size_t n,
                          int ignore)
{
    for (size_t i = 0; i < n; i++) {
        if (truth[i] == ignore) {
            c->ignored++;
            continue;
        }
        if (truth[i] >= c->k)
            return lab_err(LAB_EUSAGE, "keep ground-truth ids in 0..classes-1 or the ignore label",
                           "ground-truth class %d at pixel %zu, the task has %lld classes", truth[i], i,
                           (long long)c->k);
        if (pred[i] >= c->k)
            return lab_err(LAB_EUSAGE, "predict class ids in 0..classes-1 (argmax over the class dimension)",
                           "predicted class %d at pixel %zu, the task has %lld classes", pred[i], i,
                           (long long)c->k);
        c->counts[truth[i] * c->k + pred[i]]++;
    }
    return LAB_OK;
}

int segment_metrics_compute(const struct segment_confusion *c, struct segment_metrics *out)
{
    memset(out, 0, sizeof *out);
    int64_t k = c->k;
    out->k = k;
    out->iou = malloc((size_t)k * sizeof *out->iou);
    out->dice = malloc((size_t)k * sizeof *out->dice);
    if (!out->iou || !out->dice) {
        segment_metrics_free(out);
        return lab_err(LAB_EENV, "free some memory", "out of memory for the segmentation metrics");
    }
    int64_t total = 0, correct = 0;
    double iou_sum = 0, dice_sum = 0;
    for (int64_t a = 0; a < k; a++) {
        int64_t tp = c->counts[a * k + a], row = 0, col = 0;
        for (int64_t b = 0; b < k; b++) {
            row += c->counts[a * k + b];
            col += c->counts[b * k + a];
        }
        total += row;
        correct += tp;
        int64_t uni = row + col - tp;
        if (uni > 0) {
            out->iou[a] = (double)tp / (double)uni;
            out->dice[a] = 2.0 * (double)tp / (double)(row + col);
            iou_sum += out->iou[a];
            dice_sum += out->dice[a];
            out->present++;
        } else {
            out->iou[a] = NAN;
            out->dice[a] = NAN;
        }
    }
    out->miou = out->present ? iou_sum / (double)out->present : 0.0;
    out->mdice = out->present ? dice_sum / (double)out->present : 0.0;
    out->pixel_accuracy = total ? (double)correct / (double)total : 0.0;
    return LAB_OK;
}

void segment_metrics_free(struct segment_metrics *m)
{
    free(m->iou);
    free(m->dice);
    memset(m, 0, sizeof *m);
}

void segment_metrics_to_json(const struct segment_metrics *m, json_t *obj)
{
    json_object_set_new(obj, "miou", json_real(m->miou));
    json_object_set_new(obj, "mean_dice", json_real(m->mdice));
    json_object_set_new(obj, "pixel_accuracy", json_real(m->pixel_accuracy));
    json_object_set_new(obj, "classes_present", json_integer(m->present));
    json_t *iou = json_array();
    for (int64_t i = 0; i < m->k; i++)
        json_array_append_new(iou, isnan(m->iou[i]) ? json_null() : json_real(m->iou[i]));
    json_object_set_new(obj, "per_class_iou", iou);
}

int segment_save_predictions(const char *path, const uint8_t *masks, const int64_t *indices, int64_t n, int64_t h,
                             int64_t w, const char *eval_set)
{
    if (n < 1 || h < 1 || w < 1)
        return lab_err(LAB_EINTERNAL, "evaluate at least one image", "no masks to save (%lld x %lld x %lld)",
                       (long long)n, (long long)h, (long long)w);
    struct ts_host_tensor t[2] = {
        {.name = "masks", .dtype = TS_U8, .ndim = 3, .shape = {n, h, w}, .data = masks,
         .nbytes = (size_t)(n * h * w)},
        {.name = "indices", .dtype = TS_I64, .ndim = 1, .shape = {n}, .data = indices,
         .nbytes = (size_t)n * sizeof(int64_t)},
    };
    json_t *meta = json_pack("{s:s}", "format", SEGMENT_PREDICTIONS_FORMAT);
    if (eval_set)
        json_object_set_new(meta, "eval_set", json_string(eval_set));
    int rc = weights_save_host(t, 2, path, meta);
    json_decref(meta);
    return rc;
}

int segment_mark_borders(uint8_t *mask, int h, int w, uint8_t ignore)
{
    /* decided on the original ids, written after: a marked pixel must not
     * make its own neighbours borders */
    uint8_t *marks = calloc((size_t)h * (size_t)w, 1);
    if (!marks)
        return lab_err(LAB_EENV, "free some memory", "out of memory marking the borders of a %dx%d mask", h, w);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t c = mask[(size_t)y * w + x];
            if (c == ignore)
                continue;
            for (int dy = -1; dy <= 1 && !marks[(size_t)y * w + x]; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    int yy = y + dy, xx = x + dx;
                    if (yy < 0 || yy >= h || xx < 0 || xx >= w)
                        continue;
                    uint8_t d = mask[(size_t)yy * w + xx];
                    if (d != ignore && d > c) {
                        marks[(size_t)y * w + x] = 1;
                        break;
                    }
                }
        }
    for (size_t i = 0; i < (size_t)h * (size_t)w; i++)
        if (marks[i])
            mask[i] = ignore;
    free(marks);
    return LAB_OK;
}

void segment_borders_to_background(uint8_t *mask, size_t n, uint8_t ignore)
{
    for (size_t i = 0; i < n; i++)
        if (mask[i] == ignore)
            mask[i] = 0;
}

int segment_argmax_masks(const ts_tensor *logits, uint8_t *dst, size_t cap)
{
    if (ts_dim(logits) != 4 || ts_size(logits, 1) < 1 || ts_size(logits, 1) > 255)
        return lab_err(LAB_EUSAGE, "return logits [B, classes, H, W] with 1-255 classes",
                       "segmentation logits must be 4-d with 1-255 classes");
    size_t n = (size_t)(ts_size(logits, 0) * ts_size(logits, 2) * ts_size(logits, 3));
    if (n > cap)
        return lab_err(LAB_EINTERNAL, NULL, "%zu mask pixels do not fit a %zu-byte buffer", n, cap);
    ts_tensor *idx;
    NN_TRY(ts_argmax(&idx, logits, 1, 0));
    int rc = ts_to_host(idx, TS_U8, dst, n);
    ts_tensor_free(idx);
    NN_TRY(rc);
    return LAB_OK;
}
