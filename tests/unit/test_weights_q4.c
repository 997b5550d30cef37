/* Weights at 4 bits (grader/weights_q4.h): what decodes is within half a
 * step of what was encoded, small tensors stay exact, and a hostile file
 * (parts missing, lengths that disagree, steps that are not finite, shapes
 * that overflow) is refused with the tensor named. */
#include "base/error.h"
#include "grader/tensors.h"
#include "grader/weights_q4.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A state dict: one conv weight of 2^17 + 7 values (not a multiple of the
 * group nor of 2), one small bias, and an integer buffer. */
#define BIG ((1 << 17) + 7)
static float big[BIG], bias[10];

static void *state_dict(size_t *len)
{
    uint32_t x = 7;
    for (size_t i = 0; i < BIG; i++) /* a spread like trained weights, with a few outliers */
        big[i] = ((float)((x = x * 1664525u + 1013904223u) >> 8) / 16777216.0f - 0.5f) * (i % 997 ? 0.1f : 2.0f);
    for (int i = 0; i < 10; i++)
        bias[i] = 0.01f * (float)i;
    int64_t steps = 5;
    st_writer *w;
    ck_assert_int_eq(st_writer_new(&w), LAB_OK);
    int64_t bs[4] = {(1 << 17) + 7, 1, 1, 1}, ss[1] = {10};
    ck_assert_int_eq(st_writer_add(w, "features.0.weight", ST_F32, 4, bs, big, sizeof big), LAB_OK);
    ck_assert_int_eq(st_writer_add(w, "features.0.bias", ST_F32, 1, ss, bias, sizeof bias), LAB_OK);
    ck_assert_int_eq(st_writer_add(w, "bn.num_batches_tracked", ST_I64, 0, NULL, &steps, sizeof steps), LAB_OK);
    ck_assert_int_eq(st_writer_set_metadata(w, "format", "pt"), LAB_OK);
    void *buf;
    ck_assert_int_eq(st_writer_to_memory(w, &buf, len), LAB_OK);
    st_writer_free(w);
    return buf;
}

static void *encoded(size_t *len, struct wq4_stats *st)
{
    size_t plen;
    void *plain = state_dict(&plen);
    st_file *f;
    ck_assert_int_eq(st_open_memory(plain, plen, "plain", &f), LAB_OK);
    void *q;
    ck_assert_int_eq(wq4_encode(f, &q, len, st), LAB_OK);
    st_close(f);
    free(plain);
    return q;
}

START_TEST(test_round_trip_within_half_a_step)
{
    size_t qlen;
    struct wq4_stats est, dst;
    void *q = encoded(&qlen, &est);
    ck_assert_uint_eq(est.tensors, 3);
    ck_assert_uint_eq(est.quantized, 1);
    ck_assert_uint_eq(est.quantized_values, BIG);
    /* about 4.5 bits a value: 1/7 of the F32 bytes */
    ck_assert_uint_lt(qlen, sizeof big * 4.6 / 32 + 4096);
    st_file *f;
    ck_assert_int_eq(st_open_memory(q, qlen, "q4", &f), LAB_OK);
    ck_assert(wq4_is_encoded(f));
    ck_assert_str_eq(st_metadata_get(f, "lab.weights"), WQ4_ENCODING);
    ck_assert_ptr_null(st_find(f, "features.0.weight"));
    const struct st_tensor *params = st_find(f, "features.0.weight:q4.params");
    ck_assert_ptr_nonnull(params);
    void *d;
    size_t dlen;
    ck_assert_int_eq(wq4_decode(f, "q4", &d, &dlen, &dst), LAB_OK);
    ck_assert_uint_eq(dst.quantized_values, BIG);
    ck_assert_double_eq(dst.max_step, est.max_step);
    st_file *p;
    ck_assert_int_eq(st_open_memory(d, dlen, "decoded", &p), LAB_OK);
    ck_assert(!wq4_is_encoded(p));
    ck_assert_str_eq(st_metadata_get(p, "format"), "pt");
    ck_assert_ptr_null(st_metadata_get(p, "lab.weights"));
    const struct st_tensor *w = st_find(p, "features.0.weight"), *b = st_find(p, "features.0.bias");
    ck_assert_ptr_nonnull(w);
    ck_assert_int_eq(w->dtype, ST_F32);
    ck_assert_int_eq(w->ndim, 4);
    ck_assert_int_eq(w->shape[0], (1 << 17) + 7);
    float *x;
    size_t n;
    ck_assert_int_eq(gt_to_f32(w, BIG, &x, &n), LAB_OK);
    ck_assert_uint_eq(n, BIG);
    /* each value at most half its group's step off (plus float rounding) */
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        uint16_t hs;
        memcpy(&hs, (const uint8_t *)params->data + 4 * (i / WQ4_GROUP) + 2, 2);
        double step = gt_f16_to_f32(hs), err = fabs((double)x[i] - (double)big[i]);
        ck_assert_msg(err <= step / 2 * (1 + 1e-5) + 1e-7, "value %zu: %g off, step %g", i, err, step);
        worst = err > worst ? err : worst;
    }
    ck_assert_double_gt(worst, 0); /* it is lossy: the test could fail */
    free(x);
    /* small tensors are exact */
    ck_assert_int_eq(b->dtype, ST_F32);
    ck_assert_int_eq(memcmp(b->data, bias, sizeof bias), 0);
    ck_assert_ptr_nonnull(st_find(p, "bn.num_batches_tracked"));
    st_close(p);
    free(d);
    /* encoding an encoded file is refused: it would lose more */
    void *again;
    size_t alen;
    ck_assert_int_ne(wq4_encode(f, &again, &alen, &est), LAB_OK);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "already 4-bit"));
    st_close(f);
    free(q);
}
END_TEST

START_TEST(test_f16_rounding)
{
    const float cases[] = {0.0f, 1.0f, -2.5f, 65504.0f, 0x1p-24f, 0x1p-14f, 0.1f, 3.14159f};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        float back = gt_f16_to_f32(wq4_f16_from_f32(cases[i]));
        ck_assert_msg(fabsf(back - cases[i]) <= fabsf(cases[i]) * 0x1p-11f, "%g -> %g", cases[i], back);
    }
    ck_assert(isinf(gt_f16_to_f32(wq4_f16_from_f32(70000.0f))));
    ck_assert(isnan(gt_f16_to_f32(wq4_f16_from_f32(NAN))));
    ck_assert_float_eq(gt_f16_to_f32(wq4_f16_from_f32(1.0f + 0x1p-11f)), 1.0f); /* ties to even */
}
END_TEST

/* Rebuilds the encoded file with one part replaced (data NULL: dropped). */
static void *edited(const void *q, size_t qlen, const char *name, enum st_dtype dt, int ndim, const int64_t *shape,
                    const void *data, size_t nbytes, size_t *len)
{
    st_file *f;
    ck_assert_int_eq(st_open_memory(q, qlen, "q4", &f), LAB_OK);
    st_writer *w;
    ck_assert_int_eq(st_writer_new(&w), LAB_OK);
    int done = 0;
    for (size_t i = 0; i < st_count(f); i++) {
        const struct st_tensor *t = st_at(f, i);
        if (!strcmp(t->name, name)) {
            done = 1;
            if (data)
                ck_assert_int_eq(st_writer_add(w, name, dt, ndim, shape, data, nbytes), LAB_OK);
        } else {
            ck_assert_int_eq(st_writer_add(w, t->name, t->dtype, t->ndim, t->shape, t->data, t->nbytes), LAB_OK);
        }
    }
    if (!done && data)
        ck_assert_int_eq(st_writer_add(w, name, dt, ndim, shape, data, nbytes), LAB_OK);
    void *out;
    ck_assert_int_eq(st_writer_to_memory(w, &out, len), LAB_OK);
    st_writer_free(w);
    st_close(f);
    return out;
}

static void refused(const void *buf, size_t len, const char *want)
{
    st_file *f;
    ck_assert_int_eq(st_open_memory(buf, len, "hostile", &f), LAB_OK);
    void *d = NULL;
    size_t dlen;
    struct wq4_stats st;
    ck_assert_int_eq(wq4_decode(f, "hostile", &d, &dlen, &st), LAB_EENV);
    ck_assert_ptr_null(d);
    ck_assert_msg(strstr(lab_err_message(), want), "'%s' lacks '%s'", lab_err_message(), want);
    st_close(f);
}

START_TEST(test_hostile_files_are_refused)
{
    size_t qlen, len;
    struct wq4_stats st;
    void *q = encoded(&qlen, &st), *h;
    st_file *f;
    ck_assert_int_eq(st_open_memory(q, qlen, "q4", &f), LAB_OK);
    const struct st_tensor *codes = st_find(f, "features.0.weight:q4"),
                           *params = st_find(f, "features.0.weight:q4.params");
    size_t groups = (size_t)params->shape[0];
    uint16_t *pbuf = malloc(params->nbytes);
    memcpy(pbuf, params->data, params->nbytes);
    int64_t pshape[2] = {(int64_t)groups, 2}, one = 1, two = 2;

    h = edited(q, qlen, "features.0.weight:q4.params", 0, 0, NULL, NULL, 0, &len);
    refused(h, len, "lacks its :q4.params");
    free(h);
    h = edited(q, qlen, "features.0.weight:q4", 0, 0, NULL, NULL, 0, &len);
    refused(h, len, "has no codes");
    free(h);
    int64_t shorter = codes->shape[0] - 1;
    h = edited(q, qlen, "features.0.weight:q4", ST_U8, 1, &shorter, codes->data, (size_t)shorter, &len);
    refused(h, len, "must be U8");
    free(h);
    pbuf[2 * 3 + 1] = 0x7e00; /* a NaN step */
    h = edited(q, qlen, "features.0.weight:q4.params", ST_F16, 2, pshape, pbuf, params->nbytes, &len);
    refused(h, len, "group 3");
    free(h);
    pbuf[2 * 3 + 1] = 0xbc00; /* -1 */
    h = edited(q, qlen, "features.0.weight:q4.params", ST_F16, 2, pshape, pbuf, params->nbytes, &len);
    refused(h, len, "step >= 0");
    free(h);
    int64_t huge[2] = {(int64_t)1 << 40, (int64_t)1 << 40};
    h = edited(q, qlen, "features.0.weight:q4.shape", ST_I64, 1, &two, huge, sizeof huge, &len);
    refused(h, len, "too large");
    free(h);
    int64_t neg = -4;
    h = edited(q, qlen, "features.0.weight:q4.shape", ST_I64, 1, &one, &neg, sizeof neg, &len);
    refused(h, len, "negative");
    free(h);
    int64_t other = 1000; /* a shape that does not match the codes */
    h = edited(q, qlen, "features.0.weight:q4.shape", ST_I64, 1, &one, &other, sizeof other, &len);
    refused(h, len, "must be U8");
    free(h);
    h = edited(q, qlen, "features.0.weight", ST_F32, 1, &one, bias, sizeof(float), &len);
    refused(h, len, "both plain and at 4 bits");
    free(h);
    free(pbuf);
    st_close(f);
    free(q);
}
END_TEST

Suite *suite_weights_q4(void)
{
    Suite *s = suite_create("weights_q4");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_round_trip_within_half_a_step);
    tcase_add_test(tc, test_f16_rounding);
    tcase_add_test(tc, test_hostile_files_are_refused);
    suite_add_tcase(s, tc);
    return s;
}
