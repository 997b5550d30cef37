/* The parity tests' reference reader, and a check that it rejects what it
 * should (so a broken reader cannot make every parity test pass). */
#include "tests/unit/shim_testref.h"
#include "tests/unit/testutil.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *shim_ref_generate(const char *script)
{
    char *dir = tu_tempdir(), cmd[8192], *out = NULL;
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/tests/ref/%s' '%s' 2>&1", tu_src_dir(), script, dir);
    int rc = tu_run(cmd, &out);
    ck_assert_msg(rc == 0, "%s failed (%d): %s", script, rc, out ? out : "");
    free(out);
    return dir;
}

static FILE *open_ref(const char *dir, const char *name, const char *ext)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.%s", dir, name, ext);
    return fopen(path, "rb");
}

int shim_ref_exists(const char *dir, const char *name)
{
    FILE *f = open_ref(dir, name, "t");
    if (f)
        fclose(f);
    return f != NULL;
}

static int dtype_from_name(const char *s)
{
    static const char *names[] = {"u8", "i64", "f16", "bf16", "f32", "bool", "i32", "f64"};
    for (int i = 0; i < 8; i++)
        if (!strcmp(s, names[i]))
            return i;
    return -1;
}

ts_tensor *shim_ref_load(const char *dir, const char *name, int *dtype)
{
    FILE *f = open_ref(dir, name, "t");
    if (!f)
        return NULL;
    char storage[8], orig[8];
    int ndim;
    int64_t shape[8], numel = 1;
    ck_assert_int_eq(fscanf(f, "%7s %7s %d", storage, orig, &ndim), 3);
    ck_assert(ndim >= 0 && ndim <= 8);
    for (int i = 0; i < ndim; i++) {
        long long v;
        ck_assert_int_eq(fscanf(f, "%lld", &v), 1);
        shape[i] = v;
        numel *= v;
    }
    int ch;
    while ((ch = fgetc(f)) == ' ')
        ;
    ck_assert_int_eq(ch, '\n');
    int sdt = dtype_from_name(storage), odt = dtype_from_name(orig);
    ck_assert(sdt == TS_F32 || sdt == TS_F64 || sdt == TS_I64);
    ck_assert(odt >= 0);
    size_t nbytes = (size_t)numel * ts_dtype_size(sdt);
    void *buf = malloc(nbytes ? nbytes : 1);
    ck_assert_uint_eq(fread(buf, 1, nbytes, f), nbytes);
    fclose(f);
    ts_tensor *t = NULL;
    ck_assert_int_eq(ts_from_host(&t, buf, sdt, ndim, shape, TS_CPU), TS_OK);
    free(buf);
    if (sdt == TS_I64 && odt != TS_I64) {
        ts_tensor *c = NULL;
        ck_assert_int_eq(ts_to(&c, t, TS_CPU, odt), TS_OK);
        ts_tensor_free(t);
        t = c;
    }
    if (dtype)
        *dtype = odt;
    return t;
}

int shim_ref_compare(const char *dir, const char *name, const ts_tensor *got, double rtol, char *why, size_t cap)
{
    int odt;
    ts_tensor *ref = shim_ref_load(dir, name, &odt);
    int bad = 1;
    double *a = NULL, *b = NULL;
    int64_t sg[8], sr[8];
    if (!ref) {
        snprintf(why, cap, "reference %s missing", name);
        goto out;
    }
    if (!got) {
        snprintf(why, cap, "%s: no tensor to compare", name);
        goto out;
    }
    if (ts_dtype(got) != odt) {
        snprintf(why, cap, "%s: dtype %s, PyTorch has %s", name, ts_dtype_name(ts_dtype(got)), ts_dtype_name(odt));
        goto out;
    }
    int ng = ts_shape(got, sg, 8), nr = ts_shape(ref, sr, 8);
    if (ng != nr || memcmp(sg, sr, sizeof(int64_t) * (ng > 0 ? ng : 0))) {
        snprintf(why, cap, "%s: shape differs from PyTorch's (%d vs %d dims)", name, ng, nr);
        goto out;
    }
    int64_t n = ts_numel(ref);
    a = malloc(sizeof(double) * (n ? n : 1));
    b = malloc(sizeof(double) * (n ? n : 1));
    if (ts_to_host(got, TS_F64, a, sizeof(double) * n) || ts_to_host(ref, TS_F64, b, sizeof(double) * n)) {
        snprintf(why, cap, "%s: to_host failed: %s", name, ts_last_error());
        goto out;
    }
    double maxref = 1e-6, maxerr = 0;
    int64_t worst = 0;
    for (int64_t i = 0; i < n; i++) {
        if (fabs(b[i]) > maxref)
            maxref = fabs(b[i]);
        double e = fabs(a[i] - b[i]);
        if (!(e <= maxerr)) { /* NaN counts as the worst */
            maxerr = isnan(e) ? INFINITY : e;
            worst = i;
        }
    }
    if (maxerr > rtol * maxref) {
        snprintf(why, cap, "%s: max error %.3g (at %lld: %.9g vs PyTorch %.9g) > %.1g x %.3g", name, maxerr,
                 (long long)worst, n ? a[worst] : 0.0, n ? b[worst] : 0.0, rtol, maxref);
        goto out;
    }
    bad = 0;
out:
    free(a);
    free(b);
    ts_tensor_free(ref);
    return bad;
}

void shim_ref_expect(const char *dir, const char *name, const ts_tensor *got, double rtol)
{
    char why[1024];
    int bad = shim_ref_compare(dir, name, got, rtol, why, sizeof why);
    ck_assert_msg(!bad, "%s", why);
}

char *shim_ref_text(const char *dir, const char *name)
{
    FILE *f = open_ref(dir, name, "txt");
    ck_assert_msg(f != NULL, "reference text %s missing", name);
    char *buf = calloc(1, 65536);
    size_t n = fread(buf, 1, 65535, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

void shim_ref_copy_params(const char *dir, const char *prefix, ts_params *params)
{
    int grad = ts_no_grad_push();
    for (size_t i = 0; i < ts_params_count(params); i++) {
        const char *name;
        ts_tensor *t;
        int kind, group;
        char ref[200];
        ck_assert_int_eq(ts_params_at(params, i, &name, &t, &kind, &group), TS_OK);
        snprintf(ref, sizeof ref, "%s%s", prefix, name);
        ts_tensor *want = shim_ref_load(dir, ref, NULL);
        ck_assert_msg(want, "no %s in the reference", ref);
        ck_assert_int_eq(ts_copy_(t, want), TS_OK);
        ts_tensor_free(want);
    }
    ts_grad_mode_pop(grad);
}

START_TEST(test_expect_catches_a_wrong_tensor)
{
    /* The comparison itself, checked by a forked child that must fail. */
    char *dir = tu_tempdir(), path[4200];
    snprintf(path, sizeof path, "%s/x.t", dir);
    float v[3] = {1.0f, 2.0f, 3.0f};
    const char *hdr = "f32 f32 1 3 \n";
    FILE *f = fopen(path, "wb");
    fwrite(hdr, 1, strlen(hdr), f);
    fwrite(v, sizeof v, 1, f);
    fclose(f);
    int64_t shape[1] = {3};
    ts_tensor *same = NULL, *other = NULL;
    ck_assert_int_eq(ts_from_host(&same, v, TS_F32, 1, shape, TS_CPU), TS_OK);
    shim_ref_expect(dir, "x", same, 1e-6);
    ts_tensor *loaded = shim_ref_load(dir, "x", NULL);
    ck_assert_int_eq(ts_numel(loaded), 3);
    float w[3] = {1.0f, 2.0f, 3.01f};
    ck_assert_int_eq(ts_from_host(&other, w, TS_F32, 1, shape, TS_CPU), TS_OK);
    char why[1024];
    ck_assert_int_ne(shim_ref_compare(dir, "x", other, 1e-5, why, sizeof why), 0);
    ck_assert_ptr_nonnull(strstr(why, "max error"));
    ck_assert_int_eq(shim_ref_compare(dir, "x", other, 1e-2, why, sizeof why), 0);
    ck_assert_int_ne(shim_ref_compare(dir, "missing", other, 1e-2, why, sizeof why), 0);
    int64_t shape2[2] = {1, 3};
    ts_tensor *reshaped = NULL;
    ck_assert_int_eq(ts_reshape(&reshaped, same, 2, shape2), TS_OK);
    ck_assert_int_ne(shim_ref_compare(dir, "x", reshaped, 1e-2, why, sizeof why), 0);
    ts_tensor_free(reshaped);
    ts_tensor_free(same);
    ts_tensor_free(other);
    ts_tensor_free(loaded);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

Suite *suite_shim_ref(void)
{
    Suite *s = suite_create("shim_ref");
    TCase *tc = tcase_create("reader");
    tcase_add_test(tc, test_expect_catches_a_wrong_tensor);
    suite_add_tcase(s, tc);
    return s;
}
