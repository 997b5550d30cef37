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

/* Images in a grid, each captioned (a '\n' starts another line; a caption
 * too wide for its image is drawn smaller, never cut); caption green when
 * ok[i], red otherwise. */
int plot_image_grid(const char *path, const char *title, const struct ds_image *images, int n,
                    const char *const *captions, const int *ok);

/* n maps of h x w values (maps[i * h * w + y * w + x]) in a grid of `cols`,
 * each scaled to its own range and captioned; with `under` (may be NULL)
 * each map is laid over its image, stretched to the image's size. */
int plot_heatmaps(const char *path, const char *title, const float *maps, int n, int h, int w,
                  const char *const *captions, int cols, const struct ds_image *under);

/* One quantity of a bar chart: its title, unit (on the axis) and values
 * (one per label), printed with `format` (NULL: "%.3g"). */
struct plot_panel {
    const char *title, *unit, *format;
    const double *values;
    double max; /* the axis' end; 0: from the values */
};

/* Horizontal bars side by side, one panel per quantity, sharing the labels
 * (e.g. accuracy, parameters and speed per model); each panel has its own
 * axis from 0 with round ticks and its unit. */
int plot_bar_panels(const char *path, const char *title, const char *const *labels, int n,
                    const struct plot_panel *panels, int n_panels);

#endif
