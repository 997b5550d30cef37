#include "labs/2.2.6-segment-anything/boxes.h"

#include "base/error.h"
#include "labs/draw.h"
#include "labs/models/nn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* matplotlib's Set3 and tab10 */
static const uint8_t set3[12][3] = {{141, 211, 199}, {255, 255, 179}, {190, 186, 218}, {251, 128, 114},
                                    {128, 177, 211}, {253, 180, 98},  {179, 222, 105}, {252, 205, 229},
                                    {217, 217, 217}, {188, 128, 189}, {204, 235, 197}, {255, 237, 111}};
static const uint8_t tab10[10][3] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44},  {214, 39, 40},
                                     {148, 103, 189}, {140, 86, 75}, {227, 119, 194}, {127, 127, 127},
                                     {188, 189, 34},  {23, 190, 207}};

int sam_boxes_overlay(const char *path, const struct ds_image *im, const uint8_t *const *masks,
                      const struct sam_boxes *b)
{
    size_t hw = (size_t)im->w * im->h;
    uint8_t *rgb = malloc(hw * 3);
    if (!rgb)
        return lab_err(LAB_EINTERNAL, NULL, "out of memory for the overlay");
    memcpy(rgb, im->px, hw * 3);
    for (int i = 0; i < b->n; i++) {
        const uint8_t *c = b->det ? tab10[i % 10] : set3[i % 12];
        for (size_t j = 0; j < hw; j++)
            for (int ch = 0; masks[i][j] && ch < 3; ch++)
                rgb[j * 3 + ch] = (uint8_t)((rgb[j * 3 + ch] + c[ch] + 1) / 2);
    }
    cairo_surface_t *s;
    cairo_t *cr = draw_image_canvas(rgb, im->w, im->h, 3, &s);
    free(rgb);
    if (!cr)
        return lab_err(LAB_EINTERNAL, NULL, "cairo could not make a %dx%d canvas", im->w, im->h);
    double lw = fmax(2.0, (im->w + im->h) / 2.0 * 0.003);
    static const double lime[3] = {0, 1, 0}, red[3] = {1, 0, 0};
    for (int i = 0; i < b->n; i++) {
        char label[96];
        if (b->det)
            snprintf(label, sizeof label, "%s %.0f%%", b->det[i].name, b->det[i].conf * 100.0);
        else
            snprintf(label, sizeof label, "Box %d", i);
        /* black on lime, white on red */
        draw_labelled_box(cr, b->box[i], b->det ? lime : red, lw, b->det ? 0 : 1, label);
    }
    return draw_write_png(cr, s, path);
}
