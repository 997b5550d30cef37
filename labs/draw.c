#include "labs/draw.h"

#include "base/error.h"
#include "base/fsutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct png_buf {
    unsigned char *data;
    size_t len, cap;
};

static cairo_status_t png_append(void *closure, const unsigned char *data, unsigned int len)
{
    struct png_buf *b = closure;
    if (b->len + len > b->cap) {
        size_t cap = (b->cap ? b->cap * 2 : 65536) + len;
        unsigned char *d = realloc(b->data, cap);
        if (!d)
            return CAIRO_STATUS_NO_MEMORY;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    return CAIRO_STATUS_SUCCESS;
}

cairo_t *draw_canvas(int w, int h, cairo_surface_t **s)
{
    *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h);
    cairo_t *cr = cairo_create(*s);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    return cr;
}

cairo_t *draw_image_canvas(const uint8_t *px, int w, int h, int c, cairo_surface_t **s)
{
    cairo_t *cr = draw_canvas(w, h, s);
    if (!cr || cairo_status(cr) != CAIRO_STATUS_SUCCESS)
        return cr;
    cairo_surface_flush(*s);
    unsigned char *data = cairo_image_surface_get_data(*s);
    int stride = cairo_image_surface_get_stride(*s);
    for (int y = 0; data && y < h; y++)
        for (int x = 0; x < w; x++) {
            const uint8_t *p = px + ((size_t)y * w + x) * c;
            uint8_t r = p[0], g = c == 3 ? p[1] : p[0], b = c == 3 ? p[2] : p[0];
            ((uint32_t *)(data + (size_t)y * stride))[x] = 0xff000000u | (uint32_t)r << 16 | (uint32_t)g << 8 | b;
        }
    cairo_surface_mark_dirty(*s);
    return cr;
}

void draw_text(cairo_t *cr, double x, double y, double size, const char *s, double align)
{
    cairo_text_extents_t e;
    cairo_set_font_size(cr, size);
    cairo_text_extents(cr, s, &e);
    cairo_move_to(cr, x - align * e.width, y);
    cairo_show_text(cr, s);
}

int draw_finish_png(cairo_t *cr, cairo_surface_t *s, unsigned char **png, size_t *len)
{
    cairo_status_t st = cairo_status(cr);
    cairo_destroy(cr);
    struct png_buf b = {0};
    if (st == CAIRO_STATUS_SUCCESS)
        st = cairo_surface_write_to_png_stream(s, png_append, &b);
    cairo_surface_destroy(s);
    if (st != CAIRO_STATUS_SUCCESS) {
        free(b.data);
        return lab_err(LAB_EINTERNAL, NULL, "drawing a figure: %s", cairo_status_to_string(st));
    }
    *png = b.data;
    *len = b.len;
    return LAB_OK;
}

void draw_labelled_box(cairo_t *cr, const double xyxy[4], const double rgb[3], double lw, double fg,
                       const char *label)
{
    double size = fmax(10.0, lw * 5);
    cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
    cairo_set_line_width(cr, lw);
    cairo_rectangle(cr, xyxy[0], xyxy[1], xyxy[2] - xyxy[0], xyxy[3] - xyxy[1]);
    cairo_stroke(cr);
    cairo_set_font_size(cr, size);
    cairo_text_extents_t e;
    cairo_text_extents(cr, label, &e);
    double ty = xyxy[1] > size + 4 ? xyxy[1] - size - 4 : xyxy[1];
    cairo_rectangle(cr, xyxy[0], ty, e.x_advance + 6, size + 4);
    cairo_fill(cr);
    cairo_set_source_rgb(cr, fg, fg, fg);
    draw_text(cr, xyxy[0] + 3, ty + size, size, label, 0);
}

int draw_write_png(cairo_t *cr, cairo_surface_t *s, const char *path)
{
    unsigned char *png = NULL;
    size_t len = 0;
    int rc = draw_finish_png(cr, s, &png, &len);
    if (!rc)
        rc = lab_write_atomic(path, png, len);
    else
        lab_err_context(rc, "%s", path);
    free(png);
    return rc;
}
