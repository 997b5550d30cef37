/* Re-evaluation of a submitted promptable segmenter (`lab grade --reeval`,
 * lab 2.2.6): the weights, loaded by reeval.load into the lab's SAM, are
 * prompted again with the lab's prompts, derived by the grader from the
 * held-out mosaics it renders itself, through the same named forward the
 * lab evaluates with (labs/models/sam.h); their masks must be the submitted
 * ones. Masks written from anything but these weights (the ground truth
 * itself, rendered from the public t10k items, or another run's masks)
 * fail here. */
#include "grader/checks_prompt.h"

#include "base/error.h"
#include "datasets/mosaic.h"
#include "grader/checks.h"
#include "grader/reeval.h"
#include "labs/models/sam.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Mean IoU between the weights' masks and the submitted ones, row by row
 * (two empty masks agree). Exact weights differ only by summation order;
 * 4-bit weights move the logits by a few percent, which moves mask edges:
 * measured on quick runs, docs/labs/2.2.6.md. */
#define P_AGREE_EXACT 0.99
#define P_AGREE_Q4 0.90
/* How far the submitted masks' mIoU (either kind) may lie above the weights'. */
#define P_MIOU_SLACK_EXACT 0.002
#define P_MIOU_SLACK_Q4 0.02

struct rerun {
    double agree_sum, own_sum[2];
    size_t rows, own_n[2];
};

static double iou_u8(const uint8_t *a, const uint8_t *b, size_t px)
{
    size_t in = 0, un = 0;
    for (size_t k = 0; k < px; k++)
        in += a[k] && b[k], un += a[k] || b[k];
    return un ? (double)in / (double)un : 1.0;
}

/* canvas c's instances [a, b) prompted by their boxes, then their points:
 * rows `row` .. row + 2 (b - a) of the submission */
static int rerun_canvas(struct grade_ctx *g, const struct prompt_state *s, size_t c, size_t a, size_t b, size_t row,
                        float *x, float *logits, uint8_t *ours, struct rerun *acc)
{
    const struct truth_instances *t = &s->truth;
    size_t px = (size_t)(s->size * s->size), n = b - a;
    float boxes[DS_MAX_OBJECTS * 4], points[DS_MAX_OBJECTS * 2], iou[2 * DS_MAX_OBJECTS];
    sam_normalize_gray(t->canvases + c * px, px, x);
    for (size_t j = 0; j < n; j++) {
        memcpy(boxes + j * 4, t->boxes + (a + j) * 4, sizeof(float) * 4);
        ds_mask_center_point(t->masks + (a + j) * px, (int)s->size, points + j * 2);
    }
    struct reeval_io in[3] = {{.name = "pixel_values", .data = x, .ndim = 4, .shape = {1, 3, s->size, s->size}},
                              {.name = "boxes", .data = boxes, .ndim = 2, .shape = {(int64_t)n, 4}},
                              {.name = "point_coords", .data = points, .ndim = 2, .shape = {(int64_t)n, 2}}};
    struct reeval_io out[2] = {{.name = "masks", .data = logits, .numel = 2 * n * px},
                               {.name = "iou_predictions", .data = iou, .numel = 2 * n}};
    int rc = reeval_run_named(g, in, 3, out, 2);
    if (rc)
        return rc;
    for (size_t k = 0; k < 2 * n * px; k++)
        ours[k] = logits[k] > 0.0f;
    for (size_t r = 0; r < 2 * n; r++) {
        const uint8_t *mine = ours + r * px, *theirs = s->masks + (row + r) * px;
        acc->agree_sum += iou_u8(mine, theirs, px);
        acc->rows++;
        int kind = r >= n;
        acc->own_sum[kind] += iou_u8(mine, t->masks + (a + r % n) * px, px);
        acc->own_n[kind]++;
    }
    return LAB_OK;
}

enum check_status prompt_reeval_masks(struct grade_ctx *g, struct check_out *o)
{
    struct prompt_state *s;
    if (!prompt_prompted(g, o, &s))
        return o->status;
    if (!reeval_model(g))
        return check_set(o, CHECK_SKIPPED, NULL, "skipped: the weights did not load (see reeval.load)");
    const struct truth_instances *t = &s->truth;
    size_t px = (size_t)(s->size * s->size);
    float *x = malloc(sizeof(float) * 3 * px), *logits = malloc(sizeof(float) * 2 * DS_MAX_OBJECTS * px);
    uint8_t *ours = malloc(2 * DS_MAX_OBJECTS * px);
    int rc = x && logits && ours ? LAB_OK : lab_err(LAB_EINTERNAL, "free some memory", "out of memory");
    struct rerun acc = {0};
    size_t row = 0;
    for (size_t a = 0; !rc && a < t->g;) {
        size_t b = a;
        while (b < t->g && t->image[b] == t->image[a])
            b++;
        rc = rerun_canvas(g, s, (size_t)t->image[a], a, b, row, x, logits, ours, &acc);
        row += 2 * (b - a);
        a = b;
    }
    free(x), free(logits), free(ours);
    if (rc)
        return check_set(o, grade_expired(g) ? CHECK_TIMEOUT : CHECK_ERROR, NULL, "re-evaluation failed: %s",
                         lab_err_message());
    double agree = acc.rows ? acc.agree_sum / (double)acc.rows : 0, own[2];
    for (int k = 0; k < 2; k++)
        own[k] = acc.own_n[k] ? acc.own_sum[k] / (double)acc.own_n[k] : 0;
    int q4 = g->m.sm->weights_q4;
    double want = q4 ? P_AGREE_Q4 : P_AGREE_EXACT, slack = q4 ? P_MIOU_SLACK_Q4 : P_MIOU_SLACK_EXACT;
    if (!(agree >= want))
        return check_set(o, CHECK_FAIL, "TS-REEVAL-MISMATCH",
                         "the weights%s, given the lab's prompts, predict other masks than the submitted ones: mean "
                         "IoU %.4f between the two over %zu masks (at least %g); the weights' own mIoU is box %.4f, "
                         "point %.4f", q4 ? " (at 4 bits)" : "", agree, acc.rows, want, own[0], own[1]);
    for (int k = 0; k < 2 && s->has_miou; k++)
        if (s->miou[k] > own[k] + slack)
            return check_set(o, CHECK_FAIL, "TS-REEVAL-MISMATCH",
                             "the submitted %s masks score mIoU %.4f, the weights%s only %.4f (at most %g apart): the "
                             "masks that differ were chosen", k ? "point" : "box", s->miou[k], q4 ? " (at 4 bits)" : "",
                             own[k], slack);
    return check_set(o, CHECK_PASS, NULL,
                     "re-prompted on the grader's %lld mosaics%s: mean IoU %.4f with the submitted masks over %zu "
                     "masks; the weights' own mIoU box %.4f, point %.4f",
                     (long long)s->need, q4 ? " (weights at 4 bits)" : "", agree, acc.rows, own[0], own[1]);
}
