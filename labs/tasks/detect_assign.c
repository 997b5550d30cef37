/* TaskAlignedAssigner and the YOLOv8 loss terms, step by step as
 * Ultralytics 8.3.253 computes them (see detect_assign.h). Ties in the
 * top-k go to the lower anchor index. */
#include "labs/tasks/detect_assign.h"

#include "base/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

float det_ciou(const float *b1, const float *b2)
{
    const float eps = 1e-7f;
    float w1 = b1[2] - b1[0], h1 = fmaxf(b1[3] - b1[1], eps);
    float w2 = b2[2] - b2[0], h2 = fmaxf(b2[3] - b2[1], eps);
    float iw = fmaxf(fminf(b1[2], b2[2]) - fmaxf(b1[0], b2[0]), 0.0f);
    float ih = fmaxf(fminf(b1[3], b2[3]) - fmaxf(b1[1], b2[1]), 0.0f);
    float inter = iw * ih;
    float uni = w1 * h1 + w2 * h2 - inter + eps;
    float iou = inter / uni;
    float cw = fmaxf(b1[2], b2[2]) - fminf(b1[0], b2[0]);
    float ch = fmaxf(b1[3], b2[3]) - fminf(b1[1], b2[1]);
    float c2 = cw * cw + ch * ch + eps;
    float dx = b2[0] + b2[2] - b1[0] - b1[2], dy = b2[1] + b2[3] - b1[1] - b1[3];
    float rho2 = (dx * dx + dy * dy) / 4.0f;
    float d = atanf(w2 / h2) - atanf(w1 / h1);
    float v = (float)(4.0 / (M_PI * M_PI)) * d * d;
    float alpha = v / (v - iou + (1.0f + eps));
    return iou - (rho2 / c2 + v * alpha);
}

void tal_output_free(struct tal_output *o)
{
    free(o->target_labels);
    free(o->target_bboxes);
    free(o->target_scores);
    free(o->fg_mask);
    free(o->target_gt_idx);
    memset(o, 0, sizeof *o);
}

struct ranked {
    float v;
    int64_t i;
};
static int by_value_desc(const void *x, const void *y)
{
    const struct ranked *a = x, *b = y;
    if (a->v != b->v)
        return a->v > b->v ? -1 : 1;
    return (a->i > b->i) - (a->i < b->i);
}

int tal_assign(const struct tal_input *in, const struct tal_params *p, struct tal_output *out)
{
    memset(out, 0, sizeof *out);
    int64_t B = in->b, A = in->a, G = in->g, K = in->k;
    if (B <= 0 || A <= 0 || G < 0 || K <= 0 || p->topk <= 0)
        return lab_err(LAB_EINTERNAL, "pass positive sizes", "tal_assign: b %lld a %lld g %lld k %lld", (long long)B,
                       (long long)A, (long long)G, (long long)K);
    size_t ba = (size_t)(B * A), bga = (size_t)(B * G * A);
    out->target_labels = calloc(ba, sizeof(int64_t));
    out->target_bboxes = calloc(ba * 4, sizeof(float));
    out->target_scores = calloc(ba * (size_t)K, sizeof(float));
    out->fg_mask = calloc(ba, 1);
    out->target_gt_idx = calloc(ba, sizeof(int64_t));
    float *metric = calloc(bga ? bga : 1, sizeof(float)), *overlap = calloc(bga ? bga : 1, sizeof(float));
    uint8_t *pos = calloc(bga ? bga : 1, 1), *inside = calloc(bga ? bga : 1, 1);
    struct ranked *rk = malloc((size_t)A * sizeof *rk);
    int rc = LAB_OK;
    if (!out->target_labels || !out->target_bboxes || !out->target_scores || !out->fg_mask || !out->target_gt_idx ||
        !metric || !overlap || !pos || !inside || !rk) {
        rc = lab_err(LAB_EINTERNAL, "free some memory", "out of memory assigning targets");
        goto done;
    }
    for (int64_t b = 0; b < B; b++) {
        for (int64_t g = 0; g < G; g++) {
            size_t row = (size_t)((b * G + g) * A);
            const float *gb = in->gt_bboxes + (b * G + g) * 4;
            int valid = in->mask_gt[b * G + g] != 0;
            int64_t cls = in->gt_labels[b * G + g];
            for (int64_t a = 0; a < A; a++) {
                const float *ap = in->anc_points + a * 2;
                float d = fminf(fminf(ap[0] - gb[0], ap[1] - gb[1]), fminf(gb[2] - ap[0], gb[3] - ap[1]));
                inside[row + a] = d > (float)p->eps;
                if (!valid || !inside[row + a] || cls < 0 || cls >= K)
                    continue;
                float ov = fmaxf(det_ciou(gb, in->pd_bboxes + (b * A + a) * 4), 0.0f);
                float score = in->pd_scores[(b * A + a) * K + cls];
                overlap[row + a] = ov;
                metric[row + a] = powf(score, (float)p->alpha) * powf(ov, (float)p->beta);
            }
            if (!valid)
                continue; /* its top-k all point at anchor 0 and cancel out */
            for (int64_t a = 0; a < A; a++)
                rk[a] = (struct ranked){metric[row + a], a};
            qsort(rk, (size_t)A, sizeof *rk, by_value_desc);
            for (int64_t t = 0; t < p->topk && t < A; t++)
                if (inside[row + rk[t].i])
                    pos[row + rk[t].i] = 1;
        }
        /* an anchor claimed by several boxes goes to the highest overlap */
        for (int64_t a = 0; a < A; a++) {
            int n = 0;
            int64_t best = 0, first = -1;
            for (int64_t g = 0; g < G; g++) {
                size_t at = (size_t)((b * G + g) * A + a);
                n += pos[at];
                if (pos[at] && first < 0)
                    first = g;
                if (overlap[at] > overlap[(size_t)((b * G + best) * A + a)])
                    best = g;
            }
            if (n > 1)
                for (int64_t g = 0; g < G; g++)
                    pos[(size_t)((b * G + g) * A + a)] = g == best;
            int64_t gi = n > 1 ? best : first >= 0 ? first : 0;
            size_t o = (size_t)(b * A + a);
            out->fg_mask[o] = n > 0;
            out->target_gt_idx[o] = gi;
            int64_t lab = in->gt_labels[b * G + gi];
            out->target_labels[o] = lab < 0 ? 0 : lab;
            memcpy(out->target_bboxes + o * 4, in->gt_bboxes + (b * G + gi) * 4, 4 * sizeof(float));
        }
        /* target score = max over boxes of metric * box's best overlap / (box's best metric + eps) */
        for (int64_t a = 0; a < A; a++) {
            size_t o = (size_t)(b * A + a);
            if (!out->fg_mask[o])
                continue;
            float norm = 0;
            for (int64_t g = 0; g < G; g++) {
                size_t row = (size_t)((b * G + g) * A);
                if (!pos[row + a])
                    continue;
                float pm = 0, po = 0;
                for (int64_t x = 0; x < A; x++)
                    if (pos[row + x]) {
                        pm = fmaxf(pm, metric[row + x]);
                        po = fmaxf(po, overlap[row + x]);
                    }
                norm = fmaxf(norm, metric[row + a] * po / (pm + (float)p->eps));
            }
            int64_t lab = out->target_labels[o];
            if (lab >= 0 && lab < K)
                out->target_scores[o * (size_t)K + (size_t)lab] = norm;
        }
    }
done:
    free(metric);
    free(overlap);
    free(pos);
    free(inside);
    free(rk);
    if (rc)
        tal_output_free(out);
    return rc;
}

void dfl_decode(const float *dist, int reg_max, const float *anchor, float *box)
{
    float side[4];
    for (int s = 0; s < 4; s++) {
        const float *d = dist + s * reg_max;
        float mx = d[0];
        for (int i = 1; i < reg_max; i++)
            mx = fmaxf(mx, d[i]);
        float sum = 0, ex = 0;
        for (int i = 0; i < reg_max; i++) {
            float e = expf(d[i] - mx);
            sum += e;
            ex += e * (float)i;
        }
        side[s] = ex / sum;
    }
    box[0] = anchor[0] - side[0];
    box[1] = anchor[1] - side[1];
    box[2] = anchor[0] + side[2];
    box[3] = anchor[1] + side[3];
}

static double log_softmax_at(const float *d, int n, int i)
{
    double mx = d[0], s = 0;
    for (int j = 1; j < n; j++)
        mx = fmax(mx, d[j]);
    for (int j = 0; j < n; j++)
        s += exp(d[j] - mx);
    return d[i] - mx - log(s);
}

int yolo_loss_host(const float *raw, int64_t b, int64_t a, int64_t k, int reg_max, const float *anchors_grid,
                   const float *strides, const struct tal_output *t, double items[3])
{
    int64_t c = 4 * reg_max + k;
    double tss = 0, cls = 0, box = 0, dfl = 0;
    for (size_t i = 0; i < (size_t)(b * a * k); i++)
        tss += t->target_scores[i];
    if (tss < 1)
        tss = 1;
    for (int64_t n = 0; n < b; n++)
        for (int64_t x = 0; x < a; x++) {
            size_t o = (size_t)(n * a + x);
            const float *r = raw + o * (size_t)c;
            const float *ts = t->target_scores + o * (size_t)k;
            for (int64_t j = 0; j < k; j++) {
                double z = r[4 * reg_max + j], y = ts[j];
                /* BCE with logits, the stable form */
                cls += fmax(z, 0) - z * y + log1p(exp(-fabs(z)));
            }
            if (!t->fg_mask[o])
                continue;
            double w = 0;
            for (int64_t j = 0; j < k; j++)
                w += ts[j];
            const float *anc = anchors_grid + x * 2;
            float pb[4], tb[4];
            dfl_decode(r, reg_max, anc, pb);
            for (int s = 0; s < 4; s++)
                tb[s] = t->target_bboxes[o * 4 + (size_t)s] / strides[x];
            box += (1.0 - det_ciou(pb, tb)) * w;
            float ltrb[4] = {anc[0] - tb[0], anc[1] - tb[1], tb[2] - anc[0], tb[3] - anc[1]};
            double side = 0;
            for (int s = 0; s < 4; s++) {
                float tv = fminf(fmaxf(ltrb[s], 0.0f), (float)(reg_max - 1) - 0.01f);
                int tl = (int)tv;
                double wl = (double)(tl + 1) - tv, wr = 1.0 - wl;
                side += -log_softmax_at(r + s * reg_max, reg_max, tl) * wl -
                        log_softmax_at(r + s * reg_max, reg_max, tl + 1) * wr;
            }
            dfl += side / 4.0 * w;
        }
    items[0] = box / tss * 7.5;
    items[1] = cls / tss * 0.5;
    items[2] = dfl / tss * 1.5;
    return LAB_OK;
}
