/* The full mode's figures, drawn with labs/plots.h and the quick mode's
 * overlay helpers (overlay.h). */
#include "labs/2.2.6-segment-anything/full.h"

#include "base/error.h"
#include "labs/2.2.6-segment-anything/overlay.h"
#include "labs/2.2.6-segment-anything/png_out.h"
#include "labs/tasks/prompt_study.h"
#include "labs/models/nn.h"
#include "labs/plots.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TILES 40

int sam_full_plot_prompts(struct lab_run *r, const struct ds_image *images, size_t n_images,
                          const struct sam_full_rows *rows)
{
    static const uint8_t fg[3] = {0, 220, 0}, bg[3] = {230, 30, 30}, edge[3] = {255, 255, 0};
    struct ds_image tiles[MAX_TILES];
    char text[MAX_TILES][80];
    const char *captions[MAX_TILES];
    int ok[MAX_TILES];
    size_t n = 0, hw = (size_t)rows->h * rows->w;
    int rc = LAB_OK;
    for (size_t row = 0; row < rows->n && n < MAX_TILES && !rc; row++) {
        size_t img = (size_t)rows->image_index[row];
        if (img >= n_images)
            continue;
        struct sam_study_prompt sp[SAM_STUDY_N];
        sam_study_prompts(rows->w, rows->h, sp);
        const struct sam_study_prompt *q = NULL;
        for (int k = 0; k < SAM_STUDY_N; k++)
            if ((int64_t)sp[k].kind == rows->kind[row])
                q = &sp[k];
        int j = 0; /* which of the prompt's masks */
        while (row >= (size_t)(j + 1) && rows->kind[row - (size_t)(j + 1)] == rows->kind[row] &&
               rows->image_index[row - (size_t)(j + 1)] == rows->image_index[row])
            j++;
        rc = ds_image_copy(&tiles[n], &images[img]);
        if (rc)
            break;
        uint8_t col[3];
        sam_mask_colour((size_t)j, col);
        sam_overlay_tint(&tiles[n], rows->masks + row * hw, col);
        if (q && q->has_box)
            sam_overlay_box(&tiles[n], (int)q->box[0], (int)q->box[1], (int)q->box[2], (int)q->box[3], edge);
        for (int k = 0; q && k < q->n_points; k++)
            for (int d = -1; d <= 1; d++)
                sam_overlay_cross(&tiles[n], (int)q->points[2 * k] + d, (int)q->points[2 * k + 1], 12,
                                  q->labels[k] ? fg : bg);
        snprintf(text[n], sizeof text[n], "image %zu, %s%s%d\nscore %.3f", img, q ? q->name : "?",
                 q && q->multimask ? " mask " : "", q && q->multimask ? j : 0, (double)rows->iou[row]);
        if (!(q && q->multimask))
            snprintf(text[n], sizeof text[n], "image %zu, %s\nscore %.3f", img, q ? q->name : "?",
                     (double)rows->iou[row]);
        captions[n] = text[n];
        ok[n] = 1;
        n++;
    }
    char path[4200];
    if (!rc)
        rc = lab_run_path(r, "plots/prompts.png", path, sizeof path);
    if (!rc)
        rc = plot_image_grid(path, "SAM prompt study: each mask over its image (green + foreground, red + background, "
                             "yellow box), with its predicted IoU", tiles, (int)n, captions, ok);
    for (size_t i = 0; i < n; i++)
        ds_image_free(&tiles[i]);
    return rc;
}

int sam_full_plot_auto(struct lab_run *r, const struct ds_image *tiles, const char *const *captions, size_t n)
{
    int ok[8];
    for (size_t i = 0; i < n && i < 8; i++)
        ok[i] = 1;
    char path[4200];
    LAB_TRY(lab_run_path(r, "plots/auto-masks.png", path, sizeof path));
    return plot_image_grid(path, "SAM automatic masks, each in its own colour", tiles, (int)(n < 8 ? n : 8), captions,
                           ok);
}

int sam_full_plot_bench(struct lab_run *r, const char *model, const double mean_ms[3], const double std_ms[3])
{
    static const char *const labels[3] = {"encode_time", "point_inference", "box_inference"};
    struct plot_panel panels[2] = {{.title = "mean (ms)", .unit = "ms", .format = "%.1f", .values = mean_ms},
                                   {.title = "std (ms, ddof 0)", .unit = "ms", .format = "%.1f", .values = std_ms}};
    char title[160], path[4200];
    snprintf(title, sizeof title, "SAM %s benchmark on %s", model, r->dev.gpu_name[0] ? r->dev.gpu_name : "the CPU");
    LAB_TRY(lab_run_path(r, "plots/benchmark.png", path, sizeof path));
    return plot_bar_panels(path, title, labels, 3, panels, 2);
}
