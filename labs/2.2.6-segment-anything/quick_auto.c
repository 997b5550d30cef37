#include "labs/2.2.6-segment-anything/quick_auto.h"

#include "base/error.h"
#include "base/progress.h"
#include "labs/2.2.6-segment-anything/amg.h"
#include "labs/2.2.6-segment-anything/generator.h"
#include "labs/2.2.6-segment-anything/png_out.h"
#include "labs/2.2.6-segment-anything/predictor.h"
#include "labs/config.h"
#include "labs/models/nn.h"
#include "labs/plots.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_SHOWN = 8 };

int sam_quick_auto_opts(const json_t *config, struct sam_amg_opts *o)
{
    sam_amg_defaults(o);
    o->points_per_side = (int)lab_cfg_int(config, "auto.points_per_side", o->points_per_side);
    o->crop_n_layers = (int)lab_cfg_int(config, "auto.crop_n_layers", o->crop_n_layers);
    o->crop_n_points_downscale_factor =
        (int)lab_cfg_int(config, "auto.crop_n_points_downscale_factor", o->crop_n_points_downscale_factor);
    o->pred_iou_thresh = lab_cfg_num(config, "auto.pred_iou_thresh", o->pred_iou_thresh);
    o->stability_score_thresh = lab_cfg_num(config, "auto.stability_score_thresh", o->stability_score_thresh);
    o->stability_score_offset = lab_cfg_num(config, "auto.stability_score_offset", o->stability_score_offset);
    o->min_mask_region_area = (long)lab_cfg_int(config, "auto.min_mask_region_area", o->min_mask_region_area);
    if (o->points_per_side < 1 || o->points_per_side > 64 || o->crop_n_layers < 0 || o->crop_n_layers > 2 ||
        o->min_mask_region_area < 0)
        return lab_err(LAB_EUSAGE, "use auto.points_per_side 1..64, auto.crop_n_layers 0..2, auto.min_mask_region_area >= 0",
                       "the automatic mask settings are out of range");
    return LAB_OK;
}

/* Each instance's best IoU with any automatic mask; masks drawn into tile. */
static int score(const struct sam_amg_result *res, const struct ds_sample *smp, double *best, struct ds_image *tile)
{
    size_t px = (size_t)smp->image.w * smp->image.h;
    uint8_t *mask = malloc(px);
    if (!mask)
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    for (int j = 0; j < smp->nobj; j++)
        best[j] = 0;
    for (size_t k = 0; k < px; k++)
        memset(tile->px + k * 3, smp->image.px[k], 3);
    int rc = LAB_OK;
    for (size_t i = 0; !rc && i < res->n; i++) {
        if ((rc = sam_amg_rle_decode(res->masks[i].rle, res->masks[i].n_rle, res->h, res->w, mask)))
            break;
        for (int j = 0; j < smp->nobj; j++) {
            size_t in = 0, un = 0;
            for (size_t k = 0; k < px; k++)
                in += mask[k] && smp->inst[j].px[k], un += mask[k] || smp->inst[j].px[k];
            double iou = un ? (double)in / (double)un : 0;
            best[j] = iou > best[j] ? iou : best[j];
        }
        uint8_t col[3];
        sam_mask_colour(i, col);
        for (size_t k = 0; k < px; k++)
            for (int ch = 0; mask[k] && ch < 3; ch++)
                tile->px[k * 3 + ch] = (uint8_t)((smp->image.px[k] + col[ch]) / 2);
    }
    free(mask);
    return rc;
}

int sam_quick_auto(struct lab_run *r, struct model *m, const struct ds_dataset *ev, json_t *mm)
{
    struct sam_amg_opts o;
    LAB_TRY(sam_quick_auto_opts(r->config, &o));
    int images = (int)lab_cfg_int(r->config, "auto.images", 4);
    if (images < 0 || (size_t)images > ev->n)
        return lab_err(LAB_EUSAGE, "use auto.images from 0 to the held-out mosaics", "auto.images is %d", images);
    if (images == 0)
        return LAB_OK;
    struct sam_predictor p;
    LAB_TRY(sam_predictor_init(&p, m, NULL, NULL));
    struct ds_image tiles[MAX_SHOWN];
    char text[MAX_SHOWN][64];
    const char *captions[MAX_SHOWN];
    int ok[MAX_SHOWN], nt = 0, rc = LAB_OK;
    size_t masks = 0, instances = 0, found = 0;
    double best_sum = 0, t0 = lab_monotonic_s();
    for (int i = 0; !rc && i < images; i++) {
        struct ds_sample smp;
        memset(&smp, 0, sizeof smp);
        struct sam_amg_result res = {0};
        if ((rc = ds_dataset_get(ev, (size_t)i, &smp)))
            break;
        rc = sam_predictor_set_image(&p, &smp.image);
        if (!rc)
            rc = sam_amg_generate(&p, &smp.image, &o, &res);
        struct ds_image tile = {.w = smp.image.w, .h = smp.image.h, .c = 3};
        double best[DS_MAX_OBJECTS];
        if (!rc && !(tile.px = malloc((size_t)tile.w * tile.h * 3)))
            rc = lab_err(LAB_EINTERNAL, NULL, "out of memory");
        if (!rc)
            rc = score(&res, &smp, best, &tile);
        int hit = 0;
        for (int j = 0; !rc && j < smp.nobj; j++)
            best_sum += best[j], hit += best[j] >= 0.5;
        if (!rc) {
            masks += res.n, instances += (size_t)smp.nobj, found += (size_t)hit;
            if (nt < MAX_SHOWN) {
                snprintf(text[nt], sizeof text[nt], "#%d: %zu masks\n%d of %d found", i, res.n, hit, smp.nobj);
                captions[nt] = text[nt];
                ok[nt] = hit == smp.nobj;
                tiles[nt++] = tile;
                tile.px = NULL;
            }
        }
        free(tile.px);
        sam_amg_result_free(&res);
        ds_sample_free(&smp);
    }
    sam_predictor_free(&p);
    double ms = (lab_monotonic_s() - t0) * 1000.0 / images;
    char path[4200];
    if (!rc && nt && !(rc = lab_run_path(r, "plots/auto-masks.png", path, sizeof path)))
        rc = plot_image_grid(path, "Automatic masks on held-out mosaics (found: an instance some mask covers with IoU >= 0.5)",
                             tiles, nt, captions, ok);
    for (int i = 0; i < nt; i++)
        free(tiles[i].px);
    if (rc)
        return rc;
    double recall = instances ? (double)found / (double)instances : 0, mean_best = instances ? best_sum / instances : 0;
    lab_say(r, "automatic masks on %d held-out mosaics (%d points a side): %zu masks, %zu of %zu instances found "
               "(IoU >= 0.5; recall %.2f, mean best IoU %.3f), %.0f ms a mosaic",
            images, o.points_per_side, masks, found, instances, recall, mean_best, ms);
    json_object_set_new(mm, "auto", json_pack("{s:i, s:I, s:I, s:f, s:f, s:f}", "images", images, "masks",
                                              (json_int_t)masks, "instances", (json_int_t)instances, "recall50", recall,
                                              "mean_best_iou", mean_best, "ms_per_image", ms));
    return LAB_OK;
}
