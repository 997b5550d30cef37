/* Ultralytics' validation figures (models/yolo/detect/val.py, engine/
 * validator.py match_predictions, utils/metrics.py ap_per_class,
 * compute_ap, smooth, ConfusionMatrix), re-done on host arrays: the matching
 * keeps each prediction's best ground truth, then each ground truth's
 * lowest-index prediction (their second numpy.unique runs on an array that
 * is by then ordered by prediction), and AP integrates the interpolated
 * envelope with the trapezoid rule up to recall 1. */
#include "labs/tasks/coco_eval.h"

#include "base/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ULTRA_EPS 1e-16

/* torch.linspace(0.5, 0.95, 10) in float32: the first half steps up from
 * the start, the second half down from the end. */
static float ultra_iou_thr(int i)
{
    const float step = (0.95f - 0.5f) / 9.0f;
    return i < 5 ? 0.5f + step * (float)i : 0.95f - step * (float)(9 - i);
}

/* utils/metrics.py box_iou in float32, eps 1e-7; a = ground truth. */
static float ultra_iou(const float *a, const float *b)
{
    float w = fminf(a[2], b[2]) - fmaxf(a[0], b[0]);
    float h = fminf(a[3], b[3]) - fmaxf(a[1], b[1]);
    w = w > 0 ? w : 0;
    h = h > 0 ? h : 0;
    float inter = w * h;
    float area_a = (a[2] - a[0]) * (a[3] - a[1]);
    float area_b = (b[2] - b[0]) * (b[3] - b[1]);
    return inter / (area_a + area_b - inter + 1e-7f);
}

/* numpy.interp for increasing xp: the last xp[j] <= x, exact hits take fp[j]. */
static double np_interp(double x, const double *xp, const double *fp, size_t n, double left)
{
    if (!n)
        return left;
    if (x < xp[0])
        return left;
    if (x >= xp[n - 1])
        return fp[n - 1];
    size_t lo = 0, hi = n - 1; /* xp[lo] <= x < xp[hi] */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (xp[mid] <= x)
            lo = mid;
        else
            hi = mid;
    }
    if (xp[lo] == x)
        return fp[lo];
    double slope = (fp[lo + 1] - fp[lo]) / (xp[lo + 1] - xp[lo]);
    return slope * (x - xp[lo]) + fp[lo];
}

/* compute_ap: envelope of [1, precision, 0] over [0, recall, 1], sampled at
 * 101 points, trapezoid rule. mrec/mpre are scratch of n + 2. */
static double compute_ap(const double *recall, const double *precision, size_t n, double *mrec, double *mpre)
{
    mrec[0] = 0;
    mpre[0] = 1;
    for (size_t i = 0; i < n; i++) {
        mrec[i + 1] = recall[i];
        mpre[i + 1] = precision[i];
    }
    mrec[n + 1] = 1;
    mpre[n + 1] = 0;
    for (size_t i = n + 1; i-- > 0;)
        if (mpre[i + 1] > mpre[i])
            mpre[i] = mpre[i + 1];
    double ap = 0, prev_x = 0, prev_y = np_interp(0, mrec, mpre, n + 2, mpre[0]);
    for (int i = 1; i < 101; i++) {
        double x = i == 100 ? 1.0 : i * (1.0 / 100.0);
        double y = np_interp(x, mrec, mpre, n + 2, mpre[0]);
        ap += (x - prev_x) * (y + prev_y) / 2.0;
        prev_x = x;
        prev_y = y;
    }
    return ap;
}

struct conf_idx {
    float conf;
    size_t i;
};
static int by_conf_desc(const void *a, const void *b)
{
    const struct conf_idx *x = a, *y = b;
    if (x->conf != y->conf)
        return x->conf > y->conf ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

void ultra_result_free(struct ultra_result *r)
{
    free(r->class_ap);
    free(r->class_p);
    free(r->class_r);
    free(r->class_f1);
    free(r->tp);
    free(r->confusion);
    memset(r, 0, sizeof *r);
}

/* Per image: pairs at IoU >= threshold among same-class boxes; each
 * prediction keeps its best ground truth (ties: the later one, as the
 * reversed argsort has it), then each ground truth its first prediction. */
static void match_image(const struct det_boxes *gt, const size_t *g, size_t ng, const struct det_boxes *pred,
                        const size_t *d, size_t nd, float *iou, long *best_g, uint8_t *gtaken, uint8_t *tp)
{
    for (size_t j = 0; j < ng; j++)
        for (size_t i = 0; i < nd; i++)
            iou[j * nd + i] = gt->classes[g[j]] == pred->classes[d[i]]
                                  ? ultra_iou(gt->boxes + g[j] * 4, pred->boxes + d[i] * 4)
                                  : 0.0f;
    for (int t = 0; t < DET_IOU_THRESHOLDS; t++) {
        float thr = ultra_iou_thr(t);
        for (size_t i = 0; i < nd; i++) {
            best_g[i] = -1;
            for (size_t j = 0; j < ng; j++) {
                float v = iou[j * nd + i];
                if (v >= thr && (best_g[i] < 0 || v >= iou[(size_t)best_g[i] * nd + i]))
                    best_g[i] = (long)j;
            }
        }
        memset(gtaken, 0, ng);
        for (size_t i = 0; i < nd; i++)
            if (best_g[i] >= 0 && !gtaken[best_g[i]]) {
                gtaken[best_g[i]] = 1;
                tp[d[i] * DET_IOU_THRESHOLDS + (size_t)t] = 1;
            }
    }
}

/* ConfusionMatrix.process_batch (conf 0.25, IoU 0.45, class-agnostic). */
static void confusion_image(const struct det_boxes *gt, const size_t *g, size_t ng, const struct det_boxes *pred,
                            const size_t *d0, size_t nd0, size_t *d, float *iou, long *best_g, long *gt_det,
                            int64_t k, int64_t *cm)
{
    size_t nd = 0;
    for (size_t i = 0; i < nd0; i++)
        if (pred->scores[d0[i]] > 0.25f)
            d[nd++] = d0[i];
    int64_t bg = k, stride = k + 1;
    for (size_t j = 0; j < ng; j++)
        for (size_t i = 0; i < nd; i++)
            iou[j * nd + i] = ultra_iou(gt->boxes + g[j] * 4, pred->boxes + d[i] * 4);
    for (size_t i = 0; i < nd; i++) {
        best_g[i] = -1;
        for (size_t j = 0; j < ng; j++)
            if (iou[j * nd + i] > 0.45f && (best_g[i] < 0 || iou[j * nd + i] > iou[(size_t)best_g[i] * nd + i]))
                best_g[i] = (long)j;
    }
    for (size_t j = 0; j < ng; j++)
        gt_det[j] = -1;
    for (size_t i = 0; i < nd; i++) {
        long j = best_g[i];
        if (j >= 0 && (gt_det[j] < 0 || iou[(size_t)j * nd + i] > iou[(size_t)j * nd + (size_t)gt_det[j]]))
            gt_det[j] = (long)i;
    }
    for (size_t j = 0; j < ng; j++) {
        int64_t gc = gt->classes[g[j]];
        if (gt_det[j] >= 0)
            cm[pred->classes[d[gt_det[j]]] * stride + gc]++;
        else
            cm[bg * stride + gc]++;
    }
    for (size_t i = 0; i < nd; i++) {
        int hit = 0;
        for (size_t j = 0; j < ng && !hit; j++)
            hit = gt_det[j] == (long)i;
        if (!hit)
            cm[pred->classes[d[i]] * stride + bg]++;
    }
}

static int by_image(const struct det_boxes *b, int64_t n_images, size_t **order, size_t **start)
{
    *order = malloc((b->n ? b->n : 1) * sizeof **order);
    *start = calloc((size_t)n_images + 2, sizeof **start);
    if (!*order || !*start)
        return LAB_EINTERNAL;
    for (size_t i = 0; i < b->n; i++)
        (*start)[b->image[i] + 2]++;
    for (int64_t i = 0; i < n_images; i++)
        (*start)[i + 2] += (*start)[i + 1];
    for (size_t i = 0; i < b->n; i++)
        (*order)[(*start)[b->image[i] + 1]++] = i;
    return LAB_OK;
}

int ultra_evaluate(const struct det_boxes *gt, const struct det_boxes *pred, int64_t n_images, int64_t k,
                   struct ultra_result *out)
{
    memset(out, 0, sizeof *out);
    if (n_images < 0 || k <= 0 || k > (1 << 20))
        return lab_err(LAB_EINTERNAL, "pass the image and class counts", "ultra_evaluate: %lld images, %lld classes",
                       (long long)n_images, (long long)k);
    int rc = det_boxes_check(gt, "ground-truth box", n_images, k, 0);
    if (rc == LAB_OK)
        rc = det_boxes_check(pred, "prediction", n_images, k, 1);
    if (rc != LAB_OK)
        return rc;
    size_t *go = NULL, *gs = NULL, *po = NULL, *ps = NULL, *dscratch = NULL;
    float *iou = NULL;
    long *best_g = NULL, *gt_det = NULL;
    uint8_t *gtaken = NULL;
    struct conf_idx *sorted = NULL;
    double *curves = NULL, *scratch = NULL;
    int64_t *nt = NULL;
    size_t *cls_start = NULL, *by_cls = NULL;
    size_t np1 = pred->n ? pred->n : 1;
    out->k = k;
    out->tp = calloc(np1 * DET_IOU_THRESHOLDS, 1);
    out->class_ap = malloc((size_t)k * DET_IOU_THRESHOLDS * sizeof *out->class_ap);
    out->class_p = malloc((size_t)k * sizeof(double));
    out->class_r = malloc((size_t)k * sizeof(double));
    out->class_f1 = malloc((size_t)k * sizeof(double));
    out->confusion = calloc((size_t)(k + 1) * (size_t)(k + 1), sizeof *out->confusion);
    nt = calloc((size_t)k, sizeof *nt);
    if (!out->tp || !out->class_ap || !out->class_p || !out->class_r || !out->class_f1 || !out->confusion || !nt)
        goto oom;
    if (by_image(gt, n_images, &go, &gs) != LAB_OK || by_image(pred, n_images, &po, &ps) != LAB_OK)
        goto oom;
    size_t maxg = 0, maxp = 0;
    for (int64_t im = 0; im < n_images; im++) {
        if (gs[im + 1] - gs[im] > maxg)
            maxg = gs[im + 1] - gs[im];
        if (ps[im + 1] - ps[im] > maxp)
            maxp = ps[im + 1] - ps[im];
    }
    iou = malloc((maxg * maxp + 1) * sizeof *iou);
    best_g = malloc((maxp + 1) * sizeof *best_g);
    gt_det = malloc((maxg + 1) * sizeof *gt_det);
    gtaken = malloc(maxg + 1);
    dscratch = malloc((maxp + 1) * sizeof *dscratch);
    if (!iou || !best_g || !gt_det || !gtaken || !dscratch)
        goto oom;
    for (int64_t im = 0; im < n_images; im++) {
        const size_t *g = go + gs[im], *d = po + ps[im];
        size_t ng = gs[im + 1] - gs[im], nd = ps[im + 1] - ps[im];
        match_image(gt, g, ng, pred, d, nd, iou, best_g, gtaken, out->tp);
        confusion_image(gt, g, ng, pred, d, nd, dscratch, iou, best_g, gt_det, k, out->confusion);
    }
    for (size_t j = 0; j < gt->n; j++)
        nt[gt->classes[j]]++;

    /* ap_per_class */
    sorted = malloc(np1 * sizeof *sorted);
    scratch = malloc(np1 * (1 + 2 * DET_IOU_THRESHOLDS) * sizeof *scratch);
    curves = calloc((size_t)k * 3 * DET_CURVE_POINTS, sizeof *curves); /* p, r, f1 per class */
    if (!sorted || !scratch || !curves)
        goto oom;
    for (size_t i = 0; i < pred->n; i++)
        sorted[i] = (struct conf_idx){pred->scores[i], i};
    qsort(sorted, pred->n, sizeof *sorted, by_conf_desc);
    /* the sorted predictions grouped by class, order kept: one pass per class
     * instead of k passes over all */
    cls_start = calloc((size_t)k + 1, sizeof *cls_start);
    by_cls = malloc(np1 * sizeof *by_cls);
    if (!cls_start || !by_cls)
        goto oom;
    for (size_t i = 0; i < pred->n; i++)
        cls_start[pred->classes[i] + 1]++;
    for (int64_t c = 0; c < k; c++)
        cls_start[c + 1] += cls_start[c];
    {
        size_t *fill = malloc(((size_t)k + 1) * sizeof *fill);
        if (!fill)
            goto oom;
        memcpy(fill, cls_start, ((size_t)k + 1) * sizeof *fill);
        for (size_t s = 0; s < pred->n; s++)
            by_cls[fill[pred->classes[sorted[s].i]]++] = sorted[s].i;
        free(fill);
    }
    double *negconf = scratch, *rec = negconf + np1, *prec = rec + np1 * DET_IOU_THRESHOLDS;
    double *tailbuf = malloc((2 * np1 + 4) * sizeof *tailbuf); /* compute_ap's [0, r, 1] and [1, p, 0] */
    if (!tailbuf)
        goto oom;
    double *mrec = tailbuf, *mpre = tailbuf + np1 + 2;
    int64_t ncls = 0;
    double sum50 = 0, sum = 0, sum75 = 0;
    for (int64_t c = 0; c < k; c++) {
        double *pc = curves + (size_t)c * 3 * DET_CURVE_POINTS, *rcur = pc + DET_CURVE_POINTS;
        double *apc = out->class_ap + c * DET_IOU_THRESHOLDS;
        if (!nt[c]) {
            for (int t = 0; t < DET_IOU_THRESHOLDS; t++)
                apc[t] = -1;
            continue;
        }
        ncls++;
        size_t n = 0;
        double tpc[DET_IOU_THRESHOLDS] = {0}, fpc[DET_IOU_THRESHOLDS] = {0};
        for (size_t s = cls_start[c]; s < cls_start[c + 1]; s++) {
            size_t i = by_cls[s];
            negconf[n] = -(double)pred->scores[i];
            for (int t = 0; t < DET_IOU_THRESHOLDS; t++) {
                uint8_t hit = out->tp[i * DET_IOU_THRESHOLDS + (size_t)t];
                tpc[t] += hit;
                fpc[t] += 1 - hit;
                rec[(size_t)t * np1 + n] = tpc[t] / ((double)nt[c] + ULTRA_EPS);
                prec[(size_t)t * np1 + n] = tpc[t] / (tpc[t] + fpc[t]);
            }
            n++;
        }
        if (!n) {
            for (int t = 0; t < DET_IOU_THRESHOLDS; t++)
                apc[t] = 0;
            continue;
        }
        for (int x = 0; x < DET_CURVE_POINTS; x++) {
            double xv = x == DET_CURVE_POINTS - 1 ? 1.0 : x * (1.0 / (DET_CURVE_POINTS - 1));
            rcur[x] = np_interp(-xv, negconf, rec, n, 0.0);
            pc[x] = np_interp(-xv, negconf, prec, n, 1.0);
        }
        for (int t = 0; t < DET_IOU_THRESHOLDS; t++) {
            apc[t] = compute_ap(rec + (size_t)t * np1, prec + (size_t)t * np1, n, mrec, mpre);
            sum += apc[t];
        }
        sum50 += apc[0];
        sum75 += apc[5];
    }
    free(tailbuf);
    out->n_classes_with_gt = ncls;
    out->map50 = ncls ? sum50 / (double)ncls : 0;
    out->map = ncls ? sum / (double)ncls / DET_IOU_THRESHOLDS : 0;
    out->map75 = ncls ? sum75 / (double)ncls : 0;
    /* F1 per class, its mean over classes smoothed by a 101-wide box filter
     * (edges padded with the end values), first maximum */
    double meanf1[DET_CURVE_POINTS] = {0};
    for (int64_t c = 0; c < k; c++) {
        if (!nt[c])
            continue;
        double *pc = curves + (size_t)c * 3 * DET_CURVE_POINTS, *rcur = pc + DET_CURVE_POINTS,
               *f1 = rcur + DET_CURVE_POINTS;
        for (int x = 0; x < DET_CURVE_POINTS; x++) {
            f1[x] = 2 * pc[x] * rcur[x] / (pc[x] + rcur[x] + ULTRA_EPS);
            meanf1[x] += f1[x];
        }
    }
    int best = 0;
    if (ncls) {
        enum { NF = 101, HALF = 50 };
        double padded[DET_CURVE_POINTS + 2 * HALF], bestv = -1;
        for (int x = 0; x < DET_CURVE_POINTS; x++)
            meanf1[x] /= (double)ncls;
        for (int x = 0; x < HALF; x++) {
            padded[x] = meanf1[0];
            padded[HALF + DET_CURVE_POINTS + x] = meanf1[DET_CURVE_POINTS - 1];
        }
        memcpy(padded + HALF, meanf1, sizeof meanf1);
        for (int x = 0; x < DET_CURVE_POINTS; x++) {
            double s = 0;
            for (int j = 0; j < NF; j++)
                s += padded[x + j] * (1.0 / NF);
            if (s > bestv) {
                bestv = s;
                best = x;
            }
        }
    }
    out->conf_at_max_f1 = best == DET_CURVE_POINTS - 1 ? 1.0 : best * (1.0 / (DET_CURVE_POINTS - 1));
    double sp = 0, sr = 0;
    for (int64_t c = 0; c < k; c++) {
        double *pc = curves + (size_t)c * 3 * DET_CURVE_POINTS;
        if (!nt[c]) {
            out->class_p[c] = out->class_r[c] = out->class_f1[c] = -1;
            continue;
        }
        out->class_p[c] = pc[best];
        out->class_r[c] = pc[DET_CURVE_POINTS + best];
        out->class_f1[c] = pc[2 * DET_CURVE_POINTS + best];
        sp += out->class_p[c];
        sr += out->class_r[c];
    }
    out->precision = ncls ? sp / (double)ncls : 0;
    out->recall = ncls ? sr / (double)ncls : 0;
    rc = LAB_OK;
    goto done;
oom:
    rc = lab_err(LAB_EINTERNAL, "free some memory", "out of memory evaluating %zu predictions", pred->n);
done:
    free(go);
    free(gs);
    free(po);
    free(ps);
    free(dscratch);
    free(iou);
    free(best_g);
    free(gt_det);
    free(gtaken);
    free(sorted);
    free(curves);
    free(scratch);
    free(nt);
    free(cls_start);
    free(by_cls);
    if (rc != LAB_OK)
        ultra_result_free(out);
    return rc;
}
