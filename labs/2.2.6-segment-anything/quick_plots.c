#include "labs/2.2.6-segment-anything/quick_plots.h"

#include "base/error.h"
#include "labs/2.2.6-segment-anything/overlay.h"
#include "labs/2.2.6-segment-anything/png_out.h"
#include "labs/config.h"
#include "labs/models/nn.h"
#include "labs/plots.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int loss_plot(struct lab_run *r, const json_t *curve)
{
    static const char *const keys[] = {"loss", "focal", "dice", "iou_mse"};
    enum { K = 4 };
    size_t n = json_array_size(curve);
    if (n == 0)
        return LAB_OK; /* no step was logged (train.steps 0) */
    double *x = malloc(sizeof *x * n), *y = malloc(sizeof *y * n * K);
    if (!x || !y) {
        free(x), free(y);
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    }
    struct plot_series s[K];
    for (int k = 0; k < K; k++) {
        for (size_t i = 0; i < n; i++) {
            const json_t *e = json_array_get(curve, i);
            x[i] = (double)json_integer_value(json_object_get(e, "step"));
            y[k * n + i] = json_number_value(json_object_get(e, keys[k]));
        }
        s[k] = (struct plot_series){.label = keys[k], .x = x, .y = y + k * n, .n = (int)n};
    }
    char path[4200];
    int rc = lab_run_path(r, "plots/loss.png", path, sizeof path);
    if (!rc)
        rc = plot_lines(path, "SAM quick training: loss (focal x20 + dice + IoU MSE) and its parts", "step",
                        "loss (mean over the logged steps)", s, K);
    free(x), free(y);
    return rc;
}

/* The mosaic in gray, each row's mask tinted in its instance's colour, its
 * prompt drawn over it: the box's outline, or the point as a cross. */
static void draw_tile(struct ds_image *t, const struct ds_image *gray, const struct sam_quick_rows *rows, size_t first,
                      int count, int points)
{
    int S = rows->S;
    for (int i = 0; i < S * S; i++)
        memset(t->px + (size_t)i * 3, gray->px[i], 3);
    for (int j = 0; j < count; j++) {
        uint8_t c[3];
        sam_mask_colour((size_t)j, c);
        sam_overlay_tint(t, rows->masks + (first + (size_t)j) * S * S, c);
    }
    for (int j = 0; j < count; j++) {
        const float *p = rows->prompts + (first + (size_t)j) * 4;
        uint8_t c[3];
        sam_mask_colour((size_t)j, c);
        if (points)
            sam_overlay_cross(t, (int)p[0], (int)p[1], 2, c);
        else
            sam_overlay_box(t, (int)p[0], (int)p[1], (int)p[2], (int)p[3], c);
    }
}

static int masks_plot(struct lab_run *r, const struct ds_dataset *ev, const struct sam_quick_rows *rows, int shown)
{
    double target[2] = {lab_cfg_num(r->manifest, "thresholds.quick.miou_box", 0.7),
                        lab_cfg_num(r->manifest, "thresholds.quick.miou_point", 0.6)};
    struct ds_image tiles[16];
    char text[16][64];
    const char *captions[16];
    int ok[16], nt = 0, rc = LAB_OK;
    size_t row = 0;
    for (int img = 0; !rc && img < shown && nt + 2 <= 16 && row < rows->n; img++) {
        size_t first = row;
        while (row < rows->n && rows->image_index[row] == img)
            row++;
        int per_kind = (int)(row - first) / 2;
        struct ds_sample smp;
        memset(&smp, 0, sizeof smp);
        if (per_kind == 0 || (rc = ds_dataset_get(ev, (size_t)img, &smp)))
            break;
        for (int kind = 0; kind < 2; kind++) {
            struct ds_image *t = &tiles[nt];
            size_t start = first + (size_t)(kind * per_kind);
            double sum = 0;
            for (int j = 0; j < per_kind; j++)
                sum += rows->iou[start + (size_t)j];
            *t = (struct ds_image){.w = rows->S, .h = rows->S, .c = 3, .px = malloc((size_t)rows->S * rows->S * 3)};
            if (!t->px) {
                rc = lab_err(LAB_EINTERNAL, NULL, "out of memory");
                break;
            }
            draw_tile(t, &smp.image, rows, start, per_kind, kind);
            snprintf(text[nt], sizeof text[nt], "#%d %s\nmIoU %.2f", img, kind ? "points" : "boxes", sum / per_kind);
            captions[nt] = text[nt];
            ok[nt] = sum / per_kind >= target[kind];
            nt++;
        }
        ds_sample_free(&smp);
    }
    char path[4200];
    if (!rc && nt && !(rc = lab_run_path(r, "plots/prompt-masks.png", path, sizeof path)))
        rc = plot_image_grid(path, "Held-out mosaics: masks from box prompts and from single points", tiles, nt,
                             captions, ok);
    for (int i = 0; i < nt; i++)
        free(tiles[i].px);
    return rc;
}

int sam_quick_plots(struct lab_run *r, const json_t *curve, const struct ds_dataset *ev,
                    const struct sam_quick_rows *rows, int shown)
{
    LAB_TRY(loss_plot(r, curve));
    return masks_plot(r, ev, rows, shown);
}
