#include "datasets/mosaic.h"

#include "base/error.h"
#include "datasets/rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct ds_mosaic_config with_defaults(const struct ds_dataset *items, const struct ds_mosaic_config *c)
{
    struct ds_mosaic_config d = *c;
    if (d.size <= 0)
        d.size = 64;
    if (d.n == 0)
        d.n = items->n;
    if (d.min_items <= 0)
        d.min_items = 1;
    if (d.max_items <= 0)
        d.max_items = 4;
    if (d.max_items > DS_MAX_OBJECTS)
        d.max_items = DS_MAX_OBJECTS;
    if (d.min_items > d.max_items)
        d.min_items = d.max_items;
    if (d.min_scale <= 0)
        d.min_scale = 0.75f;
    if (d.max_scale <= 0)
        d.max_scale = 1.5f;
    if (d.threshold == 0)
        d.threshold = 20;
    if (d.min_visible <= 0)
        d.min_visible = 16;
    if (d.max_iou <= 0)
        d.max_iou = 0.3f;
    return d;
}

static float iou(const float a[4], const float b[4])
{
    float iw = fminf(a[2], b[2]) - fmaxf(a[0], b[0]), ih = fminf(a[3], b[3]) - fmaxf(a[1], b[1]);
    if (iw <= 0 || ih <= 0)
        return 0;
    float inter = iw * ih, ua = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
    return inter / ua;
}

int ds_mosaic_render(const struct ds_dataset *items, const struct ds_mosaic_config *cfg0, size_t i,
                     struct ds_sample *out)
{
    const struct ds_mosaic_config cfg = with_defaults(items, cfg0);
    const int S = cfg.size;
    if (S < 28 * cfg.max_scale)
        return lab_err(LAB_EUSAGE, "use a larger canvas or smaller max_scale",
                       "a %dx%d canvas cannot hold items of scale %.2f", S, S, cfg.max_scale);
    memset(out, 0, sizeof *out);
    struct ds_rng r;
    ds_rng_seed(&r, cfg.seed, (uint64_t)i, 0x6d6f73616963ull);
    int rc = ds_image_alloc(&out->image, S, S, 1);
    if (!rc)
        rc = ds_image_alloc(&out->mask, S, S, 1);
    if (rc)
        return rc;
    out->label = -1;
    int want = cfg.min_items + (int)ds_rng_below(&r, (uint64_t)(cfg.max_items - cfg.min_items + 1));
    float placed[DS_MAX_OBJECTS][4];
    int64_t labels[DS_MAX_OBJECTS];
    int k = 0;
    for (int item = 0; item < want; item++) {
        size_t src = (size_t)ds_rng_below(&r, items->n);
        int side = (int)lround(28.0 * ds_rng_range(&r, cfg.min_scale, cfg.max_scale));
        int x = 0, y = 0, ok = 0;
        for (int attempt = 0; attempt < 10 && !ok; attempt++) {
            x = (int)ds_rng_below(&r, (uint64_t)(S - side + 1));
            y = (int)ds_rng_below(&r, (uint64_t)(S - side + 1));
            float b[4] = {(float)x, (float)y, (float)(x + side), (float)(y + side)};
            ok = 1;
            for (int j = 0; j < k; j++)
                ok &= iou(b, placed[j]) <= cfg.max_iou;
        }
        if (!ok)
            continue; /* the draws still happened, so later canvases are unaffected */
        struct ds_sample it;
        if ((rc = ds_dataset_get(items, src, &it)))
            return rc;
        if (it.image.c != 1 || (rc = ds_image_resize(&it.image, side, side, DS_RESAMPLE_BILINEAR))) {
            ds_sample_free(&it);
            return rc ? rc : lab_err(LAB_EUSAGE, NULL, "mosaic items must be gray images");
        }
        if ((rc = ds_image_alloc(&out->inst[k], S, S, 1))) {
            ds_sample_free(&it);
            return rc;
        }
        for (int yy = 0; yy < side; yy++)
            for (int xx = 0; xx < side; xx++) {
                uint8_t v = it.image.px[yy * side + xx];
                if (v <= cfg.threshold)
                    continue;
                size_t p = (size_t)(y + yy) * S + (size_t)(x + xx);
                out->image.px[p] = v;
                out->mask.px[p] = (uint8_t)(it.label + 1);
                for (int j = 0; j < k; j++)
                    out->inst[j].px[p] = 0;
                out->inst[k].px[p] = 1;
            }
        placed[k][0] = (float)x, placed[k][1] = (float)y;
        placed[k][2] = (float)(x + side), placed[k][3] = (float)(y + side);
        labels[k] = it.label;
        ds_sample_free(&it);
        k++;
    }
    /* Boxes from what is visible; drop items hidden by later ones. */
    int n = 0;
    for (int j = 0; j < k; j++) {
        int x1 = S, y1 = S, x2 = -1, y2 = -1, count = 0;
        for (int yy = 0; yy < S; yy++)
            for (int xx = 0; xx < S; xx++)
                if (out->inst[j].px[(size_t)yy * S + xx]) {
                    count++;
                    x1 = xx < x1 ? xx : x1, x2 = xx > x2 ? xx : x2;
                    y1 = yy < y1 ? yy : y1, y2 = yy > y2 ? yy : y2;
                }
        if (count < cfg.min_visible) {
            for (size_t p = 0; p < (size_t)S * S; p++)
                if (out->inst[j].px[p])
                    out->mask.px[p] = 0, out->image.px[p] = 0;
            ds_image_free(&out->inst[j]);
            continue;
        }
        out->inst[n] = out->inst[j];
        if (n != j)
            memset(&out->inst[j], 0, sizeof out->inst[j]);
        out->boxes[n][0] = (float)x1, out->boxes[n][1] = (float)y1;
        out->boxes[n][2] = (float)(x2 + 1), out->boxes[n][3] = (float)(y2 + 1);
        out->box_labels[n] = labels[j];
        n++;
    }
    out->nobj = n;
    if (n > 0)
        out->label = out->box_labels[0];
    return LAB_OK;
}

struct mosaic_ctx {
    const struct ds_dataset *items;
    struct ds_mosaic_config cfg;
};

static int mosaic_get(const struct ds_dataset *d, size_t i, struct ds_sample *out)
{
    const struct mosaic_ctx *m = d->ctx;
    return ds_mosaic_render(m->items, &m->cfg, i, out);
}

static void mosaic_destroy(struct ds_dataset *d) { free(d->ctx); }

int ds_mosaic_open(const struct ds_dataset *items, const struct ds_mosaic_config *cfg, struct ds_dataset **out)
{
    *out = NULL;
    if (items->n == 0)
        return lab_err(LAB_EUSAGE, NULL, "no items to build mosaics from");
    struct ds_dataset *d = calloc(1, sizeof *d);
    struct mosaic_ctx *m = calloc(1, sizeof *m);
    if (!d || !m) {
        free(d), free(m);
        return lab_err(LAB_EENV, NULL, "out of memory");
    }
    m->items = items;
    m->cfg = with_defaults(items, cfg);
    snprintf(d->name, sizeof d->name, "fashion-mnist-mosaic-%d", m->cfg.size);
    d->n = m->cfg.n;
    d->num_classes = 11;
    d->get = mosaic_get;
    d->destroy = mosaic_destroy;
    d->ctx = m;
    *out = d;
    return LAB_OK;
}

void ds_mask_center_point(const uint8_t *m, int S, float *xy)
{
    double sx = 0, sy = 0, n = 0, best = INFINITY;
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++)
            if (m[y * S + x])
                sx += x, sy += y, n++;
    if (n == 0) {
        xy[0] = xy[1] = 0;
        return;
    }
    sx /= n, sy /= n;
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++)
            if (m[y * S + x]) {
                double d = (x - sx) * (x - sx) + (y - sy) * (y - sy);
                if (d < best)
                    best = d, xy[0] = (float)x, xy[1] = (float)y;
            }
}
