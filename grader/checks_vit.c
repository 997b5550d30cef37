/* Lab 2.2.5's own checks, on what a Vision Transformer submission holds:
 * the positional embedding and patch projection fit the configured patch
 * size (one row per patch plus the CLS token, and DeiT's distillation
 * token), the saved attention maps are distributions over the tokens, and
 * the head reads the CLS token (decided from the logits when re-evaluated). */
#include "grader/rubric.h"

#include "base/error.h"
#include "grader/checks.h"
#include "grader/reeval.h"
#include "grader/tensors.h"
#include "labs/config.h"
#include "labs/models/vit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KB_POS "TS-VIT-POS-EMBED"
#define KB_ATTN "TS-VIT-ATTENTION"
#define KB_CLS "TS-VIT-CLS"
/* Eval images run again with the other readout: enough that two readouts
 * cannot agree by chance, few enough to cost a fraction of reeval.logits. */
#define CLS_SAMPLES 64

/* Tokens a configuration gives: (img / patch)^2 patches, the CLS token and
 * DeiT's distillation token. 0 when the configuration is unusable. */
static int64_t expected_tokens(const struct grade_ctx *g, int deit, int64_t *patch)
{
    int64_t img = lab_cfg_int(g->sub->config, "model.img_size", 32);
    *patch = lab_cfg_int(g->sub->config, "model.patch_size", 4);
    if (*patch <= 0 || img <= 0 || img % *patch)
        return 0;
    return (img / *patch) * (img / *patch) + 1 + (deit ? 1 : 0);
}

static enum check_status vit_patches(struct grade_ctx *g, struct check_out *o)
{
    const st_file *w = g->m.sm->weights;
    if (!w)
        return check_set(o, CHECK_FAIL, KB_POS, "models/%s/model.safetensors is missing", g->m.name);
    const struct st_tensor *pos = st_find(w, "pos_embed");
    const struct st_tensor *proj = st_find(w, "patch_embed.projection.weight");
    if (!proj)
        proj = st_find(w, "patch_embed.weight");
    int deit = st_find(w, "dist_token") != NULL;
    int64_t patch, tokens = expected_tokens(g, deit, &patch);
    if (!tokens)
        return check_set(o, CHECK_FAIL, KB_POS, "config.json's model.patch_size %lld does not divide model.img_size",
                         (long long)patch);
    if (!pos || !proj)
        return check_set(o, CHECK_FAIL, KB_POS, "model.safetensors has no %s", pos ? "patch embedding weight" : "pos_embed");
    char shape[160];
    gt_shape_str(pos->shape, pos->ndim, shape, sizeof shape);
    if (pos->ndim != 3 || pos->shape[0] != 1 || pos->shape[1] != tokens) {
        const char *why = pos->ndim == 3 && pos->shape[1] == tokens - 1 - deit
                              ? ": one row per patch but none for the CLS token (torch.zeros(1, num_patches + 1, dim))"
                              : "";
        return check_set(o, CHECK_FAIL, KB_POS, "pos_embed is %s; patch size %lld gives [1, %lld, dim]%s", shape,
                         (long long)patch, (long long)tokens, why);
    }
    if (proj->ndim != 4 || proj->shape[2] != patch || proj->shape[3] != patch || proj->shape[0] != pos->shape[2])
        return check_set(o, CHECK_FAIL, KB_POS,
                         "the patch projection is %s; patch size %lld and width %lld need [%lld, C, %lld, %lld]",
                         gt_shape_str(proj->shape, proj->ndim, shape, sizeof shape), (long long)patch,
                         (long long)pos->shape[2], (long long)pos->shape[2], (long long)patch, (long long)patch);
    return check_set(o, CHECK_PASS, NULL, "patch %lld -> %lld tokens, pos_embed [1, %lld, %lld]", (long long)patch, (long long)tokens, (long long)tokens, (long long)pos->shape[2]);
}

static enum check_status vit_attention(struct grade_ctx *g, struct check_out *o)
{
    const st_file *f = g->sub->attention;
    if (!f)
        return check_set(o, CHECK_FAIL, KB_ATTN, "attention.safetensors is missing (lab run 2.2.5 writes it)");
    const struct st_tensor *t = st_find(f, "attention");
    if (!t || t->ndim != 4 || !gt_is_float(t->dtype) || t->shape[2] != t->shape[3] || t->shape[0] < 1)
        return check_set(o, CHECK_FAIL, KB_ATTN, "attention.safetensors has no float tensor 'attention' [N, heads, T, T]");
    float *a;
    size_t n;
    if (gt_to_f32(t, GT_MAX_ELEMS, &a, &n))
        return check_set(o, CHECK_FAIL, KB_ATTN, "attention: unreadable");
    double tol = g->check && g->check->threshold > 0 ? g->check->threshold : 1e-3, worst = 0;
    size_t rows = n / (size_t)t->shape[3], bad = 0, negative = 0;
    for (size_t r = 0; r < rows; r++) {
        double sum = 0;
        for (int64_t j = 0; j < t->shape[3]; j++) {
            float v = a[r * (size_t)t->shape[3] + (size_t)j];
            negative += !(v >= 0);
            sum += v;
        }
        double dev = fabs(sum - 1);
        if (!(dev <= tol))
            bad++;
        if (!(dev <= worst))
            worst = dev;
    }
    free(a);
    if (bad || negative)
        return check_set(o, CHECK_FAIL, KB_ATTN,
                         "%zu of %zu attention rows do not sum to 1 (worst |sum - 1| = %.3g) and %zu weights are "
                         "negative: save softmax(q k^T / sqrt(d)) over the last dimension, not the scores",
                         bad, rows, worst, negative);
    return check_set(o, CHECK_PASS, NULL, "all %zu rows of attention [%lld, %lld, %lld, %lld] sum to 1 (max |sum - 1| %.2g)",
                     rows, (long long)t->shape[0], (long long)t->shape[1], (long long)t->shape[2],
                     (long long)t->shape[3], worst);
}

/* Which token the head reads, with --reeval only: config.json's model.pool
 * is a claim, so points come from the logits. The first images run again through the same weights read
 * the other way (the patch tokens' mean, the usual alternative) and the
 * readout whose logits the submission holds is the one it used. */
static enum check_status vit_cls(struct grade_ctx *g, struct check_out *o)
{
    const char *pool = lab_cfg_str(g->sub->config, "model.pool", "cls");
    if (strcmp(pool, "cls"))
        return check_set(o, CHECK_FAIL, KB_CLS,
                         "config.json says model.pool=%s: the course's ViT classifies from the CLS token's output "
                         "(x[:, 0] after the final norm); set model.pool=cls or leave it out", pool);
    struct model *m = reeval_model(g);
    const float *ours = reeval_full_logits(g);
    if (!m || !ours)
        return check_set(o, CHECK_SKIPPED, NULL, "skipped: the weights were not re-run (see reeval.logits)");
    size_t count = (size_t)g->m.n < CLS_SAMPLES ? (size_t)g->m.n : CLS_SAMPLES, k = (size_t)g->m.classes;
    float *sub = malloc(count * k * sizeof *sub), *mean = malloc(count * k * sizeof *mean);
    int rc = sub && mean ? vit_set_mean_pool(m, 1) : lab_err(LAB_EINTERNAL, NULL, "out of memory");
    if (!rc) {
        rc = reeval_rerun(g, count, mean);
        vit_set_mean_pool(m, 0);
    }
    if (rc) {
        free(sub);
        free(mean);
        return check_set(o, grade_expired(g) ? CHECK_TIMEOUT : CHECK_ERROR, NULL, "re-running with the other "
                         "readout failed: %s", lab_err_message());
    }
    reeval_submitted(g, count, sub);
    double tol = reeval_tolerance(g), rel_cls = rel_max_diff(ours, sub, count * k),
           rel_mean = rel_max_diff(mean, sub, count * k);
    free(sub);
    free(mean);
    if (rel_cls <= tol)
        return check_set(o, CHECK_PASS, NULL, "the submitted logits are the CLS token's (max |diff| / max |logit| "
                         "%.2g over %zu images; the patch tokens' mean would give %.2g)", rel_cls, count, rel_mean);
    if (rel_mean <= tol)
        return check_set(o, CHECK_FAIL, KB_CLS,
                         "the submitted logits of the first %zu images are the head applied to the mean of the patch "
                         "tokens (max |diff| / max |logit| %.2g), not to the CLS token (%.2g): classify from x[:, 0] "
                         "after the final norm, as the course's ViT does",
                         count, rel_mean, rel_cls);
    return check_set(o, CHECK_SKIPPED, NULL, "skipped: neither the CLS token (%.2g) nor the patch tokens' mean (%.2g) "
                     "reproduces the submitted logits within %g (see reeval.logits)", rel_cls, rel_mean, tol);
}

const struct rubric_check checks_vit[] = {
    {"vit.patches", "pos_embed and patch projection fit the patch size", 2, RC_PER_MODEL, 10, vit_patches, {KB_POS},
     0, NULL},
    {"vit.attention", "attention maps are softmax distributions", 2, 0, 30, vit_attention, {KB_ATTN}, 0, NULL},
    {"vit.cls", "the head reads the CLS token", 2, RC_PER_MODEL | RC_REEVAL, 120, vit_cls, {KB_CLS}, 0, NULL},
    {NULL, NULL, 0, 0, 0, NULL, {NULL}, 0, NULL},
};
