/* v8DetectionLoss as tensor ops. The shim has no elementwise minimum or
 * maximum of two tensors, so CIoU's min/max use (a + b -+ |a - b|) / 2,
 * which is exact up to rounding; alpha is detached, as Ultralytics
 * computes it under no_grad. */
#include "labs/tasks/detect_loss.h"

#include "base/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define T(x)                  \
    do {                      \
        if ((x) != TS_OK)     \
            goto fail;        \
    } while (0)

static int tmin(ts_tensor **out, const ts_tensor *a, const ts_tensor *b, int is_max)
{
    ts_tensor *s, *d, *ad, *r;
    if (ts_add(&s, a, b) || ts_sub(&d, a, b) || ts_abs(&ad, d))
        return -1;
    if ((is_max ? ts_add(&r, s, ad) : ts_sub(&r, s, ad)))
        return -1;
    return ts_mul_scalar(out, r, 0.5);
}

static int col(ts_tensor **out, const ts_tensor *x, int64_t i) { return ts_narrow(out, x, 1, i, 1); }

/* CIoU of [p, 4] boxes (x1 y1 x2 y2) b1 (predicted) and b2 (targets), [p, 1]. */
static int ciou(const ts_tensor *b1, const ts_tensor *b2, ts_tensor **out)
{
    const double eps = 1e-7;
    ts_tensor *x1, *y1, *x2, *y2, *u1, *v1, *u2, *v2;
    ts_tensor *w1, *h1, *w2, *h2, *t, *t2, *iw, *ih, *inter, *a1, *a2, *uni, *iou;
    ts_tensor *cw, *ch, *c2, *dx, *dy, *rho2, *r1, *r2, *at, *v, *den, *alpha, *pen, *q;
    T(col(&x1, b1, 0));
    T(col(&y1, b1, 1));
    T(col(&x2, b1, 2));
    T(col(&y2, b1, 3));
    T(col(&u1, b2, 0));
    T(col(&v1, b2, 1));
    T(col(&u2, b2, 2));
    T(col(&v2, b2, 3));
    T(ts_sub(&w1, x2, x1));
    T(ts_sub(&t, y2, y1));
    T(ts_clamp(&h1, t, eps, NAN));
    T(ts_sub(&w2, u2, u1));
    T(ts_sub(&t, v2, v1));
    T(ts_clamp(&h2, t, eps, NAN));
    T(tmin(&t, x2, u2, 0));
    T(tmin(&t2, x1, u1, 1));
    T(ts_sub(&iw, t, t2));
    T(ts_clamp(&iw, iw, 0, NAN));
    T(tmin(&t, y2, v2, 0));
    T(tmin(&t2, y1, v1, 1));
    T(ts_sub(&ih, t, t2));
    T(ts_clamp(&ih, ih, 0, NAN));
    T(ts_mul(&inter, iw, ih));
    T(ts_mul(&a1, w1, h1));
    T(ts_mul(&a2, w2, h2));
    T(ts_add(&uni, a1, a2));
    T(ts_sub(&uni, uni, inter));
    T(ts_add_scalar(&uni, uni, eps));
    T(ts_div(&iou, inter, uni));
    T(tmin(&t, x2, u2, 1));
    T(tmin(&t2, x1, u1, 0));
    T(ts_sub(&cw, t, t2));
    T(tmin(&t, y2, v2, 1));
    T(tmin(&t2, y1, v1, 0));
    T(ts_sub(&ch, t, t2));
    T(ts_mul(&c2, cw, cw));
    T(ts_mul(&t, ch, ch));
    T(ts_add(&c2, c2, t));
    T(ts_add_scalar(&c2, c2, eps));
    T(ts_add(&t, u1, u2));
    T(ts_sub(&dx, t, x1));
    T(ts_sub(&dx, dx, x2));
    T(ts_add(&t, v1, v2));
    T(ts_sub(&dy, t, y1));
    T(ts_sub(&dy, dy, y2));
    T(ts_mul(&rho2, dx, dx));
    T(ts_mul(&t, dy, dy));
    T(ts_add(&rho2, rho2, t));
    T(ts_mul_scalar(&rho2, rho2, 0.25));
    T(ts_div(&r1, w2, h2));
    T(ts_div(&r2, w1, h1));
    T(ts_atan(&r1, r1));
    T(ts_atan(&r2, r2));
    T(ts_sub(&at, r1, r2));
    T(ts_mul(&v, at, at));
    T(ts_mul_scalar(&v, v, 4.0 / (M_PI * M_PI)));
    T(ts_sub(&den, v, iou));
    T(ts_add_scalar(&den, den, 1.0 + eps));
    T(ts_div(&alpha, v, den));
    T(ts_detach(&alpha, alpha));
    T(ts_div(&pen, rho2, c2));
    T(ts_mul(&q, v, alpha));
    T(ts_add(&pen, pen, q));
    return ts_sub(out, iou, pen);
fail:
    return -1;
}

int yolo_loss(const ts_tensor *raw, int64_t b, int64_t a, int64_t k, int reg_max, const float *anchors_grid,
              const float *strides, const struct tal_output *t, ts_tensor **items, ts_tensor **total)
{
    *items = *total = NULL;
    int64_t c = 4 * (int64_t)reg_max + k, np = 0;
    double tss = 0;
    for (size_t i = 0; i < (size_t)(b * a * k); i++)
        tss += t->target_scores[i];
    if (tss < 1)
        tss = 1;
    for (int64_t o = 0; o < b * a; o++)
        np += t->fg_mask[o] != 0;
    int64_t *idx = malloc((size_t)(np ? np : 1) * sizeof *idx), *tl = malloc((size_t)(np ? np : 1) * 4 * sizeof *tl);
    float *anc = malloc((size_t)(np ? np : 1) * 2 * sizeof *anc), *tb = malloc((size_t)(np ? np : 1) * 4 * sizeof *tb);
    float *wt = malloc((size_t)(np ? np : 1) * sizeof *wt), *wl = malloc((size_t)(np ? np : 1) * 4 * sizeof *wl);
    float *bins = malloc((size_t)reg_max * sizeof *bins);
    int rc = LAB_OK, scope = 0;
    if (!idx || !tl || !anc || !tb || !wt || !wl || !bins) {
        rc = lab_err(LAB_EINTERNAL, "free some memory", "out of memory building the YOLO loss");
        goto out;
    }
    for (int i = 0; i < reg_max; i++)
        bins[i] = (float)i;
    int64_t p = 0;
    for (int64_t o = 0; o < b * a; o++) {
        if (!t->fg_mask[o])
            continue;
        int64_t x = o % a;
        idx[p] = o;
        double w = 0;
        for (int64_t j = 0; j < k; j++)
            w += t->target_scores[o * k + j];
        wt[p] = (float)w;
        anc[p * 2] = anchors_grid[x * 2];
        anc[p * 2 + 1] = anchors_grid[x * 2 + 1];
        for (int s = 0; s < 4; s++)
            tb[p * 4 + s] = t->target_bboxes[o * 4 + s] / strides[x];
        float ltrb[4] = {anc[p * 2] - tb[p * 4], anc[p * 2 + 1] - tb[p * 4 + 1], tb[p * 4 + 2] - anc[p * 2],
                         tb[p * 4 + 3] - anc[p * 2 + 1]};
        for (int s = 0; s < 4; s++) {
            float v = fminf(fmaxf(ltrb[s], 0.0f), (float)(reg_max - 1) - 0.01f);
            tl[p * 4 + s] = (int64_t)v;
            wl[p * 4 + s] = (float)(tl[p * 4 + s] + 1) - v;
        }
        p++;
    }
    T(ts_scope_begin());
    scope = 1;
    ts_tensor *cls_logits, *ts_t, *cls, *box, *dfl, *it, *tot;
    int64_t sh3[3] = {b, a, k};
    T(ts_narrow(&cls_logits, raw, 2, 4 * reg_max, k));
    T(ts_from_host(&ts_t, t->target_scores, TS_F32, 3, sh3, ts_device_of(raw)));
    T(ts_bce_with_logits(&cls, cls_logits, ts_t, NULL, TS_RED_SUM));
    T(ts_mul_scalar(&cls, cls, 0.5 / tss));
    if (np) {
        ts_tensor *flat, *index, *pos, *dist, *prob, *binst, *side, *ancp, *lt, *rb, *x1y1, *x2y2, *pb, *tbt, *ci,
            *one, *w, *lsm, *tli, *tri, *gl, *gr, *wlt, *wrt, *d;
        int64_t shf[2] = {b * a, c}, shp[1] = {np}, sh4[3] = {np, 4, reg_max}, shb[1] = {reg_max};
        int64_t sha[2] = {np, 2}, shbox[2] = {np, 4}, shw[2] = {np, 1}, shi[3] = {np, 4, 1}, sh2[2] = {np, 4};
        ts_device dev = ts_device_of(raw);
        T(ts_reshape(&flat, raw, 2, shf));
        T(ts_from_host(&index, idx, TS_I64, 1, shp, dev));
        T(ts_index_select(&pos, flat, 0, index));
        T(ts_narrow(&dist, pos, 1, 0, 4 * reg_max));
        T(ts_reshape(&dist, dist, 3, sh4));
        T(ts_softmax(&prob, dist, 2));
        T(ts_from_host(&binst, bins, TS_F32, 1, shb, dev));
        T(ts_mul(&side, prob, binst));
        T(ts_sum(&side, side, 2, 0)); /* [np, 4] l t r b */
        T(ts_from_host(&ancp, anc, TS_F32, 2, sha, dev));
        T(ts_narrow(&lt, side, 1, 0, 2));
        T(ts_narrow(&rb, side, 1, 2, 2));
        T(ts_sub(&x1y1, ancp, lt));
        T(ts_add(&x2y2, ancp, rb));
        const ts_tensor *parts[2] = {x1y1, x2y2};
        T(ts_cat(&pb, parts, 2, 1));
        T(ts_from_host(&tbt, tb, TS_F32, 2, shbox, dev));
        T(ciou(pb, tbt, &ci));
        T(ts_from_host(&w, wt, TS_F32, 2, shw, dev));
        T(ts_neg(&one, ci));
        T(ts_add_scalar(&one, one, 1.0));
        T(ts_mul(&box, one, w));
        T(ts_sum(&box, box, TS_ALL, 0));
        T(ts_mul_scalar(&box, box, 7.5 / tss));
        /* DFL: cross-entropy with the two bins around each target side */
        int64_t *tr = malloc((size_t)np * 4 * sizeof *tr);
        float *wr = malloc((size_t)np * 4 * sizeof *wr);
        if (!tr || !wr) {
            free(tr);
            free(wr);
            goto fail;
        }
        for (int64_t i = 0; i < np * 4; i++)
            tr[i] = tl[i] + 1, wr[i] = 1.0f - wl[i];
        int ok = ts_from_host(&tli, tl, TS_I64, 3, shi, dev) == TS_OK && ts_from_host(&tri, tr, TS_I64, 3, shi, dev) == TS_OK &&
                 ts_from_host(&wlt, wl, TS_F32, 2, sh2, dev) == TS_OK && ts_from_host(&wrt, wr, TS_F32, 2, sh2, dev) == TS_OK;
        free(tr);
        free(wr);
        if (!ok)
            goto fail;
        T(ts_log_softmax(&lsm, dist, 2));
        T(ts_gather(&gl, lsm, 2, tli));
        T(ts_gather(&gr, lsm, 2, tri));
        T(ts_squeeze(&gl, gl, 2));
        T(ts_squeeze(&gr, gr, 2));
        T(ts_mul(&gl, gl, wlt));
        T(ts_mul(&gr, gr, wrt));
        T(ts_add(&d, gl, gr));
        T(ts_mean(&d, d, 1, 1)); /* [np, 1] */
        T(ts_mul(&d, d, w));
        T(ts_sum(&dfl, d, TS_ALL, 0));
        T(ts_mul_scalar(&dfl, dfl, -1.5 / tss));
    } else {
        /* no positives: Ultralytics' box and dfl terms stay 0 */
        T(ts_mul_scalar(&box, cls, 0.0));
        T(ts_mul_scalar(&dfl, cls, 0.0));
    }
    const ts_tensor *three[3] = {box, cls, dfl};
    T(ts_stack(&it, three, 3, 0));
    T(ts_sum(&tot, it, TS_ALL, 0));
    T(ts_mul_scalar(&tot, tot, (double)b));
    ts_scope_keep(it);
    ts_scope_keep(tot);
    *items = it;
    *total = tot;
    ts_scope_end();
    scope = 0;
    goto out;
fail:
    rc = lab_err(LAB_EINTERNAL, "report this as a bug of lab", "YOLO loss: %s", ts_last_error());
    if (scope)
        ts_scope_end();
out:
    free(idx);
    free(tl);
    free(anc);
    free(tb);
    free(wt);
    free(wl);
    free(bins);
    return rc;
}
