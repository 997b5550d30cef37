#include "labs/plots.h"

#include "base/error.h"
#include "labs/draw.h"

#include <cairo.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double palette[][3] = {{0.12, 0.47, 0.71}, {1.00, 0.50, 0.05}, {0.17, 0.63, 0.17},
                                    {0.84, 0.15, 0.16}, {0.58, 0.40, 0.74}, {0.55, 0.34, 0.29}};

/* Centred text, made smaller when it would be wider than max_w: a caption
 * is shrunk, never cut into something that reads differently. */
static void draw_text_fit(cairo_t *cr, double x, double y, double size, double max_w, const char *s)
{
    cairo_text_extents_t e;
    cairo_set_font_size(cr, size);
    cairo_text_extents(cr, s, &e);
    if (e.width > max_w && e.width > 0)
        size = fmax(6, size * max_w / e.width);
    draw_text(cr, x, y, size, s, 0.5);
}

static void nice_range(double *lo, double *hi)
{
    if (*hi - *lo < 1e-9) {
        *lo -= 0.5;
        *hi += 0.5;
    }
    double pad = (*hi - *lo) * 0.05;
    *lo -= pad;
    *hi += pad;
}

int plot_lines(const char *path, const char *title, const char *xlabel, const char *ylabel,
               const struct plot_series *series, int n_series)
{
    const int W = 720, H = 440, L = 70, R = 20, T = 40, B = 55;
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    int integer_x = 1, most = 0;
    for (int s = 0; s < n_series; s++)
        for (int i = 0; i < series[s].n; i++) {
            integer_x &= series[s].x[i] == floor(series[s].x[i]);
            most = series[s].n > most ? series[s].n : most;
            x0 = fmin(x0, series[s].x[i]);
            x1 = fmax(x1, series[s].x[i]);
            y0 = fmin(y0, series[s].y[i]);
            y1 = fmax(y1, series[s].y[i]);
        }
    if (!isfinite(x0)) {
        x0 = 0;
        x1 = 1;
        y0 = 0;
        y1 = 1;
    }
    nice_range(&x0, &x1);
    nice_range(&y0, &y1);
    cairo_surface_t *surf;
    cairo_t *cr = draw_canvas(W, H, &surf);
    cairo_set_source_rgb(cr, 0, 0, 0);
    draw_text(cr, W / 2.0, 24, 16, title, 0.5);
    draw_text(cr, L + (W - L - R) / 2.0, H - 12, 13, xlabel, 0.5);
    cairo_save(cr);
    cairo_translate(cr, 18, T + (H - T - B) / 2.0);
    cairo_rotate(cr, -M_PI / 2);
    draw_text(cr, 0, 0, 13, ylabel, 0.5);
    cairo_restore(cr);
    /* axes and ticks */
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, L, T, W - L - R, H - T - B);
    cairo_stroke(cr);
    char label[32];
    for (int i = 0; i <= 4; i++) {
        double fy = y0 + (y1 - y0) * i / 4, py = H - B - (H - T - B) * i / 4.0;
        snprintf(label, sizeof label, "%.3g", fy);
        draw_text(cr, L - 6, py + 4, 11, label, 1.0);
    }
    /* Epochs are whole numbers: ticks only there (one epoch: one tick, not
     * 0.45 ... 1.55). */
    if (integer_x) {
        int step = (int)ceil((x1 - x0) / 8);
        step = step < 1 ? 1 : step;
        for (double fx = ceil(x0); fx <= x1; fx += step) {
            double px = L + (fx - x0) / (x1 - x0) * (W - L - R);
            snprintf(label, sizeof label, "%.0f", fx);
            draw_text(cr, px, H - B + 16, 11, label, 0.5);
        }
    } else {
        for (int i = 0; i <= 4; i++) {
            double fx = x0 + (x1 - x0) * i / 4, px = L + (W - L - R) * i / 4.0;
            snprintf(label, sizeof label, "%.3g", fx);
            draw_text(cr, px, H - B + 16, 11, label, 0.5);
        }
    }
    for (int s = 0; s < n_series; s++) {
        const double *c = palette[s % 6];
        cairo_set_source_rgb(cr, c[0], c[1], c[2]);
        cairo_set_line_width(cr, 2);
        for (int i = 0; i < series[s].n; i++) {
            double px = L + (series[s].x[i] - x0) / (x1 - x0) * (W - L - R);
            double py = H - B - (series[s].y[i] - y0) / (y1 - y0) * (H - T - B);
            if (i == 0)
                cairo_move_to(cr, px, py);
            else
                cairo_line_to(cr, px, py);
        }
        cairo_stroke(cr);
        for (int i = 0; i < series[s].n; i++) {
            double px = L + (series[s].x[i] - x0) / (x1 - x0) * (W - L - R);
            double py = H - B - (series[s].y[i] - y0) / (y1 - y0) * (H - T - B);
            cairo_arc(cr, px, py, most <= 3 ? 5 : 3.5, 0, 2 * M_PI);
            cairo_fill(cr);
            /* with a few points, each carries its value: a lone point on an
             * axis is hard to read */
            if (most <= 3) {
                snprintf(label, sizeof label, "%s %.4g", series[s].label, series[s].y[i]);
                draw_text(cr, px + 9, py + 4, 12, label, 0);
            }
        }
        cairo_rectangle(cr, L + 12, T + 10 + 18 * s, 14, 10);
        cairo_fill(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        draw_text(cr, L + 32, T + 20 + 18 * s, 12, series[s].label, 0);
    }
    return draw_write_png(cr, surf, path);
}

int plot_confusion(const char *path, const char *title, const int64_t *counts, int k, const char *const *names)
{
    const int cell = 44, L = 120, T = 50, W = L + k * cell + 20, H = T + k * cell + 110;
    cairo_surface_t *surf;
    cairo_t *cr = draw_canvas(W, H, &surf);
    cairo_set_source_rgb(cr, 0, 0, 0);
    draw_text(cr, W / 2.0, 28, 16, title, 0.5);
    char buf[32];
    for (int t = 0; t < k; t++) {
        int64_t row = 0;
        for (int p = 0; p < k; p++)
            row += counts[t * k + p];
        for (int p = 0; p < k; p++) {
            double f = row ? (double)counts[t * k + p] / (double)row : 0;
            cairo_set_source_rgb(cr, 1 - 0.85 * f, 1 - 0.55 * f, 1 - 0.2 * f);
            cairo_rectangle(cr, L + p * cell, T + t * cell, cell - 1, cell - 1);
            cairo_fill(cr);
            cairo_set_source_rgb(cr, f > 0.6 ? 1 : 0, f > 0.6 ? 1 : 0, f > 0.6 ? 1 : 0);
            snprintf(buf, sizeof buf, "%lld", (long long)counts[t * k + p]);
            draw_text(cr, L + p * cell + cell / 2.0, T + t * cell + cell / 2.0 + 4, 11, buf, 0.5);
        }
        cairo_set_source_rgb(cr, 0, 0, 0);
        draw_text(cr, L - 6, T + t * cell + cell / 2.0 + 4, 11, names[t], 1.0);
        cairo_save(cr);
        cairo_translate(cr, L + t * cell + cell / 2.0 + 4, T + k * cell + 6);
        cairo_rotate(cr, M_PI / 3);
        draw_text(cr, 0, 0, 11, names[t], 0);
        cairo_restore(cr);
    }
    draw_text(cr, 14, T - 10, 12, "true \\ predicted", 0);
    return draw_write_png(cr, surf, path);
}

/* The image as a cairo surface (gray repeated to RGB). */
static cairo_surface_t *image_surface(const struct ds_image *im)
{
    cairo_surface_t *tile = cairo_image_surface_create(CAIRO_FORMAT_RGB24, im->w, im->h);
    cairo_surface_flush(tile);
    unsigned char *px = cairo_image_surface_get_data(tile);
    int stride = cairo_image_surface_get_stride(tile);
    for (int y = 0; y < im->h; y++)
        for (int x = 0; x < im->w; x++) {
            const uint8_t *p = im->px + ((size_t)y * im->w + x) * im->c;
            uint8_t r = p[0], g = im->c == 3 ? p[1] : p[0], b = im->c == 3 ? p[2] : p[0];
            *((uint32_t *)(px + y * stride) + x) = ((uint32_t)r << 16) | ((uint32_t)g << 8) | b;
        }
    cairo_surface_mark_dirty(tile);
    return tile;
}

int plot_heatmaps(const char *path, const char *title, const float *maps, int n, int h, int w,
                  const char *const *captions, int cols, const struct ds_image *under)
{
    const int side = 96, cap_h = 16;
    int rows = (n + cols - 1) / cols, W = cols * (side + 8) + 8, H = 40 + rows * (side + cap_h + 10);
    cairo_surface_t *surf;
    cairo_t *cr = draw_canvas(W, H, &surf);
    cairo_set_source_rgb(cr, 0, 0, 0);
    draw_text(cr, W / 2.0, 26, 15, title, 0.5);
    for (int i = 0; i < n; i++) {
        const float *m = maps + (size_t)i * h * w;
        float lo = m[0], hi = m[0];
        for (int k = 1; k < h * w; k++)
            lo = m[k] < lo ? m[k] : lo, hi = m[k] > hi ? m[k] : hi;
        int gx = 8 + (i % cols) * (side + 8), gy = 40 + (i / cols) * (side + cap_h + 10);
        if (under) {
            cairo_surface_t *tile = image_surface(&under[i]);
            cairo_save(cr);
            cairo_translate(cr, gx, gy);
            cairo_scale(cr, (double)side / under[i].w, (double)side / under[i].h);
            cairo_set_source_surface(cr, tile, 0, 0);
            cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
            cairo_paint(cr);
            cairo_restore(cr);
            cairo_surface_destroy(tile);
        }
        double cw = (double)side / w, ch = (double)side / h;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                double f = hi > lo ? (m[y * w + x] - lo) / (hi - lo) : 0;
                /* dark blue -> yellow */
                cairo_set_source_rgba(cr, 0.1 + 0.9 * f, 0.1 + 0.8 * f, 0.4 * (1 - f), under ? 0.55 : 1.0);
                cairo_rectangle(cr, gx + x * cw, gy + y * ch, cw, ch);
                cairo_fill(cr);
            }
        cairo_set_source_rgb(cr, 0, 0, 0);
        if (captions && captions[i])
            draw_text(cr, gx + side / 2.0, gy + side + cap_h - 2, 11, captions[i], 0.5);
    }
    return draw_write_png(cr, surf, path);
}

int plot_image_grid(const char *path, const char *title, const struct ds_image *images, int n,
                    const char *const *captions, const int *ok)
{
    int cap_lines = 1;
    for (int i = 0; i < n; i++) {
        int lines = 1;
        for (const char *c = captions[i]; *c; c++)
            lines += *c == '\n';
        cap_lines = lines > cap_lines ? lines : cap_lines;
    }
    const int cols = 8, scale = 3, cap_h = 3 + 13 * cap_lines;
    int iw = images[0].w * scale, ih = images[0].h * scale, rows = (n + cols - 1) / cols;
    int W = cols * (iw + 8) + 8, H = 40 + rows * (ih + cap_h + 10);
    cairo_surface_t *surf;
    cairo_t *cr = draw_canvas(W, H, &surf);
    cairo_set_source_rgb(cr, 0, 0, 0);
    draw_text(cr, W / 2.0, 26, 15, title, 0.5);
    for (int i = 0; i < n; i++) {
        const struct ds_image *im = &images[i];
        cairo_surface_t *tile = cairo_image_surface_create(CAIRO_FORMAT_RGB24, im->w, im->h);
        cairo_surface_flush(tile);
        unsigned char *px = cairo_image_surface_get_data(tile);
        int stride = cairo_image_surface_get_stride(tile);
        for (int y = 0; y < im->h; y++)
            for (int x = 0; x < im->w; x++) {
                const uint8_t *p = im->px + ((size_t)y * im->w + x) * im->c;
                uint8_t r = p[0], g = im->c == 3 ? p[1] : p[0], b = im->c == 3 ? p[2] : p[0];
                uint32_t *dst = (uint32_t *)(px + y * stride) + x;
                *dst = ((uint32_t)r << 16) | ((uint32_t)g << 8) | b;
            }
        cairo_surface_mark_dirty(tile);
        int gx = 8 + (i % cols) * (iw + 8), gy = 40 + (i / cols) * (ih + cap_h + 10);
        cairo_save(cr);
        cairo_translate(cr, gx, gy);
        cairo_scale(cr, scale, scale);
        cairo_set_source_surface(cr, tile, 0, 0);
        cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
        cairo_paint(cr);
        cairo_restore(cr);
        cairo_surface_destroy(tile);
        cairo_set_source_rgb(cr, ok[i] ? 0.1 : 0.8, ok[i] ? 0.55 : 0.1, 0.1);
        const char *line = captions[i];
        for (int l = 0; l < cap_lines && *line; l++) {
            char buf[128];
            size_t len = strcspn(line, "\n");
            snprintf(buf, sizeof buf, "%.*s", (int)(len < sizeof buf ? len : sizeof buf - 1), line);
            draw_text_fit(cr, gx + iw / 2.0, gy + ih + 13 + 13 * l, 10, iw + 6, buf);
            line += len + (line[len] == '\n');
        }
    }
    return draw_write_png(cr, surf, path);
}

/* 1, 2, 5 x 10^k: a round step giving about `ticks` intervals up to vmax. */
static double nice_step(double vmax, int ticks)
{
    double raw = vmax / ticks, mag = pow(10, floor(log10(raw))), f = raw / mag;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

int plot_bar_panels(const char *path, const char *title, const char *const *labels, int n,
                    const struct plot_panel *panels, int n_panels)
{
    const int L = 130, PW = 250, GAP = 30, T = 64, bar = 26, B = 50;
    const int W = L + n_panels * (PW + GAP) + 10, H = T + n * (bar + 10) + B;
    cairo_surface_t *surf;
    cairo_t *cr = draw_canvas(W, H, &surf);
    cairo_set_source_rgb(cr, 0, 0, 0);
    draw_text(cr, W / 2.0, 24, 16, title, 0.5);
    for (int i = 0; i < n; i++)
        draw_text(cr, L - 8, T + i * (bar + 10) + bar / 2.0 + 4, 12, labels[i], 1.0);
    char buf[48];
    for (int p = 0; p < n_panels; p++) {
        const struct plot_panel *pp = &panels[p];
        double x = L + p * (PW + GAP), vmax = 0, plot_w = PW - 20;
        for (int i = 0; i < n; i++)
            vmax = fmax(vmax, pp->values[i]);
        if (!(vmax > 0))
            vmax = 1;
        if (pp->max > 0)
            vmax = fmax(vmax, pp->max);
        double step = nice_step(vmax, 4), top = ceil(vmax / step) * step;
        cairo_set_source_rgb(cr, 0, 0, 0);
        snprintf(buf, sizeof buf, "%s (%s)", pp->title, pp->unit);
        draw_text(cr, x + plot_w / 2.0, T - 18, 13, buf, 0.5);
        /* axis with ticks and grid lines */
        double y_axis = T + n * (bar + 10);
        cairo_set_line_width(cr, 1);
        for (double v = 0; v <= top * 1.0001; v += step) {
            double px = x + plot_w * v / top;
            cairo_set_source_rgb(cr, 0.85, 0.85, 0.85);
            cairo_move_to(cr, px, T - 6);
            cairo_line_to(cr, px, y_axis);
            cairo_stroke(cr);
            cairo_set_source_rgb(cr, 0, 0, 0);
            snprintf(buf, sizeof buf, "%g", v);
            draw_text(cr, px, y_axis + 15, 10, buf, 0.5);
        }
        cairo_move_to(cr, x, T - 6);
        cairo_line_to(cr, x, y_axis);
        cairo_line_to(cr, x + plot_w, y_axis);
        cairo_stroke(cr);
        snprintf(buf, sizeof buf, "%s", pp->unit);
        draw_text(cr, x + plot_w / 2.0, y_axis + 32, 11, buf, 0.5);
        for (int i = 0; i < n; i++) {
            double len = plot_w * pp->values[i] / top;
            const double *c = palette[i % 6];
            cairo_set_source_rgb(cr, c[0], c[1], c[2]);
            cairo_rectangle(cr, x, T + i * (bar + 10), len, bar);
            cairo_fill(cr);
            cairo_set_source_rgb(cr, 0, 0, 0);
            snprintf(buf, sizeof buf, pp->format ? pp->format : "%.3g", pp->values[i]);
            /* the value inside the bar's end when there is no room after it */
            int inside = len > plot_w - 50;
            if (inside)
                cairo_set_source_rgb(cr, 1, 1, 1);
            draw_text(cr, x + len + (inside ? -4 : 4), T + i * (bar + 10) + bar / 2.0 + 4, 11, buf, inside ? 1.0 : 0);
        }
    }
    return draw_write_png(cr, surf, path);
}
