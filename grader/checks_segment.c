/* The segment task's rubric functions (lab 2.2.4): decode a model's masks
 * once (segment_model_begin), judge them against the geometry of the lab's
 * mode that the submission's data names (lab.json, never the submission's
 * config), and recompute mIoU against ground truth the grader holds itself
 * (grader/truth.h): the quick mode's mosaics it renders, the full mode's
 * VOC val split from its own cache. The figures of metrics.json are never
 * trusted; without the val split nothing is recomputed, and the checks
 * say so. */
#include "grader/checks_segment.h"

#include "grader/checks_masks.h"
#include "grader/reeval.h"

#include "base/error.h"
#include "grader/grade.h"
#include "grader/tensors.h"
#include "grader/truth.h"
#include "labs/config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KB_SEG_TARGET "TS-MIOU-BELOW-TARGET"
#define KB_SEG_COVERAGE "TS-PREDICTIONS-COVERAGE"
#define KB_SEG_SWAP "TS-WIDTH-HEIGHT-SWAP"
#define KB_SEG_SHAPE "TS-UNET-SHAPE"
/* A transpose is reported only when it scores clearly better, by an amount
 * and a ratio: a model that learned nothing scores about the same either
 * way; one that learned a little (mIoU 0.18 after 7 s) scores 0.11
 * transposed. */
#define SEG_SWAP_MARGIN 0.03
#define SEG_SWAP_RATIO 1.25


static void state_free(void *v)
{
    struct segment_state *s = v;
    free(s->indices);
    free(s->truth);
    free(s->canvases);
    free(s->rerun);
    free(s);
}

/* Full mode when the submission evaluated the full mode's dataset: its
 * masks must then cover the grader's val split, which a claim cannot
 * change. */
static int is_full(struct grade_ctx *g)
{
    json_t *cfg = NULL;
    int full = lab_config_resolve(g->lab, 0, &cfg) == LAB_OK &&
               strcmp(lab_cfg_str(cfg, "data.dataset", "-"), lab_cfg_str(g->sub->config, "data.dataset", "")) == 0;
    json_decref(cfg);
    return full;
}

/* The VOC2012 directory: --data when it holds the split lists, else
 * the grader's cache. */
static const char *voc_root(struct grade_ctx *g)
{
    const char *d = g->opts ? g->opts->data_dir : NULL;
    char list[4400];
    if (!d || snprintf(list, sizeof list, "%s/ImageSets/Segmentation/val.txt", d) >= (int)sizeof list)
        return NULL;
    return access(list, R_OK) == 0 ? d : NULL;
}

static void find_geometry(struct grade_ctx *g, struct segment_state *s)
{
    json_t *cfg = NULL;
    s->full = is_full(g);
    if (lab_config_resolve(g->lab, !s->full, &cfg) == LAB_OK) {
        s->size = lab_cfg_int(cfg, "data.canvas", 0);
        s->classes = lab_cfg_int(cfg, "data.num_classes", 0);
        s->need = lab_cfg_int(cfg, "data.eval_subset", 0);
        s->seed = (uint64_t)lab_cfg_int(cfg, "seed", 42);
        const json_t *in = json_array_get(lab_cfg_get(cfg, "data.input_size"), 0);
        s->channels = in ? json_integer_value(in) : 1;
        const json_t *ms = lab_cfg_get(cfg, "data.normalize.mean"), *ds = lab_cfg_get(cfg, "data.normalize.std");
        for (size_t c = 0; c < 3; c++) {
            const json_t *m = json_array_get(ms, c < json_array_size(ms) ? c : 0);
            const json_t *d = json_array_get(ds, c < json_array_size(ds) ? c : 0);
            s->mean[c] = m ? json_number_value(m) : 0.0;
            s->std[c] = d && json_number_value(d) > 0 ? json_number_value(d) : 1.0;
        }
    }
    json_decref(cfg);
    if (s->full) {
        /* the lab evaluates its first eval_subset val images, or all of them */
        size_t n = 0;
        s->voc_root = voc_root(g);
        if (truth_voc_count(s->voc_root, &n) != LAB_OK)
            snprintf(s->data_err, sizeof s->data_err,
                     "the grader has no VOC 2012 val split, so nothing is recomputed and no claim is taken: %s%s%s",
                     lab_err_message(), lab_err_fix()[0] ? "; fix: " : "", lab_err_fix());
        else if (s->need <= 0 || (size_t)s->need > n)
            s->need = (int64_t)n;
        lab_err_clear();
        return;
    }
    /* The run's own seed picks the mosaics it trained and evaluated on; the
     * grader renders that split itself, so no seed can flatter a score. */
    int64_t seed = lab_cfg_int(g->sub->config, "seed", (int64_t)s->seed);
    if (seed >= 0 && seed < ((int64_t)1 << 40))
        s->seed = (uint64_t)seed;
}

static void decode(const struct sub_model *sm, struct segment_state *s)
{
    const struct st_tensor *mt = NULL, *it = NULL;
    char got[160];
    if (!sm->predictions) {
        snprintf(s->err, sizeof s->err, "models/%s/predictions.safetensors is missing", sm->name);
        return;
    }
    if (st_get(sm->predictions, "masks", &mt) != LAB_OK || !mt) {
        snprintf(s->err, sizeof s->err, "predictions.safetensors has no 'masks' tensor (u8 [N, H, W]; "
                 "docs/submission-format.md, \"segment\")");
        return;
    }
    gt_shape_str(mt->shape, mt->ndim, got, sizeof got);
    if (mt->dtype != ST_U8) {
        snprintf(s->err, sizeof s->err, "'masks' %s is not u8 class ids (the argmax of the logits, one byte a pixel)",
                 got);
        return;
    }
    if (mt->ndim == 3 && mt->shape[0] > 100000) {
        snprintf(s->err, sizeof s->err, "'masks' %s holds more masks than any eval split (100000 at most)", got);
        return;
    }
    if (mt->ndim != 3 || mt->shape[1] != s->size || mt->shape[2] != s->size || mt->shape[0] < 1) {
        snprintf(s->err, sizeof s->err, "shape");
        return;
    }
    s->n = mt->shape[0];
    s->masks = mt->data;
    size_t ni = 0;
    if (st_get(sm->predictions, "indices", &it) != LAB_OK || !it || !gt_is_int(it->dtype) || it->ndim != 1 ||
        it->shape[0] != s->n || gt_to_i64(it, (size_t)s->n, &s->indices, &ni) != LAB_OK) {
        snprintf(s->err, sizeof s->err, "predictions.safetensors has no integer 'indices' [%lld] naming each mask's "
                 "image", (long long)s->n);
        return;
    }
    s->shape_ok = 1;
    const char *why = NULL;
    if (s->n < s->need)
        why = "fewer masks than the canvases the lab evaluates";
    for (int64_t i = 0; !why && i < s->n; i++)
        if (s->indices[i] != i)
            why = "indices other than 0..N-1 in order";
    if (why)
        snprintf(s->coverage, sizeof s->coverage, "%lld masks: %s (the lab evaluates %lld %s)", (long long)s->n, why,
                 (long long)s->need, s->full ? "VOC val images" : "held-out mosaics");
    else
        s->covered = 1;
}

int segment_model_begin(struct grade_ctx *g, const struct sub_model *sm)
{
    struct segment_state *s = calloc(1, sizeof *s);
    if (!s)
        return lab_err(LAB_EINTERNAL, "free some memory", "out of memory");
    g->m.task = s;
    g->m.task_free = state_free;
    find_geometry(g, s);
    g->m.classes = s->classes; /* the re-evaluation builds the model with them */
    if (s->size < 16 || s->classes < 2 || s->classes > 255)
        snprintf(s->err, sizeof s->err, "lab.json's %s data block gives no canvas size and classes",
                 s->full ? "full" : "quick");
    else
        decode(sm, s);
    return LAB_OK;
}

struct segment_state *segment_decoded(struct grade_ctx *g, struct check_out *o)
{
    struct segment_state *s = g->m.task;
    if (s && s->shape_ok)
        return s;
    check_set(o, CHECK_SKIPPED, NULL, "skipped: the masks are not in the segment format (see shape.masks)");
    return NULL;
}

static enum check_status shape_masks(struct grade_ctx *g, struct check_out *o)
{
    struct segment_state *s = g->m.task;
    if (s && s->shape_ok)
        return check_set(o, CHECK_PASS, NULL, "masks [%lld, %lld, %lld] u8 with their indices", (long long)s->n,
                         (long long)s->size, (long long)s->size);
    if (s && strcmp(s->err, "shape") == 0) {
        const struct st_tensor *mt = NULL;
        st_get(g->m.sm->predictions, "masks", &mt);
        return check_masks_shape(mt->shape, mt->ndim, mt->ndim == 3 ? mt->shape[0] : -1, s->size, s->size, o);
    }
    return check_set(o, CHECK_FAIL, KB_SEG_SHAPE, "%s", s ? s->err : "no predictions were decoded");
}

static enum check_status masks_range(struct grade_ctx *g, struct check_out *o)
{
    struct segment_state *s = segment_decoded(g, o);
    return s ? check_masks_range(s->masks, (size_t)(s->n * s->size * s->size), s->classes, o) : o->status;
}

static enum check_status masks_one_class(struct grade_ctx *g, struct check_out *o)
{
    struct segment_state *s = segment_decoded(g, o);
    return s ? check_masks_not_one_class(s->masks, (size_t)(s->n * s->size * s->size), o) : o->status;
}

static enum check_status coverage(struct grade_ctx *g, struct check_out *o)
{
    struct segment_state *s = segment_decoded(g, o);
    if (!s)
        return o->status;
    if (s->data_err[0])
        return check_set(o, CHECK_ERROR, NULL, "%s", s->data_err);
    if (!s->covered)
        return check_set(o, CHECK_FAIL, KB_SEG_COVERAGE, "%s", s->coverage);
    return check_set(o, CHECK_PASS, NULL, "%lld masks, one for each %s in order (the lab evaluates %lld)",
                     (long long)s->n, s->full ? "VOC val image" : "held-out mosaic", (long long)s->need);
}

/* The grader's masks and images of the eval split, made once: the
 * held-out mosaics rendered, or VOC's val split read from its cache (the
 * images only for re-evaluation). */
int segment_truth(struct grade_ctx *g, struct segment_state *s, struct check_out *o)
{
    if (s->data_err[0]) {
        check_set(o, CHECK_ERROR, NULL, "%s", s->data_err);
        return 0;
    }
    if (!s->covered) {
        check_set(o, CHECK_SKIPPED, NULL, "skipped: the masks do not cover the held-out mosaics (see "
                  "predictions.coverage)");
        return 0;
    }
    if (!s->truth_once.state && s->full) {
        size_t got = 0;
        int rc = truth_voc_masks(s->voc_root, (int)s->size, (size_t)s->n, &s->truth,
                                 g->opts && g->opts->reeval ? &s->canvases : NULL, &got);
        if (!rc && got != (size_t)s->n)
            rc = lab_err(LAB_EINTERNAL, NULL, "the val split has %zu images, %lld masks were submitted", got,
                         (long long)s->n);
        truth_once_record(&s->truth_once, rc);
    }
    if (!s->truth_once.state) {
        struct truth_mosaic spec = {.size = (int)s->size, .n = (size_t)s->n, .seed = s->seed + 1,
                                    .ignore = SEG_IGNORE};
        truth_once_record(&s->truth_once,
                          truth_mosaic_masks(g->opts ? g->opts->data_dir : NULL, &spec, &s->truth, &s->canvases));
    }
    return truth_once_ready(&s->truth_once, o);
}

int segment_in_range(const struct segment_state *s)
{
    size_t px = (size_t)(s->n * s->size * s->size);
    for (size_t i = 0; i < px; i++)
        if (s->masks[i] >= s->classes)
            return 0;
    return 1;
}

/* Square canvases hide a transpose in the shape: the same masks read with
 * H and W swapped score clearly higher when the writer swapped them. */
static enum check_status masks_orientation(struct grade_ctx *g, struct check_out *o)
{
    struct segment_state *s = segment_decoded(g, o);
    if (!s || !segment_truth(g, s, o))
        return o->status;
    if (!segment_in_range(s))
        return check_set(o, CHECK_SKIPPED, NULL, "skipped: class ids out of range (see masks.range)");
    size_t px = (size_t)(s->size * s->size);
    uint8_t *tr = malloc(px * (size_t)s->n);
    if (!tr)
        return check_set(o, CHECK_ERROR, NULL, "out of memory");
    for (int64_t k = 0; k < s->n; k++)
        for (int64_t y = 0; y < s->size; y++)
            for (int64_t x = 0; x < s->size; x++)
                tr[k * px + y * s->size + x] = s->masks[k * px + x * s->size + y];
    struct check_out tmp;
    double as_is = 0, swapped = 0;
    check_masks_miou(s->masks, s->truth, px * (size_t)s->n, s->classes, SEG_IGNORE, 0, 1, &as_is, &tmp);
    check_masks_miou(tr, s->truth, px * (size_t)s->n, s->classes, SEG_IGNORE, 0, 1, &swapped, &tmp);
    free(tr);
    if (swapped > as_is + SEG_SWAP_MARGIN && swapped > SEG_SWAP_RATIO * as_is)
        return check_set(o, CHECK_FAIL, KB_SEG_SWAP, "the masks score mIoU %.4f as submitted but %.4f with H and W "
                         "swapped: they were written transposed ([N, W, H])", as_is, swapped);
    return check_set(o, CHECK_PASS, NULL, "mIoU %.4f as submitted, %.4f transposed: rows are H", as_is, swapped);
}

static enum check_status honesty_miou(struct grade_ctx *g, struct check_out *o)
{
    struct segment_state *s = segment_decoded(g, o);
    if (!s || !segment_truth(g, s, o))
        return o->status;
    const json_t *mm = json_object_get(json_object_get(g->sub->metrics, "models"), g->m.name);
    const json_t *rep = json_object_get(mm, "miou");
    double reported = json_is_number(rep) ? json_number_value(rep) : NAN;
    double miou = -1;
    size_t px = (size_t)(s->n * s->size * s->size);
    /* Out-of-range ids are masks.range's finding; the confusion matrix
     * would refuse them, so they are scored as background here. */
    uint8_t *p = NULL;
    if (!segment_in_range(s)) {
        if (!(p = malloc(px)))
            return check_set(o, CHECK_ERROR, NULL, "out of memory");
        for (size_t i = 0; i < px; i++)
            p[i] = s->masks[i] < s->classes ? s->masks[i] : 0;
    }
    enum check_status st = check_masks_miou(p ? p : s->masks, s->truth, px, s->classes, SEG_IGNORE, reported, 0.005,
                                            &miou, o);
    free(p);
    if (miou >= 0)
        s->has_miou = 1, s->miou = miou;
    if (st == CHECK_FAIL) {
        char msg[sizeof o->message];
        snprintf(msg, sizeof msg, "%s", o->message);
        check_set(o, CHECK_FAIL, "TS-METRICS-MISMATCH", "recomputed mIoU from the predictions against the grader's "
                  "own %s: %s", s->full ? "VOC val masks" : "mosaics", msg);
    } else if (st == CHECK_PASS) {
        char msg[sizeof o->message];
        snprintf(msg, sizeof msg, "%s", o->message);
        check_set(o, CHECK_PASS, NULL, "%s, recomputed against the grader's own %s", msg,
                  s->full ? "VOC val masks (voc2012/val, 255 left out)" : "mosaics");
    }
    return st;
}

/* Judged on the grader's recomputed mIoU only (honesty.miou runs first). */
static enum check_status results_miou(struct grade_ctx *g, struct check_out *o)
{
    struct segment_state *s = segment_decoded(g, o);
    if (!s)
        return o->status;
    const json_t *want = lab_cfg_get(g->lab, s->full ? "thresholds.full.miou" : "thresholds.quick.miou");
    if (!json_is_number(want))
        return check_skip_uncounted(o, s->full ? "the course sets no mIoU target" : "the course sets no mIoU target "
                                                                                    "for the quick mode");
    if (!s->has_miou)
        return check_set(o, CHECK_SKIPPED, NULL, "skipped: mIoU could not be recomputed (see honesty.miou)");
    double t = json_number_value(want);
    if (s->miou < t)
        return check_set(o, CHECK_FAIL, KB_SEG_TARGET, "mIoU %.4f (recomputed) is below the target %.2f", s->miou, t);
    return check_set(o, CHECK_PASS, NULL, "mIoU %.4f (recomputed) reaches the target %.2f", s->miou, t);
}

const struct rubric_check checks_segment[] = {
    {"shape.masks", "masks are [N, H, W] class ids at the input size", 2, RC_PER_MODEL, 10, shape_masks,
     {KB_SEG_SHAPE, KB_SEG_SWAP}, 0, NULL},
    {"masks.range", "class ids are in range (255 is never predicted)", 1, RC_PER_MODEL, 10, masks_range,
     {"TS-DEVICE-ASSERT-LABELS"}, 0, NULL},
    {"masks.one_class", "more than one class is predicted", 1, RC_PER_MODEL, 10, masks_one_class, {"TS-IOU-ZERO"}, 0,
     NULL},
    {"predictions.coverage", "one mask for each held-out mosaic", 1, RC_PER_MODEL, 10, coverage, {KB_SEG_COVERAGE},
     0, NULL},
    {"masks.orientation", "masks are not transposed", 1, RC_PER_MODEL, 30, masks_orientation, {KB_SEG_SWAP}, 0,
     NULL},
    {"honesty.miou", "metrics.json's mIoU matches the predictions", 3, RC_PER_MODEL, 30, honesty_miou,
     {"TS-METRICS-MISMATCH"}, 0, NULL},
    {"results.miou", "mIoU reaches the course target", 3, RC_PER_MODEL, 10, results_miou, {KB_SEG_TARGET}, 0, NULL},
    {"reeval.load", "the weights load into the lab's model of that name", 2, RC_PER_MODEL | RC_REEVAL, 120,
     reeval_load_registered, {"TS-STATE-DICT-MISMATCH"}, 0, NULL},
    {"reeval.masks", "the weights predict the submitted masks", 3, RC_PER_MODEL | RC_REEVAL, 600,
     segment_reeval_masks, {"TS-REEVAL-MISMATCH"}, 0, NULL},
    {"reeval.batch", "outputs do not depend on the batch", 1, RC_PER_MODEL | RC_REEVAL, 120, segment_reeval_batch,
     {"TS-BATCH-DEPENDENT"}, 0, NULL},
    {NULL, NULL, 0, 0, 0, NULL, {NULL}, 0, NULL},
};
