/* The figures a run leaves in plots/, drawn with cairo and written as PNG
 * atomically. */
#ifndef LAB_PLOTS_H
#define LAB_PLOTS_H

#include "datasets/image.h"

#include <stdint.h>

struct plot_series {
    const char *label;
    const double *x, *y;
    int n;
};

/* Line chart with markers, one colour per series, a legend. */
int plot_lines(const char *path, const char *title, const char *xlabel, const char *ylabel,
               const struct plot_series *series, int n_series);

/* counts[true * k + predicted]; rows are normalised for the colour, cells
 * show the count. */
int plot_confusion(const char *path, const char *title, const int64_t *counts, int k, const char *const *names);

/* Images in a grid, each captioned; caption green when ok[i], red otherwise. */
int plot_image_grid(const char *path, const char *title, const struct ds_image *images, int n,
                    const char *const *captions, const int *ok);

/* n maps of h x w values (maps[i * h * w + y * w + x]) in a grid of `cols`,
 * each scaled to its own range and captioned; with `under` (may be NULL)
 * each map is laid over its image, stretched to the image's size. */
int plot_heatmaps(const char *path, const char *title, const float *maps, int n, int h, int w,
                  const char *const *captions, int cols, const struct ds_image *under);

/* Horizontal bars, e.g. accuracy per model. */
int plot_bars(const char *path, const char *title, const char *xlabel, const char *const *labels,
              const double *values, int n);

#endif
