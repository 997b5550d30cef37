#include "grader/charts.h"

#include "base/error.h"
#include "labs/draw.h"

#include <cairo.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int chart_score_histogram(const char *title, const double *fractions, size_t n, int bins, unsigned char **png,
                          size_t *len)
{
    if (bins < 1 || bins > 100)
        bins = 10;
    size_t *count = calloc((size_t)bins, sizeof *count);
    if (!count)
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    size_t top = 1;
    for (size_t i = 0; i < n; i++) {
        double f = isfinite(fractions[i]) ? fractions[i] : 0;
        int b = (int)floor(f * bins);
        b = b < 0 ? 0 : b >= bins ? bins - 1 : b; /* a full score goes in the last bin */
        if (++count[b] > top)
            top = count[b];
    }
    const int W = 640, H = 320, L = 50, R = 20, T = 45, B = 50;
    double bw = (double)(W - L - R) / bins;
    cairo_surface_t *s;
    cairo_t *cr = draw_canvas(W, H, &s);
    cairo_set_source_rgb(cr, 0, 0, 0);
    draw_text(cr, W / 2.0, 26, 16, title, 0.5);
    char buf[48];
    for (int b = 0; b < bins; b++) {
        double h = (H - T - B) * (double)count[b] / (double)top;
        double x = L + b * bw;
        cairo_set_source_rgb(cr, 0.12, 0.47, 0.71);
        cairo_rectangle(cr, x + 2, H - B - h, bw - 4, h);
        cairo_fill(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        snprintf(buf, sizeof buf, "%zu", count[b]);
        if (count[b])
            draw_text(cr, x + bw / 2, H - B - h - 4, 11, buf, 0.5);
        snprintf(buf, sizeof buf, "%d%%", (int)lround(100.0 * b / bins));
        draw_text(cr, x, H - B + 16, 10, buf, 0.5);
    }
    draw_text(cr, L + (W - L - R), H - B + 16, 10, "100%", 0.5);
    cairo_set_line_width(cr, 1);
    cairo_move_to(cr, L, H - B + 0.5);
    cairo_line_to(cr, W - R, H - B + 0.5);
    cairo_stroke(cr);
    draw_text(cr, L + (W - L - R) / 2.0, H - 12, 12, "score (share of the maximum)", 0.5);
    free(count);
    return draw_finish_png(cr, s, png, len);
}

int chart_failure_rates(const char *title, const char *const *labels, const double *rates, size_t n,
                        unsigned char **png, size_t *len)
{
    const int L = 200, W = 680, bar = 20, T = 45;
    const int H = T + (int)(n ? n : 1) * (bar + 8) + 40;
    cairo_surface_t *s;
    cairo_t *cr = draw_canvas(W, H, &s);
    cairo_set_source_rgb(cr, 0, 0, 0);
    draw_text(cr, W / 2.0, 26, 16, title, 0.5);
    char buf[32];
    for (size_t i = 0; i < n; i++) {
        double r = isfinite(rates[i]) ? fmin(fmax(rates[i], 0), 1) : 0;
        double y = T + (double)i * (bar + 8);
        double w = (W - L - 70) * r;
        cairo_set_source_rgb(cr, 0.84, 0.15, 0.16);
        cairo_rectangle(cr, L, y, w, bar);
        cairo_fill(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        draw_text(cr, L - 8, y + bar / 2.0 + 4, 12, labels[i], 1.0);
        snprintf(buf, sizeof buf, "%.0f%%", 100 * r);
        draw_text(cr, L + w + 6, y + bar / 2.0 + 4, 12, buf, 0);
    }
    if (!n)
        draw_text(cr, W / 2.0, T + 14, 12, "no checks recorded", 0.5);
    draw_text(cr, L + (W - L) / 2.0, H - 12, 12, "share of submissions failing the check", 0.5);
    return draw_finish_png(cr, s, png, len);
}
