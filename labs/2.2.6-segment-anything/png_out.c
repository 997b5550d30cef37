#include "labs/2.2.6-segment-anything/png_out.h"

#include "base/error.h"
#include "base/fsutil.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct membuf {
    unsigned char *data;
    size_t len, cap;
    int oom;
};

static void on_write(png_structp png, png_bytep data, png_size_t n)
{
    struct membuf *b = png_get_io_ptr(png);
    if (b->oom)
        return;
    if (b->len + n > b->cap) {
        size_t cap = (b->cap ? b->cap * 2 : 65536) + n;
        unsigned char *d = realloc(b->data, cap);
        if (!d) {
            b->oom = 1;
            return;
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, n);
    b->len += n;
}

static void on_flush(png_structp png) { (void)png; }

int sam_png_write(const char *path, const uint8_t *px, int w, int h, int channels)
{
    static const int types[5] = {0, PNG_COLOR_TYPE_GRAY, 0, PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGBA};
    if (w < 1 || h < 1 || channels < 1 || channels > 4 || channels == 2)
        return lab_err(LAB_EINTERNAL, NULL, "cannot write a %dx%dx%d PNG", w, h, channels);
    struct membuf b = {0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_write_struct(&png, &info);
        return lab_err(LAB_EINTERNAL, NULL, "libpng could not start writing %s", path);
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(b.data);
        return lab_err(LAB_EINTERNAL, NULL, "libpng failed writing %s", path);
    }
    png_set_write_fn(png, &b, on_write, on_flush);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, types[channels], PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < h; y++)
        png_write_row(png, (png_const_bytep)(px + (size_t)y * w * channels));
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    int rc = b.oom ? lab_err(LAB_EINTERNAL, NULL, "out of memory writing %s", path)
                   : lab_write_atomic(path, b.data, b.len);
    free(b.data);
    return rc;
}

void sam_mask_colour(size_t i, uint8_t col[3])
{
    i++; /* mask 0 would be a dark gray */
    col[0] = (uint8_t)(60 + (i * 97) % 196);
    col[1] = (uint8_t)(60 + (i * 57) % 196);
    col[2] = (uint8_t)(60 + (i * 151) % 196);
}

int sam_png_mask_pair(const char *dir, const char *mask_name, const char *overlay_name, const struct ds_image *im,
                      const uint8_t *mask, int k, long long *area)
{
    static const uint8_t colors[3][3] = {{30, 144, 255}, {255, 64, 64}, {64, 200, 64}};
    size_t hw = (size_t)im->w * im->h;
    uint8_t *gray = malloc(hw), *over = malloc(hw * 3);
    int rc = gray && over ? LAB_OK : lab_err(LAB_EINTERNAL, NULL, "out of memory for the mask images");
    *area = 0;
    for (size_t i = 0; !rc && i < hw; i++) {
        gray[i] = mask[i] ? 255 : 0;
        *area += mask[i] != 0;
        for (int ch = 0; ch < 3; ch++) {
            uint8_t v = im->px[i * 3 + ch];
            over[i * 3 + ch] = mask[i] ? (uint8_t)((v + colors[k % 3][ch]) / 2) : v;
        }
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, mask_name);
    if (!rc)
        rc = sam_png_write(path, gray, im->w, im->h, 1);
    snprintf(path, sizeof path, "%s/%s", dir, overlay_name);
    if (!rc)
        rc = sam_png_write(path, over, im->w, im->h, 3);
    free(gray);
    free(over);
    return rc;
}

int sam_png_cutout(const char *dir, const struct ds_image *im, const uint8_t *mask)
{
    size_t hw = (size_t)im->w * im->h;
    uint8_t *rgba = malloc(hw * 4);
    if (!rgba)
        return lab_err(LAB_EINTERNAL, NULL, "out of memory for the cutout");
    for (size_t i = 0; i < hw; i++) {
        memcpy(rgba + i * 4, im->px + i * 3, 3);
        rgba[i * 4 + 3] = mask[i] ? 255 : 0;
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/cutout.png", dir);
    int rc = sam_png_write(path, rgba, im->w, im->h, 4);
    free(rgba);
    return rc;
}
