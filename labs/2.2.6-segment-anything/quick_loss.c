/* SAM's training loss (the paper's section 3 and appendix A): a linear
 * combination of focal and dice loss on the mask logits, 20 : 1, plus the
 * mean-square error between the IoU head's prediction and the IoU of the
 * predicted mask with the truth. */
#include "labs/2.2.6-segment-anything/quick.h"

#include "base/error.h"
#include "labs/models/nn.h"

#include <math.h>

/* 1 - x */
static int one_minus(const ts_tensor *x, ts_tensor **out)
{
    ts_tensor *n;
    NN_TRY(ts_neg(&n, x));
    NN_TRY(ts_add_scalar(out, n, 1.0));
    return LAB_OK;
}

/* [B, 1, H, W] -> [B] sums over pixels */
static int sum_px(const ts_tensor *x, ts_tensor **out)
{
    ts_tensor *a, *b;
    NN_TRY(ts_sum(&a, x, 3, 0));
    NN_TRY(ts_sum(&b, a, 2, 0));
    NN_TRY(ts_sum(out, b, 1, 0));
    return LAB_OK;
}

/* sigmoid focal loss, alpha 0.25, gamma 2, the mean over each mask's
 * pixels: [B] */
static int focal(const ts_tensor *x, const ts_tensor *t, const ts_tensor *p, ts_tensor **out)
{
    ts_tensor *ce, *pt1, *pt0, *q, *nt, *pt, *mpt, *mod, *a1, *a0, *at, *w, *l, *sum;
    NN_TRY(ts_bce_with_logits(&ce, x, t, NULL, TS_RED_NONE));
    LAB_TRY(one_minus(p, &q));
    LAB_TRY(one_minus(t, &nt));
    NN_TRY(ts_mul(&pt1, p, t));
    NN_TRY(ts_mul(&pt0, q, nt));
    NN_TRY(ts_add(&pt, pt1, pt0));
    LAB_TRY(one_minus(pt, &mpt));
    NN_TRY(ts_pow_scalar(&mod, mpt, 2.0));
    NN_TRY(ts_mul_scalar(&a1, t, 0.25));
    NN_TRY(ts_mul_scalar(&a0, nt, 0.75));
    NN_TRY(ts_add(&at, a1, a0));
    NN_TRY(ts_mul(&w, mod, ce));
    NN_TRY(ts_mul(&l, w, at));
    LAB_TRY(sum_px(l, &sum));
    NN_TRY(ts_mul_scalar(out, sum, 1.0 / (double)(ts_size(x, 2) * ts_size(x, 3))));
    return LAB_OK;
}

/* 1 - (2 sum p t + 1) / (sum p + sum t + 1) per mask: [B] */
static int dice(const ts_tensor *t, const ts_tensor *p, ts_tensor **out)
{
    ts_tensor *pt, *i, *sp, *st, *num0, *num, *den0, *den, *r;
    NN_TRY(ts_mul(&pt, p, t));
    LAB_TRY(sum_px(pt, &i));
    LAB_TRY(sum_px(p, &sp));
    LAB_TRY(sum_px(t, &st));
    NN_TRY(ts_mul_scalar(&num0, i, 2.0));
    NN_TRY(ts_add_scalar(&num, num0, 1.0));
    NN_TRY(ts_add(&den0, sp, st));
    NN_TRY(ts_add_scalar(&den, den0, 1.0));
    NN_TRY(ts_div(&r, num, den));
    return one_minus(r, out);
}

/* the IoU of (x > 0) with t per mask, out of the graph: [B] */
static int hard_iou(const ts_tensor *x, const ts_tensor *t, ts_tensor **out)
{
    ts_tensor *d, *b, *f, *inter, *i, *sp, *st, *u0, *u1, *u;
    NN_TRY(ts_detach(&d, x));
    NN_TRY(ts_gt_scalar(&b, d, 0.0));
    NN_TRY(ts_to(&f, b, ts_device_of(x), TS_F32));
    NN_TRY(ts_mul(&inter, f, t));
    LAB_TRY(sum_px(inter, &i));
    LAB_TRY(sum_px(f, &sp));
    LAB_TRY(sum_px(t, &st));
    NN_TRY(ts_add(&u0, sp, st));
    NN_TRY(ts_sub(&u1, u0, i));
    NN_TRY(ts_clamp(&u, u1, 1.0, NAN));
    NN_TRY(ts_div(out, i, u));
    return LAB_OK;
}

/* Per mask of x [N, 1, h, w] logits against t [N, 1, H, W]: focal [N],
 * dice [N] and the IoU of the thresholded mask [N] (out of the graph). */
static int mask_terms(const ts_tensor *low_res, const ts_tensor *t, ts_tensor **fl, ts_tensor **dl, ts_tensor **tiou)
{
    int64_t H = ts_size(t, 2), W = ts_size(t, 3);
    ts_tensor *x = (ts_tensor *)low_res, *p;
    if (ts_size(low_res, 2) != H || ts_size(low_res, 3) != W)
        NN_TRY(ts_interpolate(&x, low_res, H, W, TS_BILINEAR, 0));
    NN_TRY(ts_sigmoid(&p, x));
    LAB_TRY(focal(x, t, p, fl));
    LAB_TRY(dice(t, p, dl));
    return hard_iou(x, t, tiou);
}

/* w.focal * fl + w.dice * dl */
static int weighted(const ts_tensor *fl, const ts_tensor *dl, const struct sam_quick_weights *w, ts_tensor **out)
{
    ts_tensor *a, *b;
    NN_TRY(ts_mul_scalar(&a, fl, w->focal));
    NN_TRY(ts_mul_scalar(&b, dl, w->dice));
    NN_TRY(ts_add(out, a, b));
    return LAB_OK;
}

/* mask + w.iou * MSE(iou_pred, tiou); parts from the chosen masks' terms */
static int finish(const ts_tensor *mask, const ts_tensor *iou_pred, const ts_tensor *tiou, const ts_tensor *fl,
                  const ts_tensor *dl, const struct sam_quick_weights *w, ts_tensor **loss, double parts[3])
{
    ts_tensor *ip, *il, *c, *m;
    int64_t n[1] = {ts_numel(tiou)};
    NN_TRY(ts_reshape(&ip, iou_pred, 1, n));
    NN_TRY(ts_mse_loss(&il, ip, tiou, TS_RED_MEAN));
    NN_TRY(ts_mul_scalar(&c, il, w->iou));
    NN_TRY(ts_mean(&m, mask, TS_ALL, 0));
    NN_TRY(ts_add(loss, m, c));
    if (parts) {
        ts_tensor *fm, *dm;
        NN_TRY(ts_mean(&fm, fl, TS_ALL, 0));
        NN_TRY(ts_mean(&dm, dl, TS_ALL, 0));
        NN_TRY(ts_item_f64(fm, &parts[0]));
        NN_TRY(ts_item_f64(dm, &parts[1]));
        NN_TRY(ts_item_f64(il, &parts[2]));
    }
    return LAB_OK;
}

int sam_quick_loss(const ts_tensor *low_res, const ts_tensor *iou_pred, const ts_tensor *truth,
                   const struct sam_quick_weights *w, ts_tensor **loss, double parts[3])
{
    ts_tensor *fl, *dl, *tiou, *mask;
    LAB_TRY(mask_terms(low_res, truth, &fl, &dl, &tiou));
    LAB_TRY(weighted(fl, dl, w, &mask));
    return finish(mask, iou_pred, tiou, fl, dl, w, loss, parts);
}

int sam_quick_loss_multimask(const ts_tensor *low_res, const ts_tensor *iou_pred, const ts_tensor *truth,
                             const struct sam_quick_weights *w, ts_tensor **loss, double parts[3])
{
    int64_t B = ts_size(low_res, 0), K = ts_size(low_res, 1), H = ts_size(truth, 2), W = ts_size(truth, 3);
    int64_t flat[4] = {B * K, 1, ts_size(low_res, 2), ts_size(low_res, 3)}, tflat[4] = {B * K, 1, H, W},
            bk[2] = {B, K};
    const ts_tensor *copies[3] = {truth, truth, truth};
    if (K < 1 || K > 3 || ts_size(truth, 1) != 1)
        return lab_err(LAB_EINTERNAL, NULL, "the multimask loss takes [B, 1..3, h, w] logits and [B, 1, H, W] truth");
    ts_tensor *x, *tk, *t, *fl, *dl, *tiou, *m, *mk, *best, *pick, *flk, *dlk, *flb, *dlb;
    NN_TRY(ts_reshape(&x, low_res, 4, flat));
    NN_TRY(ts_cat(&tk, copies, (int)K, 1));
    NN_TRY(ts_reshape(&t, tk, 4, tflat));
    LAB_TRY(mask_terms(x, t, &fl, &dl, &tiou));
    LAB_TRY(weighted(fl, dl, w, &m));
    NN_TRY(ts_reshape(&mk, m, 2, bk));
    /* only the best of the K masks learns its mask loss (SAM's ambiguity-aware
     * training); every IoU prediction learns its mask's IoU */
    NN_TRY(ts_topk(&best, &pick, mk, 1, 1, 0, 0));
    NN_TRY(ts_reshape(&flk, fl, 2, bk));
    NN_TRY(ts_reshape(&dlk, dl, 2, bk));
    NN_TRY(ts_gather(&flb, flk, 1, pick));
    NN_TRY(ts_gather(&dlb, dlk, 1, pick));
    return finish(best, iou_pred, tiou, flb, dlb, w, loss, parts);
}
