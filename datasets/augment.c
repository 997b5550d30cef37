#include "datasets/augment.h"

#include "base/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Boxes: clamp to the image and drop the ones left empty (with their
 * instance masks), so boxes, labels and masks stay aligned. */
static void clamp_boxes(struct ds_sample *s)
{
    int k = 0;
    for (int i = 0; i < s->nobj; i++) {
        float *b = s->boxes[i];
        b[0] = fmaxf(0, fminf(b[0], (float)s->image.w));
        b[2] = fmaxf(0, fminf(b[2], (float)s->image.w));
        b[1] = fmaxf(0, fminf(b[1], (float)s->image.h));
        b[3] = fmaxf(0, fminf(b[3], (float)s->image.h));
        if (b[2] - b[0] < 1e-3f || b[3] - b[1] < 1e-3f) {
            ds_image_free(&s->inst[i]);
            continue;
        }
        if (k != i) {
            memcpy(s->boxes[k], b, sizeof s->boxes[k]);
            s->box_labels[k] = s->box_labels[i];
            s->inst[k] = s->inst[i];
            memset(&s->inst[i], 0, sizeof s->inst[i]);
        }
        k++;
    }
    s->nobj = k;
}

int ds_aug_crop(struct ds_sample *s, int x, int y, int w, int h, uint8_t mask_fill)
{
    int rc = ds_image_crop(&s->image, x, y, w, h, 0);
    if (!rc && s->mask.px)
        rc = ds_image_crop(&s->mask, x, y, w, h, mask_fill);
    for (int i = 0; i < s->nobj && !rc; i++) {
        if (s->inst[i].px)
            rc = ds_image_crop(&s->inst[i], x, y, w, h, 0);
        s->boxes[i][0] -= x, s->boxes[i][2] -= x;
        s->boxes[i][1] -= y, s->boxes[i][3] -= y;
    }
    if (!rc)
        clamp_boxes(s);
    return rc;
}

int ds_aug_resize(struct ds_sample *s, int w, int h, enum ds_resample method)
{
    float fx = (float)w / s->image.w, fy = (float)h / s->image.h;
    int rc = ds_image_resize(&s->image, w, h, method);
    if (!rc && s->mask.px)
        rc = ds_image_resize(&s->mask, w, h, DS_RESAMPLE_NEAREST);
    for (int i = 0; i < s->nobj && !rc; i++) {
        if (s->inst[i].px)
            rc = ds_image_resize(&s->inst[i], w, h, DS_RESAMPLE_NEAREST);
        s->boxes[i][0] *= fx, s->boxes[i][2] *= fx;
        s->boxes[i][1] *= fy, s->boxes[i][3] *= fy;
    }
    if (!rc)
        clamp_boxes(s);
    return rc;
}

void ds_aug_hflip(struct ds_sample *s)
{
    ds_image_hflip(&s->image);
    if (s->mask.px)
        ds_image_hflip(&s->mask);
    for (int i = 0; i < s->nobj; i++) {
        if (s->inst[i].px)
            ds_image_hflip(&s->inst[i]);
        float x1 = s->boxes[i][0], x2 = s->boxes[i][2];
        s->boxes[i][0] = (float)s->image.w - x2;
        s->boxes[i][2] = (float)s->image.w - x1;
    }
}

static uint8_t clamp8(double v) { return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : lrint(v)); }

static double gray_of(const uint8_t *p, int c)
{
    return c == 3 ? 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2] : p[0];
}

static void blend_with_gray(struct ds_image *im, double factor, int use_mean)
{
    size_t n = (size_t)im->w * im->h;
    double mean = 0;
    if (use_mean) {
        for (size_t i = 0; i < n; i++)
            mean += floor(gray_of(im->px + i * im->c, im->c) + 0.5);
        mean /= (double)n;
    }
    for (size_t i = 0; i < n; i++) {
        uint8_t *p = im->px + i * im->c;
        double g = use_mean ? mean : gray_of(p, im->c);
        for (int k = 0; k < im->c; k++)
            p[k] = clamp8(factor * p[k] + (1 - factor) * g);
    }
}

static void shift_hue(struct ds_image *im, double h)
{
    if (im->c != 3)
        return;
    for (size_t i = 0; i < (size_t)im->w * im->h; i++) {
        uint8_t *p = im->px + 3 * i;
        double r = p[0] / 255.0, g = p[1] / 255.0, b = p[2] / 255.0;
        double mx = fmax(r, fmax(g, b)), mn = fmin(r, fmin(g, b)), d = mx - mn, hue = 0;
        if (d > 0) {
            if (mx == r)
                hue = fmod((g - b) / d, 6.0);
            else if (mx == g)
                hue = (b - r) / d + 2;
            else
                hue = (r - g) / d + 4;
            hue /= 6.0;
        }
        hue = fmod(hue + h + 1.0, 1.0);
        double sat = mx > 0 ? d / mx : 0, v = mx;
        double hh = hue * 6, f = hh - floor(hh);
        double pp = v * (1 - sat), q = v * (1 - sat * f), t = v * (1 - sat * (1 - f));
        double rgb[6][3] = {{v, t, pp}, {q, v, pp}, {pp, v, t}, {pp, q, v}, {t, pp, v}, {v, pp, q}};
        int sector = (int)floor(hh) % 6;
        for (int k = 0; k < 3; k++)
            p[k] = clamp8(rgb[sector][k] * 255.0);
    }
}

void ds_aug_color_jitter(struct ds_image *im, const float j[4], struct ds_rng *r)
{
    /* torchvision draws a random order of the four, then each factor. */
    int order[4] = {0, 1, 2, 3};
    for (int i = 3; i > 0; i--) {
        int k = (int)ds_rng_below(r, (uint64_t)i + 1), t = order[i];
        order[i] = order[k], order[k] = t;
    }
    for (int i = 0; i < 4; i++) {
        int op = order[i];
        if (j[op] <= 0)
            continue;
        if (op == 3) {
            shift_hue(im, ds_rng_range(r, -j[3], j[3]));
            continue;
        }
        double f = ds_rng_range(r, fmax(0, 1 - j[op]), 1 + j[op]);
        if (op == 0) {
            for (size_t k = 0; k < (size_t)im->w * im->h * im->c; k++)
                im->px[k] = clamp8(im->px[k] * f);
        } else {
            blend_with_gray(im, f, op == 1);
        }
    }
}

/* ---- RandAugment (torchvision's op set and magnitude table) ---- */

/* Inverse-maps every output pixel through the 2x3 matrix m (output -> input),
 * nearest neighbour, fill 0 (masks: their fill). */
static int affine(struct ds_image *im, const double m[6], uint8_t fill)
{
    struct ds_image out;
    int rc = ds_image_alloc(&out, im->w, im->h, im->c);
    if (rc)
        return rc;
    memset(out.px, fill, (size_t)im->w * im->h * im->c);
    for (int y = 0; y < im->h; y++)
        for (int x = 0; x < im->w; x++) {
            double sx = m[0] * (x + 0.5) + m[1] * (y + 0.5) + m[2], sy = m[3] * (x + 0.5) + m[4] * (y + 0.5) + m[5];
            int ix = (int)floor(sx), iy = (int)floor(sy);
            if (ix < 0 || iy < 0 || ix >= im->w || iy >= im->h)
                continue;
            memcpy(out.px + ((size_t)y * im->w + x) * im->c, im->px + ((size_t)iy * im->w + ix) * im->c, im->c);
        }
    free(im->px);
    *im = out;
    return LAB_OK;
}

/* After a shear or rotation a box is no longer the image of a box: it is
 * recomputed from the instance mask, the only exact source. */
static void boxes_from_instances(struct ds_sample *s)
{
    for (int i = 0; i < s->nobj; i++) {
        const struct ds_image *m = &s->inst[i];
        int x1 = m->w, y1 = m->h, x2 = -1, y2 = -1;
        for (int y = 0; y < m->h; y++)
            for (int x = 0; x < m->w; x++)
                if (m->px[(size_t)y * m->w + x])
                    x1 = x < x1 ? x : x1, x2 = x > x2 ? x : x2, y1 = y < y1 ? y : y1, y2 = y > y2 ? y : y2;
        if (x2 < 0) {
            s->boxes[i][0] = s->boxes[i][1] = s->boxes[i][2] = s->boxes[i][3] = 0;
        } else {
            s->boxes[i][0] = (float)x1, s->boxes[i][1] = (float)y1;
            s->boxes[i][2] = (float)(x2 + 1), s->boxes[i][3] = (float)(y2 + 1);
        }
    }
    clamp_boxes(s); /* drops the ones that left the image */
}

static int affine_sample(struct ds_sample *s, const double m[6])
{
    int rc = affine(&s->image, m, 0);
    if (!rc && s->mask.px)
        rc = affine(&s->mask, m, 0);
    for (int i = 0; i < s->nobj && !rc; i++)
        if (s->inst[i].px)
            rc = affine(&s->inst[i], m, 0);
    if (!rc && s->nobj > 0)
        boxes_from_instances(s);
    return rc;
}

static void autocontrast(struct ds_image *im)
{
    for (int k = 0; k < im->c; k++) {
        int lo = 255, hi = 0;
        for (size_t i = 0; i < (size_t)im->w * im->h; i++) {
            int v = im->px[i * im->c + k];
            lo = v < lo ? v : lo, hi = v > hi ? v : hi;
        }
        if (hi <= lo)
            continue;
        for (size_t i = 0; i < (size_t)im->w * im->h; i++)
            im->px[i * im->c + k] = clamp8((im->px[i * im->c + k] - lo) * 255.0 / (hi - lo));
    }
}

static void equalize(struct ds_image *im)
{
    size_t n = (size_t)im->w * im->h;
    for (int k = 0; k < im->c; k++) {
        size_t hist[256] = {0};
        for (size_t i = 0; i < n; i++)
            hist[im->px[i * im->c + k]]++;
        /* PIL: step from all but the last non-zero bin */
        int last = 255;
        while (last > 0 && hist[last] == 0)
            last--;
        size_t step = (n - hist[last]) / 255;
        if (step == 0)
            continue;
        uint8_t lut[256];
        size_t acc = step / 2;
        for (int v = 0; v < 256; v++) {
            size_t o = acc / step;
            lut[v] = (uint8_t)(o > 255 ? 255 : o);
            acc += hist[v];
        }
        for (size_t i = 0; i < n; i++)
            im->px[i * im->c + k] = lut[im->px[i * im->c + k]];
    }
}

static int sharpness(struct ds_image *im, double f)
{
    struct ds_image blur;
    int rc = ds_image_copy(&blur, im);
    if (rc)
        return rc;
    const int c = im->c, w = im->w;
    for (int y = 1; y < im->h - 1; y++)
        for (int x = 1; x < w - 1; x++)
            for (int k = 0; k < c; k++) {
                int sum = 0;
                for (int dy = -1; dy <= 1; dy++)
                    for (int dx = -1; dx <= 1; dx++)
                        sum += im->px[((size_t)(y + dy) * w + x + dx) * c + k] * (dx == 0 && dy == 0 ? 5 : 1);
                blur.px[((size_t)y * w + x) * c + k] = clamp8(sum / 13.0);
            }
    for (size_t i = 0; i < (size_t)w * im->h * c; i++)
        im->px[i] = clamp8(f * im->px[i] + (1 - f) * blur.px[i]);
    ds_image_free(&blur);
    return LAB_OK;
}

int ds_aug_randaugment(struct ds_sample *s, int n, int m, struct ds_rng *r)
{
    if (m < 0 || m > 30)
        return lab_err(LAB_EUSAGE, "use a magnitude 0..30", "RandAugment magnitude %d is out of range", m);
    for (int i = 0; i < s->nobj; i++)
        if (!s->inst[i].px)
            return lab_err(LAB_EUSAGE, "use RandAugment on classification data, or give instance masks",
                           "RandAugment's geometric ops need instance masks to move boxes");
    const double frac = m / 30.0;
    struct ds_image *im = &s->image;
    for (int step = 0; step < n; step++) {
        int op = (int)ds_rng_below(r, 14);
        double sign = ds_rng_below(r, 2) ? -1.0 : 1.0;
        double cx = im->w / 2.0, cy = im->h / 2.0;
        int rc = LAB_OK;
        switch (op) {
        case 0: /* Identity */
            break;
        case 1: /* ShearX */
        case 2: { /* ShearY */
            double sh = sign * 0.3 * frac;
            double mx[6] = {1, op == 1 ? sh : 0, op == 1 ? -sh * cy : 0, op == 2 ? sh : 0, 1, op == 2 ? -sh * cx : 0};
            rc = affine_sample(s, mx);
            break;
        }
        case 3: /* TranslateX */
        case 4: { /* TranslateY */
            double t = sign * 150.0 / 331.0 * (op == 3 ? im->w : im->h) * frac;
            double mx[6] = {1, 0, op == 3 ? -t : 0, 0, 1, op == 4 ? -t : 0};
            rc = affine_sample(s, mx);
            break;
        }
        case 5: { /* Rotate */
            double a = sign * 30.0 * frac * M_PI / 180.0, ca = cos(a), sa = sin(a);
            double mx[6] = {ca, -sa, cx - ca * cx + sa * cy, sa, ca, cy - sa * cx - ca * cy};
            rc = affine_sample(s, mx);
            break;
        }
        case 6: /* Brightness */
        {
            double f = 1 + sign * 0.9 * frac;
            for (size_t i = 0; i < (size_t)im->w * im->h * im->c; i++)
                im->px[i] = clamp8(im->px[i] * f);
            break;
        }
        case 7: /* Color (saturation) */
            blend_with_gray(im, 1 + sign * 0.9 * frac, 0);
            break;
        case 8: /* Contrast */
            blend_with_gray(im, 1 + sign * 0.9 * frac, 1);
            break;
        case 9: /* Sharpness */
            rc = sharpness(im, 1 + sign * 0.9 * frac);
            break;
        case 10: { /* Posterize: 8 - round(m / 7.5) bits */
            int bits = 8 - (int)lround(m / 7.5);
            uint8_t keep = (uint8_t)(0xFF << (8 - bits));
            for (size_t i = 0; i < (size_t)im->w * im->h * im->c; i++)
                im->px[i] &= keep;
            break;
        }
        case 11: { /* Solarize */
            double th = 255.0 * (1 - frac);
            for (size_t i = 0; i < (size_t)im->w * im->h * im->c; i++)
                if (im->px[i] >= th)
                    im->px[i] = (uint8_t)(255 - im->px[i]);
            break;
        }
        case 12:
            autocontrast(im);
            break;
        default:
            equalize(im);
            break;
        }
        if (rc)
            return rc;
    }
    return LAB_OK;
}

void ds_aug_random_erasing(float *chw, int c, int h, int w, float p, struct ds_rng *r)
{
    if (p <= 0 || ds_rng_uniform(r) >= p)
        return;
    const double area = (double)h * w, lr0 = log(0.3), lr1 = log(3.3);
    for (int attempt = 0; attempt < 10; attempt++) {
        double ea = area * ds_rng_range(r, 0.02, 0.33), ar = exp(ds_rng_range(r, lr0, lr1));
        int eh = (int)lround(sqrt(ea * ar)), ew = (int)lround(sqrt(ea / ar));
        if (eh >= h || ew >= w || eh < 1 || ew < 1)
            continue;
        int y0 = (int)ds_rng_below(r, (uint64_t)(h - eh + 1)), x0 = (int)ds_rng_below(r, (uint64_t)(w - ew + 1));
        for (int k = 0; k < c; k++)
            for (int y = y0; y < y0 + eh; y++)
                memset(chw + ((size_t)k * h + y) * w + x0, 0, (size_t)ew * sizeof *chw);
        return;
    }
}

static int random_resized_crop(const struct ds_augment *a, struct ds_sample *s, struct ds_rng *r)
{
    const int W = s->image.w, H = s->image.h;
    double s0 = a->rrc_scale[1] > 0 ? a->rrc_scale[0] : 0.08, s1 = a->rrc_scale[1] > 0 ? a->rrc_scale[1] : 1.0;
    double r0 = a->rrc_ratio[1] > 0 ? a->rrc_ratio[0] : 3.0 / 4, r1 = a->rrc_ratio[1] > 0 ? a->rrc_ratio[1] : 4.0 / 3;
    int x = 0, y = 0, w = W, h = H, found = 0;
    for (int attempt = 0; attempt < 10 && !found; attempt++) {
        double ta = (double)W * H * ds_rng_range(r, s0, s1), ar = exp(ds_rng_range(r, log(r0), log(r1)));
        w = (int)lround(sqrt(ta * ar)), h = (int)lround(sqrt(ta / ar));
        if (w > 0 && h > 0 && w <= W && h <= H) {
            y = (int)ds_rng_below(r, (uint64_t)(H - h + 1));
            x = (int)ds_rng_below(r, (uint64_t)(W - w + 1));
            found = 1;
        }
    }
    if (!found) { /* torchvision's fallback: the centre crop at the clamped ratio */
        double ratio = (double)W / H;
        if (ratio < r0)
            w = W, h = (int)lround(w / r0);
        else if (ratio > r1)
            h = H, w = (int)lround(h * r1);
        else
            w = W, h = H;
        x = (W - w) / 2, y = (H - h) / 2;
    }
    int rc = ds_aug_crop(s, x, y, w, h, a->mask_fill);
    return rc ? rc : ds_aug_resize(s, a->rrc_size, a->rrc_size, a->resample);
}

int ds_augment_sample(const struct ds_augment *a, struct ds_sample *s, struct ds_rng *r)
{
    int rc = LAB_OK;
    if (a->pad > 0)
        rc = ds_aug_crop(s, -a->pad, -a->pad, s->image.w + 2 * a->pad, s->image.h + 2 * a->pad, a->mask_fill);
    if (!rc && a->resize_w > 0 && a->resize_h > 0)
        rc = ds_aug_resize(s, a->resize_w, a->resize_h, a->resample);
    if (!rc && a->resize_short > 0) {
        int w = s->image.w, h = s->image.h;
        int nw = w <= h ? a->resize_short : (int)((long)a->resize_short * w / h);
        int nh = h <= w ? a->resize_short : (int)((long)a->resize_short * h / w);
        rc = ds_aug_resize(s, nw, nh, a->resample);
    }
    if (!rc && a->rrc_size > 0)
        rc = random_resized_crop(a, s, r);
    if (!rc && a->center_crop > 0) {
        int cs = a->center_crop;
        rc = ds_aug_crop(s, (int)lround((s->image.w - cs) / 2.0), (int)lround((s->image.h - cs) / 2.0), cs, cs,
                         a->mask_fill);
    }
    if (!rc && a->crop_size > 0) {
        int p = a->crop_padding, cs = a->crop_size;
        int maxx = s->image.w + 2 * p - cs, maxy = s->image.h + 2 * p - cs;
        if (maxx < 0 || maxy < 0)
            return lab_err(LAB_EUSAGE, "use a smaller crop size", "random crop %d is larger than the padded image",
                           cs);
        /* torchvision draws the row first, then the column */
        int y = (int)ds_rng_below(r, (uint64_t)maxy + 1) - p;
        int x = (int)ds_rng_below(r, (uint64_t)maxx + 1) - p;
        rc = ds_aug_crop(s, x, y, cs, cs, a->mask_fill);
    }
    if (!rc && a->hflip_p > 0 && ds_rng_uniform(r) < a->hflip_p)
        ds_aug_hflip(s);
    if (!rc && a->randaug_n > 0)
        rc = ds_aug_randaugment(s, a->randaug_n, a->randaug_m, r);
    if (!rc && (a->jitter[0] > 0 || a->jitter[1] > 0 || a->jitter[2] > 0 || a->jitter[3] > 0))
        ds_aug_color_jitter(&s->image, a->jitter, r);
    if (!rc && a->to_rgb)
        rc = ds_image_to_rgb(&s->image);
    return rc;
}

void ds_augment_to_chw(const struct ds_augment *a, const struct ds_image *im, float *dst, struct ds_rng *r)
{
    const int c = im->c, hw = im->w * im->h;
    for (int k = 0; k < c; k++) {
        float mean = a->normalize ? a->mean[k < 3 ? k : 0] : 0.f;
        float inv = a->normalize ? 1.f / a->std[k < 3 ? k : 0] : 1.f;
        for (int i = 0; i < hw; i++)
            dst[(size_t)k * hw + i] = (im->px[(size_t)i * c + k] / 255.f - mean) * inv;
    }
    ds_aug_random_erasing(dst, c, im->h, im->w, a->erase_p, r);
}

static int get_floats(const json_t *arr, float *out, int n, const char *key)
{
    if (!json_is_array(arr) || (int)json_array_size(arr) < 1 || (int)json_array_size(arr) > n)
        return lab_err(LAB_EUSAGE, "give 1 to 3 numbers", "\"%s\" must be an array of numbers", key);
    for (int i = 0; i < n; i++) {
        const json_t *v = json_array_get(arr, (size_t)i < json_array_size(arr) ? (size_t)i : 0);
        if (!json_is_number(v))
            return lab_err(LAB_EUSAGE, NULL, "\"%s\" must hold numbers", key);
        out[i] = (float)json_number_value(v);
    }
    return LAB_OK;
}

int ds_augment_from_json(const json_t *data, struct ds_augment *a)
{
    memset(a, 0, sizeof *a);
    a->resample = DS_RESAMPLE_BILINEAR;
    const json_t *norm = json_object_get(data, "normalize");
    int rc;
    if (norm) {
        if ((rc = get_floats(json_object_get(norm, "mean"), a->mean, 3, "normalize.mean")) ||
            (rc = get_floats(json_object_get(norm, "std"), a->std, 3, "normalize.std")))
            return rc;
        for (int i = 0; i < 3; i++)
            if (a->std[i] <= 0)
                return lab_err(LAB_EUSAGE, "use a positive std", "normalize.std must be > 0");
        a->normalize = 1;
    }
    if (json_is_integer(json_object_get(data, "pad")))
        a->pad = (int)json_integer_value(json_object_get(data, "pad"));
    if (json_is_true(json_object_get(data, "to_rgb")))
        a->to_rgb = 1;
    if (json_is_integer(json_object_get(data, "resize")))
        a->resize_short = (int)json_integer_value(json_object_get(data, "resize"));
    const json_t *aug = json_object_get(data, "augment");
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)aug, key, v)
    {
        if (strcmp(key, "random_crop_padding") == 0) {
            a->crop_padding = (int)json_integer_value(v);
            a->crop_size = -1; /* the image size, filled in below */
        } else if (strcmp(key, "hflip") == 0) {
            a->hflip_p = json_is_true(v) ? 0.5f : json_is_number(v) ? (float)json_number_value(v) : 0.f;
        } else if (strcmp(key, "random_resized_crop") == 0) {
            a->rrc_size = (int)json_integer_value(v);
        } else if (strcmp(key, "center_crop") == 0) {
            a->center_crop = (int)json_integer_value(v);
        } else if (strcmp(key, "color_jitter") == 0) {
            if (!json_is_array(v) || json_array_size(v) > 4)
                return lab_err(LAB_EUSAGE, "give [brightness, contrast, saturation, hue]",
                               "\"color_jitter\" must be an array of up to 4 numbers");
            for (size_t i = 0; i < json_array_size(v); i++)
                a->jitter[i] = (float)json_number_value(json_array_get(v, i));
        } else if (strcmp(key, "randaugment") == 0) {
            a->randaug_n = (int)json_integer_value(json_array_get(v, 0));
            a->randaug_m = (int)json_integer_value(json_array_get(v, 1));
        } else if (strcmp(key, "random_erasing") == 0) {
            a->erase_p = (float)json_number_value(v);
        } else if (strcmp(key, "resample") == 0) {
            if ((rc = ds_resample_parse(json_string_value(v) ? json_string_value(v) : "", &a->resample)))
                return rc;
        } else if (strcmp(key, "mixup") == 0) {
            return lab_err(LAB_EUSAGE, "set train.mixup instead (--set train.mixup=0.2): mixup mixes whole batches",
                           "mixup is not a per-image augmentation");
        } else {
            return lab_err(LAB_EUSAGE,
                           "known keys: random_crop_padding, hflip, random_resized_crop, center_crop, color_jitter, "
                           "randaugment, random_erasing, resample",
                           "unknown augmentation '%s'", key);
        }
    }
    if (a->crop_size < 0) {
        const json_t *size = json_object_get(data, "input_size");
        a->crop_size = size ? (int)json_integer_value(json_array_get(size, 2)) : 32;
    }
    return LAB_OK;
}
