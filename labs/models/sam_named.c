/* SAM behind the model interface's named tensors (model_run), so that the
 * quick lab's evaluation and the grader's re-evaluation of its weights are
 * one code path: what the grader recomputes is what the lab computed. */
#include "labs/models/sam.h"

#include "base/error.h"
#include "labs/models/nn.h"

#include <stdlib.h>
#include <string.h>

void sam_normalize_gray(const uint8_t *gray, size_t px, float *x)
{
    for (int ch = 0; ch < 3; ch++)
        for (size_t p = 0; p < px; p++)
            x[(size_t)ch * px + p] = (float)((gray[p] - SAM_PIXEL_MEAN[ch]) / SAM_PIXEL_STD[ch]);
}

/* rows [n, k] f32 of a named input into a host copy; n 0 when absent */
static int host_rows(const struct model_tensors *in, const char *name, int64_t k, float **rows, int64_t *n)
{
    *rows = NULL;
    *n = 0;
    ts_tensor *t = model_tensors_get(in, name);
    if (!t)
        return LAB_OK;
    if (ts_dim(t) != 2 || ts_size(t, 1) != k || ts_size(t, 0) < 1)
        return lab_err(LAB_EINTERNAL, NULL, "SAM's '%s' input is not [n, %lld]", name, (long long)k);
    *n = ts_size(t, 0);
    *rows = malloc(sizeof(float) * (size_t)(*n * k));
    if (!*rows)
        return lab_err(LAB_EINTERNAL, "free some memory", "out of memory");
    if (ts_to_host(t, TS_F32, *rows, sizeof(float) * (size_t)(*n * k))) {
        free(*rows);
        *rows = NULL;
        return nn_fail(TS_ETORCH, "reading SAM's prompts");
    }
    return LAB_OK;
}

static int decode(struct model *m, const ts_tensor *emb, const struct sam_prompts *p, int64_t side, ts_tensor **masks,
                  ts_tensor **iou)
{
    ts_tensor *sparse, *dense, *low;
    LAB_TRY(sam_prompt_encode(m, p, &sparse, &dense));
    LAB_TRY(sam_decode(m, emb, sparse, dense, 0, &low, iou));
    NN_TRY(ts_interpolate(masks, low, side, side, TS_BILINEAR, 0));
    return LAB_OK;
}

int sam_forward_named(struct model *m, const struct model_tensors *in, int training, struct model_tensors *out)
{
    (void)training;
    ts_tensor *x = model_tensors_get(in, "pixel_values");
    if (!x || ts_dim(x) != 4 || ts_size(x, 0) != 1 || ts_size(x, 2) != ts_size(x, 3))
        return lab_err(LAB_EINTERNAL, NULL, "SAM's named forward takes one square 'pixel_values' [1, 3, S, S]");
    int64_t side = ts_size(x, 2), nb, np;
    float *boxes, *points;
    LAB_TRY(host_rows(in, "boxes", 4, &boxes, &nb));
    int rc = host_rows(in, "point_coords", 2, &points, &np);
    int *labels = rc || !np ? NULL : malloc(sizeof(int) * (size_t)np);
    if (!rc && np && !labels)
        rc = lab_err(LAB_EINTERNAL, "free some memory", "out of memory");
    if (!rc && nb + np == 0)
        rc = lab_err(LAB_EINTERNAL, NULL, "SAM's named forward was given no 'boxes' and no 'point_coords'");
    for (int64_t i = 0; i < np && labels; i++)
        labels[i] = 1;
    ts_tensor *emb = NULL, *masks[2], *ious[2], *all_masks, *all_iou;
    int parts = 0;
    if (!rc)
        rc = sam_encode(m, x, NULL, &emb);
    if (!rc && nb) {
        struct sam_prompts p = {.batch = nb, .boxes = boxes};
        rc = decode(m, emb, &p, side, &masks[parts], &ious[parts]);
        parts += !rc;
    }
    if (!rc && np) {
        struct sam_prompts p = {.batch = np, .n_points = 1, .coords = points, .labels = labels};
        rc = decode(m, emb, &p, side, &masks[parts], &ious[parts]);
        parts += !rc;
    }
    free(boxes), free(points), free(labels);
    if (rc)
        return rc;
    const ts_tensor *mc[2] = {masks[0], masks[1]}, *ic[2] = {ious[0], ious[1]};
    NN_TRY(ts_cat(&all_masks, mc, parts, 0));
    NN_TRY(ts_cat(&all_iou, ic, parts, 0));
    ts_tensor *m3, *i1;
    int64_t ms[3] = {nb + np, side, side}, is[1] = {nb + np};
    NN_TRY(ts_reshape(&m3, all_masks, 3, ms));
    NN_TRY(ts_reshape(&i1, all_iou, 1, is));
    LAB_TRY(model_tensors_add(out, "masks", m3));
    return model_tensors_add(out, "iou_predictions", i1);
}
