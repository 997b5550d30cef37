#include "grader/checks.h"

#include "grader/tensors.h"

#include "base/error.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum check_status check_set(struct check_out *o, enum check_status s, const char *kb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->message, sizeof o->message, fmt, ap);
    va_end(ap);
    o->status = s;
    o->uncounted = 0;
    o->kb = s == CHECK_PASS || s == CHECK_SKIPPED ? NULL : kb;
    return s;
}

enum check_status check_logits_shape(int is_float, const char *dtype, const int64_t *shape, int ndim, int64_t n,
                        int64_t classes, struct check_out *o)
{
    const char *kb = "TS-LOGITS-SHAPE";
    char got[160], want[64];
    gt_shape_str(shape, ndim, got, sizeof got);
    if (n >= 0)
        snprintf(want, sizeof want, "[%lld, %lld]", (long long)n, (long long)classes);
    else
        snprintf(want, sizeof want, "[N, %lld]", (long long)classes);
    if (!is_float)
        return check_set(o, CHECK_FAIL, kb, "logits have dtype %s; expected floating point %s", dtype, want);
    if (ndim == 2 && shape[1] == classes && (n < 0 || shape[0] == n) && shape[0] > 0)
        return check_set(o, CHECK_PASS, NULL, "logits %s %s", got, dtype);
    if (ndim == 2 && shape[0] == classes && (n < 0 ? shape[1] != classes : shape[1] == n))
        return check_set(o, CHECK_FAIL, kb, "logits are %s: transposed, expected %s (collect with torch.cat(..., dim=0))",
                         got, want);
    if (ndim == 1 && n > 0 && shape[0] == n * classes)
        return check_set(o, CHECK_FAIL, kb, "logits are %s: flattened, expected %s", got, want);
    if (ndim == 2 && shape[1] == classes && n >= 0)
        return check_set(o, CHECK_FAIL, kb, "logits are %s: predictions for %lld images, expected %lld (the eval images of the lab's mode)",
                         got, (long long)shape[0], (long long)n);
    return check_set(o, CHECK_FAIL, kb, "logits are %s, expected %s", got, want);
}

enum check_status check_labels_range(const int64_t *labels, size_t n, int64_t classes, struct check_out *o)
{
    for (size_t i = 0; i < n; i++)
        if (labels[i] < 0 || labels[i] >= classes)
            return check_set(o, CHECK_FAIL, "TS-DEVICE-ASSERT-LABELS",
                             "label %lld at position %zu is outside [0, %lld)", (long long)labels[i], i,
                             (long long)classes);
    return check_set(o, CHECK_PASS, NULL, "%zu labels in [0, %lld)", n, (long long)classes);
}

enum check_status check_finite(const float *v, size_t n, struct check_out *o)
{
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]) && bad++ == 0)
            first = i;
    if (bad)
        return check_set(o, CHECK_FAIL, "TS-NAN-LOGITS", "%zu of %zu values are NaN or Inf (first at flat index %zu: %g)",
                         bad, n, first, (double)v[first]);
    return check_set(o, CHECK_PASS, NULL, "all %zu values finite", n);
}

int64_t logits_argmax(const float *row, size_t classes)
{
    size_t best = 0;
    for (size_t j = 1; j < classes; j++)
        if (row[j] > row[best] || (isnan(row[j]) && !isnan(row[best])))
            best = j;
    return (int64_t)best;
}

enum check_status check_not_constant(const float *logits, size_t n, size_t classes, struct check_out *o)
{
    const char *kb = "TS-CONSTANT-LOGITS";
    if (n == 0 || classes == 0)
        return check_set(o, CHECK_FAIL, kb, "no logits");
    int same = 1;
    for (size_t i = 1; same && i < n; i++)
        for (size_t j = 0; same && j < classes; j++) {
            float a = logits[j], b = logits[i * classes + j];
            same = fabsf(a - b) <= 1e-6f * fmaxf(1.0f, fabsf(a));
        }
    if (same && n > 1)
        return check_set(o, CHECK_FAIL, kb, "all %zu rows of logits are the same: the output ignores the input", n);
    int64_t first = logits_argmax(logits, classes);
    size_t other = 0;
    for (size_t i = 1; i < n; i++)
        other += logits_argmax(logits + i * classes, classes) != first;
    if (!other && n >= 2 * classes)
        return check_set(o, CHECK_FAIL, kb, "every one of %zu images is predicted as class %lld", n, (long long)first);
    return check_set(o, CHECK_PASS, NULL, "logits vary between images; %zu of %zu predictions differ from the first", other,
              n);
}

enum check_status check_masks_shape(const int64_t *shape, int ndim, int64_t n, int64_t h, int64_t w, struct check_out *o)
{
    char got[160];
    gt_shape_str(shape, ndim, got, sizeof got);
    if (ndim == 3 && shape[0] == n && shape[1] == h && shape[2] == w)
        return check_set(o, CHECK_PASS, NULL, "masks %s", got);
    if (ndim == 3 && shape[0] == n && h != w && shape[1] == w && shape[2] == h)
        return check_set(o, CHECK_FAIL, "TS-WIDTH-HEIGHT-SWAP",
                         "masks are %s for %lldx%lld (HxW) inputs: width and height swapped, expected [%lld, %lld, %lld]",
                         got, (long long)h, (long long)w, (long long)n, (long long)h, (long long)w);
    return check_set(o, CHECK_FAIL, "TS-UNET-SHAPE", "masks are %s, expected [%lld, %lld, %lld] (the input's height and width)",
              got, (long long)n, (long long)h, (long long)w);
}

enum check_status check_boxes_xyxy(const float *boxes, size_t n, double w, double h, struct check_out *o)
{
    const double tol = 1.0;
    size_t bad = 0, first = 0, fits_xywh = 0;
    for (size_t i = 0; i < n; i++) {
        const float *b = boxes + 4 * i;
        int ok = isfinite(b[0]) && isfinite(b[1]) && isfinite(b[2]) && isfinite(b[3]) && b[0] >= -tol &&
                 b[1] >= -tol && b[2] <= w + tol && b[3] <= h + tol && b[0] <= b[2] && b[1] <= b[3];
        if (!ok) {
            if (bad++ == 0)
                first = i;
            fits_xywh += b[0] >= -tol && b[1] >= -tol && b[2] >= 0 && b[3] >= 0 && b[0] + b[2] <= w + tol &&
                         b[1] + b[3] <= h + tol;
        }
    }
    if (!bad)
        return check_set(o, CHECK_PASS, NULL, "%zu boxes are [x1, y1, x2, y2] inside the %gx%g image", n, w, h);
    const float *b = boxes + 4 * first;
    return check_set(o, CHECK_FAIL, "TS-CONVERT-OUTPUT-FORMAT",
              "%zu of %zu boxes are not [x1, y1, x2, y2] inside the %gx%g image (box %zu: [%g, %g, %g, %g])%s", bad, n,
              w, h, first, (double)b[0], (double)b[1], (double)b[2], (double)b[3],
              fits_xywh == bad ? "; they fit as [x, y, width, height]: convert to corners" : "");
}

void input_stats_compute(const float *px, int64_t b, int64_t c, int64_t h, int64_t w, struct input_stats *s)
{
    memset(s, 0, sizeof *s);
    s->min = INFINITY;
    s->max = -INFINITY;
    s->channels = c > 4 ? 4 : (int)c;
    int64_t plane = h * w;
    for (int ch = 0; ch < s->channels; ch++) {
        double sum = 0, sq = 0;
        int64_t cnt = 0;
        for (int64_t i = 0; i < b; i++) {
            const float *p = px + (i * c + ch) * plane;
            for (int64_t k = 0; k < plane; k++) {
                double v = p[k];
                if (!isfinite(v))
                    continue;
                sum += v, sq += v * v, cnt++;
                if (v < s->min)
                    s->min = v;
                if (v > s->max)
                    s->max = v;
            }
        }
        s->mean[ch] = cnt ? sum / (double)cnt : 0;
        double var = cnt ? sq / (double)cnt - s->mean[ch] * s->mean[ch] : 0;
        s->std[ch] = var > 0 ? sqrt(var) : 0;
    }
}

static void stats_str(const struct input_stats *s, char *buf, size_t cap)
{
    size_t len = (size_t)snprintf(buf, cap, "range [%.3g, %.3g], mean/std per channel", s->min, s->max);
    for (int c = 0; c < s->channels && len < cap; c++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%.3f/%.3f", c ? ", " : " ", s->mean[c], s->std[c]);
}

enum check_status check_input_stats(const struct input_stats *s, struct check_out *o)
{
    char ev[400];
    stats_str(s, ev, sizeof ev);
    if (s->channels == 0 || !isfinite(s->min))
        return check_set(o, CHECK_FAIL, "TS-PIXEL-TENSOR-RANK", "no finite pixel values in the batch");
    if (s->min >= -0.5 && s->max > 2.0 && s->max <= 255.5)
        return check_set(o, CHECK_FAIL, "TS-RAW-PIXELS",
                         "inputs look like raw 0-255 pixels (%s); expected normalized values around 0", ev);
    if (s->min >= 0 && s->max <= 1.0)
        return check_set(o, CHECK_FAIL, "TS-NORMALIZE-MISSING",
                         "inputs lie in [0, 1] (%s): scaled but never normalized with the dataset's mean/std", ev);
    for (int c = 0; c < s->channels; c++)
        if (fabs(s->mean[c]) > 0.6 || s->std[c] < 0.5 || s->std[c] > 2.0)
            return check_set(o, CHECK_FAIL, "TS-NORM-MISMATCH",
                             "channel %d has mean %.3f, std %.3f (%s); normalized inputs have mean near 0 and std "
                             "near 1 (|mean| <= 0.6, std in [0.5, 2])",
                             c, s->mean[c], s->std[c], ev);
    return check_set(o, CHECK_PASS, NULL, "inputs normalized: %s", ev);
}

static int read_vec(const json_t *a, double *out, int n)
{
    if (!json_is_array(a) || (int)json_array_size(a) != n)
        return -1;
    for (int i = 0; i < n; i++) {
        const json_t *v = json_array_get(a, (size_t)i);
        if (!json_is_number(v))
            return -1;
        out[i] = json_number_value(v);
    }
    return 0;
}

static void vec_str(const double *v, int n, char *buf, size_t cap)
{
    size_t len = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < n && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%.4f", i ? ", " : "", v[i]);
    if (len < cap)
        snprintf(buf + len, cap - len, "]");
}

enum check_status check_norm_constants(const json_t *normalize, const double *mean, const double *std, int channels,
                          const char *what, struct check_out *o)
{
    const char *kb = "TS-NORM-MISMATCH";
    double m[4], s[4];
    char wm[96], ws[96], gm[96], gs[96];
    if (channels < 1 || channels > 4)
        channels = 3;
    vec_str(mean, channels, wm, sizeof wm);
    vec_str(std, channels, ws, sizeof ws);
    if (!json_is_object(normalize))
        return check_set(o, CHECK_FAIL, kb, "config.json has no data.normalize; expected %s mean %s std %s", what, wm,
                         ws);
    if (read_vec(json_object_get(normalize, "mean"), m, channels) ||
        read_vec(json_object_get(normalize, "std"), s, channels))
        return check_set(o, CHECK_FAIL, kb, "data.normalize needs mean and std of %d numbers each; expected %s mean %s std %s",
                         channels, what, wm, ws);
    vec_str(m, channels, gm, sizeof gm);
    vec_str(s, channels, gs, sizeof gs);
    for (int c = 0; c < channels; c++)
        if (fabs(m[c] - mean[c]) > 0.005 || fabs(s[c] - std[c]) > 0.005)
            return check_set(o, CHECK_FAIL, kb, "normalize mean %s std %s; expected %s's mean %s std %s", gm, gs, what,
                             wm, ws);
    return check_set(o, CHECK_PASS, NULL, "normalize mean %s std %s are %s's", gm, gs, what);
}

double logits_accuracy(const float *logits, const int64_t *labels, size_t n, size_t classes)
{
    if (!n)
        return 0;
    size_t hits = 0;
    for (size_t i = 0; i < n; i++)
        hits += logits_argmax(logits + i * classes, classes) == labels[i];
    return (double)hits / (double)n;
}

double rel_max_diff(const float *a, const float *b, size_t n)
{
    double diff = 0, scale = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(a[i]) || !isfinite(b[i]))
            return INFINITY;
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > diff)
            diff = d;
        if (fabs((double)b[i]) > scale)
            scale = fabs((double)b[i]);
    }
    if (scale == 0)
        return diff == 0 ? 0 : INFINITY;
    return diff / scale;
}

void truth_once_record(struct truth_once *t, int rc)
{
    t->state = rc ? -1 : 1;
    if (rc)
        snprintf(t->err, sizeof t->err, "%s%s%s", lab_err_message(), lab_err_fix()[0] ? "; fix: " : "",
                 lab_err_fix());
}

int truth_once_ready(const struct truth_once *t, struct check_out *o)
{
    if (t->state > 0)
        return 1;
    check_set(o, CHECK_ERROR, NULL, "the grader's ground truth is unavailable: %s", t->err);
    return 0;
}
