/* Pillow's separable resampling (libImaging/Resample.c) restated: per output
 * pixel a window of input pixels weighted by the triangle filter, the
 * weights normalised in double, then turned into 22-bit fixed point, each
 * pass rounding back to 8 bits. */
#include "labs/2.2.6-segment-anything/resize.h"

#include "base/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PREC 22

void sam_preprocess_shape(int h, int w, int target, int *new_h, int *new_w)
{
    double scale = (double)target / (double)(h > w ? h : w);
    *new_h = (int)((double)h * scale + 0.5);
    *new_w = (int)((double)w * scale + 0.5);
}

static double triangle(double x)
{
    if (x < 0)
        x = -x;
    return x < 1.0 ? 1.0 - x : 0.0;
}

/* bounds[2*i] = first input index, bounds[2*i+1] = count; k: ksize per output */
static int coeffs(int in_size, int out_size, int **bounds, int32_t **kk, int *ksize_out)
{
    double scale = (double)in_size / out_size, filterscale = scale < 1.0 ? 1.0 : scale;
    double support = 1.0 * filterscale;
    int ksize = (int)ceil(support) * 2 + 1;
    double *k = malloc(sizeof *k * (size_t)ksize);
    *bounds = malloc(sizeof **bounds * 2 * (size_t)out_size);
    *kk = calloc((size_t)out_size * (size_t)ksize, sizeof **kk);
    if (!k || !*bounds || !*kk) {
        free(k);
        free(*bounds);
        free(*kk);
        return lab_err(LAB_EINTERNAL, NULL, "no memory to resize %d -> %d pixels", in_size, out_size);
    }
    for (int xx = 0; xx < out_size; xx++) {
        double center = (xx + 0.5) * scale, ww = 0.0, ss = 1.0 / filterscale;
        int xmin = (int)(center - support + 0.5), xmax = (int)(center + support + 0.5);
        if (xmin < 0)
            xmin = 0;
        if (xmax > in_size)
            xmax = in_size;
        xmax -= xmin;
        for (int x = 0; x < xmax; x++) {
            double w = triangle((x + xmin - center + 0.5) * ss);
            k[x] = w;
            ww += w;
        }
        for (int x = 0; x < xmax; x++) {
            double v = ww != 0.0 ? k[x] / ww : k[x];
            (*kk)[xx * ksize + x] = (int32_t)(v < 0 ? -0.5 + v * (1 << PREC) : 0.5 + v * (1 << PREC));
        }
        (*bounds)[xx * 2] = xmin;
        (*bounds)[xx * 2 + 1] = xmax;
    }
    free(k);
    *ksize_out = ksize;
    return LAB_OK;
}

static uint8_t clip8(int64_t v)
{
    if (v >= ((int64_t)1 << PREC << 8))
        return 255;
    if (v <= 0)
        return 0;
    return (uint8_t)(v >> PREC);
}

/* One pass along x (horizontal) or y of src (sw x sh x c) into dst. */
static int pass(const uint8_t *src, int sw, int sh, int c, int horizontal, int out_size, uint8_t *dst)
{
    int *bounds = NULL, ksize = 0;
    int32_t *kk = NULL;
    int rc = coeffs(horizontal ? sw : sh, out_size, &bounds, &kk, &ksize);
    if (rc)
        return rc;
    int dw = horizontal ? out_size : sw, dh = horizontal ? sh : out_size;
    for (int y = 0; y < dh; y++)
        for (int x = 0; x < dw; x++) {
            int o = horizontal ? x : y, first = bounds[o * 2], n = bounds[o * 2 + 1];
            const int32_t *k = kk + o * ksize;
            for (int ch = 0; ch < c; ch++) {
                int64_t ss = (int64_t)1 << (PREC - 1);
                for (int i = 0; i < n; i++) {
                    int sx = horizontal ? first + i : x, sy = horizontal ? y : first + i;
                    ss += (int64_t)src[((size_t)sy * sw + sx) * c + ch] * k[i];
                }
                dst[((size_t)y * dw + x) * c + ch] = clip8(ss);
            }
        }
    free(bounds);
    free(kk);
    return LAB_OK;
}

int sam_pil_resize_bilinear(const struct ds_image *in, int w, int h, struct ds_image *out)
{
    if (w < 1 || h < 1 || in->w < 1 || in->h < 1)
        return lab_err(LAB_EUSAGE, NULL, "cannot resize a %dx%d image to %dx%d", in->w, in->h, w, h);
    struct ds_image mid = {0};
    int rc = ds_image_alloc(&mid, w, in->h, in->c);
    if (rc)
        return rc;
    rc = in->w == w ? (memcpy(mid.px, in->px, (size_t)w * in->h * in->c), LAB_OK)
                        : pass(in->px, in->w, in->h, in->c, 1, w, mid.px);
    if (!rc)
        rc = ds_image_alloc(out, w, h, in->c);
    if (!rc) {
        if (in->h == h)
            memcpy(out->px, mid.px, (size_t)w * h * in->c);
        else
            rc = pass(mid.px, w, in->h, in->c, 0, h, out->px);
    }
    ds_image_free(&mid);
    return rc;
}
