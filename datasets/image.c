#include "datasets/image.h"

#include "base/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int ds_resample_parse(const char *name, enum ds_resample *out)
{
    if (strcmp(name, "nearest") == 0)
        *out = DS_RESAMPLE_NEAREST;
    else if (strcmp(name, "bilinear") == 0)
        *out = DS_RESAMPLE_BILINEAR;
    else if (strcmp(name, "bicubic") == 0)
        *out = DS_RESAMPLE_BICUBIC;
    else
        return lab_err(LAB_EUSAGE, "use \"nearest\", \"bilinear\" or \"bicubic\"", "unknown resampling method '%s'",
                       name);
    return LAB_OK;
}

int ds_image_alloc(struct ds_image *im, int w, int h, int c)
{
    if (w <= 0 || h <= 0 || c <= 0 || (size_t)w * h > ((size_t)1 << 28) / (size_t)c)
        return lab_err(LAB_EUSAGE, NULL, "bad image size %dx%dx%d", w, h, c);
    im->px = calloc((size_t)w * h * c, 1);
    if (!im->px)
        return lab_err(LAB_EENV, "free some memory", "out of memory for a %dx%d image", w, h);
    im->w = w, im->h = h, im->c = c;
    return LAB_OK;
}

void ds_image_free(struct ds_image *im)
{
    if (!im)
        return;
    free(im->px);
    im->px = NULL;
    im->w = im->h = im->c = 0;
}

int ds_image_copy(struct ds_image *dst, const struct ds_image *src)
{
    int rc = ds_image_alloc(dst, src->w, src->h, src->c);
    if (!rc)
        memcpy(dst->px, src->px, (size_t)src->w * src->h * src->c);
    return rc;
}

static void replace(struct ds_image *im, struct ds_image *next)
{
    free(im->px);
    *im = *next;
}

/* ---- PIL's bicubic (Pillow's libImaging/Resample.c, restated) ---- */

#define PIL_BITS 22 /* 32 - 8 - 2: fixed-point bits of a weight */

static double cubic(double x)
{
    const double a = -0.5;
    x = fabs(x);
    if (x < 1)
        return ((a + 2) * x - (a + 3)) * x * x + 1;
    if (x < 2)
        return (((x - 5) * x + 8) * x - 4) * a;
    return 0;
}

/* For each output position along one axis: the first input index, the
 * tap count and `ksize` fixed-point weights. */
static int cubic_coeffs(int in, int out, int **first, int **taps, int32_t **w, int *ksize)
{
    double scale = (double)in / out, fscale = scale < 1 ? 1 : scale, support = 2 * fscale;
    *ksize = (int)ceil(support) * 2 + 1;
    *first = malloc((size_t)out * sizeof **first);
    *taps = malloc((size_t)out * sizeof **taps);
    *w = malloc((size_t)out * (size_t)*ksize * sizeof **w);
    double *k = malloc((size_t)*ksize * sizeof *k);
    if (!*first || !*taps || !*w || !k) {
        free(*first), free(*taps), free(*w), free(k);
        return lab_err(LAB_EENV, "free some memory", "out of memory for resize weights");
    }
    for (int o = 0; o < out; o++) {
        double center = (o + 0.5) * scale, sum = 0, ss = 1.0 / fscale;
        int lo = (int)(center - support + 0.5), hi = (int)(center + support + 0.5);
        lo = lo < 0 ? 0 : lo;
        hi = (hi > in ? in : hi) - lo;
        for (int x = 0; x < hi; x++)
            sum += k[x] = cubic((x + lo - center + 0.5) * ss);
        for (int x = 0; x < *ksize; x++) {
            double v = x < hi && sum != 0 ? k[x] / sum : 0;
            (*w)[(size_t)o * *ksize + x] = (int32_t)(v < 0 ? -0.5 + v * (1 << PIL_BITS) : 0.5 + v * (1 << PIL_BITS));
        }
        (*first)[o] = lo;
        (*taps)[o] = hi;
    }
    free(k);
    return LAB_OK;
}

static uint8_t clip8(int64_t v)
{
    v >>= PIL_BITS;
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* One pass along x (horizontal) or y, from src into dst (allocated). */
static int cubic_pass(const struct ds_image *src, struct ds_image *dst, int horizontal, int size)
{
    int in = horizontal ? src->w : src->h, *first, *taps, ksize;
    int32_t *w;
    int rc = cubic_coeffs(in, size, &first, &taps, &w, &ksize);
    if (rc)
        return rc;
    if ((rc = ds_image_alloc(dst, horizontal ? size : src->w, horizontal ? src->h : size, src->c))) {
        free(first), free(taps), free(w);
        return rc;
    }
    const int c = src->c;
    for (int y = 0; y < dst->h; y++)
        for (int x = 0; x < dst->w; x++) {
            int o = horizontal ? x : y;
            const int32_t *k = w + (size_t)o * ksize;
            for (int ch = 0; ch < c; ch++) {
                int64_t acc = (int64_t)1 << (PIL_BITS - 1);
                for (int t = 0; t < taps[o]; t++) {
                    int sx = horizontal ? first[o] + t : x, sy = horizontal ? y : first[o] + t;
                    acc += (int64_t)src->px[((size_t)sy * src->w + sx) * c + ch] * k[t];
                }
                dst->px[((size_t)y * dst->w + x) * c + ch] = clip8(acc);
            }
        }
    free(first);
    free(taps);
    free(w);
    return LAB_OK;
}

static int resize_bicubic(struct ds_image *im, int w, int h)
{
    struct ds_image tmp;
    int rc = LAB_OK;
    if (w != im->w && !(rc = cubic_pass(im, &tmp, 1, w)))
        replace(im, &tmp);
    if (!rc && h != im->h && !(rc = cubic_pass(im, &tmp, 0, h)))
        replace(im, &tmp);
    return rc;
}

int ds_image_resize(struct ds_image *im, int w, int h, enum ds_resample method)
{
    if (w == im->w && h == im->h)
        return LAB_OK;
    if (method == DS_RESAMPLE_BICUBIC)
        return w > 0 && h > 0 ? resize_bicubic(im, w, h) : lab_err(LAB_EUSAGE, NULL, "bad image size %dx%d", w, h);
    struct ds_image out;
    int rc = ds_image_alloc(&out, w, h, im->c);
    if (rc)
        return rc;
    const double sx = (double)im->w / w, sy = (double)im->h / h;
    const int c = im->c;
    for (int y = 0; y < h; y++) {
        double fy = (y + 0.5) * sy - 0.5;
        for (int x = 0; x < w; x++) {
            double fx = (x + 0.5) * sx - 0.5;
            uint8_t *o = out.px + ((size_t)y * w + x) * c;
            if (method == DS_RESAMPLE_NEAREST) {
                /* torchvision's "nearest": floor of the scaled coordinate */
                int ix = (int)floor(x * sx), iy = (int)floor(y * sy);
                if (ix >= im->w)
                    ix = im->w - 1;
                if (iy >= im->h)
                    iy = im->h - 1;
                memcpy(o, im->px + ((size_t)iy * im->w + ix) * c, c);
                continue;
            }
            if (fx < 0)
                fx = 0;
            if (fy < 0)
                fy = 0;
            int x0 = (int)fx, y0 = (int)fy;
            int x1 = x0 + 1 < im->w ? x0 + 1 : x0, y1 = y0 + 1 < im->h ? y0 + 1 : y0;
            double ax = fx - x0, ay = fy - y0;
            for (int k = 0; k < c; k++) {
                double p00 = im->px[((size_t)y0 * im->w + x0) * c + k], p01 = im->px[((size_t)y0 * im->w + x1) * c + k];
                double p10 = im->px[((size_t)y1 * im->w + x0) * c + k], p11 = im->px[((size_t)y1 * im->w + x1) * c + k];
                double v = (p00 * (1 - ax) + p01 * ax) * (1 - ay) + (p10 * (1 - ax) + p11 * ax) * ay;
                o[k] = (uint8_t)lrint(v < 0 ? 0 : v > 255 ? 255 : v);
            }
        }
    }
    replace(im, &out);
    return LAB_OK;
}

int ds_image_crop(struct ds_image *im, int x, int y, int w, int h, uint8_t fill)
{
    struct ds_image out;
    int rc = ds_image_alloc(&out, w, h, im->c);
    if (rc)
        return rc;
    memset(out.px, fill, (size_t)w * h * im->c);
    for (int r = 0; r < h; r++) {
        int sy = y + r;
        if (sy < 0 || sy >= im->h)
            continue;
        int x0 = x < 0 ? -x : 0, x1 = x + w > im->w ? im->w - x : w;
        if (x1 > x0)
            memcpy(out.px + ((size_t)r * w + x0) * im->c, im->px + ((size_t)sy * im->w + x + x0) * im->c,
                   (size_t)(x1 - x0) * im->c);
    }
    replace(im, &out);
    return LAB_OK;
}

void ds_image_hflip(struct ds_image *im)
{
    const int c = im->c;
    for (int y = 0; y < im->h; y++) {
        uint8_t *row = im->px + (size_t)y * im->w * c;
        for (int a = 0, b = im->w - 1; a < b; a++, b--)
            for (int k = 0; k < c; k++) {
                uint8_t t = row[a * c + k];
                row[a * c + k] = row[b * c + k];
                row[b * c + k] = t;
            }
    }
}

int ds_image_to_rgb(struct ds_image *im)
{
    if (im->c == 3)
        return LAB_OK;
    if (im->c != 1)
        return lab_err(LAB_EINTERNAL, NULL, "cannot convert a %d-channel image to RGB", im->c);
    struct ds_image out;
    int rc = ds_image_alloc(&out, im->w, im->h, 3);
    if (rc)
        return rc;
    for (size_t i = 0; i < (size_t)im->w * im->h; i++)
        out.px[3 * i] = out.px[3 * i + 1] = out.px[3 * i + 2] = im->px[i];
    replace(im, &out);
    return LAB_OK;
}
