/* What every cairo figure of lab shares (the run's plots, the gradebook's
 * class charts): a white canvas, aligned text, and the finished PNG bytes. */
#ifndef LAB_DRAW_H
#define LAB_DRAW_H

#include <cairo.h>
#include <stddef.h>
#include <stdint.h>

/* A w x h white canvas with the sans-serif face selected. */
cairo_t *draw_canvas(int w, int h, cairo_surface_t **s);
/* A w x h canvas holding an 8-bit image (c 1 gray or 3 RGB, rows top to
 * bottom), to draw boxes and labels over it; NULL when cairo fails. */
cairo_t *draw_image_canvas(const uint8_t *px, int w, int h, int c, cairo_surface_t **s);
/* Text at (x, y); align 0 = left, 0.5 = centred, 1 = right. */
void draw_text(cairo_t *cr, double x, double y, double size, const char *s, double align);
/* A box (x1, y1, x2, y2) outlined in rgb, line width lw, with its label on a
 * filled tab above it (inside when the box touches the top), the text in
 * gray level fg (0 black, 1 white). */
void draw_labelled_box(cairo_t *cr, const double xyxy[4], const double rgb[3], double lw, double fg,
                       const char *label);
/* Destroys cr and s and returns the PNG (*png malloc'd). */
int draw_finish_png(cairo_t *cr, cairo_surface_t *s, unsigned char **png, size_t *len);
/* Destroys cr and s and writes the PNG to path atomically. */
int draw_write_png(cairo_t *cr, cairo_surface_t *s, const char *path);

#endif
