#include "labs/2.2.6-segment-anything/boxes.h"

#include "base/error.h"
#include "base/fsutil.h"
#include "labs/2.2.6-segment-anything/png_out.h"
#include "labs/2.2.6-segment-anything/refine.h"
#include "labs/models/weights.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every box's outputs, [n, K, ...] */
struct box_outputs {
    int n, K, lowres;
    uint8_t *masks;
    float *iou, *low;
    int *best;
};

static void outputs_free(struct box_outputs *r)
{
    free(r->masks);
    free(r->iou);
    free(r->low);
    free(r->best);
}

/* One predict call per box, with that box alone. */
static int predict_each(const struct predict_opts *o, struct sam_predictor *p, const struct ds_image *im,
                        const struct sam_boxes *b, struct box_outputs *r)
{
    size_t hw = (size_t)im->w * im->h;
    r->n = b->n;
    r->K = o->multimask ? 3 : 1;
    r->lowres = sam_predictor_lowres(p);
    size_t ll = (size_t)r->lowres * r->lowres, nk = (size_t)b->n * r->K;
    r->masks = malloc(nk * hw);
    r->iou = malloc(sizeof *r->iou * nk);
    r->low = malloc(sizeof *r->low * nk * ll);
    r->best = calloc((size_t)b->n, sizeof *r->best);
    if (!r->masks || !r->iou || !r->low || !r->best)
        return lab_err(LAB_EINTERNAL, "prompt fewer boxes at once", "out of memory for %d boxes' masks", b->n);
    int rc = LAB_OK;
    for (int i = 0; !rc && i < b->n; i++) {
        uint8_t *m = r->masks + (size_t)i * r->K * hw;
        float *iou = r->iou + (size_t)i * r->K;
        struct sam_query q = {.box = b->box[i], .multimask = o->multimask};
        rc = sam_predictor_predict_host(p, &q, m, iou, r->low + (size_t)i * r->K * ll);
        for (int k = 0; !rc && o->refine && k < r->K; k++)
            rc = sam_refine_mask(m + (size_t)k * hw, im->h, im->w, o->refine);
        if (!rc)
            r->best[i] = sam_current_mask(m, iou, r->K, hw, o->grow, o->shrink);
    }
    return rc;
}

/* The entry of box i: its prompt, its current mask, every mask's file. */
static int box_entry(const struct predict_opts *o, const struct ds_image *im, const struct sam_boxes *b,
                     const struct box_outputs *r, int i, json_t *list)
{
    size_t hw = (size_t)im->w * im->h;
    const char *prefix = b->det ? "det" : "box";
    json_t *masks = json_array(), *e = json_object();
    json_array_append_new(list, e);
    json_object_set_new(e, "index", json_integer(i));
    const double *x = b->box[i];
    if (b->det) {
        json_object_set_new(e, "class", json_integer(b->det[i].cls));
        json_object_set_new(e, "name", json_string(b->det[i].name));
        json_object_set_new(e, "confidence", json_real(b->det[i].conf));
        json_object_set_new(e, "bbox", json_pack("[f, f, f, f]", x[0], x[1], x[2], x[3]));
    } else {
        json_object_set_new(e, "box", json_pack("[f, f, f, f]", x[0], x[1], x[2], x[3]));
    }
    int rc = LAB_OK;
    for (int k = 0; !rc && k < r->K; k++) {
        char name[64], oname[64];
        long long area = 0;
        snprintf(name, sizeof name, "%s_%d_mask_%d.png", prefix, i, k);
        snprintf(oname, sizeof oname, "%s_%d_overlay_%d.png", prefix, i, k);
        rc = sam_png_mask_pair(o->out, name, oname, im, r->masks + ((size_t)i * r->K + k) * hw, k, &area);
        double score = r->iou[(size_t)i * r->K + k];
        json_array_append_new(masks, json_pack("{s:i, s:s, s:s, s:f, s:I}", "index", k, "mask", name, "overlay",
                                               oname, "score", score, "area", (json_int_t)area));
        if (k == r->best[i]) {
            json_object_set_new(e, "mask", json_string(name));
            json_object_set_new(e, "overlay", json_string(oname));
            json_object_set_new(e, b->det ? "mask_score" : "score", json_real(score));
            json_object_set_new(e, "area", json_integer(area));
        }
    }
    json_object_set_new(e, "best", json_integer(r->best[i]));
    json_object_set_new(e, "masks", masks);
    return rc;
}

static int write_tensors(const char *out, const struct ds_image *im, const struct sam_boxes *b,
                         const struct box_outputs *r)
{
    size_t hw = (size_t)im->w * im->h, nk = (size_t)r->n * r->K, ll = (size_t)r->lowres * r->lowres;
    float *boxes = malloc(sizeof *boxes * 4 * (size_t)r->n), *conf = malloc(sizeof *conf * (size_t)r->n);
    int64_t *cls = malloc(sizeof *cls * (size_t)r->n);
    int rc = boxes && conf && cls ? LAB_OK : lab_err(LAB_EINTERNAL, NULL, "out of memory");
    for (int i = 0; !rc && i < r->n; i++) {
        for (int j = 0; j < 4; j++)
            boxes[i * 4 + j] = (float)b->box[i][j];
        conf[i] = b->det ? b->det[i].conf : 0;
        cls[i] = b->det ? b->det[i].cls : 0;
    }
    struct ts_host_tensor t[6] = {
        {.name = "masks", .dtype = TS_U8, .ndim = 4, .shape = {r->n, r->K, im->h, im->w}, .data = r->masks,
         .nbytes = nk * hw},
        {.name = "iou_predictions", .dtype = TS_F32, .ndim = 2, .shape = {r->n, r->K}, .data = r->iou,
         .nbytes = nk * sizeof(float)},
        {.name = "low_res_masks", .dtype = TS_F32, .ndim = 4, .shape = {r->n, r->K, r->lowres, r->lowres},
         .data = r->low, .nbytes = nk * ll * sizeof(float)},
        {.name = "boxes", .dtype = TS_F32, .ndim = 2, .shape = {r->n, 4}, .data = boxes,
         .nbytes = sizeof(float) * 4 * (size_t)r->n},
        {.name = "classes", .dtype = TS_I64, .ndim = 1, .shape = {r->n}, .data = cls,
         .nbytes = sizeof(int64_t) * (size_t)r->n},
        {.name = "confidences", .dtype = TS_F32, .ndim = 1, .shape = {r->n}, .data = conf,
         .nbytes = sizeof(float) * (size_t)r->n}};
    char path[4200];
    snprintf(path, sizeof path, "%s/outputs.safetensors", out);
    if (!rc)
        rc = weights_save_host(t, b->det ? 6 : 4, path, NULL);
    free(boxes);
    free(conf);
    free(cls);
    return rc;
}

int sam_predict_boxes(const struct predict_opts *o, struct sam_predictor *p, const struct ds_image *im,
                      const struct sam_boxes *b)
{
    size_t hw = (size_t)im->w * im->h;
    struct box_outputs r = {0};
    json_t *root = json_object(), *list = json_array();
    json_object_set_new(root, "lab", json_string("2.2.6"));
    json_object_set_new(root, "source", json_string(o->source));
    json_object_set_new(root, "width", json_integer(im->w));
    json_object_set_new(root, "height", json_integer(im->h));
    if (b->detector)
        json_object_set(root, "detector", b->detector);
    json_object_set_new(root, "multimask", json_boolean(o->multimask));
    json_object_set_new(root, "best_by", json_string(o->grow ? "largest" : o->shrink ? "smallest" : "predicted IoU"));
    json_object_set_new(root, "refine_min_area", o->refine ? json_integer(o->refine) : json_null());
    json_object_set_new(root, b->detector ? "detections" : "boxes", list);
    json_object_set_new(root, "overlay", b->n ? json_string("overlay.png") : json_null());
    json_object_set_new(root, "embedding_from_cache", json_boolean(b->n && p->from_cache));
    json_object_set_new(root, "encode_ms", json_real(b->n ? p->encode_ms : 0));
    const uint8_t **current = calloc((size_t)b->n + 1, sizeof *current);
    uint8_t *all = o->cutout && b->n ? calloc(hw, 1) : NULL;
    int rc = current && (all || !o->cutout || !b->n) ? LAB_OK : lab_err(LAB_EINTERNAL, NULL, "out of memory");
    if (!rc && b->n)
        rc = predict_each(o, p, im, b, &r);
    for (int i = 0; !rc && i < b->n; i++) {
        rc = box_entry(o, im, b, &r, i, list);
        current[i] = r.masks + ((size_t)i * r.K + r.best[i]) * hw;
        for (size_t j = 0; all && j < hw; j++)
            all[j] |= current[i][j] != 0;
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/overlay.png", o->out);
    if (!rc && b->n)
        rc = sam_boxes_overlay(path, im, current, b);
    if (!rc && all)
        rc = sam_png_cutout(o->out, im, all);
    if (!rc && b->n)
        rc = write_tensors(o->out, im, b, &r);
    if (!rc) {
        snprintf(path, sizeof path, "%s/predictions.json", o->out);
        char *text = json_dumps(root, JSON_INDENT(2));
        rc = text ? lab_write_atomic(path, text, strlen(text)) : lab_err(LAB_EINTERNAL, NULL, "cannot encode JSON");
        free(text);
    }
    free(current);
    free(all);
    outputs_free(&r);
    json_decref(root);
    return rc;
}
