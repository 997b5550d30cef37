/* Transfer learning's checks (lab 2.2.2), on the submitted weights against
 * the pretrained checkpoint they claim to start from, read from the grader's
 * own Hugging Face cache (timm's weights in full mode, the quick mode's
 * Fashion-MNIST 0-4 source): the backbone comes from that checkpoint; in the
 * frozen strategy it is that checkpoint, bit for bit; the head fits the
 * mode's classes; and a pretrained backbone sees inputs normalized with its
 * own constants (ImageNet's for timm's), not the new dataset's. */
#include "grader/rubric.h"
#include "grader/grade_ckpt.h"

#include "base/error.h"
#include "labs/models/nn.h"
#include "datasets/registry.h"
#include "grader/tensors.h"
#include "grader/weights_q4.h"
#include "labs/config.h"
#include "labs/lab.h"
#include "labs/pretrained.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KB_BACKBONE "TS-TRANSFER-BACKBONE"
#define KB_FROZEN "TS-TRANSFER-FROZEN"
#define KB_HEAD "TS-TRANSFER-HEAD"
#define KB_NORM "TS-NORM-MISMATCH"
#define KB_GAIN "TS-TRANSFER-LOW"
#define HEAD "classifier"
#define FEATURES 1280        /* EfficientNet-B0's pooled width */
#define ORIGIN_COSINE 0.5    /* default bar: fine-tuned weights stay near 1, a random init is near 0 */
#define PIXEL_TOL 0.05       /* decoded pixels may leave [0, 1] this far (resampling overshoot) */

static int is_scratch(const char *model) { return !strcmp(model, "scratch"); }
static int pretrained_applies(const struct grade_ctx *g, const char *model) { (void)g; return !is_scratch(model); }
static int frozen_applies(const struct grade_ctx *g, const char *model) { (void)g; return !strcmp(model, "frozen"); }

static int is_buffer(const char *name)
{
    static const char *const suffixes[] = {"running_mean", "running_var", "num_batches_tracked"};
    size_t n = strlen(name);
    for (size_t i = 0; i < 3; i++) {
        size_t l = strlen(suffixes[i]);
        if (n >= l && !strcmp(name + n - l, suffixes[i]))
            return 1;
    }
    return 0;
}

static enum check_status no_ckpt(struct check_out *o, const struct grade_ckpt *c, const char *kb)
{
    return check_set(o, CHECK_ERROR, kb,
                     "the grader's Hugging Face cache has no %s@%s to compare with (%s); fix: on the grading machine, "
                     "`lab fetch efficientnet-b0` for timm's weights, or one `lab run 2.2.2 --quick` for the quick "
                     "mode's source",
                     c->repo, c->revision, c->weights);
}

/* The submitted backbone against the checkpoint's, tensor by tensor. */
struct cmp {
    size_t tensors, changed_params, changed_buffers, missing;
    char first_missing[160], first_changed[160], first_buffer[160];
    double dot, nsub, nck; /* over the conv/linear weights: cosine similarity */
};

static int compare_backbone(const st_file *sub, const st_file *ck, struct cmp *r)
{
    memset(r, 0, sizeof *r);
    for (size_t i = 0; i < st_count(ck); i++) {
        const struct st_tensor *a = st_at(ck, i);
        if (!strncmp(a->name, HEAD, strlen(HEAD)))
            continue;
        r->tensors++;
        const struct st_tensor *b = st_find(sub, a->name);
        if (!b || b->ndim != a->ndim || memcmp(b->shape, a->shape, sizeof(int64_t) * (size_t)a->ndim)) {
            if (!r->missing++)
                snprintf(r->first_missing, sizeof r->first_missing, "%s", a->name);
            continue;
        }
        float *x = NULL, *y = NULL;
        size_t nx = 0, ny = 0;
        int rc = gt_to_f32(a, GT_MAX_ELEMS, &x, &nx);
        if (!rc)
            rc = gt_to_f32(b, GT_MAX_ELEMS, &y, &ny);
        if (rc || nx != ny) {
            free(x);
            free(y);
            return rc ? rc : lab_err(LAB_EUSAGE, NULL, "%s: element counts differ", a->name);
        }
        int same = !memcmp(x, y, nx * sizeof *x), buffer = is_buffer(a->name);
        if (!same && buffer && !r->changed_buffers++)
            snprintf(r->first_buffer, sizeof r->first_buffer, "%s", a->name);
        if (!same && !buffer && !r->changed_params++)
            snprintf(r->first_changed, sizeof r->first_changed, "%s", a->name);
        /* Conv and linear weights only: BatchNorm's scales start at 1 in any
         * init, and would make random weights look alike. */
        for (size_t k = 0; !buffer && a->ndim >= 2 && k < nx; k++) {
            r->dot += (double)x[k] * y[k];
            r->nck += (double)x[k] * x[k];
            r->nsub += (double)y[k] * y[k];
        }
        free(x);
        free(y);
    }
    return LAB_OK;
}

static double cosine(const struct cmp *r)
{
    return r->nck > 0 && r->nsub > 0 ? r->dot / sqrt(r->nck * r->nsub) : 0;
}

/* Opens the checkpoint and compares; CHECK_PASS in *st when it could. */
static int load_and_compare(struct grade_ctx *g, struct check_out *o, const char *kb, struct grade_ckpt *c, struct cmp *r)
{
    const st_file *w = g->m.sm->weights;
    if (!w) {
        check_set(o, CHECK_FAIL, kb, "models/%s/model.safetensors is missing", g->m.name);
        return 0;
    }
    if (grade_ckpt_find(g, g->m.name, c)) {
        check_set(o, CHECK_ERROR, NULL, "%s", lab_err_message());
        return 0;
    }
    if (!c->found) {
        no_ckpt(o, c, NULL);
        return 0;
    }
    st_file *f = NULL, *as_sent = NULL;
    void *enc = NULL, *dec = NULL;
    size_t enc_len = 0, dec_len = 0;
    int rc = st_open(c->weights, &f);
    /* Weights sent at 4 bits are compared with the checkpoint sent the same
     * way: the encoding is deterministic, so an unchanged tensor decodes to
     * the same values, bit for bit, and a changed one (beyond half a step)
     * does not. */
    if (!rc && g->m.sm->weights_q4) {
        st_file *e = NULL;
        struct wq4_stats stats;
        rc = wq4_encode(f, &enc, &enc_len, &stats);
        if (!rc)
            rc = st_open_memory(enc, enc_len, c->weights, &e);
        if (!rc)
            rc = wq4_decode(e, c->weights, &dec, &dec_len, &stats);
        st_close(e);
        if (!rc)
            rc = st_open_memory(dec, dec_len, c->weights, &as_sent);
    }
    if (!rc)
        rc = compare_backbone(w, as_sent ? as_sent : f, r);
    st_close(as_sent);
    st_close(f);
    free(enc);
    free(dec);
    if (rc) {
        check_set(o, CHECK_ERROR, NULL, "comparing with %s@%s: %s", c->repo, c->revision, lab_err_message());
        return 0;
    }
    return 1;
}

static enum check_status transfer_backbone(struct grade_ctx *g, struct check_out *o)
{
    if (is_scratch(g->m.name))
        return check_skip_uncounted(o, "scratch trains from random weights");
    struct grade_ckpt c;
    struct cmp r;
    if (!load_and_compare(g, o, KB_BACKBONE, &c, &r))
        return o->status;
    if (r.missing)
        return check_set(o, CHECK_FAIL, KB_BACKBONE,
                         "%zu of %zu backbone tensors of %s@%s are missing or shaped otherwise in model.safetensors "
                         "(first: %s): not an efficientnet_b0 with timm's names",
                         r.missing, r.tensors, c.repo, c.revision, r.first_missing);
    /* The run's own record of what it loaded, where it kept one. */
    const json_t *pre = json_object_get(json_object_get(json_object_get(g->sub->metrics, "models"), g->m.name),
                                        "pretrained");
    const char *claimed = json_string_value(json_object_get(pre, "backbone_sha256"));
    char fp[65] = "";
    if (claimed && (pretrained_fingerprint_file(c.weights, HEAD, fp, sizeof fp) || strcmp(fp, claimed)))
        return check_set(o, CHECK_FAIL, KB_BACKBONE,
                         "metrics.json says %s loaded a backbone with fingerprint %.12s, but %s@%s's is %.12s: the "
                         "run started from other weights",
                         g->m.name, claimed, c.repo, c.revision, fp[0] ? fp : "(unreadable)");
    double cs = cosine(&r), bar = g->check && g->check->threshold > 0 ? g->check->threshold : ORIGIN_COSINE;
    if (!(cs >= bar))
        return check_set(o, CHECK_FAIL, KB_BACKBONE,
                         "the backbone's weights are not %s@%s's: cosine similarity %.3f with them (below %.2f; a "
                         "fine-tuned copy stays near 1, random weights are near 0) - were the pretrained weights "
                         "loaded (pretrained=True, the backbone's state dict)?",
                         c.repo, c.revision, cs, bar);
    if (!r.changed_params && !r.changed_buffers)
        return check_set(o, CHECK_PASS, NULL, "all %zu backbone tensors are %s@%s's, bit for bit", r.tensors, c.repo,
                         c.revision);
    return check_set(o, CHECK_PASS, NULL, "fine-tuned from %s@%s: cosine similarity %.4f with its backbone (%zu of %zu "
                     "tensors changed)", c.repo, c.revision, cs, r.changed_params + r.changed_buffers, r.tensors);
}

static enum check_status transfer_frozen(struct grade_ctx *g, struct check_out *o)
{
    if (strcmp(g->m.name, "frozen"))
        return check_skip_uncounted(o, "%s does not freeze the backbone", g->m.name);
    struct grade_ckpt c;
    struct cmp r;
    if (!load_and_compare(g, o, KB_FROZEN, &c, &r))
        return o->status;
    double bar = ORIGIN_COSINE;
    if (r.missing || !(cosine(&r) >= bar))
        return check_set(o, CHECK_SKIPPED, NULL, "skipped: the backbone is not %s@%s's (see transfer.backbone)", c.repo,
                         c.revision);
    if (r.changed_params)
        return check_set(o, CHECK_FAIL, KB_FROZEN,
                         "%zu of the frozen backbone's parameter tensors changed in training (first: %s): set "
                         "requires_grad = False on every backbone parameter before building the optimizer",
                         r.changed_params, r.first_changed);
    if (r.changed_buffers)
        return check_set(o, CHECK_FAIL, KB_FROZEN,
                         "the frozen backbone's weights are unchanged, but %zu BatchNorm statistics changed (first: "
                         "%s): its BatchNorm layers ran in train mode; keep them in eval mode while the head trains",
                         r.changed_buffers, r.first_buffer);
    const json_t *mm = json_object_get(json_object_get(g->sub->metrics, "models"), g->m.name);
    const json_t *tp = json_object_get(mm, "trainable_params");
    json_int_t head = (json_int_t)g->classes * (FEATURES + 1);
    if (json_is_integer(tp) && json_integer_value(tp) != head)
        return check_set(o, CHECK_FAIL, KB_FROZEN,
                         "metrics.json says %lld parameters trained; the head alone has %lld (1280 x %lld + %lld)",
                         (long long)json_integer_value(tp), (long long)head, (long long)g->classes,
                         (long long)g->classes);
    return check_set(o, CHECK_PASS, NULL, "all %zu backbone tensors (weights and BatchNorm statistics) are %s@%s's, "
                     "unchanged", r.tensors, c.repo, c.revision);
}

static enum check_status transfer_head(struct grade_ctx *g, struct check_out *o)
{
    const st_file *w = g->m.sm->weights;
    if (!w)
        return check_set(o, CHECK_FAIL, KB_HEAD, "models/%s/model.safetensors is missing", g->m.name);
    if (!grade_mode(g))
        return check_set(o, CHECK_ERROR, NULL, "%s", g->mode_err);
    long long k = (long long)g->classes;
    const struct st_tensor *wt = st_find(w, "classifier.1.weight"), *b = st_find(w, "classifier.1.bias");
    const struct st_tensor *timm = st_find(w, "classifier.weight");
    char shape[160];
    if (!wt && timm)
        return check_set(o, CHECK_FAIL, KB_HEAD,
                         "the head is a bare Linear, classifier.weight %s: the course's head is "
                         "nn.Sequential(nn.Dropout(0.3), nn.Linear(1280, %lld)) (classifier.1.weight)",
                         gt_shape_str(timm->shape, timm->ndim, shape, sizeof shape), k);
    if (!wt || !b)
        return check_set(o, CHECK_FAIL, KB_HEAD, "model.safetensors has no classifier.1.%s", wt ? "bias" : "weight");
    if (wt->ndim != 2 || wt->shape[0] != k || wt->shape[1] != FEATURES || b->ndim != 1 || b->shape[0] != k) {
        const char *why = wt->ndim == 2 && wt->shape[0] == 1000 ? " (the ImageNet head was kept)"
                          : wt->ndim == 2 && wt->shape[0] != k ? " (sized for another class count)"
                                                               : "";
        return check_set(o, CHECK_FAIL, KB_HEAD, "classifier.1.weight is %s; lab %s's %s mode needs [%lld, 1280] for its "
                         "%lld classes%s",
                         gt_shape_str(wt->shape, wt->ndim, shape, sizeof shape), lab_manifest_id(g->lab),
                         g->quick ? "quick" : "full", k, k, why);
    }
    return check_set(o, CHECK_PASS, NULL, "head Linear(1280, %lld): classifier.1.weight [%lld, 1280]", k, k);
}

/* The constants the checkpoint's config.json gives (timm's pretrained_cfg),
 * else the lab's for the mode. */
static int expected_norm(struct grade_ctx *g, double mean[3], double std[3], char *from, size_t cap)
{
    struct grade_ckpt c;
    struct pretrained_cfg pc;
    if (!grade_ckpt_find(g, NULL, &c) && c.config[0] && !pretrained_cfg_read(c.config, &pc)) {
        for (int i = 0; i < 3; i++) {
            mean[i] = pc.mean[pc.channels == 3 ? i : 0];
            std[i] = pc.std[pc.channels == 3 ? i : 0];
        }
        snprintf(from, cap, "%s@%s's pretrained config", c.repo, c.revision);
        return LAB_OK;
    }
    json_t *cfg = NULL;
    if (!grade_mode(g) || lab_config_resolve(g->lab, g->quick, &cfg))
        return lab_err(LAB_EUSAGE, NULL, "%s", g->mode_err);
    const json_t *m = lab_cfg_get(cfg, "data.normalize.mean"), *s = lab_cfg_get(cfg, "data.normalize.std");
    int ok = json_array_size(m) == 3 && json_array_size(s) == 3;
    for (int i = 0; ok && i < 3; i++) {
        mean[i] = json_number_value(json_array_get(m, (size_t)i));
        std[i] = json_number_value(json_array_get(s, (size_t)i));
        ok = std[i] > 0;
    }
    json_decref(cfg);
    snprintf(from, cap, "lab %s's %s mode", lab_manifest_id(g->lab), g->quick ? "quick" : "full");
    return ok ? LAB_OK : lab_err(LAB_EINTERNAL, NULL, "lab %s gives no data.normalize", lab_manifest_id(g->lab));
}

static enum check_status transfer_norm(struct grade_ctx *g, struct check_out *o)
{
    double mean[3], std[3];
    char from[400];
    if (expected_norm(g, mean, std, from, sizeof from))
        return check_set(o, CHECK_ERROR, NULL, "%s", lab_err_message());
    const json_t *gm = lab_cfg_get(g->sub->config, "data.normalize.mean"), *gs = lab_cfg_get(g->sub->config, "data.normalize.std");
    double cm[3] = {0}, cs[3] = {0};
    int ok = json_array_size(gm) == 3 && json_array_size(gs) == 3;
    /* every channel is read before any is judged: the message shows all three */
    for (int i = 0; i < 3; i++) {
        cm[i] = json_number_value(json_array_get(gm, (size_t)i));
        cs[i] = json_number_value(json_array_get(gs, (size_t)i));
        ok = ok && fabs(cm[i] - mean[i]) <= 1e-3 && fabs(cs[i] - std[i]) <= 1e-3 && cs[i] > 0;
    }
    if (!ok) {
        const struct ds_info *d = ds_info_find(lab_cfg_str(g->sub->config, "data.dataset", ""));
        int dataset_own = d && fabs(cm[0] - d->mean[0]) <= 1e-3 && fabs(cs[0] - d->std[0]) <= 1e-3;
        return check_set(o, CHECK_FAIL, KB_NORM,
                         "config.json's data.normalize is mean [%.3f, %.3f, %.3f] std [%.3f, %.3f, %.3f]; the pretrained "
                         "backbone expects %s: mean [%.3f, %.3f, %.3f] std [%.3f, %.3f, %.3f]%s",
                         cm[0], cm[1], cm[2], cs[0], cs[1], cs[2], from, mean[0], mean[1], mean[2], std[0], std[1],
                         std[2],
                         dataset_own ? " (those are the new dataset's own constants: a pretrained backbone keeps the "
                                       "ones it was trained with)"
                                     : "");
    }
    if (!g->sub->inputs)
        return check_set(o, CHECK_PASS, NULL, "config.json uses %s constants (no inputs.safetensors to check)", from);
    const struct st_tensor *t = st_find(g->sub->inputs, "pixel_values");
    if (!t || t->ndim != 4 || t->shape[1] != 3)
        return check_set(o, CHECK_SKIPPED, NULL, "skipped: inputs.safetensors has no [B, 3, H, W] pixel_values (see "
                         "norm.inputs)");
    float *px;
    size_t n;
    if (gt_to_f32(t, GT_MAX_ELEMS, &px, &n))
        return check_set(o, CHECK_FAIL, KB_NORM, "pixel_values: %s", lab_err_message());
    /* Decoded with the constants, the saved batch is pixels: inside [0, 1]
     * and spanning most of it. Raw pixels or a second normalization are not. */
    size_t plane = (size_t)(t->shape[2] * t->shape[3]);
    double lo[3] = {1e30, 1e30, 1e30}, hi[3] = {-1e30, -1e30, -1e30};
    for (size_t i = 0; plane && i < n; i++) {
        int ch = (int)((i / plane) % 3);
        double v = px[i] * cs[ch] + cm[ch];
        lo[ch] = v < lo[ch] ? v : lo[ch];
        hi[ch] = v > hi[ch] ? v : hi[ch];
    }
    free(px);
    for (int ch = 0; ch < 3; ch++)
        if (!(lo[ch] >= -PIXEL_TOL && hi[ch] <= 1 + PIXEL_TOL && hi[ch] - lo[ch] >= 0.5))
            return check_set(o, CHECK_FAIL, KB_NORM,
                             "inputs.safetensors decoded with config.json's constants gives channel %d pixels in "
                             "[%.3f, %.3f], not in [0, 1]: the batch was not normalized with those constants (raw "
                             "pixels, 0-255 values, or normalized twice)",
                             ch, lo[ch], hi[ch]);
    return check_set(o, CHECK_PASS, NULL, "config.json and the saved inputs use %s constants (mean %.3f %.3f %.3f)",
                     from, mean[0], mean[1], mean[2]);
}

/* The point of the lab: the best pretrained strategy beats the same network
 * trained from scratch on the same images. The accuracies are metrics.json's;
 * honesty.accuracy holds each of them to the submitted logits. */
static enum check_status transfer_gain(struct grade_ctx *g, struct check_out *o)
{
    const json_t *models = json_object_get(g->sub->metrics, "models");
    const json_t *scratch = json_object_get(json_object_get(models, "scratch"), "test_accuracy");
    if (!json_is_number(scratch))
        return check_set(o, CHECK_FAIL, KB_GAIN, "metrics.json has no models.scratch.test_accuracy: the from-scratch "
                         "baseline (lab run 2.2.2 --set strategy=scratch) is what transfer is measured against");
    const char *best = NULL, *k;
    double acc = -1;
    json_t *v;
    json_object_foreach((json_t *)models, k, v)
    {
        const json_t *a = json_object_get(v, "test_accuracy");
        if (strcmp(k, "scratch") && json_is_number(a) && json_number_value(a) > acc)
            best = k, acc = json_number_value(a);
    }
    if (!best)
        return check_set(o, CHECK_FAIL, KB_GAIN, "metrics.json has no pretrained strategy's test_accuracy");
    double base = json_number_value(scratch), bar = g->check && g->check->threshold > 0 ? g->check->threshold : 0.1;
    if (!(acc - base >= bar))
        return check_set(o, CHECK_FAIL, KB_GAIN,
                         "the best pretrained strategy (%s, %.2f%%) beats scratch (%.2f%%) by %.1f points, less than "
                         "%.0f: the pretrained features are not transferring",
                         best, 100 * acc, 100 * base, 100 * (acc - base), 100 * bar);
    return check_set(o, CHECK_PASS, NULL, "%s (%.2f%%) beats scratch (%.2f%%) by %.1f points (at least %.0f)", best,
                     100 * acc, 100 * base, 100 * (acc - base), 100 * bar);
}

const struct rubric_check checks_transfer[] = {
    {"transfer.gain", "the best pretrained strategy beats scratch", 3, 0, 10, transfer_gain, {KB_GAIN}, 0, NULL},
    {"transfer.backbone", "the backbone comes from the pretrained checkpoint", 3, RC_PER_MODEL, 30, transfer_backbone,
     {KB_BACKBONE}, 0, pretrained_applies},
    {"transfer.frozen", "frozen layers are unchanged", 3, RC_PER_MODEL, 30, transfer_frozen, {KB_FROZEN}, 0,
     frozen_applies},
    {"transfer.head", "the head fits the mode's classes", 2, RC_PER_MODEL, 10, transfer_head, {KB_HEAD}, 0, NULL},
    {"transfer.norm", "inputs use the pretrained weights' normalization", 2, 0, 30, transfer_norm, {KB_NORM}, 0, NULL},
    {NULL, NULL, 0, 0, 0, NULL, {NULL}, 0, NULL},
};
