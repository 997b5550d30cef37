/* Re-evaluation of a submitted segmenter (`lab grade --reeval`, lab 2.2.4):
 * the weights, loaded by reeval.load into the lab's model of the submitted name
 * (unet, larger-unet, attention-unet or deeplabv3-resnet50), run again on the
 * held-out mosaics the grader renders itself, normalized as the lab defines;
 * their argmax must be the submitted masks, pixel for pixel up to the
 * tolerance of the weights' encoding. Masks written from anything but these
 * weights (the ground truth itself, rendered from the public t10k items)
 * fail here. */
#include "grader/checks_segment.h"

#include "base/error.h"
#include "grader/checks.h"
#include "grader/checks_masks.h"
#include "grader/reeval.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Share of pixels whose argmax must equal the submitted mask. Exact
 * weights differ only by summation order (a tie flips a pixel now and
 * then); 4-bit weights move the logits by a few percent, which flips
 * pixels on object edges: measured on quick runs, docs/grading.md. */
#define SEG_AGREE_EXACT 0.999
#define SEG_AGREE_Q4 0.99
/* How far the submitted masks' mIoU may lie above the weights' own. */
#define SEG_MIOU_SLACK_EXACT 0.002
#define SEG_MIOU_SLACK_Q4 0.01
/* Canvases a forward pass takes at a time, fewer when they are large: a
 * batch of 50 VOC images at 256 pixels held 11.5 GB in the width-64 U-Net
 * (scripts/bench/voc_grade.sh), a batch of 8 1.7 GB. */
#define SEG_REEVAL_BATCH 50
#define SEG_REEVAL_BATCH_PIXELS (8 * 256 * 256)

static int seg_batch_size(const struct segment_state *s)
{
    int64_t b = SEG_REEVAL_BATCH_PIXELS / ((int64_t)s->size * s->size);
    return b < 1 ? 1 : b > SEG_REEVAL_BATCH ? SEG_REEVAL_BATCH : (int)b;
}

static void argmax_masks(const float *logits, int64_t n, int64_t k, size_t px, uint8_t *out)
{
    for (int64_t i = 0; i < n; i++)
        for (size_t p = 0; p < px; p++) {
            const float *l = logits + (size_t)i * (size_t)k * px + p;
            int64_t best = 0;
            for (int64_t c = 1; c < k; c++)
                best = l[(size_t)c * px] > l[(size_t)best * px] ? c : best;
            out[(size_t)i * px + p] = (uint8_t)best;
        }
}

static void normalize(const struct segment_state *s, int64_t first, int64_t n, float *x)
{
    size_t px = (size_t)(s->size * s->size), ch = (size_t)s->channels;
    for (int64_t i = 0; i < n; i++)
        for (size_t c = 0; c < ch; c++)
            for (size_t p = 0; p < px; p++)
                x[((size_t)i * ch + c) * px + p] =
                    (float)((s->canvases[((size_t)(first + i) * px + p) * ch + c] / 255.0 - s->mean[c]) / s->std[c]);
}

/* The model over canvases [first, first + n) in one or more batches of
 * `batch`: logits [n, classes, size, size] into out. */
static int run(struct grade_ctx *g, const struct segment_state *s, int64_t first, int64_t n, int batch, float *out)
{
    size_t px = (size_t)(s->size * s->size);
    float *x = malloc((size_t)n * (size_t)s->channels * px * sizeof *x);
    if (!x)
        return lab_err(LAB_EINTERNAL, "free some memory", "out of memory");
    normalize(s, first, n, x);
    int64_t shape[4] = {n, s->channels, s->size, s->size};
    int rc = reeval_forward(g, x, shape, batch, "logits", (size_t)s->classes * px, out);
    free(x);
    return rc;
}

enum check_status segment_reeval_masks(struct grade_ctx *g, struct check_out *o)
{
    struct segment_state *s = segment_decoded(g, o);
    if (!s)
        return o->status;
    if (!reeval_model(g))
        return check_set(o, CHECK_SKIPPED, NULL, "skipped: the weights did not load (see reeval.load)");
    if (!segment_truth(g, s, o))
        return o->status;
    size_t px = (size_t)(s->size * s->size), k = (size_t)s->classes;
    int batch = seg_batch_size(s);
    float *logits = malloc((size_t)batch * k * px * sizeof *logits);
    uint8_t *ours = malloc((size_t)s->n * px);
    int rc = logits && ours ? LAB_OK : lab_err(LAB_EINTERNAL, "free some memory", "out of memory");
    for (int64_t b0 = 0; !rc && b0 < s->n; b0 += batch) {
        int64_t bn = s->n - b0 < batch ? s->n - b0 : batch;
        rc = run(g, s, b0, bn, batch, logits);
        if (!rc)
            argmax_masks(logits, bn, s->classes, px, ours + (size_t)b0 * px);
        if (!rc && b0 == 0) {
            /* kept for reeval.batch: the same canvases run one at a time */
            s->rerun_n = bn < REEVAL_BATCH_SAMPLES ? bn : REEVAL_BATCH_SAMPLES;
            s->rerun = malloc((size_t)s->rerun_n * k * px * sizeof *s->rerun);
            if (s->rerun)
                memcpy(s->rerun, logits, (size_t)s->rerun_n * k * px * sizeof *s->rerun);
        }
    }
    free(logits);
    if (rc) {
        free(ours);
        free(s->rerun);
        s->rerun = NULL;
        return check_set(o, grade_expired(g) ? CHECK_TIMEOUT : CHECK_ERROR, NULL, "re-evaluation failed: %s",
                         lab_err_message());
    }
    size_t total = (size_t)s->n * px, same = 0;
    for (size_t i = 0; i < total; i++)
        same += ours[i] == s->masks[i];
    double agree = (double)same / (double)total, miou = -1;
    struct check_out tmp;
    check_masks_miou(ours, s->truth, total, s->classes, SEG_IGNORE, 0, 1, &miou, &tmp);
    free(ours);
    int q4 = g->m.sm->weights_q4;
    double want = q4 ? SEG_AGREE_Q4 : SEG_AGREE_EXACT;
    double slack = q4 ? SEG_MIOU_SLACK_Q4 : SEG_MIOU_SLACK_EXACT;
    if (!(agree >= want))
        return check_set(o, CHECK_FAIL, "TS-REEVAL-MISMATCH",
                         "the weights%s predict other masks than the submitted ones: the same class on %.2f%% of %zu "
                         "pixels (at least %g%%); the weights' own mIoU is %.4f",
                         q4 ? " (at 4 bits)" : "", 100 * agree, total, 100 * want, miou);
    if (s->has_miou && s->miou > miou + slack)
        return check_set(o, CHECK_FAIL, "TS-REEVAL-MISMATCH",
                         "the submitted masks score mIoU %.4f, the weights%s only %.4f (at most %g apart): the pixels "
                         "that differ were chosen",
                         s->miou, q4 ? " (at 4 bits)" : "", miou, slack);
    return check_set(o, CHECK_PASS, NULL,
                     "re-run on the grader's %lld %s%s: the same class on %.3f%% of the pixels, the weights' own "
                     "mIoU %.4f",
                     (long long)s->n, s->full ? "VOC val images" : "mosaics", q4 ? " (weights at 4 bits)" : "", 100 * agree, miou);
}

enum check_status segment_reeval_batch(struct grade_ctx *g, struct check_out *o)
{
    struct segment_state *s = g->m.task;
    if (!s || !s->rerun)
        return check_set(o, CHECK_SKIPPED, NULL, "skipped: the masks were not re-evaluated (see reeval.masks)");
    size_t per = (size_t)s->classes * (size_t)(s->size * s->size), count = (size_t)s->rerun_n;
    float *one = malloc(count * per * sizeof *one);
    int rc = one ? run(g, s, 0, s->rerun_n, 1, one) : lab_err(LAB_EINTERNAL, "free some memory", "out of memory");
    if (rc) {
        free(one);
        return check_set(o, grade_expired(g) ? CHECK_TIMEOUT : CHECK_ERROR, NULL, "re-evaluation failed: %s",
                         lab_err_message());
    }
    double rel = rel_max_diff(one, s->rerun, count * per);
    free(one);
    if (!(rel <= REEVAL_REL_TOL))
        return check_set(o, CHECK_FAIL, "TS-BATCH-DEPENDENT",
                         "the first %zu mosaics alone give other logits than in a batch of %d: max |diff| / max "
                         "|logit| = %.3g (tolerance %g)",
                         count, seg_batch_size(s), rel, REEVAL_REL_TOL);
    return check_set(o, CHECK_PASS, NULL,
                     "the first %zu mosaics one at a time match their batch of %d (max rel diff %.2g)", count,
                     seg_batch_size(s), rel);
}
