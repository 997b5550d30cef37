/* COCO box AP (pycocotools' COCOeval: evaluateImg + accumulate + summarize)
 * and Ultralytics' validation figures, on host arrays. Both follow their
 * references step by step, ties included (pycocotools sorts with a stable
 * mergesort, Ultralytics' numpy.unique keeps first occurrences), because
 * the grader compares students' figures against these to 1e-4. */
#include "labs/tasks/coco_eval.h"

#include "base/error.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define COCO_MAX_DETS 100

int det_boxes_check(const struct det_boxes *b, const char *what, int64_t n_images, int64_t k, int need_scores)
{
    if (b->n && (!b->boxes || !b->classes || !b->image || (need_scores && !b->scores)))
        return lab_err(LAB_EINTERNAL, "pass boxes, classes, image and scores arrays", "%s: missing arrays", what);
    for (size_t i = 0; i < b->n; i++) {
        if (b->image[i] < 0 || b->image[i] >= n_images)
            return lab_err(LAB_EFAIL, "image indices must be rows of the evaluation images",
                           "%s %zu: image index %lld is outside 0..%lld", what, i, (long long)b->image[i],
                           (long long)n_images - 1);
        if (b->classes[i] < 0 || b->classes[i] >= k)
            return lab_err(LAB_EFAIL, "class ids must be 0..classes-1 (the dataset's class list)",
                           "%s %zu: class %lld is outside 0..%lld", what, i, (long long)b->classes[i],
                           (long long)k - 1);
        for (int c = 0; c < 4; c++)
            if (!isfinite(b->boxes[i * 4 + c]))
                return lab_err(LAB_EFAIL, "write finite pixel coordinates x1, y1, x2, y2",
                               "%s %zu: coordinate %d is not finite", what, i, c);
        if (need_scores && !isfinite(b->scores[i]))
            return lab_err(LAB_EFAIL, "write finite confidences in [0, 1]", "%s %zu: score is not finite", what, i);
    }
    return LAB_OK;
}

/* Indices of b stable-sorted by bucket image * k + class; start[] gets
 * n_buckets + 1 offsets. */
static int bucket_sort(const struct det_boxes *b, int64_t k, size_t n_buckets, size_t **order, size_t **start)
{
    *order = malloc((b->n ? b->n : 1) * sizeof **order);
    *start = calloc(n_buckets + 1, sizeof **start);
    if (!*order || !*start)
        return lab_err(LAB_EINTERNAL, "free some memory", "out of memory sorting %zu boxes", b->n);
    for (size_t i = 0; i < b->n; i++)
        (*start)[(size_t)(b->image[i] * k + b->classes[i]) + 1]++;
    for (size_t i = 0; i < n_buckets; i++)
        (*start)[i + 1] += (*start)[i];
    size_t *fill = malloc((n_buckets + 1) * sizeof *fill);
    if (!fill)
        return lab_err(LAB_EINTERNAL, "free some memory", "out of memory sorting %zu boxes", b->n);
    memcpy(fill, *start, (n_buckets + 1) * sizeof *fill);
    for (size_t i = 0; i < b->n; i++)
        (*order)[fill[(size_t)(b->image[i] * k + b->classes[i])]++] = i;
    free(fill);
    return LAB_OK;
}

/* Sort keys: descending score, then position (a stable sort). */
struct scored {
    float score;
    size_t pos;
};
static int by_score_desc(const void *a, const void *b)
{
    const struct scored *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return (x->pos > y->pos) - (x->pos < y->pos);
}

static void sort_by_score(size_t *idx, size_t n, const float *scores, struct scored *tmp)
{
    for (size_t i = 0; i < n; i++)
        tmp[i] = (struct scored){scores[idx[i]], idx[i]};
    /* positions are the original indices, which within a bucket are increasing */
    qsort(tmp, n, sizeof *tmp, by_score_desc);
    for (size_t i = 0; i < n; i++)
        idx[i] = tmp[i].pos;
}

/* pycocotools' thresholds: numpy.linspace in double. */
static double coco_iou_thr(int t)
{
    return t == DET_IOU_THRESHOLDS - 1 ? 0.95 : 0.5 + t * ((0.95 - 0.5) / 9.0);
}
static double coco_rec_thr(int r)
{
    return r == DET_RECALL_POINTS - 1 ? 1.0 : r * (1.0 / 100.0);
}

/* maskApi bbIou on [x, y, w, h] made from x1, y1, x2, y2, no crowd. */
static double coco_iou(const float *d, const float *g)
{
    double dx = d[0], dy = d[1], dw = (double)d[2] - d[0], dh = (double)d[3] - d[1];
    double gx = g[0], gy = g[1], gw = (double)g[2] - g[0], gh = (double)g[3] - g[1];
    double w = fmin(dx + dw, gx + gw) - fmax(dx, gx);
    if (w <= 0)
        return 0;
    double h = fmin(dy + dh, gy + gh) - fmax(dy, gy);
    if (h <= 0)
        return 0;
    double inter = w * h;
    return inter / (dw * dh + gw * gh - inter);
}

void coco_result_free(struct coco_result *r)
{
    free(r->class_ap);
    free(r->class_ap50);
    free(r->pr50);
    memset(r, 0, sizeof *r);
}

int coco_evaluate(const struct det_boxes *gt, const struct det_boxes *pred, int64_t n_images, int64_t k,
                  struct coco_result *out)
{
    memset(out, 0, sizeof *out);
    if (n_images < 0 || k <= 0 || (uint64_t)n_images * (uint64_t)k > ((uint64_t)1 << 40))
        return lab_err(LAB_EINTERNAL, "pass the image and class counts", "coco_evaluate: %lld images, %lld classes",
                       (long long)n_images, (long long)k);
    int rc = det_boxes_check(gt, "ground-truth box", n_images, k, 0);
    if (rc == LAB_OK)
        rc = det_boxes_check(pred, "prediction", n_images, k, 1);
    if (rc != LAB_OK)
        return rc;
    size_t nb = (size_t)(n_images * k);
    size_t *gorder = NULL, *gstart = NULL, *porder = NULL, *pstart = NULL;
    uint16_t *matched = NULL;      /* per prediction: bit t = matched at threshold t */
    double *curve = NULL;          /* [2 * n]: precision and recall of one class */
    struct scored *tmp = NULL;
    double *ious = NULL;
    size_t *cls_list = NULL;
    size_t maxg = 0, maxp = 0;
    out->k = k;
    out->class_ap = malloc((size_t)k * sizeof *out->class_ap);
    out->class_ap50 = malloc((size_t)k * sizeof *out->class_ap50);
    out->pr50 = malloc((size_t)k * DET_RECALL_POINTS * sizeof *out->pr50);
    if (!out->class_ap || !out->class_ap50 || !out->pr50)
        goto oom;
    if ((rc = bucket_sort(gt, k, nb, &gorder, &gstart)) != LAB_OK ||
        (rc = bucket_sort(pred, k, nb, &porder, &pstart)) != LAB_OK)
        goto done;
    for (size_t b = 0; b < nb; b++) {
        if (gstart[b + 1] - gstart[b] > maxg)
            maxg = gstart[b + 1] - gstart[b];
        if (pstart[b + 1] - pstart[b] > maxp)
            maxp = pstart[b + 1] - pstart[b];
    }
    matched = calloc(pred->n ? pred->n : 1, sizeof *matched);
    curve = malloc((pred->n ? pred->n : 1) * 2 * sizeof *curve);
    tmp = malloc((pred->n ? pred->n : 1) * sizeof *tmp);
    ious = malloc((maxg * (maxp < COCO_MAX_DETS ? maxp : COCO_MAX_DETS) + 1) * sizeof *ious);
    cls_list = malloc((pred->n ? pred->n : 1) * sizeof *cls_list);
    if (!matched || !curve || !tmp || !ious || !cls_list)
        goto oom;

    /* evaluateImg, per image and class */
    for (size_t b = 0; b < nb; b++) {
        size_t *d = porder + pstart[b], nd = pstart[b + 1] - pstart[b];
        const size_t *g = gorder + gstart[b];
        size_t ng = gstart[b + 1] - gstart[b];
        sort_by_score(d, nd, pred->scores, tmp);
        if (nd > COCO_MAX_DETS)
            nd = COCO_MAX_DETS;
        if (!ng || !nd)
            continue;
        for (size_t i = 0; i < nd; i++)
            for (size_t j = 0; j < ng; j++)
                ious[i * ng + j] = coco_iou(pred->boxes + d[i] * 4, gt->boxes + g[j] * 4);
        for (int t = 0; t < DET_IOU_THRESHOLDS; t++) {
            uint8_t gused_small[256];
            uint8_t *gused = ng <= sizeof gused_small ? gused_small : calloc(ng, 1);
            if (!gused)
                goto oom;
            if (gused == gused_small)
                memset(gused, 0, ng);
            for (size_t i = 0; i < nd; i++) {
                double best = fmin(coco_iou_thr(t), 1 - 1e-10);
                long m = -1;
                for (size_t j = 0; j < ng; j++) {
                    if (gused[j])
                        continue;
                    if (ious[i * ng + j] < best)
                        continue;
                    best = ious[i * ng + j];
                    m = (long)j;
                }
                if (m < 0)
                    continue;
                gused[m] = 1;
                matched[d[i]] |= (uint16_t)(1u << t);
            }
            if (gused != gused_small)
                free(gused);
        }
    }

    /* accumulate + summarize */
    double sum_ap = 0, sum_ap50 = 0, sum_ap75 = 0;
    int64_t counted = 0;
    for (int64_t c = 0; c < k; c++) {
        size_t npig = 0, nd = 0;
        for (int64_t im = 0; im < n_images; im++) {
            size_t b = (size_t)(im * k + c);
            npig += gstart[b + 1] - gstart[b];
            size_t n = pstart[b + 1] - pstart[b];
            if (n > COCO_MAX_DETS)
                n = COCO_MAX_DETS;
            for (size_t i = 0; i < n; i++)
                cls_list[nd++] = porder[pstart[b] + i];
        }
        double *pr50 = out->pr50 + c * DET_RECALL_POINTS;
        if (!npig) {
            out->class_ap[c] = out->class_ap50[c] = -1;
            for (int r = 0; r < DET_RECALL_POINTS; r++)
                pr50[r] = -1;
            continue;
        }
        /* stable by score across images: position = order of collection */
        for (size_t i = 0; i < nd; i++)
            tmp[i] = (struct scored){pred->scores[cls_list[i]], i};
        qsort(tmp, nd, sizeof *tmp, by_score_desc);
        double *pr = curve, *rcv = curve + nd;
        double class_sum = 0, q[DET_RECALL_POINTS];
        for (int t = 0; t < DET_IOU_THRESHOLDS; t++) {
            double tp = 0, fp = 0;
            for (size_t i = 0; i < nd; i++) {
                if (matched[cls_list[tmp[i].pos]] & (1u << t))
                    tp += 1;
                else
                    fp += 1;
                rcv[i] = tp / (double)npig;
                pr[i] = tp / (fp + tp + DBL_EPSILON);
            }
            for (size_t i = nd; i-- > 1;)
                if (pr[i] > pr[i - 1])
                    pr[i - 1] = pr[i];
            size_t pi = 0;
            int r = 0;
            for (; r < DET_RECALL_POINTS; r++) {
                double thr = coco_rec_thr(r);
                while (pi < nd && rcv[pi] < thr)
                    pi++;
                if (pi >= nd)
                    break;
                q[r] = pr[pi];
            }
            for (; r < DET_RECALL_POINTS; r++)
                q[r] = 0;
            double s = 0;
            for (r = 0; r < DET_RECALL_POINTS; r++)
                s += q[r];
            s /= DET_RECALL_POINTS;
            class_sum += s;
            if (t == 0) {
                out->class_ap50[c] = s;
                memcpy(pr50, q, sizeof q);
                sum_ap50 += s;
            }
            if (t == 5)
                sum_ap75 += s;
        }
        out->class_ap[c] = class_sum / DET_IOU_THRESHOLDS;
        sum_ap += out->class_ap[c];
        counted++;
    }
    /* COCO reports -1 when nothing has ground truth */
    out->ap = counted ? sum_ap / (double)counted : -1;
    out->ap50 = counted ? sum_ap50 / (double)counted : -1;
    out->ap75 = counted ? sum_ap75 / (double)counted : -1;
    rc = LAB_OK;
    goto done;
oom:
    rc = lab_err(LAB_EINTERNAL, "free some memory", "out of memory evaluating %zu predictions", pred->n);
done:
    free(gorder);
    free(gstart);
    free(porder);
    free(pstart);
    free(matched);
    free(curve);
    free(tmp);
    free(ious);
    free(cls_list);
    if (rc != LAB_OK)
        coco_result_free(out);
    return rc;
}
