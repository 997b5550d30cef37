/* Lab 2.2.4's figures (seg_plots.h). */
#include "labs/2.2.4-unet-segmentation/seg_plots.h"

#include "base/error.h"
#include "datasets/image.h"
#include "datasets/loaders.h"
#include "labs/models/nn.h"
#include "labs/plots.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_EPOCHS 256

void seg_voc_colour(int c, uint8_t rgb[3])
{
    int r = 0, g = 0, b = 0;
    for (int j = 0; j < 8; j++, c >>= 3) {
        r |= (c & 1) << (7 - j);
        g |= ((c >> 1) & 1) << (7 - j);
        b |= ((c >> 2) & 1) << (7 - j);
    }
    rgb[0] = (uint8_t)r, rgb[1] = (uint8_t)g, rgb[2] = (uint8_t)b;
}

int seg_plot_curves(struct lab_run *r, const json_t *epochs)
{
    static double x[MAX_EPOCHS], loss[MAX_EPOCHS], miou[MAX_EPOCHS];
    int n = 0;
    for (size_t i = 0; i < json_array_size(epochs) && n < MAX_EPOCHS; i++, n++) {
        const json_t *e = json_array_get(epochs, i);
        x[n] = (double)(i + 1);
        loss[n] = json_number_value(json_object_get(e, "train_loss"));
        miou[n] = json_number_value(json_object_get(e, "test_miou"));
    }
    if (n == 0)
        return LAB_OK; /* no epoch, no curve */
    struct plot_series sl = {.label = "train loss", .x = x, .y = loss, .n = n};
    struct plot_series sm = {.label = "test mIoU", .x = x, .y = miou, .n = n};
    char path[4200];
    LAB_TRY(lab_run_path(r, "plots/loss.png", path, sizeof path));
    LAB_TRY(plot_lines(path, "U-Net: training loss per epoch", "epoch", "loss", &sl, 1));
    LAB_TRY(lab_run_path(r, "plots/miou.png", path, sizeof path));
    return plot_lines(path, "U-Net: test mIoU per epoch (255 borders ignored)", "epoch", "mIoU", &sm, 1);
}

int seg_plot_iou_bars(struct lab_run *r, const double *iou, int k, const char *const *class_names, const char *split)
{
    if (k < 1 || k > 64)
        return lab_err(LAB_EINTERNAL, NULL, "%d classes cannot be drawn as bars", k);
    double v[64];
    const char *labels[64];
    char names[64][48];
    for (int i = 0; i < k; i++) {
        const char *cls = class_names ? class_names[i]
                          : i == 0    ? "background"
                          : i <= 10   ? ds_fashion_mnist_classes[i - 1]
                                      : "class";
        snprintf(names[i], sizeof names[i], "%d %s%s", i, cls, isnan(iou[i]) ? " (absent)" : "");
        labels[i] = names[i];
        v[i] = isnan(iou[i]) ? 0 : iou[i];
    }
    struct plot_panel p = {.title = "IoU", .unit = "IoU", .format = "%.3f", .values = v, .max = 1.0};
    char path[4200];
    LAB_TRY(lab_run_path(r, "plots/per-class-iou.png", path, sizeof path));
    char title[160];
    snprintf(title, sizeof title, "U-Net: per-class IoU on the %s", split);
    return plot_bar_panels(path, title, labels, k, &p, 1);
}

static void paint_mask(const uint8_t *m, size_t px, uint8_t *dst)
{
    for (size_t p = 0; p < px; p++)
        seg_voc_colour(m[p], dst + 3 * p);
}

int seg_plot_validation(struct lab_run *r, const uint8_t *img, int channels, const uint8_t *truth, const uint8_t *pred,
                        size_t n, int s, int shown, const char *item, const char *split)
{
    if ((size_t)shown > n)
        shown = (int)n;
    if (shown < 1)
        return LAB_OK;
    if (shown > 8)
        shown = 8;
    size_t px = (size_t)s * s;
    struct ds_image ims[32];
    const char *caps[32];
    char text[32][40];
    int ok[32], rc = LAB_OK, made = 0;
    memset(ims, 0, sizeof ims);
    for (int i = 0; !rc && i < shown; i++) {
        const uint8_t *g = img + (size_t)i * px * (size_t)channels, *t = truth + i * px, *p = pred + i * px;
        for (int j = 0; j < 4 && !rc; j++, made++)
            rc = ds_image_alloc(&ims[made], s, s, 3);
        if (rc)
            break;
        uint8_t *im = ims[made - 4].px, *gt = ims[made - 3].px, *pr = ims[made - 2].px, *ov = ims[made - 1].px;
        paint_mask(t, px, gt);
        paint_mask(p, px, pr);
        for (size_t q = 0; q < px; q++)
            for (int c = 0; c < 3; c++) {
                uint8_t v = g[q * (size_t)channels + (channels == 3 ? (size_t)c : 0)];
                im[3 * q + c] = v;
                /* the course's overlay: the prediction's colours at alpha
                 * 0.5 over the image, background (black) included */
                ov[3 * q + c] = (uint8_t)((v + pr[3 * q + c] + 1) / 2);
            }
        size_t kept = 0, right = 0;
        for (size_t q = 0; q < px; q++)
            if (t[q] != 255)
                kept++, right += p[q] == t[q];
        double acc = kept ? (double)right / (double)kept : 0;
        snprintf(text[4 * i], sizeof text[0], "%s %d", item, i);
        snprintf(text[4 * i + 1], sizeof text[0], "ground truth");
        snprintf(text[4 * i + 2], sizeof text[0], "prediction\n%.1f%% pixels", 100 * acc);
        snprintf(text[4 * i + 3], sizeof text[0], "overlay");
        for (int j = 0; j < 4; j++) {
            caps[4 * i + j] = text[4 * i + j];
            ok[4 * i + j] = j != 2 || acc >= 0.9;
        }
    }
    char path[4200];
    if (!rc)
        rc = lab_run_path(r, "plots/validation.png", path, sizeof path);
    char title[200];
    snprintf(title, sizeof title, "U-Net on the %s: image, ground truth, prediction, overlay (VOC colours)", split);
    if (!rc)
        rc = plot_image_grid(path, title, ims, made, caps, ok);
    for (int i = 0; i < made; i++)
        ds_image_free(&ims[i]);
    return rc;
}
