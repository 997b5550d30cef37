#include "labs/2.2.3-yolo-detection/full_plots.h"

#include "base/error.h"
#include "labs/models/nn.h"
#include "labs/plots.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXN 64

static int at(struct lab_run *r, const char *name, char *path, size_t cap)
{
    char rel[128];
    snprintf(rel, sizeof rel, "plots/%s", name);
    return lab_run_path(r, rel, path, cap);
}

static int threshold_plot(const struct yolo_full_plots *p, const char *path)
{
    const struct yolo_study *s = p->study;
    if (s->n_rows > MAXN || s->n_images + 1 > MAXN)
        return lab_err(LAB_EINTERNAL, NULL, "too many series for the threshold plot");
    double x[MAXN], y[MAXN][MAXN];
    char labels[MAXN][64];
    struct plot_series series[MAXN];
    for (int t = 0; t < s->n_rows; t++) {
        x[t] = s->rows[t].conf;
        for (int i = 0; i < s->n_images; i++)
            y[i][t] = (double)s->rows[t].per_image[i];
        y[s->n_images][t] = (double)s->rows[t].total;
    }
    for (int i = 0; i <= s->n_images; i++) {
        const char *cap = i < s->n_images ? p->captions[i] : "all images";
        snprintf(labels[i], sizeof labels[i], "%.*s", (int)strcspn(cap, "\n"), cap);
        series[i] = (struct plot_series){labels[i], x, y[i], s->n_rows};
    }
    char title[160];
    snprintf(title, sizeof title, "%s: detections against the confidence threshold", p->model);
    return plot_lines(path, title, "confidence threshold", "detections", series, s->n_images + 1);
}

int yolo_full_plots_write(struct lab_run *r, const struct yolo_full_plots *p)
{
    char path[4200], title[200];
    if (p->n_images > 0) {
        int ok[MAXN];
        for (int i = 0; i < p->n_images && i < MAXN; i++)
            ok[i] = 1;
        snprintf(title, sizeof title, "%s detections", p->model);
        LAB_TRY(at(r, "detections.png", path, sizeof path));
        LAB_TRY(plot_image_grid(path, title, p->drawn, p->n_images < MAXN ? p->n_images : MAXN, p->captions, ok));
    }
    LAB_TRY(at(r, "thresholds.png", path, sizeof path));
    LAB_TRY(threshold_plot(p, path));

    double xs[MAXN], mean[MAXN], median[MAXN];
    for (int i = 0; i < p->n_sizes && i < MAXN; i++)
        xs[i] = p->sizes[i], mean[i] = p->size_lat[i].mean_ms, median[i] = p->size_lat[i].median_ms;
    struct plot_series lat[2] = {{"mean", xs, mean, p->n_sizes}, {"median", xs, median, p->n_sizes}};
    snprintf(title, sizeof title, "%s latency against input size", p->model);
    LAB_TRY(at(r, "latency_vs_size.png", path, sizeof path));
    LAB_TRY(plot_lines(path, title, "input size (pixels)", "ms per predict call", lat, 2));

    double xb[MAXN], ips[MAXN];
    for (int i = 0; i < p->n_batches && i < MAXN; i++)
        xb[i] = p->batches[i], ips[i] = p->batch_ips[i];
    struct plot_series thr = {"images/s", xb, ips, p->n_batches};
    snprintf(title, sizeof title, "%s throughput against batch size (input %d)", p->model, p->imgsz);
    LAB_TRY(at(r, "throughput_vs_batch.png", path, sizeof path));
    LAB_TRY(plot_lines(path, title, "batch size", "images per second", &thr, 1));

    const char *labels[3];
    double params[3], map[3], ms[3];
    int n = p->n_rows < 3 ? p->n_rows : 3;
    for (int i = 0; i < n; i++) {
        labels[i] = p->rows[i].model;
        params[i] = p->rows[i].params / 1e6;
        map[i] = p->rows[i].map50_95 > 0 ? p->rows[i].map50_95 : 0;
        ms[i] = p->rows[i].lat.mean_ms;
    }
    struct plot_panel panels[3] = {{"parameters", "millions", "%.1f", params, 0},
                                   {"COCO mAP50-95 (published)", "%", "%.1f", map, 0},
                                   {"latency (measured)", "ms", "%.1f", ms, 0}};
    snprintf(title, sizeof title, "YOLOv8 models at %d", p->imgsz);
    LAB_TRY(at(r, "models.png", path, sizeof path));
    return n ? plot_bar_panels(path, title, labels, n, panels, 3) : LAB_OK;
}
