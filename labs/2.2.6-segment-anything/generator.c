#include "labs/2.2.6-segment-anything/generator.h"

#include "base/error.h"
#include "labs/2.2.6-segment-anything/amg.h"
#include "labs/models/nn.h"
#include "labs/models/sam.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void sam_amg_defaults(struct sam_amg_opts *o)
{
    *o = (struct sam_amg_opts){.points_per_side = 32, .points_per_batch = 64, .crop_n_layers = 0,
                               .crop_n_points_downscale_factor = 1, .pred_iou_thresh = 0.88,
                               .stability_score_thresh = 0.95, .stability_score_offset = 1.0, .box_nms_thresh = 0.7,
                               .crop_nms_thresh = 0.7, .crop_overlap_ratio = 512.0 / 1500.0, .min_mask_region_area = 0};
}

void sam_amg_result_free(struct sam_amg_result *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->masks[i].rle);
    free(r->masks);
    memset(r, 0, sizeof *r);
}

/* candidates: full-image masks (bytes) while filtering */
struct cand {
    uint8_t *mask;
    float box[4]; /* xyxy, inclusive ends as batched_mask_to_box */
    float iou, stab;
    double point[2];
    int crop[4];
    float crop_score;
};

static int push(struct cand **v, size_t *n, size_t *cap, const struct cand *c)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        struct cand *d = realloc(*v, sizeof *d * nc);
        if (!d)
            return lab_err(LAB_EINTERNAL, NULL, "out of memory for mask candidates");
        *v = d;
        *cap = nc;
    }
    (*v)[(*n)++] = *c;
    return LAB_OK;
}

/* is_box_near_crop_edge: near the crop's edge but not the image's (atol 20) */
static int near_crop_edge(const float *b, const int *crop, int h, int w)
{
    const float img[4] = {0, 0, (float)w, (float)h};
    for (int k = 0; k < 4; k++)
        if (fabsf(b[k] - (float)crop[k]) <= 20.0f && !(fabsf(b[k] - img[k]) <= 20.0f))
            return 1;
    return 0;
}

static int nms(struct cand *c, size_t *n, int by_crop, double thr)
{
    float(*b)[4] = malloc(sizeof *b * (*n ? *n : 1));
    float *s = malloc(sizeof *s * (*n ? *n : 1));
    size_t *keep = malloc(sizeof *keep * (*n ? *n : 1)), nk = 0;
    int rc = b && s && keep ? LAB_OK : lab_err(LAB_EINTERNAL, NULL, "out of memory for NMS");
    for (size_t i = 0; !rc && i < *n; i++) {
        memcpy(b[i], c[i].box, sizeof b[i]);
        s[i] = by_crop ? c[i].crop_score : c[i].iou;
    }
    if (!rc)
        rc = sam_amg_box_nms((const float(*)[4])b, s, *n, (float)thr, keep, &nk);
    if (!rc) {
        struct cand *tmp = malloc(sizeof *tmp * (nk ? nk : 1));
        uint8_t *kept = calloc(*n ? *n : 1, 1);
        if (!tmp || !kept)
            rc = lab_err(LAB_EINTERNAL, NULL, "out of memory for NMS");
        for (size_t i = 0; !rc && i < nk; i++) {
            tmp[i] = c[keep[i]];
            kept[keep[i]] = 1;
        }
        for (size_t i = 0; !rc && i < *n; i++)
            if (!kept[i])
                free(c[i].mask);
        if (!rc) {
            /* NMS's order (by score), as upstream's keep indices */
            memcpy(c, tmp, sizeof *tmp * nk);
            *n = nk;
        }
        free(tmp);
        free(kept);
    }
    free(b);
    free(s);
    free(keep);
    return rc;
}

static void box_of(const uint8_t *m, int h, int w, float *box)
{
    int64_t b[4];
    sam_amg_mask_box(m, h, w, b);
    for (int k = 0; k < 4; k++)
        box[k] = (float)b[k];
}

static int crop_pass(struct sam_predictor *p, const struct ds_image *im, const int *crop, int layer,
                     const struct sam_amg_opts *o, struct cand **all, size_t *n_all, size_t *cap_all)
{
    int cw = crop[2] - crop[0], ch = crop[3] - crop[1], H = im->h, W = im->w;
    struct ds_image sub = {0};
    LAB_TRY(ds_image_copy(&sub, im));
    int rc = ds_image_crop(&sub, crop[0], crop[1], cw, ch, 0);
    if (!rc)
        rc = sam_predictor_set_image(p, &sub);
    ds_image_free(&sub);
    LAB_TRY(rc);
    int side = sam_amg_layer_side(o->points_per_side, layer, o->crop_n_points_downscale_factor);
    int np = side * side;
    double *grid = malloc(sizeof *grid * 2 * (size_t)np);
    if (!grid)
        return lab_err(LAB_EINTERNAL, NULL, "out of memory for a point grid");
    rc = sam_amg_point_grid(side, grid);
    struct cand *cs = NULL;
    size_t nc = 0, cap = 0;
    double sx = (double)p->in_w / cw, sy = (double)p->in_h / ch;
    size_t hw = (size_t)cw * ch;
    float *logit = malloc(sizeof *logit * hw * 3 * (size_t)o->points_per_batch);
    float *ious = malloc(sizeof *ious * 3 * (size_t)o->points_per_batch);
    if (!rc && (!logit || !ious))
        rc = lab_err(LAB_EINTERNAL, NULL, "out of memory for a batch of masks");
    for (int b0 = 0; !rc && b0 < np; b0 += o->points_per_batch) {
        int B = np - b0 < o->points_per_batch ? np - b0 : o->points_per_batch;
        float coords[2 * 1024];
        int labels[1024];
        for (int i = 0; i < B; i++) {
            double x = grid[2 * (b0 + i)] * cw, y = grid[2 * (b0 + i) + 1] * ch;
            coords[2 * i] = (float)(x * sx);
            coords[2 * i + 1] = (float)(y * sy);
            labels[i] = 1;
        }
        ts_scope_begin();
        int prev = ts_no_grad_push();
        struct sam_prompts pr = {.batch = B, .n_points = 1, .coords = coords, .labels = labels};
        ts_tensor *sparse, *dense, *low, *iou, *post;
        rc = sam_prompt_encode(p->model, &pr, &sparse, &dense);
        if (!rc)
            rc = sam_decode(p->model, p->embeddings, sparse, dense, 1, &low, &iou);
        if (!rc)
            rc = sam_postprocess(low, p->img_size, p->in_h, p->in_w, ch, cw, &post);
        if (!rc && (ts_to_host(post, TS_F32, logit, sizeof *logit * hw * 3 * (size_t)B) ||
                    ts_to_host(iou, TS_F32, ious, sizeof *ious * 3 * (size_t)B)))
            rc = nn_fail(TS_ETORCH, "reading masks");
        ts_grad_mode_pop(prev);
        ts_scope_end();
        for (int i = 0; !rc && i < B * 3; i++) {
            const float *lg = logit + (size_t)i * hw;
            if (!(ious[i] > o->pred_iou_thresh))
                continue;
            float stab = sam_amg_stability(lg, hw, 0.0f, (float)o->stability_score_offset);
            if (!(stab >= o->stability_score_thresh))
                continue;
            struct cand c = {.iou = ious[i], .stab = stab, .crop_score = 1.0f / ((float)cw * (float)ch)};
            memcpy(c.crop, crop, sizeof c.crop);
            c.point[0] = grid[2 * (b0 + i / 3)] * cw + crop[0];
            c.point[1] = grid[2 * (b0 + i / 3) + 1] * ch + crop[1];
            c.mask = calloc((size_t)H * W, 1);
            if (!c.mask) {
                rc = lab_err(LAB_EINTERNAL, NULL, "out of memory for a mask");
                break;
            }
            for (int y = 0; y < ch; y++)
                for (int x = 0; x < cw; x++)
                    c.mask[(size_t)(y + crop[1]) * W + (x + crop[0])] = lg[(size_t)y * cw + x] > 0.0f;
            box_of(c.mask, H, W, c.box);
            if (near_crop_edge(c.box, crop, H, W)) {
                free(c.mask);
                continue;
            }
            rc = push(&cs, &nc, &cap, &c);
        }
    }
    if (!rc)
        rc = nms(cs, &nc, 0, o->box_nms_thresh);
    for (size_t i = 0; i < nc; i++) {
        if (!rc)
            rc = push(all, n_all, cap_all, &cs[i]);
        else
            free(cs[i].mask);
    }
    free(cs);
    free(grid);
    free(logit);
    free(ious);
    return rc;
}

int sam_amg_generate(struct sam_predictor *p, const struct ds_image *im, const struct sam_amg_opts *o,
                     struct sam_amg_result *out)
{
    memset(out, 0, sizeof *out);
    if (o->points_per_side < 1 || o->points_per_side > 32 * 32 || o->points_per_batch < 1 ||
        o->points_per_batch > 1024 || o->crop_n_points_downscale_factor < 1)
        return lab_err(LAB_EUSAGE, "use points_per_side 1..1024, points_per_batch 1..1024 and a downscale factor >= 1",
                       "automatic masks with points_per_side %d, batch %d", o->points_per_side, o->points_per_batch);
    int boxes[SAM_AMG_MAX_CROPS][4], layers[SAM_AMG_MAX_CROPS], nb = 0;
    LAB_TRY(sam_amg_crop_boxes(im->h, im->w, o->crop_n_layers, o->crop_overlap_ratio, boxes, layers, &nb));
    struct cand *all = NULL;
    size_t n = 0, cap = 0;
    int rc = LAB_OK;
    for (int i = 0; !rc && i < nb; i++)
        rc = crop_pass(p, im, boxes[i], layers[i], o, &all, &n, &cap);
    if (!rc && nb > 1)
        rc = nms(all, &n, 1, o->crop_nms_thresh);
    if (!rc && o->min_mask_region_area > 0 && n) {
        for (size_t i = 0; !rc && i < n; i++) {
            int c1 = 0, c2 = 0;
            rc = sam_amg_remove_small_regions(all[i].mask, im->h, im->w, o->min_mask_region_area, SAM_AMG_HOLES, &c1);
            if (!rc)
                rc = sam_amg_remove_small_regions(all[i].mask, im->h, im->w, o->min_mask_region_area, SAM_AMG_ISLANDS,
                                                  &c2);
            all[i].crop_score = (float)!(c1 || c2); /* upstream prefers unchanged masks */
            box_of(all[i].mask, im->h, im->w, all[i].box);
        }
        if (!rc)
            rc = nms(all, &n, 1, o->box_nms_thresh);
    }
    if (!rc && n) {
        out->masks = calloc(n, sizeof *out->masks);
        if (!out->masks)
            rc = lab_err(LAB_EINTERNAL, NULL, "out of memory for the masks");
    }
    for (size_t i = 0; !rc && i < n; i++) {
        struct sam_amg_mask *m = &out->masks[i];
        rc = sam_amg_rle_encode(all[i].mask, im->h, im->w, &m->rle, &m->n_rle);
        m->area = 0;
        for (size_t k = 1; !rc && k < m->n_rle; k += 2)
            m->area += (long)m->rle[k];
        m->bbox_xywh[0] = all[i].box[0];
        m->bbox_xywh[1] = all[i].box[1];
        m->bbox_xywh[2] = all[i].box[2] - all[i].box[0];
        m->bbox_xywh[3] = all[i].box[3] - all[i].box[1];
        m->predicted_iou = all[i].iou;
        m->stability = all[i].stab;
        m->point[0] = all[i].point[0];
        m->point[1] = all[i].point[1];
        m->crop_xywh[0] = all[i].crop[0];
        m->crop_xywh[1] = all[i].crop[1];
        m->crop_xywh[2] = all[i].crop[2] - all[i].crop[0];
        m->crop_xywh[3] = all[i].crop[3] - all[i].crop[1];
        out->n = i + 1;
    }
    for (size_t i = 0; i < n; i++)
        free(all[i].mask);
    free(all);
    out->h = im->h;
    out->w = im->w;
    if (rc)
        sam_amg_result_free(out);
    return rc;
}
