#include "grader/weights_q4.h"

#include "base/error.h"
#include "grader/tensors.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIX_Q4 "make the submission again with `lab submit` (lab explain TS-SUBMISSION-INTEGRITY)"

static const char SFX_CODES[] = ":q4", SFX_PARAMS[] = ":q4.params", SFX_SHAPE[] = ":q4.shape";

uint16_t wq4_f16_from_f32(float v)
{
    uint16_t sign = signbit(v) ? 0x8000 : 0;
    float a = fabsf(v);
    if (isnan(v))
        return 0x7e00;
    if (a >= 65520.0f) /* 65504 is the largest; from the halfway point up it rounds to inf */
        return sign | 0x7c00;
    if (a < 0x1p-14f) /* subnormal: steps of 2^-24; 1024 steps is the smallest normal's pattern */
        return sign | (uint16_t)nearbyintf(a * 0x1p24f);
    int e2;
    frexpf(a, &e2); /* a = m * 2^e2, m in [0.5, 1) */
    int e = e2 - 1;
    unsigned mant = (unsigned)nearbyintf((ldexpf(a, -e) - 1.0f) * 1024.0f);
    if (mant == 1024)
        mant = 0, e++;
    if (e + 15 >= 31)
        return sign | 0x7c00;
    return sign | (uint16_t)((unsigned)(e + 15) << 10) | (uint16_t)mant;
}

/* The next fp16 towards +inf / -inf (finite inputs). */
static uint16_t f16_up(uint16_t h) { return h == 0x8000 ? 0x0001 : h & 0x8000 ? (uint16_t)(h - 1) : (uint16_t)(h + 1); }
static uint16_t f16_down(uint16_t h) { return h == 0x0000 ? 0x8001 : h & 0x8000 ? (uint16_t)(h + 1) : (uint16_t)(h - 1); }

static int has_suffix(const char *s, const char *sfx)
{
    size_t n = strlen(s), k = strlen(sfx);
    return n > k && strcmp(s + n - k, sfx) == 0;
}

int wq4_is_encoded(const st_file *f)
{
    for (size_t i = 0; f && i < st_count(f); i++)
        if (has_suffix(st_at(f, i)->name, SFX_CODES))
            return 1;
    return 0;
}

/* One tensor's codes and per-group (min, step). 0 when it stays exact:
 * not finite, or beyond fp16's range. */
static int encode_one(const float *x, size_t n, uint8_t *codes, uint16_t *params, double *max_step)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]) || fabsf(x[i]) > 60000.0f)
            return 0;
    memset(codes, 0, (n + 1) / 2);
    for (size_t g = 0, at = 0; at < n; g++, at += WQ4_GROUP) {
        size_t end = at + WQ4_GROUP < n ? at + WQ4_GROUP : n;
        float lo = x[at], hi = x[at];
        for (size_t i = at; i < end; i++)
            lo = x[i] < lo ? x[i] : lo, hi = x[i] > hi ? x[i] : hi;
        /* min rounded down and step rounded up: every value lies in
         * [min, min + 15 step], so its code is at most step / 2 off. */
        uint16_t hm = wq4_f16_from_f32(lo);
        if (gt_f16_to_f32(hm) > lo)
            hm = f16_down(hm);
        float m = gt_f16_to_f32(hm);
        uint16_t hs = wq4_f16_from_f32((hi - m) / 15.0f);
        while (gt_f16_to_f32(hs) * 15.0f + m < hi)
            hs = f16_up(hs);
        float s = gt_f16_to_f32(hs);
        params[2 * g] = hm;
        params[2 * g + 1] = hs;
        if (s > *max_step)
            *max_step = s;
        for (size_t i = at; i < end; i++) {
            float q = s > 0 ? nearbyintf((x[i] - m) / s) : 0;
            unsigned c = q < 0 ? 0 : q > 15 ? 15 : (unsigned)q;
            codes[i / 2] |= (uint8_t)(i % 2 ? c << 4 : c);
        }
    }
    return 1;
}

struct owned {
    void **v;
    size_t n, cap;
};

static void *own(struct owned *o, void *p)
{
    if (!p)
        return NULL;
    if (o->n == o->cap) {
        size_t cap = o->cap ? 2 * o->cap : 16;
        void **nv = realloc(o->v, cap * sizeof *nv);
        if (!nv) {
            free(p);
            return NULL;
        }
        o->v = nv, o->cap = cap;
    }
    return o->v[o->n++] = p;
}

static void owned_free(struct owned *o)
{
    for (size_t i = 0; i < o->n; i++)
        free(o->v[i]);
    free(o->v);
}

static int copy_metadata(const st_file *in, st_writer *w)
{
    int rc = LAB_OK;
    for (size_t i = 0; !rc && i < st_metadata_count(in); i++) {
        const char *k, *v;
        if (st_metadata_at(in, i, &k, &v) == LAB_OK && strcmp(k, "lab.weights") != 0)
            rc = st_writer_set_metadata(w, k, v);
    }
    return rc;
}

static int add_named(st_writer *w, const char *base, const char *sfx, enum st_dtype dt, int ndim, const int64_t *shape,
                     const void *data, size_t nbytes)
{
    char name[1024];
    if ((size_t)snprintf(name, sizeof name, "%s%s", base, sfx) >= sizeof name)
        return lab_err(LAB_EUSAGE, "shorten the tensor's name", "tensor name %.60s... is too long", base);
    return st_writer_add(w, name, dt, ndim, shape, data, nbytes);
}

int wq4_encode(const st_file *in, void **out, size_t *len, struct wq4_stats *stats)
{
    *out = NULL, *len = 0;
    memset(stats, 0, sizeof *stats);
    st_writer *w = NULL;
    struct owned keep = {0};
    int rc = st_writer_new(&w);
    for (size_t i = 0; !rc && i < st_count(in); i++) {
        const struct st_tensor *t = st_at(in, i);
        size_t n = gt_numel(t);
        stats->tensors++;
        stats->values += n;
        if (has_suffix(t->name, SFX_CODES) || has_suffix(t->name, SFX_PARAMS) || has_suffix(t->name, SFX_SHAPE)) {
            rc = lab_err(LAB_EUSAGE, "these weights are already at 4 bits: submit the run's own model.safetensors",
                         "tensor %s is already 4-bit encoded", t->name);
            break;
        }
        int big = (t->dtype == ST_F32 || t->dtype == ST_F16 || t->dtype == ST_BF16) && n >= WQ4_MIN_ELEMS &&
                  n <= WQ4_MAX_DECODED && t->ndim >= 1;
        float *x = NULL;
        size_t got = 0, groups = (n + WQ4_GROUP - 1) / WQ4_GROUP;
        uint8_t *codes = NULL;
        uint16_t *params = NULL;
        if (big) {
            if (gt_to_f32(t, WQ4_MAX_DECODED, &x, &got)) {
                rc = LAB_EINTERNAL;
                break;
            }
            codes = own(&keep, malloc((n + 1) / 2));
            params = own(&keep, malloc(groups * 2 * sizeof *params));
            if (!codes || !params) {
                free(x);
                rc = lab_err(LAB_EINTERNAL, NULL, "out of memory encoding %s", t->name);
                break;
            }
            big = encode_one(x, n, codes, params, &stats->max_step);
            free(x);
        }
        if (!big) {
            rc = st_writer_add(w, t->name, t->dtype, t->ndim, t->shape, t->data, t->nbytes);
            continue;
        }
        int64_t *shape = own(&keep, malloc(sizeof(int64_t) * (size_t)t->ndim));
        if (!shape) {
            rc = lab_err(LAB_EINTERNAL, NULL, "out of memory encoding %s", t->name);
            break;
        }
        memcpy(shape, t->shape, sizeof(int64_t) * (size_t)t->ndim);
        int64_t ncodes = (int64_t)((n + 1) / 2), pshape[2] = {(int64_t)groups, 2}, sshape = t->ndim;
        rc = add_named(w, t->name, SFX_CODES, ST_U8, 1, &ncodes, codes, (size_t)ncodes);
        if (!rc)
            rc = add_named(w, t->name, SFX_PARAMS, ST_F16, 2, pshape, params, groups * 2 * sizeof *params);
        if (!rc)
            rc = add_named(w, t->name, SFX_SHAPE, ST_I64, 1, &sshape, shape, sizeof(int64_t) * (size_t)t->ndim);
        stats->quantized++;
        stats->quantized_values += n;
    }
    if (!rc)
        rc = copy_metadata(in, w);
    if (!rc)
        rc = st_writer_set_metadata(w, "lab.weights", WQ4_ENCODING);
    if (!rc)
        rc = st_writer_to_memory(w, out, len);
    st_writer_free(w);
    owned_free(&keep);
    return rc;
}

/* The parts of the encoded tensor `base`, checked against each other. */
static int decode_one(const st_file *in, const char *what, const char *base, const struct st_tensor *codes,
                      size_t *budget, float **vals, int *ndim, int64_t *shape, size_t *n, double *max_step)
{
    char name[1024];
    snprintf(name, sizeof name, "%s%s", base, SFX_PARAMS);
    const struct st_tensor *params = st_find(in, name);
    snprintf(name, sizeof name, "%s%s", base, SFX_SHAPE);
    const struct st_tensor *sh = st_find(in, name);
    if (!params || !sh)
        return lab_err(LAB_EENV, FIX_Q4, "%s: 4-bit tensor %s lacks its %s", what, base, !params ? SFX_PARAMS : SFX_SHAPE);
    if (st_find(in, base))
        return lab_err(LAB_EENV, FIX_Q4, "%s: tensor %s is both plain and at 4 bits", what, base);
    if (sh->dtype != ST_I64 || sh->ndim != 1 || sh->shape[0] < 1 || sh->shape[0] > ST_MAX_DIMS)
        return lab_err(LAB_EENV, FIX_Q4, "%s: %s%s must be I64 [1..%d]", what, base, SFX_SHAPE, ST_MAX_DIMS);
    *ndim = (int)sh->shape[0];
    memcpy(shape, sh->data, sizeof(int64_t) * (size_t)*ndim);
    size_t total = 1;
    for (int d = 0; d < *ndim; d++) {
        if (shape[d] < 0 || (shape[d] > 0 && total > WQ4_MAX_DECODED / (size_t)shape[d]))
            return lab_err(LAB_EENV, FIX_Q4, "%s: %s%s holds a negative or too large dimension", what, base, SFX_SHAPE);
        total *= (size_t)shape[d];
    }
    if (total == 0 || total > *budget)
        return lab_err(LAB_EENV, FIX_Q4, "%s: 4-bit tensor %s would decode to %zu values (%s)", what, base, total,
                       total ? "more than the grader decodes in one file" : "empty");
    size_t groups = (total + WQ4_GROUP - 1) / WQ4_GROUP;
    if (codes->dtype != ST_U8 || codes->ndim != 1 || (size_t)codes->shape[0] != (total + 1) / 2)
        return lab_err(LAB_EENV, FIX_Q4, "%s: %s%s must be U8 [%zu] for %zu values", what, base, SFX_CODES,
                       (total + 1) / 2, total);
    if (params->dtype != ST_F16 || params->ndim != 2 || (size_t)params->shape[0] != groups || params->shape[1] != 2)
        return lab_err(LAB_EENV, FIX_Q4, "%s: %s%s must be F16 [%zu, 2]", what, base, SFX_PARAMS, groups);
    float *x = malloc(total * sizeof *x);
    if (!x)
        return lab_err(LAB_EINTERNAL, NULL, "out of memory decoding %s", base);
    const uint8_t *c = codes->data, *p = params->data;
    for (size_t g = 0; g < groups; g++) {
        uint16_t hm, hs;
        memcpy(&hm, p + 4 * g, 2);
        memcpy(&hs, p + 4 * g + 2, 2);
        float m = gt_f16_to_f32(hm), s = gt_f16_to_f32(hs);
        if (!isfinite(m) || !isfinite(s) || s < 0) {
            free(x);
            return lab_err(LAB_EENV, FIX_Q4, "%s: group %zu of %s has min %g and step %g (finite, step >= 0)", what, g,
                           base, m, s);
        }
        if (s > *max_step)
            *max_step = s;
        size_t end = (g + 1) * WQ4_GROUP < total ? (g + 1) * WQ4_GROUP : total;
        for (size_t i = g * WQ4_GROUP; i < end; i++)
            x[i] = m + (float)(i % 2 ? c[i / 2] >> 4 : c[i / 2] & 15) * s;
    }
    *budget -= total;
    *vals = x;
    *n = total;
    return LAB_OK;
}

int wq4_decode(const st_file *in, const char *what, void **out, size_t *len, struct wq4_stats *stats)
{
    *out = NULL, *len = 0;
    memset(stats, 0, sizeof *stats);
    st_writer *w = NULL;
    struct owned keep = {0};
    size_t budget = WQ4_MAX_DECODED;
    int rc = st_writer_new(&w);
    for (size_t i = 0; !rc && i < st_count(in); i++) {
        const struct st_tensor *t = st_at(in, i);
        char base[1024];
        size_t nl = strlen(t->name);
        if (has_suffix(t->name, SFX_PARAMS) || has_suffix(t->name, SFX_SHAPE)) {
            /* a part without its codes: nothing else would notice it */
            size_t k = has_suffix(t->name, SFX_PARAMS) ? strlen(SFX_PARAMS) : strlen(SFX_SHAPE);
            snprintf(base, sizeof base, "%.*s%s", (int)(nl - k), t->name, SFX_CODES);
            if (!st_find(in, base))
                rc = lab_err(LAB_EENV, FIX_Q4, "%s: %s has no codes (%s)", what, t->name, base);
            continue;
        }
        if (!has_suffix(t->name, SFX_CODES)) {
            stats->tensors++;
            stats->values += gt_numel(t);
            rc = st_writer_add(w, t->name, t->dtype, t->ndim, t->shape, t->data, t->nbytes);
            continue;
        }
        if (nl - strlen(SFX_CODES) >= sizeof base - 16) {
            rc = lab_err(LAB_EENV, FIX_Q4, "%s: tensor name %.60s... is too long", what, t->name);
            break;
        }
        snprintf(base, sizeof base, "%.*s", (int)(nl - strlen(SFX_CODES)), t->name);
        float *x = NULL;
        int ndim = 0;
        int64_t shape[ST_MAX_DIMS];
        size_t n = 0;
        rc = decode_one(in, what, base, t, &budget, &x, &ndim, shape, &n, &stats->max_step);
        if (!rc && !own(&keep, x))
            rc = lab_err(LAB_EINTERNAL, NULL, "out of memory decoding %s", base);
        if (!rc)
            rc = st_writer_add(w, base, ST_F32, ndim, shape, x, n * sizeof *x);
        stats->tensors++, stats->quantized++;
        stats->values += n, stats->quantized_values += n;
    }
    if (!rc)
        rc = copy_metadata(in, w);
    if (!rc)
        rc = st_writer_to_memory(w, out, len);
    st_writer_free(w);
    owned_free(&keep);
    return rc;
}
