/* The prompt task's rubric functions (lab 2.2.6): decode a model's masks
 * once (prompt_model_begin), derive the prompts the lab defines for its
 * held-out mosaics (each instance's exact box, then its pixel nearest the
 * centroid) from instances the grader renders itself (grader/truth.h), and
 * recompute mIoU per prompt kind, so neither the submission's prompts nor
 * its metrics.json are trusted. The geometry, counts and seed are lab.json's
 * quick config, never the submission's. */
#include "base/error.h"
#include "datasets/mosaic.h"
#include "grader/checks_prompt.h"
#include "grader/grade.h"
#include "grader/reeval.h"
#include "grader/rubric.h"
#include "grader/tensors.h"
#include "grader/truth.h"
#include "labs/tasks/prompt_study.h"
#include "labs/config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KB_P_LOWRES "TS-SAM-LOWRES-MASKS"
#define KB_P_PROMPTS "TS-SAM-PROMPTS"
#define KB_P_EMPTY "TS-SAM-EMPTY-MASKS"
#define KB_P_SWAP "TS-WIDTH-HEIGHT-SWAP"
#define KB_P_TARGET "TS-MIOU-BELOW-TARGET"
#define KB_P_HONESTY "TS-METRICS-MISMATCH"
/* A short run leaves a few small instances unsegmented; more than this
 * share of empty masks for positive prompts is the course's empty masks. */
#define P_EMPTY_SHARE 0.05
#define P_SWAP_MARGIN 0.03
#define P_SWAP_RATIO 1.25
#define P_TOL 0.005

static void state_free(void *v)
{
    struct prompt_state *s = v;
    free(s->prompts);
    free(s->image);
    free(s->iou_pred);
    truth_instances_free(&s->truth);
    free(s);
}

static void decode(const struct sub_model *sm, struct prompt_state *s)
{
    const struct st_tensor *mt = NULL, *pt = NULL, *it = NULL;
    char got[160];
    if (!sm->predictions) {
        snprintf(s->err, sizeof s->err, "models/%s/predictions.safetensors is missing", sm->name);
        return;
    }
    if (st_get(sm->predictions, "masks", &mt) != LAB_OK || !mt) {
        snprintf(s->err, sizeof s->err, "predictions.safetensors has no 'masks' tensor (u8 [P, H, W], one a prompt; "
                 "docs/submission-format.md, \"prompt\")");
        return;
    }
    gt_shape_str(mt->shape, mt->ndim, got, sizeof got);
    if (mt->dtype != ST_U8) {
        snprintf(s->err, sizeof s->err, "'masks' %s is not u8 0/1 masks (threshold the upsampled logits at 0)", got);
        return;
    }
    if (mt->ndim != 3 || mt->shape[0] < 1 || mt->shape[0] > 1000000 || mt->shape[1] != s->h ||
        mt->shape[2] != s->w) {
        snprintf(s->err, sizeof s->err, "'masks' %s is not [P, %lld, %lld]: masks at the image's size, not SAM's "
                 "256x256 low-res logits (upsample them to the input, then threshold at 0)", got, (long long)s->h,
                 (long long)s->w);
        return;
    }
    s->p = mt->shape[0];
    s->masks = mt->data;
    size_t np = 0, ni = 0;
    if (st_get(sm->predictions, "prompts", &pt) != LAB_OK || !pt || pt->ndim != 2 || pt->shape[0] != s->p ||
        pt->shape[1] != 4 || gt_to_f32(pt, (size_t)s->p * 4, &s->prompts, &np) != LAB_OK) {
        snprintf(s->err, sizeof s->err, "predictions.safetensors has no float 'prompts' [%lld, 4] (a box x1, y1, x2, "
                 "y2, or a point x, y, label, 0)", (long long)s->p);
        return;
    }
    if (st_get(sm->predictions, "image_index", &it) != LAB_OK || !it || !gt_is_int(it->dtype) || it->ndim != 1 ||
        it->shape[0] != s->p || gt_to_i64(it, (size_t)s->p, &s->image, &ni) != LAB_OK) {
        snprintf(s->err, sizeof s->err, "predictions.safetensors has no integer 'image_index' [%lld] naming each "
                 "mask's mosaic", (long long)s->p);
        return;
    }
    size_t nv = 0;
    if (s->full && (st_get(sm->predictions, "iou_predictions", &it) != LAB_OK || !it || it->ndim != 1 ||
                    it->shape[0] != s->p || gt_to_f32(it, (size_t)s->p, &s->iou_pred, &nv) != LAB_OK)) {
        snprintf(s->err, sizeof s->err, "predictions.safetensors has no float 'iou_predictions' [%lld] (SAM's "
                 "predicted IoU of each mask)", (long long)s->p);
        return;
    }
    s->shape_ok = 1;
}

int prompt_model_begin(struct grade_ctx *g, const struct sub_model *sm)
{
    struct prompt_state *s = calloc(1, sizeof *s);
    if (!s)
        return lab_err(LAB_EINTERNAL, "free some memory", "out of memory");
    g->m.task = s;
    g->m.task_free = state_free;
    json_t *cfg = NULL;
    if (lab_config_resolve(g->lab, 0, &cfg) == LAB_OK)
        s->full = !strcmp(lab_cfg_str(g->sub->config, "data.dataset", ""), lab_cfg_str(cfg, "data.dataset", "-"));
    json_decref(cfg);
    cfg = NULL;
    if (s->full) {
        /* the notebook's placeholder: what every full-mode run prompts */
        struct ds_image im = {0};
        if (sam_placeholder(&im) == LAB_OK)
            s->h = im.h, s->w = im.w, s->need = 1;
        ds_image_free(&im);
        decode(sm, s);
        return LAB_OK;
    }
    if (lab_config_resolve(g->lab, 1, &cfg) == LAB_OK) {
        s->size = lab_cfg_int(cfg, "sam.img_size", 0);
        s->need = lab_cfg_int(cfg, "data.eval_subset", 0);
        s->seed = (uint64_t)lab_cfg_int(cfg, "seed", 42);
    }
    json_decref(cfg);
    s->h = s->w = s->size;
    if (s->size < 16 || s->size > 512 || s->need < 1)
        snprintf(s->err, sizeof s->err, "lab.json's quick config gives no sam.img_size and data.eval_subset");
    else
        decode(sm, s);
    return LAB_OK;
}

struct prompt_state *prompt_decoded(struct grade_ctx *g, struct check_out *o)
{
    struct prompt_state *s = g->m.task;
    if (s && s->shape_ok)
        return s;
    check_set(o, CHECK_SKIPPED, NULL, "skipped: the masks are not in the prompt format (see shape.masks)");
    return NULL;
}

int prompt_truth(struct grade_ctx *g, struct prompt_state *s, struct check_out *o)
{
    if (!s->truth_once.state)
        truth_once_record(&s->truth_once, truth_mosaic_instances(g->opts ? g->opts->data_dir : NULL, (int)s->size,
                                                                 (size_t)s->need, s->seed + 1, &s->truth));
    return truth_once_ready(&s->truth_once, o);
}

/* Row k's truth instance and kind (0 box, 1 point) in the lab's order: per
 * canvas, each instance's box, then each instance's point. */
void prompt_expected_rows(const struct truth_instances *t, int64_t *inst, int *kind)
{
    size_t r = 0;
    for (size_t a = 0; a < t->g;) {
        size_t b = a;
        while (b < t->g && t->image[b] == t->image[a])
            b++;
        for (int k = 0; k < 2; k++)
            for (size_t j = a; j < b; j++)
                inst[r] = (int64_t)j, kind[r] = k, r++;
        a = b;
    }
}

static enum check_status shape_masks(struct grade_ctx *g, struct check_out *o)
{
    struct prompt_state *s = g->m.task;
    if (s && s->shape_ok)
        return check_set(o, CHECK_PASS, NULL, "masks [%lld, %lld, %lld] u8 with their prompts and image_index",
                         (long long)s->p, (long long)s->h, (long long)s->w);
    return check_set(o, CHECK_FAIL, KB_P_LOWRES, "%s", s ? s->err : "no predictions were decoded");
}

static enum check_status masks_binary(struct grade_ctx *g, struct check_out *o)
{
    struct prompt_state *s = prompt_decoded(g, o);
    if (!s)
        return o->status;
    size_t px = (size_t)(s->p * s->h * s->w), bad = 0;
    int first = -1;
    for (size_t i = 0; i < px; i++)
        if (s->masks[i] > 1) {
            if (!bad++)
                first = s->masks[i];
        }
    if (bad)
        return check_set(o, CHECK_FAIL, KB_P_LOWRES, "%zu pixels are neither 0 nor 1 (the first is %d): masks are "
                         "logits or scores, not thresholded at 0", bad, first);
    return check_set(o, CHECK_PASS, NULL, "every pixel is 0 or 1");
}

/* The rows must be the lab's own prompts over all its held-out mosaics: a
 * submission that chose easier prompts, or fewer mosaics, is not scored. */
/* The full mode's rows: per image, the notebook's three prompts in
 * sam_study_prompts' order, one row a mask (3 for the multimask point). */
static int64_t full_rows(const struct prompt_state *s, float *rows, int *kind, int64_t cap)
{
    struct sam_study_prompt sp[SAM_STUDY_N];
    sam_study_prompts((int)s->w, (int)s->h, sp);
    int64_t n = 0;
    for (int64_t img = 0; img < s->need; img++)
        for (int k = 0; k < SAM_STUDY_N; k++)
            for (int j = 0; j < sam_study_masks(&sp[k]) && n < cap; j++, n++) {
                sam_study_row(&sp[k], rows + n * 4);
                kind[n] = (int)sp[k].kind;
            }
    return n;
}

static enum check_status full_prompts_match(struct prompt_state *s, struct check_out *o)
{
    float want[64 * 4];
    int kind[64];
    int64_t n = full_rows(s, want, kind, 64);
    if (s->p != n)
        return check_set(o, CHECK_FAIL, KB_P_PROMPTS, "%lld masks; the notebook's prompt study on its placeholder "
                         "gives %lld (the centre point's 3, the central box's 1, the points with background corners' "
                         "1)", (long long)s->p, (long long)n);
    for (int64_t r = 0; r < n; r++) {
        const float *got = s->prompts + r * 4, *w = want + r * 4;
        int same = s->image[r] == r / (n / s->need);
        for (int k = 0; k < 4; k++)
            same = same && fabsf(got[k] - w[k]) <= 1e-3f;
        if (!same)
            return check_set(o, CHECK_FAIL, KB_P_PROMPTS, "row %lld (image %lld) is [%g, %g, %g, %g]; the notebook's "
                             "prompt there is [%g, %g, %g, %g] (image 0)", (long long)r, (long long)s->image[r], got[0],
                             got[1], got[2], got[3], w[0], w[1], w[2], w[3]);
    }
    s->prompts_ok = 1;
    return check_set(o, CHECK_PASS, NULL, "%lld masks: the notebook's point, box and combined prompts on its "
                     "placeholder", (long long)n);
}

/* No ground truth in the full mode: the check does not count there. */
static int full_skip(struct grade_ctx *g, struct check_out *o)
{
    struct prompt_state *s = g->m.task;
    if (!s || !s->full)
        return 0;
    check_skip_uncounted(o, "the full mode's sample images have no ground truth masks (docs/labs/2.2.6.md)");
    return 1;
}

static enum check_status prompts_match(struct grade_ctx *g, struct check_out *o)
{
    struct prompt_state *s = prompt_decoded(g, o);
    if (s && s->full)
        return full_prompts_match(s, o);
    if (!s || !prompt_truth(g, s, o))
        return o->status;
    const struct truth_instances *t = &s->truth;
    if ((size_t)s->p != 2 * t->g)
        return check_set(o, CHECK_FAIL, KB_P_PROMPTS, "%lld masks; the lab's %lld held-out mosaics hold %zu "
                         "instances, each prompted by its box and by one point (%zu masks)", (long long)s->p,
                         (long long)s->need, t->g, 2 * t->g);
    int64_t *inst = malloc(sizeof *inst * (size_t)s->p);
    int *kind = malloc(sizeof *kind * (size_t)s->p);
    if (!inst || !kind) {
        free(inst), free(kind);
        return check_set(o, CHECK_ERROR, NULL, "out of memory");
    }
    prompt_expected_rows(t, inst, kind);
    size_t px = (size_t)(s->size * s->size);
    int64_t bad = -1;
    float want[4] = {0};
    for (int64_t r = 0; r < s->p && bad < 0; r++) {
        int64_t j = inst[r];
        if (kind[r] == 0) {
            memcpy(want, t->boxes + j * 4, sizeof want);
        } else {
            ds_mask_center_point(t->masks + (size_t)j * px, (int)s->size, want);
            want[2] = 1, want[3] = 0;
        }
        const float *got = s->prompts + r * 4;
        int same = s->image[r] == t->image[j];
        for (int k = 0; k < 4; k++)
            same = same && fabsf(got[k] - want[k]) <= 1e-3f;
        if (!same)
            bad = r;
    }
    enum check_status st;
    if (bad >= 0) {
        const float *got = s->prompts + bad * 4;
        st = check_set(o, CHECK_FAIL, KB_P_PROMPTS, "row %lld (mosaic %lld) is %s [%g, %g, %g, %g]; the lab's prompt "
                       "there is [%g, %g, %g, %g] (mosaic %lld): %s", (long long)bad, (long long)s->image[bad],
                       kind[bad] ? "point" : "box", got[0], got[1], got[2], got[3], want[0], want[1], want[2],
                       want[3], (long long)t->image[inst[bad]],
                       kind[bad] ? "the point is the instance's pixel nearest its centroid, label 1"
                                 : "the box is the instance's exact x1, y1, x2, y2");
    } else {
        s->prompts_ok = 1;
        st = check_set(o, CHECK_PASS, NULL, "%lld masks: the lab's box and point prompts for the %zu instances of its "
                       "%lld held-out mosaics", (long long)s->p, t->g, (long long)s->need);
    }
    free(inst), free(kind);
    return st;
}

int prompt_prompted(struct grade_ctx *g, struct check_out *o, struct prompt_state **sp)
{
    struct prompt_state *s = prompt_decoded(g, o);
    *sp = s;
    if (!s)
        return 0;
    if (!s->prompts_ok) {
        check_set(o, CHECK_SKIPPED, NULL, "skipped: the prompts are not the lab's (see predictions.prompts)");
        return 0;
    }
    return 1;
}

static enum check_status masks_nonempty(struct grade_ctx *g, struct check_out *o)
{
    if (full_skip(g, o))
        return o->status;
    struct prompt_state *s;
    if (!prompt_prompted(g, o, &s))
        return o->status;
    size_t px = (size_t)(s->size * s->size), empty = 0;
    for (int64_t r = 0; r < s->p; r++) {
        const uint8_t *m = s->masks + (size_t)r * px;
        size_t k = 0;
        while (k < px && !m[k])
            k++;
        empty += k == px;
    }
    double share = (double)empty / (double)s->p;
    if (share > P_EMPTY_SHARE)
        return check_set(o, CHECK_FAIL, KB_P_EMPTY, "%zu of %lld masks for positive prompts are empty (%.1f%%, at most "
                         "%.0f%%)", empty, (long long)s->p, 100 * share, 100 * P_EMPTY_SHARE);
    return check_set(o, CHECK_PASS, NULL, "%zu of %lld masks are empty (at most %.0f%%)", empty, (long long)s->p,
                     100 * P_EMPTY_SHARE);
}

/* mIoU per kind of masks against the grader's instances, read as submitted
 * or with H and W swapped. */
static void miou_of(const struct prompt_state *s, int transposed, double miou[2])
{
    const struct truth_instances *t = &s->truth;
    size_t px = (size_t)(s->size * s->size), cnt[2] = {0, 0};
    double sum[2] = {0, 0};
    int64_t *inst = malloc(sizeof *inst * (size_t)s->p);
    int *kind = malloc(sizeof *kind * (size_t)s->p);
    miou[0] = miou[1] = 0;
    if (!inst || !kind) {
        free(inst), free(kind);
        miou[0] = miou[1] = -1;
        return;
    }
    prompt_expected_rows(t, inst, kind);
    int64_t S = s->size;
    for (int64_t r = 0; r < s->p; r++) {
        const uint8_t *pm = s->masks + (size_t)r * px, *tm = t->masks + (size_t)inst[r] * px;
        size_t in = 0, un = 0;
        for (int64_t y = 0; y < S; y++)
            for (int64_t x = 0; x < S; x++) {
                int a = pm[transposed ? x * S + y : y * S + x] != 0, b = tm[y * S + x] != 0;
                in += a && b, un += a || b;
            }
        sum[kind[r]] += un ? (double)in / (double)un : 0.0;
        cnt[kind[r]]++;
    }
    for (int k = 0; k < 2; k++)
        miou[k] = cnt[k] ? sum[k] / (double)cnt[k] : 0;
    free(inst), free(kind);
}

static enum check_status masks_orientation(struct grade_ctx *g, struct check_out *o)
{
    if (full_skip(g, o)) /* the masks' [P, 600, 800] shape already fixes H and W */
        return o->status;
    struct prompt_state *s;
    if (!prompt_prompted(g, o, &s))
        return o->status;
    double a[2], b[2];
    miou_of(s, 0, a);
    miou_of(s, 1, b);
    if (a[0] < 0 || b[0] < 0)
        return check_set(o, CHECK_ERROR, NULL, "out of memory");
    double as_is = (a[0] + a[1]) / 2, swapped = (b[0] + b[1]) / 2;
    if (swapped > as_is + P_SWAP_MARGIN && swapped > P_SWAP_RATIO * as_is)
        return check_set(o, CHECK_FAIL, KB_P_SWAP, "the masks score mIoU %.4f as submitted but %.4f with H and W "
                         "swapped: they were written transposed ([P, W, H])", as_is, swapped);
    return check_set(o, CHECK_PASS, NULL, "mIoU %.4f as submitted, %.4f transposed: rows are H", as_is, swapped);
}

/* The full mode reports SAM's mean predicted IoU per prompt kind, which the
 * grader recomputes from the submitted iou_predictions. */
static enum check_status full_honesty(struct grade_ctx *g, struct prompt_state *s, struct check_out *o)
{
    float want[64 * 4];
    int kind[64];
    int64_t n = full_rows(s, want, kind, 64);
    double sum[3] = {0, 0, 0};
    int cnt[3] = {0, 0, 0};
    for (int64_t r = 0; r < n && r < s->p; r++)
        sum[kind[r]] += s->iou_pred[r], cnt[kind[r]]++;
    static const char *const keys[3] = {"pred_iou_box", "pred_iou_point", "pred_iou_combination"};
    const json_t *mm = json_object_get(json_object_get(g->sub->metrics, "models"), g->m.name);
    for (int k = 0; k < 3; k++) {
        double got = cnt[k] ? sum[k] / cnt[k] : 0;
        const json_t *v = json_object_get(mm, keys[k]);
        if (!json_is_number(v) || !(fabs(json_number_value(v) - got) <= P_TOL))
            return check_set(o, CHECK_FAIL, KB_P_HONESTY, "metrics.json's models.%s.%s is %s%.4f; the mean of the "
                             "submitted iou_predictions for those rows is %.4f (tolerance %.3f)", g->m.name, keys[k],
                             json_is_number(v) ? "" : "missing, not ", json_is_number(v) ? json_number_value(v) : 0.0,
                             got, P_TOL);
    }
    return check_set(o, CHECK_PASS, NULL, "the mean predicted IoUs per prompt kind are the submitted masks' "
                     "(box %.4f, point %.4f, combination %.4f)", cnt[0] ? sum[0] / cnt[0] : 0,
                     cnt[1] ? sum[1] / cnt[1] : 0, cnt[2] ? sum[2] / cnt[2] : 0);
}

static enum check_status honesty_miou(struct grade_ctx *g, struct check_out *o)
{
    struct prompt_state *s;
    if (!prompt_prompted(g, o, &s))
        return o->status;
    if (s->full)
        return full_honesty(g, s, o);
    miou_of(s, 0, s->miou);
    if (s->miou[0] < 0)
        return check_set(o, CHECK_ERROR, NULL, "out of memory");
    s->has_miou = 1;
    const json_t *mm = json_object_get(json_object_get(g->sub->metrics, "models"), g->m.name);
    const char *keys[2] = {"miou_box", "miou_point"};
    for (int k = 0; k < 2; k++) {
        const json_t *v = json_object_get(mm, keys[k]);
        if (!json_is_number(v))
            return check_set(o, CHECK_FAIL, KB_P_HONESTY, "metrics.json has no models.%s.%s (recomputed %.4f)",
                             g->m.name, keys[k], s->miou[k]);
        double rep = json_number_value(v);
        if (!(fabs(rep - s->miou[k]) <= P_TOL))
            return check_set(o, CHECK_FAIL, KB_P_HONESTY, "metrics.json's %s %.4f, recomputed from the predictions "
                             "against the grader's own instances: %.4f (tolerance %.3f)", keys[k], rep, s->miou[k],
                             P_TOL);
    }
    return check_set(o, CHECK_PASS, NULL, "miou_box %.4f and miou_point %.4f recomputed, as reported", s->miou[0],
                     s->miou[1]);
}

/* Judged on the grader's recomputed figures only (honesty.miou runs first). */
static enum check_status results_miou(struct grade_ctx *g, struct check_out *o)
{
    if (full_skip(g, o))
        return o->status;
    struct prompt_state *s = prompt_decoded(g, o);
    if (!s)
        return o->status;
    const json_t *wb = lab_cfg_get(g->lab, "thresholds.quick.miou_box");
    const json_t *wp = lab_cfg_get(g->lab, "thresholds.quick.miou_point");
    if (!json_is_number(wb) || !json_is_number(wp))
        return check_skip_uncounted(o, "the course sets no box and point mIoU targets for the quick mode");
    if (!s->has_miou)
        return check_set(o, CHECK_SKIPPED, NULL, "skipped: mIoU could not be recomputed (see honesty.miou)");
    double tb = json_number_value(wb), tp = json_number_value(wp);
    if (s->miou[0] < tb || s->miou[1] < tp)
        return check_set(o, CHECK_FAIL, KB_P_TARGET, "mIoU box %.4f (target %.2f), point %.4f (target %.2f), "
                         "recomputed: below the target", s->miou[0], tb, s->miou[1], tp);
    return check_set(o, CHECK_PASS, NULL, "mIoU box %.4f (target %.2f), point %.4f (target %.2f), recomputed",
                     s->miou[0], tb, s->miou[1], tp);
}

static enum check_status prompt_reeval_load(struct grade_ctx *g, struct check_out *o)
{
    if (full_skip(g, o)) /* the official weights are the course's, not the student's */
        return o->status;
    return reeval_load_registered(g, o);
}

static enum check_status prompt_reeval_masks_full(struct grade_ctx *g, struct check_out *o)
{
    if (full_skip(g, o))
        return o->status;
    return prompt_reeval_masks(g, o);
}

const struct rubric_check checks_prompt[] = {
    {"shape.masks", "masks are [P, H, W] at the image's size with prompts and image_index", 2, RC_PER_MODEL, 10,
     shape_masks, {KB_P_LOWRES}, 0, NULL},
    {"masks.binary", "masks are 0/1 (logits thresholded)", 1, RC_PER_MODEL, 10, masks_binary, {KB_P_LOWRES}, 0, NULL},
    {"predictions.prompts", "the lab's prompts for every held-out mosaic", 2, RC_PER_MODEL, 30, prompts_match,
     {KB_P_PROMPTS}, 0, NULL},
    {"masks.nonempty", "positive prompts give non-empty masks", 1, RC_PER_MODEL, 10, masks_nonempty, {KB_P_EMPTY}, 0,
     NULL},
    {"masks.orientation", "masks are not transposed", 1, RC_PER_MODEL, 30, masks_orientation, {KB_P_SWAP}, 0, NULL},
    {"honesty.miou", "metrics.json's miou_box and miou_point match the predictions", 3, RC_PER_MODEL, 30,
     honesty_miou, {KB_P_HONESTY}, 0, NULL},
    {"results.miou", "box and point mIoU reach the course targets", 3, RC_PER_MODEL, 10, results_miou, {KB_P_TARGET},
     0, NULL},
    {"reeval.load", "the weights load into the lab's SAM", 2, RC_PER_MODEL | RC_REEVAL, 120, prompt_reeval_load,
     {"TS-STATE-DICT-MISMATCH"}, 0, NULL},
    {"reeval.masks", "the weights, given the lab's prompts, predict the submitted masks", 3,
     RC_PER_MODEL | RC_REEVAL, 600, prompt_reeval_masks_full, {"TS-REEVAL-MISMATCH"}, 0, NULL},
    {NULL, NULL, 0, 0, 0, NULL, {NULL}, 0, NULL},
};
