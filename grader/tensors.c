#include "grader/tensors.h"

#include "base/error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t gt_numel(const struct st_tensor *t)
{
    size_t n = 1;
    for (int i = 0; i < t->ndim; i++) {
        if (t->shape[i] < 0)
            return SIZE_MAX;
        if (t->shape[i] && n > SIZE_MAX / (size_t)t->shape[i])
            return SIZE_MAX;
        n *= (size_t)t->shape[i];
    }
    return n;
}

int gt_is_float(enum st_dtype d) { return d == ST_F16 || d == ST_BF16 || d == ST_F32 || d == ST_F64; }

int gt_is_int(enum st_dtype d)
{
    return d == ST_U8 || d == ST_I8 || d == ST_I16 || d == ST_U16 || d == ST_I32 || d == ST_U32 || d == ST_I64 ||
           d == ST_U64;
}

float gt_bf16_to_f32(uint16_t v)
{
    uint32_t bits = (uint32_t)v << 16;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

float gt_f16_to_f32(uint16_t v)
{
    int sign = v >> 15, exp = (v >> 10) & 0x1f, mant = v & 0x3ff;
    float f;
    if (exp == 0)
        f = ldexpf((float)mant, -24); /* subnormal */
    else if (exp == 31)
        f = mant ? NAN : INFINITY;
    else
        f = ldexpf((float)(mant | 0x400), exp - 25);
    return sign ? -f : f;
}

const char *gt_shape_str(const int64_t *shape, int ndim, char *buf, size_t cap)
{
    size_t len = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < ndim && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (len < cap)
        snprintf(buf + len, cap - len, "]");
    return buf;
}

static int check_size(const struct st_tensor *t, size_t max, size_t *n)
{
    *n = gt_numel(t);
    if (*n > max) {
        char s[160];
        return lab_err(LAB_EUSAGE, "submit the tensors the lab wrote, not larger ones",
                       "tensor '%s' %s has more elements than the grader reads (%zu)", t->name,
                       gt_shape_str(t->shape, t->ndim, s, sizeof s), max);
    }
    if (*n * st_dtype_size(t->dtype) != t->nbytes)
        return lab_err(LAB_EUSAGE, NULL, "tensor '%s': %zu bytes for %zu elements of %s", t->name, t->nbytes, *n,
                       st_dtype_name(t->dtype));
    return LAB_OK;
}

/* Element i as double, for every numeric dtype. */
static double element(const unsigned char *p, enum st_dtype d, size_t i)
{
    switch (d) {
    case ST_U8: return p[i];
    case ST_I8: return (int8_t)p[i];
#define LOAD(type)                                                                                                 \
    do {                                                                                                           \
        type v;                                                                                                    \
        memcpy(&v, p + i * sizeof v, sizeof v);                                                                    \
        return (double)v;                                                                                          \
    } while (0)
    case ST_I16: LOAD(int16_t);
    case ST_U16: LOAD(uint16_t);
    case ST_I32: LOAD(int32_t);
    case ST_U32: LOAD(uint32_t);
    case ST_I64: LOAD(int64_t);
    case ST_U64: LOAD(uint64_t);
    case ST_F32: LOAD(float);
    case ST_F64: LOAD(double);
#undef LOAD
    case ST_F16: {
        uint16_t v;
        memcpy(&v, p + 2 * i, 2);
        return gt_f16_to_f32(v);
    }
    case ST_BF16: {
        uint16_t v;
        memcpy(&v, p + 2 * i, 2);
        return gt_bf16_to_f32(v);
    }
    default: return NAN;
    }
}

int gt_to_f32(const struct st_tensor *t, size_t max, float **out, size_t *n)
{
    *out = NULL;
    if (!gt_is_float(t->dtype) && !gt_is_int(t->dtype))
        return lab_err(LAB_EUSAGE, "save it as float32", "tensor '%s' has dtype %s, not a number type", t->name,
                       st_dtype_name(t->dtype));
    int rc = check_size(t, max, n);
    if (rc)
        return rc;
    float *v = malloc((*n ? *n : 1) * sizeof *v);
    if (!v)
        return lab_err(LAB_EINTERNAL, NULL, "out of memory reading '%s'", t->name);
    if (t->dtype == ST_F32)
        memcpy(v, t->data, *n * sizeof *v);
    else
        for (size_t i = 0; i < *n; i++)
            v[i] = (float)element(t->data, t->dtype, i);
    *out = v;
    return LAB_OK;
}

int gt_to_i64(const struct st_tensor *t, size_t max, int64_t **out, size_t *n)
{
    *out = NULL;
    if (!gt_is_int(t->dtype))
        return lab_err(LAB_EUSAGE, "save class indices as int64 (y.long())",
                       "tensor '%s' has dtype %s, not an integer type", t->name, st_dtype_name(t->dtype));
    int rc = check_size(t, max, n);
    if (rc)
        return rc;
    int64_t *v = malloc((*n ? *n : 1) * sizeof *v);
    if (!v)
        return lab_err(LAB_EINTERNAL, NULL, "out of memory reading '%s'", t->name);
    if (t->dtype == ST_I64) {
        memcpy(v, t->data, *n * sizeof *v);
    } else {
        for (size_t i = 0; i < *n; i++) {
            if (t->dtype == ST_U64) {
                uint64_t u;
                memcpy(&u, (const unsigned char *)t->data + 8 * i, 8);
                v[i] = u > (uint64_t)INT64_MAX ? -1 : (int64_t)u;
            } else {
                v[i] = (int64_t)element(t->data, t->dtype, i);
            }
        }
    }
    *out = v;
    return LAB_OK;
}
