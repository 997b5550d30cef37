#include "labs/2.2.6-segment-anything/png_out.h"

#include "base/error.h"
#include "base/fsutil.h"

#include <png.h>
#include <setjmp.h>
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
