/* JPEG (libjpeg-turbo) and PNG (libpng) decoding, with EXIF orientation.
 *
 * Orientation: cameras store pixels as the sensor read them and record in
 * the EXIF Orientation tag (0x0112) how to turn them for display. lab
 * applies the tag while decoding, so a photo taken in portrait comes out in
 * portrait, as PIL's ImageOps.exif_transpose (and every image viewer) shows
 * it. Note that torchvision.io.read_image and a bare PIL Image.open do NOT
 * apply it; the loaders here always do, and document it (docs/datasets.md). */
#include "base/error.h"
#include "base/fsutil.h"
#include "datasets/loaders.h"

#include <stdio.h> /* before jpeglib.h, which uses FILE */

#include <jpeglib.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#define IMAGE_MAX_BYTES (256u << 20)
#define IMAGE_MAX_SIDE 30000

static unsigned rd16(const uint8_t *p, int le) { return le ? p[0] | p[1] << 8 : p[0] << 8 | p[1]; }
static uint32_t rd32(const uint8_t *p, int le)
{
    return le ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24
              : (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The Orientation tag in a TIFF structure (EXIF payload); 1 when absent. */
static int tiff_orientation(const uint8_t *t, size_t len)
{
    if (len < 8)
        return 1;
    int le;
    if (t[0] == 'I' && t[1] == 'I')
        le = 1;
    else if (t[0] == 'M' && t[1] == 'M')
        le = 0;
    else
        return 1;
    if (rd16(t + 2, le) != 42)
        return 1;
    uint32_t ifd = rd32(t + 4, le);
    if (ifd > len - 2 || ifd < 8)
        return 1;
    unsigned n = rd16(t + ifd, le);
    for (unsigned i = 0; i < n; i++) {
        size_t off = (size_t)ifd + 2 + 12u * i;
        if (off + 12 > len)
            break;
        if (rd16(t + off, le) == 0x0112 && rd16(t + off + 2, le) == 3) {
            unsigned v = rd16(t + off + 8, le);
            return v >= 1 && v <= 8 ? (int)v : 1;
        }
    }
    return 1;
}

int ds_jpeg_exif_orientation(const uint8_t *data, size_t len)
{
    if (len < 6 || memcmp(data, "Exif\0\0", 6) != 0)
        return 1;
    return tiff_orientation(data + 6, len - 6);
}

int ds_image_apply_orientation(struct ds_image *im, int o)
{
    if (o <= 1 || o > 8)
        return LAB_OK;
    const int W = im->w, H = im->h, c = im->c, swap = o >= 5;
    struct ds_image out;
    int rc = ds_image_alloc(&out, swap ? H : W, swap ? W : H, c);
    if (rc)
        return rc;
    for (int y = 0; y < out.h; y++)
        for (int x = 0; x < out.w; x++) {
            int sx, sy;
            switch (o) {
            case 2: sx = W - 1 - x, sy = y; break;
            case 3: sx = W - 1 - x, sy = H - 1 - y; break;
            case 4: sx = x, sy = H - 1 - y; break;
            case 5: sx = y, sy = x; break;                 /* transpose */
            case 6: sx = y, sy = H - 1 - x; break;         /* rotate 90 clockwise */
            case 7: sx = W - 1 - y, sy = H - 1 - x; break; /* transverse */
            default: sx = W - 1 - y, sy = x; break;        /* 8: rotate 90 counter-clockwise */
            }
            memcpy(out.px + ((size_t)y * out.w + x) * c, im->px + ((size_t)sy * W + sx) * c, c);
        }
    free(im->px);
    *im = out;
    return LAB_OK;
}

struct jerr {
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX];
};

static void jpeg_fail(j_common_ptr cinfo)
{
    struct jerr *e = (struct jerr *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, e->msg);
    longjmp(e->jump, 1);
}

static void jpeg_quiet(j_common_ptr cinfo, int level) { (void)cinfo, (void)level; }

static int decode_jpeg(const char *path, const uint8_t *data, size_t len, struct ds_image *out)
{
    struct jpeg_decompress_struct cinfo;
    struct jerr err;
    /* volatile: read after longjmp */
    uint8_t *volatile px = NULL;
    cinfo.err = jpeg_std_error(&err.mgr);
    err.mgr.error_exit = jpeg_fail;
    err.mgr.emit_message = jpeg_quiet;
    if (setjmp(err.jump)) {
        jpeg_destroy_decompress(&cinfo);
        free(px);
        return lab_err(LAB_EENV, "the file is damaged: fetch the dataset again", "%s: bad JPEG: %s", path, err.msg);
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)len);
    jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xFFFF);
    jpeg_read_header(&cinfo, TRUE);
    int orientation = 1;
    for (jpeg_saved_marker_ptr m = cinfo.marker_list; m; m = m->next)
        if (m->marker == JPEG_APP0 + 1 && orientation == 1)
            orientation = ds_jpeg_exif_orientation(m->data, m->data_length);
    cinfo.out_color_space = cinfo.jpeg_color_space == JCS_GRAYSCALE ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_start_decompress(&cinfo);
    const int w = (int)cinfo.output_width, h = (int)cinfo.output_height, c = cinfo.output_components;
    if (w <= 0 || h <= 0 || w > IMAGE_MAX_SIDE || h > IMAGE_MAX_SIDE || (c != 1 && c != 3)) {
        jpeg_destroy_decompress(&cinfo);
        return lab_err(LAB_EENV, NULL, "%s: unsupported JPEG (%dx%d, %d channels)", path, w, h, c);
    }
    px = malloc((size_t)w * h * c);
    if (!px) {
        jpeg_destroy_decompress(&cinfo);
        return lab_err(LAB_EENV, "free some memory", "out of memory decoding %s", path);
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = px + (size_t)cinfo.output_scanline * w * c;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    *out = (struct ds_image){w, h, c, px};
    int rc = ds_image_apply_orientation(out, orientation);
    if (rc)
        ds_image_free(out);
    return rc;
}

struct png_src {
    const uint8_t *data;
    size_t len, pos;
};

static void png_read_mem(png_structp png, png_bytep dst, png_size_t n)
{
    struct png_src *s = png_get_io_ptr(png);
    if (n > s->len - s->pos)
        png_error(png, "truncated PNG");
    memcpy(dst, s->data + s->pos, n);
    s->pos += n;
}

static void png_warn_quiet(png_structp png, png_const_charp msg) { (void)png, (void)msg; }

static int decode_png(const char *path, const uint8_t *data, size_t len, int keep_index, struct ds_image *out)
{
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, png_warn_quiet);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_read_struct(&png, &info, NULL);
        return lab_err(LAB_EINTERNAL, NULL, "libpng failed to start");
    }
    uint8_t *volatile px = NULL;
    png_bytep *volatile rows = NULL;
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        free(px);
        free(rows);
        return lab_err(LAB_EENV, "the file is damaged: fetch the dataset again", "%s: bad PNG", path);
    }
    struct png_src src = {data, len, 0};
    png_set_read_fn(png, &src, png_read_mem);
    png_set_user_limits(png, IMAGE_MAX_SIDE, IMAGE_MAX_SIDE);
    png_read_info(png, info);
    int color = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
    if (depth == 16)
        png_set_strip_16(png);
    if (color == PNG_COLOR_TYPE_PALETTE) {
        if (keep_index)
            png_set_packing(png); /* indices as bytes, values untouched (VOC's 255 stays 255) */
        else
            png_set_palette_to_rgb(png);
    }
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8)
        png_set_expand_gray_1_2_4_to_8(png);
    if (color & PNG_COLOR_MASK_ALPHA)
        png_set_strip_alpha(png);
    png_read_update_info(png, info);
    const int w = (int)png_get_image_width(png, info), h = (int)png_get_image_height(png, info);
    const int c = png_get_channels(png, info);
    if (c != 1 && c != 3) {
        png_destroy_read_struct(&png, &info, NULL);
        return lab_err(LAB_EENV, NULL, "%s: unsupported PNG layout (%d channels)", path, c);
    }
    px = malloc((size_t)w * h * c);
    rows = malloc((size_t)h * sizeof *rows);
    if (!px || !rows)
        png_error(png, "out of memory");
    for (int y = 0; y < h; y++)
        rows[y] = px + (size_t)y * w * c;
    png_read_image(png, rows);
    png_read_end(png, info);
    int orientation = 1;
#ifdef PNG_eXIf_SUPPORTED
    png_bytep exif = NULL;
    png_uint_32 exif_len = 0;
    if (png_get_eXIf_1(png, info, &exif_len, &exif) && exif)
        orientation = tiff_orientation(exif, exif_len);
#endif
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);
    *out = (struct ds_image){w, h, c, px};
    int rc = keep_index ? LAB_OK : ds_image_apply_orientation(out, orientation);
    if (rc)
        ds_image_free(out);
    return rc;
}

int ds_image_load(const char *path, int keep_index, struct ds_image *out)
{
    memset(out, 0, sizeof *out);
    char *data;
    size_t len;
    int rc = lab_read_file(path, IMAGE_MAX_BYTES, &data, &len);
    if (rc)
        return rc;
    const uint8_t *d = (const uint8_t *)data;
    if (len >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF)
        rc = decode_jpeg(path, d, len, out);
    else if (len >= 8 && png_sig_cmp(d, 0, 8) == 0)
        rc = decode_png(path, d, len, keep_index, out);
    else
        rc = lab_err(LAB_EENV, "use JPEG or PNG images", "%s is neither a JPEG nor a PNG", path);
    free(data);
    return rc;
}
