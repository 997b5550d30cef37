/* Corrective points (labs/2.2.6-segment-anything/quick_corrective.h). */
#include "labs/2.2.6-segment-anything/quick_corrective.h"

#include "base/error.h"
#include "datasets/dataset.h"
#include "datasets/mosaic.h"
#include "labs/models/nn.h"
#include "labs/models/sam.h"

#include <stdlib.h>
#include <string.h>

void sam_corrective_click(const float *logits, const uint8_t *truth, int S, struct ds_rng *rng, float xy[2],
                          int *label)
{
    size_t px = (size_t)S * S, n_err = 0;
    for (size_t p = 0; p < px; p++)
        n_err += (logits[p] > 0) != (truth[p] != 0);
    if (n_err == 0) {
        ds_mask_center_point(truth, S, xy);
        *label = 1;
        return;
    }
    size_t pick = 0;
    if (rng) {
        size_t want = (size_t)ds_rng_below(rng, n_err), seen = 0;
        for (size_t p = 0; p < px; p++)
            if ((logits[p] > 0) != (truth[p] != 0) && seen++ == want) {
                pick = p;
                break;
            }
    } else {
        /* two-pass city-block distance to the nearest correct pixel (the
         * canvas border counts as correct: a click hugging it is no deeper) */
        int *d = malloc(sizeof(int) * px);
        if (!d) { /* no room for the map: the first error pixel still corrects */
            for (size_t p = 0; p < px; p++)
                if ((logits[p] > 0) != (truth[p] != 0)) {
                    pick = p;
                    break;
                }
        } else {
            for (int y = 0; y < S; y++)
                for (int x = 0; x < S; x++) {
                    size_t p = (size_t)y * S + x;
                    if ((logits[p] > 0) == (truth[p] != 0)) {
                        d[p] = 0;
                        continue;
                    }
                    int up = y ? d[p - S] : 0, left = x ? d[p - 1] : 0;
                    d[p] = 1 + (up < left ? up : left);
                }
            int best = -1;
            for (int y = S - 1; y >= 0; y--)
                for (int x = S - 1; x >= 0; x--) {
                    size_t p = (size_t)y * S + x;
                    if (d[p] == 0)
                        continue;
                    int down = y < S - 1 ? d[p + S] : 0, right = x < S - 1 ? d[p + 1] : 0;
                    int v = 1 + (down < right ? down : right);
                    if (v < d[p])
                        d[p] = v;
                }
            for (size_t p = 0; p < px; p++)
                if (d[p] > best)
                    best = d[p], pick = p;
            free(d);
        }
    }
    xy[0] = (float)(pick % (size_t)S);
    xy[1] = (float)(pick / (size_t)S);
    *label = truth[pick] != 0;
}

/* low-res logits [B, 1, h, w] -> host [B, S, S] at the canvas size */
static int logits_at_canvas(const ts_tensor *low, int S, int64_t B, float *out)
{
    ts_tensor *up;
    LAB_TRY(sam_postprocess(low, S, S, S, S, S, &up));
    if (ts_to_host(up, TS_F32, out, sizeof(float) * (size_t)B * S * S))
        return nn_fail(TS_ETORCH, "reading a corrective round's logits");
    return LAB_OK;
}

static int decode_points(struct model *m, const ts_tensor *emb, int64_t B, int64_t n, const float *coords,
                         const int *labels, const ts_tensor *mask_in, ts_tensor **low, ts_tensor **iou)
{
    struct sam_prompts pr = {.batch = B, .n_points = n, .coords = coords, .labels = labels, .mask_input = mask_in};
    ts_tensor *sparse, *dense;
    LAB_TRY(sam_prompt_encode(m, &pr, &sparse, &dense));
    return sam_decode(m, emb, sparse, dense, 0, low, iou);
}

int sam_corrective_train(struct model *m, const struct sam_corrective_batch *b, const ts_tensor *low, int rounds,
                         const struct sam_quick_weights *w, struct ds_rng *rng, ts_tensor **loss, double parts_sum[3])
{
    int64_t B = b->batch, n_max = 1 + rounds;
    size_t px = (size_t)b->S * b->S;
    float *coords = malloc(sizeof(float) * 2 * (size_t)(B * n_max)), *up = malloc(sizeof(float) * px * (size_t)B);
    int *labels = malloc(sizeof(int) * (size_t)(B * n_max));
    int rc = coords && up && labels ? LAB_OK : lab_err(LAB_EINTERNAL, NULL, "out of memory");
    /* clicks[i][k]: row i's k-th point, kept per row so each round's prompt
     * is [B, n] with the points in the order they were given */
    for (int64_t i = 0; !rc && i < B; i++) {
        coords[i * n_max * 2] = b->coords[i * 2], coords[i * n_max * 2 + 1] = b->coords[i * 2 + 1];
        labels[i * n_max] = b->labels[i];
    }
    const ts_tensor *prev = low;
    for (int r = 1; !rc && r <= rounds; r++) {
        ts_tensor *mask_in, *lc, *ic, *lr;
        if (ts_detach(&mask_in, prev) != TS_OK) {
            rc = nn_fail(TS_ETORCH, "detaching the previous mask");
            break;
        }
        if ((rc = logits_at_canvas(mask_in, b->S, B, up)))
            break;
        for (int64_t i = 0; i < B; i++)
            sam_corrective_click(up + (size_t)i * px, b->truth + (size_t)i * px, b->S, rng,
                                 coords + (i * n_max + r) * 2, labels + i * n_max + r);
        /* [B, n_max] storage read as [B, r + 1]: compact each row's first r + 1 */
        int64_t n = r + 1;
        float *cc = malloc(sizeof(float) * 2 * (size_t)(B * n));
        int *ll = malloc(sizeof(int) * (size_t)(B * n));
        if (!cc || !ll) {
            free(cc), free(ll);
            rc = lab_err(LAB_EINTERNAL, NULL, "out of memory");
            break;
        }
        for (int64_t i = 0; i < B; i++) {
            memcpy(cc + i * n * 2, coords + i * n_max * 2, sizeof(float) * 2 * (size_t)n);
            memcpy(ll + i * n, labels + i * n_max, sizeof(int) * (size_t)n);
        }
        rc = decode_points(m, b->emb, B, n, cc, ll, mask_in, &lc, &ic);
        free(cc), free(ll);
        double p[3];
        if (!rc)
            rc = sam_quick_loss(lc, ic, b->truth_t, w, &lr, p);
        if (rc)
            break;
        ts_tensor *sum;
        if (ts_add(&sum, *loss, lr) != TS_OK) {
            rc = nn_fail(TS_ETORCH, "adding a corrective round's loss");
            break;
        }
        *loss = sum;
        for (int k = 0; k < 3; k++)
            parts_sum[k] += p[k];
        prev = lc;
    }
    free(coords), free(up), free(labels);
    return rc;
}

int sam_corrective_eval(struct model *m, const ts_tensor *emb, const uint8_t *truth, int S, double *iou)
{
    size_t px = (size_t)S * S;
    float coords[4], *up = malloc(sizeof(float) * px);
    int labels[2] = {1, 1};
    if (!up)
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    ds_mask_center_point(truth, S, coords);
    ts_tensor *low, *pred, *low2, *pred2;
    int rc = decode_points(m, emb, 1, 1, coords, labels, NULL, &low, &pred);
    if (!rc)
        rc = logits_at_canvas(low, S, 1, up);
    if (!rc) {
        sam_corrective_click(up, truth, S, NULL, coords + 2, &labels[1]);
        rc = decode_points(m, emb, 1, 2, coords, labels, low, &low2, &pred2);
    }
    if (!rc)
        rc = logits_at_canvas(low2, S, 1, up);
    if (!rc) {
        size_t in = 0, un = 0;
        for (size_t p = 0; p < px; p++)
            in += up[p] > 0 && truth[p], un += up[p] > 0 || truth[p];
        *iou = un ? (double)in / (double)un : 0.0;
    }
    free(up);
    return rc;
}

int sam_corrective_miou(struct model *m, const struct ds_dataset *ev, int S, ts_device dev, double *miou,
                        size_t *count)
{
    size_t px = (size_t)S * S, n = 0;
    double sum = 0;
    float *x = malloc(sizeof(float) * 3 * px);
    int rc = x ? LAB_OK : lab_err(LAB_EINTERNAL, NULL, "out of memory");
    int grad = ts_no_grad_push();
    for (size_t i = 0; !rc && i < ev->n; i++) {
        struct ds_sample smp;
        memset(&smp, 0, sizeof smp);
        if ((rc = ds_dataset_get(ev, i, &smp)))
            break;
        if (smp.image.w != S || smp.image.h != S || smp.image.c != 1) {
            ds_sample_free(&smp);
            rc = lab_err(LAB_EINTERNAL, NULL, "mosaic %zu is not a %dx%d gray canvas", i, S, S);
            break;
        }
        sam_normalize_gray(smp.image.px, px, x);
        int64_t xs[4] = {1, 3, S, S};
        ts_tensor *xt, *emb;
        ts_scope_begin();
        if (ts_from_host(&xt, x, TS_F32, 4, xs, dev) != TS_OK)
            rc = nn_fail(TS_ETORCH, "uploading an eval mosaic");
        if (!rc)
            rc = sam_encode(m, xt, NULL, &emb);
        for (int j = 0; !rc && j < smp.nobj; j++) {
            double iou;
            if (!smp.inst[j].px)
                continue;
            rc = sam_corrective_eval(m, emb, smp.inst[j].px, S, &iou);
            sum += iou, n++;
        }
        ts_scope_end();
        ds_sample_free(&smp);
    }
    ts_grad_mode_pop(grad);
    free(x);
    *miou = n ? sum / (double)n : 0.0;
    *count = n;
    return rc;
}
