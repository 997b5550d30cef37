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

/* sigmoid focal loss, alpha 0.25, gamma 2, mean over pixels and masks */
static int focal(const ts_tensor *x, const ts_tensor *t, const ts_tensor *p, ts_tensor **out)
{
    ts_tensor *ce, *pt1, *pt0, *q, *nt, *pt, *mpt, *mod, *a1, *a0, *at, *w, *l;
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
    NN_TRY(ts_mean(out, l, TS_ALL, 0));
    return LAB_OK;
}

/* 1 - (2 sum p t + 1) / (sum p + sum t + 1), mean over masks */
static int dice(const ts_tensor *t, const ts_tensor *p, ts_tensor **out)
{
    ts_tensor *pt, *i, *sp, *st, *num0, *num, *den0, *den, *r, *m;
    NN_TRY(ts_mul(&pt, p, t));
    LAB_TRY(sum_px(pt, &i));
    LAB_TRY(sum_px(p, &sp));
    LAB_TRY(sum_px(t, &st));
    NN_TRY(ts_mul_scalar(&num0, i, 2.0));
    NN_TRY(ts_add_scalar(&num, num0, 1.0));
    NN_TRY(ts_add(&den0, sp, st));
    NN_TRY(ts_add_scalar(&den, den0, 1.0));
    NN_TRY(ts_div(&r, num, den));
    NN_TRY(ts_mean(&m, r, TS_ALL, 0));
    return one_minus(m, out);
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

int sam_quick_loss(const ts_tensor *low_res, const ts_tensor *iou_pred, const ts_tensor *truth,
                   const struct sam_quick_weights *w, ts_tensor **loss, double parts[3])
{
    int64_t H = ts_size(truth, 2), W = ts_size(truth, 3);
    ts_tensor *x = (ts_tensor *)low_res;
    if (ts_size(low_res, 2) != H || ts_size(low_res, 3) != W)
        NN_TRY(ts_interpolate(&x, low_res, H, W, TS_BILINEAR, 0));
    ts_tensor *p, *fl, *dl, *tiou, *ip, *il, *a, *b, *c, *ab;
    NN_TRY(ts_sigmoid(&p, x));
    LAB_TRY(focal(x, truth, p, &fl));
    LAB_TRY(dice(truth, p, &dl));
    LAB_TRY(hard_iou(x, truth, &tiou));
    int64_t s1[1] = {ts_size(iou_pred, 0)};
    NN_TRY(ts_reshape(&ip, iou_pred, 1, s1));
    NN_TRY(ts_mse_loss(&il, ip, tiou, TS_RED_MEAN));
    NN_TRY(ts_mul_scalar(&a, fl, w->focal));
    NN_TRY(ts_mul_scalar(&b, dl, w->dice));
    NN_TRY(ts_mul_scalar(&c, il, w->iou));
    NN_TRY(ts_add(&ab, a, b));
    NN_TRY(ts_add(loss, ab, c));
    if (parts) {
        NN_TRY(ts_item_f64(fl, &parts[0]));
        NN_TRY(ts_item_f64(dl, &parts[1]));
        NN_TRY(ts_item_f64(il, &parts[2]));
    }
    return LAB_OK;
}
