/* The shim's plumbing: scopes and ownership, host transfer, the parameter
 * store (load report, dtype conversion, export), autograd controls, runtime
 * information. */
#include "base/error.h"
#include "shim/torchshim.h"
#include "tests/unit/shim_testref.h"
#include "tests/unit/testutil.h"

#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const int64_t S4[1] = {4};

START_TEST(test_scopes_free_what_they_hold)
{
    long live0 = ts_live_tensors();
    ts_tensor *kept, *freed, *inner_kept, *a;
    ck_assert_int_eq(ts_scope_begin(), TS_OK);
    ck_assert_int_eq(ts_ones(&a, 1, S4, TS_F32, TS_CPU), TS_OK);
    ck_assert_int_eq(ts_relu(&kept, a), TS_OK);
    ck_assert_int_eq(ts_relu(&freed, a), TS_OK);
    ts_tensor_free(freed); /* freeing early inside a scope is fine */
    ck_assert_int_eq(ts_scope_begin(), TS_OK);
    ck_assert_int_eq(ts_relu(&inner_kept, a), TS_OK);
    ts_tensor *tmp;
    ck_assert_int_eq(ts_relu(&tmp, a), TS_OK);
    ts_scope_keep(inner_kept); /* moves to the outer scope */
    ts_scope_end();
    ck_assert_int_eq(ts_live_tensors(), live0 + 3);
    ts_scope_keep(kept); /* leaves every scope: the caller's now */
    ts_scope_end();
    ck_assert_int_eq(ts_live_tensors(), live0 + 1);
    float v[4];
    ck_assert_int_eq(ts_to_host(kept, TS_F32, v, sizeof v), TS_OK);
    ck_assert_float_eq(v[3], 1.0f);
    ts_tensor_free(kept);
    ck_assert_int_eq(ts_live_tensors(), live0);
    ts_scope_end(); /* without a scope: no-op */
    ts_tensor_free(NULL);
}
END_TEST

START_TEST(test_host_transfer_and_metadata)
{
    ck_assert_int_eq(ts_scope_begin(), TS_OK);
    uint8_t px[6] = {0, 1, 2, 250, 255, 7};
    int64_t shape[2] = {2, 3};
    ts_tensor *u, *f, *blob, *r;
    ck_assert_int_eq(ts_from_host(&u, px, TS_U8, 2, shape, TS_CPU), TS_OK);
    ck_assert_int_eq(ts_dtype(u), TS_U8);
    ck_assert_int_eq(ts_dim(u), 2);
    ck_assert_int_eq(ts_size(u, -1), 3);
    ck_assert_int_eq(ts_size(u, 2), -1);
    ck_assert_int_eq(ts_numel(u), 6);
    ck_assert_int_eq(ts_device_of(u), TS_CPU);
    ck_assert_int_eq(ts_to(&f, u, TS_CPU, TS_F32), TS_OK);
    float fv[6];
    ck_assert_int_eq(ts_to_host(f, TS_F32, fv, sizeof fv), TS_OK);
    ck_assert_float_eq(fv[4], 255.0f);
    /* a wrong byte count is refused, naming both sizes */
    ck_assert_int_eq(ts_to_host(f, TS_F32, fv, sizeof fv - 4), TS_EARG);
    ck_assert_ptr_nonnull(strstr(ts_last_error(), "24 bytes"));
    /* from_blob shares the caller's memory */
    float mem[4] = {1, 2, 3, 4};
    ck_assert_int_eq(ts_from_blob(&blob, mem, TS_F32, 1, S4), TS_OK);
    mem[2] = 30;
    ck_assert_int_eq(ts_mul_scalar(&r, blob, 2), TS_OK);
    float rv[4];
    ck_assert_int_eq(ts_to_host(r, TS_F32, rv, sizeof rv), TS_OK);
    ck_assert_float_eq(rv[2], 60.0f);
    /* bad arguments */
    ck_assert_int_eq(ts_zeros(&r, 1, S4, 99, TS_CPU), TS_EARG);
    ck_assert_ptr_nonnull(strstr(ts_last_error(), "dtype"));
    /* One error path: the shim's message is lab's message, and a success
     * that follows clears ts_last_error() without erasing lab's. */
    ck_assert_str_eq(ts_last_error(), lab_err_message());
    ck_assert_int_eq(ts_to_host(f, TS_F32, fv, sizeof fv), TS_OK);
    ck_assert_str_eq(ts_last_error(), "");
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "dtype"));
    int64_t neg[1] = {-2};
    ck_assert_int_eq(ts_zeros(&r, 1, neg, TS_F32, TS_CPU), TS_EARG);
    ck_assert_int_eq(ts_zeros(&r, 1, S4, TS_F32, -7), TS_EARG);
    /* zero-copy read of a contiguous CPU tensor; NULL for a strided view */
    const float *fp = ts_data_ptr(f);
    ck_assert_ptr_nonnull(fp);
    ck_assert_float_eq(fp[3], 250.0f);
    ts_tensor *tr;
    ck_assert_int_eq(ts_transpose(&tr, f, 0, 1), TS_OK);
    ck_assert_ptr_null(ts_data_ptr(tr));
#ifndef __SANITIZE_ADDRESS__ /* ASan aborts on a 4 TiB request instead of failing it */
    int64_t huge[1] = {(int64_t)1 << 40};
    ck_assert_int_eq(ts_zeros(&r, 1, huge, TS_F32, TS_CPU), TS_EOOM);
    ck_assert_ptr_nonnull(strstr(ts_last_error(), "memory"));
#endif
    ts_scope_end();
}
END_TEST

START_TEST(test_grad_controls)
{
    ck_assert_int_eq(ts_scope_begin(), TS_OK);
    ts_tensor *a, *y, *s, *g, *d;
    ck_assert_int_eq(ts_full(&a, 1, S4, 2.0, TS_F32, TS_CPU), TS_OK);
    ck_assert_int_eq(ts_set_requires_grad(a, 1), TS_OK);
    ck_assert_int_eq(ts_requires_grad(a), 1);
    ck_assert_int_eq(ts_grad_enabled(), 1);
    int prev = ts_no_grad_push();
    ck_assert_int_eq(prev, 1);
    ck_assert_int_eq(ts_mul(&y, a, a), TS_OK);
    ck_assert_int_eq(ts_requires_grad(y), 0);
    ts_grad_mode_pop(prev);
    ck_assert_int_eq(ts_grad_enabled(), 1);
    ck_assert_int_eq(ts_mul(&y, a, a), TS_OK);
    ck_assert_int_eq(ts_requires_grad(y), 1);
    ck_assert_int_eq(ts_detach(&d, y), TS_OK);
    ck_assert_int_eq(ts_requires_grad(d), 0);
    ck_assert_int_eq(ts_sum(&s, y, TS_ALL, 0), TS_OK);
    ck_assert_int_eq(ts_backward(s, NULL), TS_OK);
    ck_assert_int_eq(ts_grad(&g, a), TS_OK);
    float gv[4];
    ck_assert_int_eq(ts_to_host(g, TS_F32, gv, sizeof gv), TS_OK);
    ck_assert_float_eq(gv[0], 4.0f);
    ck_assert_int_eq(ts_zero_grad(a), TS_OK);
    ck_assert_int_eq(ts_grad(&g, a), TS_OK);
    ck_assert_ptr_null(g);
    /* backward of a non-scalar without a gradient: PyTorch's error */
    ck_assert_int_eq(ts_backward(y, NULL), TS_ETORCH);
    ck_assert_ptr_nonnull(strstr(ts_last_error(), "scalar"));
    ts_scope_end();
}
END_TEST

START_TEST(test_clip_grad_norm)
{
    ck_assert_int_eq(ts_scope_begin(), TS_OK);
    ts_params *p;
    ck_assert_int_eq(ts_params_new(&p), TS_OK);
    ts_tensor *a, *h, *y, *s, *g;
    ck_assert_int_eq(ts_ones(&a, 1, S4, TS_F32, TS_CPU), TS_OK);
    ck_assert_int_eq(ts_params_add(p, "w", a, TS_PARAM, 0, &h), TS_OK);
    ck_assert_int_eq(ts_mul_scalar(&y, h, 3), TS_OK);
    ck_assert_int_eq(ts_sum(&s, y, TS_ALL, 0), TS_OK);
    ck_assert_int_eq(ts_backward(s, NULL), TS_OK);
    double norm = 0;
    ck_assert_int_eq(ts_clip_grad_norm(p, 1.0, 2.0, &norm), TS_OK);
    ck_assert_double_eq_tol(norm, 6.0, 1e-6);
    ck_assert_int_eq(ts_grad(&g, h), TS_OK);
    float gv[4];
    ck_assert_int_eq(ts_to_host(g, TS_F32, gv, sizeof gv), TS_OK);
    ck_assert_float_eq_tol(gv[0], 3.0 / (6.0 + 1e-6), 1e-6);
    ts_params_free(p);
    ts_scope_end();
}
END_TEST

/* A small model: conv weight (param), BN running stats (buffers). */
static ts_params *model(void)
{
    ts_params *p;
    ck_assert_int_eq(ts_params_new(&p), TS_OK);
    int64_t ws[2] = {2, 3}, nb[1] = {0};
    ts_tensor *w, *rm, *nbt;
    ck_assert_int_eq(ts_zeros(&w, 2, ws, TS_F32, TS_CPU), TS_OK);
    ck_assert_int_eq(ts_zeros(&rm, 1, S4, TS_F32, TS_CPU), TS_OK);
    ck_assert_int_eq(ts_zeros(&nbt, 0, nb, TS_I64, TS_CPU), TS_OK);
    ck_assert_int_eq(ts_params_add(p, "conv.weight", w, TS_PARAM, 0, NULL), TS_OK);
    ck_assert_int_eq(ts_params_add(p, "bn.running_mean", rm, TS_BUFFER, 0, NULL), TS_OK);
    ck_assert_int_eq(ts_params_add(p, "bn.num_batches_tracked", nbt, TS_BUFFER, 0, NULL), TS_OK);
    ts_tensor_free(w);
    ts_tensor_free(rm);
    ts_tensor_free(nbt);
    return p;
}

START_TEST(test_params_store_basics)
{
    long live0 = ts_live_tensors();
    ts_params *p = model();
    ck_assert_int_eq(ts_params_count(p), 3);
    ck_assert_int_eq(ts_params_count_kind(p, TS_PARAM), 1);
    ck_assert_int_eq(ts_params_count_kind(p, TS_BUFFER), 2);
    ck_assert_int_eq(ts_params_numel(p, TS_PARAM), 6);
    ck_assert_int_eq(ts_params_numel(p, -1), 11);
    const char *name;
    ts_tensor *h;
    int kind, group;
    ck_assert_int_eq(ts_params_at(p, 1, &name, &h, &kind, &group), TS_OK);
    ck_assert_str_eq(name, "bn.running_mean");
    ck_assert_int_eq(kind, TS_BUFFER);
    ck_assert_int_eq(ts_requires_grad(h), 0);
    ck_assert_int_eq(ts_requires_grad(ts_params_get(p, "conv.weight")), 1);
    ck_assert_ptr_null(ts_params_get(p, "nope"));
    ck_assert_int_eq(ts_params_at(p, 3, &name, &h, &kind, &group), TS_EARG);
    ck_assert_int_eq(ts_params_set_group(p, "conv.weight", 2), TS_OK);
    ck_assert_int_eq(ts_params_at(p, 0, NULL, NULL, NULL, &group), TS_OK);
    ck_assert_int_eq(group, 2);
    ts_tensor *dup;
    ck_assert_int_eq(ts_zeros(&dup, 1, S4, TS_F32, TS_CPU), TS_OK);
    ck_assert_int_eq(ts_params_add(p, "bn.running_mean", dup, TS_BUFFER, 0, NULL), TS_EARG);
    ck_assert_ptr_nonnull(strstr(ts_last_error(), "already"));
    /* a store handle is borrowed: freeing it is a no-op */
    ts_tensor_free(ts_params_get(p, "conv.weight"));
    ck_assert_int_eq(ts_numel(ts_params_get(p, "conv.weight")), 6);
    ts_tensor_free(dup);
    ts_params_free(p);
    ts_params_free(NULL);
    ck_assert_int_eq(ts_live_tensors(), live0);
}
END_TEST

START_TEST(test_params_load_converts_and_reports)
{
    ts_params *p = model();
    /* bf16 1.5 = 0x3FC0, f16 -2.0 = 0xC000 */
    uint16_t wbf[6] = {0x3FC0, 0x3FC0, 0x3FC0, 0x3FC0, 0x3FC0, 0x3FC0};
    uint16_t rmh[4] = {0xC000, 0xC000, 0xC000, 0xC000};
    int64_t nbt = 7;
    struct ts_host_tensor items[4] = {
        {.name = "conv.weight", .dtype = TS_BF16, .ndim = 2, .shape = {2, 3}, .data = wbf, .nbytes = sizeof wbf},
        {.name = "bn.running_mean", .dtype = TS_F16, .ndim = 1, .shape = {4}, .data = rmh, .nbytes = sizeof rmh},
        {.name = "bn.num_batches_tracked", .dtype = TS_I64, .ndim = 0, .data = &nbt, .nbytes = sizeof nbt},
        {.name = "fc.bias", .dtype = TS_F32, .ndim = 1, .shape = {4}, .data = rmh, .nbytes = 16},
    };
    struct ts_load_report r;
    /* strict: the unexpected key refuses the whole load */
    ck_assert_int_eq(ts_params_load_host(p, items, 4, 1, &r), TS_EARG);
    ck_assert_int_eq(r.n_unexpected, 1);
    ck_assert_str_eq(r.unexpected[0], "fc.bias");
    ck_assert_ptr_nonnull(strstr(ts_last_error(), "fc.bias"));
    ts_load_report_free(&r);
    float w[6];
    ck_assert_int_eq(ts_to_host(ts_params_get(p, "conv.weight"), TS_F32, w, sizeof w), TS_OK);
    ck_assert_float_eq(w[0], 0.0f);
    /* non-strict: loads the three, reports the fourth */
    ck_assert_int_eq(ts_params_load_host(p, items, 4, 0, &r), TS_OK);
    ck_assert_int_eq(r.loaded, 3);
    ck_assert_int_eq(r.n_missing + r.n_mismatched, 0);
    ts_load_report_free(&r);
    ck_assert_int_eq(ts_to_host(ts_params_get(p, "conv.weight"), TS_F32, w, sizeof w), TS_OK);
    ck_assert_float_eq(w[5], 1.5f);
    ck_assert_int_eq(ts_dtype(ts_params_get(p, "conv.weight")), TS_F32);
    float rm[4];
    ck_assert_int_eq(ts_to_host(ts_params_get(p, "bn.running_mean"), TS_F32, rm, sizeof rm), TS_OK);
    ck_assert_float_eq(rm[3], -2.0f);
    int64_t n;
    ck_assert_int_eq(ts_item_i64(ts_params_get(p, "bn.num_batches_tracked"), &n), TS_OK);
    ck_assert_int_eq(n, 7);
    ck_assert_int_eq(ts_requires_grad(ts_params_get(p, "conv.weight")), 1);
    /* a shape mismatch and a missing key, reported by name */
    items[0].shape[0] = 3;
    items[0].shape[1] = 2;
    ck_assert_int_eq(ts_params_load_host(p, items, 2, 0, &r), TS_OK);
    ck_assert_int_eq(r.n_mismatched, 1);
    ck_assert_ptr_nonnull(strstr(r.mismatched[0], "conv.weight: file bf16 [3, 2] vs model f32 [2, 3]"));
    ck_assert_int_eq(r.n_missing, 1);
    ck_assert_str_eq(r.missing[0], "bn.num_batches_tracked");
    ts_load_report_free(&r);
    /* a byte count that does not match the shape is refused */
    items[0].shape[0] = 2;
    items[0].shape[1] = 3;
    items[0].nbytes = 10;
    ck_assert_int_eq(ts_params_load_host(p, items, 1, 0, NULL), TS_EARG);
    ck_assert_ptr_nonnull(strstr(ts_last_error(), "10 bytes"));
    ts_params_free(p);
}
END_TEST

START_TEST(test_params_export_round_trip)
{
    ts_params *a = model(), *b = model();
    float w[6] = {1, 2, 3, 4, 5, 6};
    int64_t ws[2] = {2, 3};
    ts_tensor *src;
    ck_assert_int_eq(ts_from_host(&src, w, TS_F32, 2, ws, TS_CPU), TS_OK);
    ck_assert_int_eq(ts_copy_(ts_params_get(a, "conv.weight"), src), TS_OK);
    ts_tensor_free(src);
    struct ts_host_tensor *items;
    size_t n;
    void *blob;
    ck_assert_int_eq(ts_params_export_host(a, &items, &n, &blob), TS_OK);
    ck_assert_int_eq(n, 3);
    ck_assert_str_eq(items[2].name, "bn.num_batches_tracked");
    ck_assert_int_eq(items[2].dtype, TS_I64);
    ck_assert_int_eq(items[2].ndim, 0);
    ck_assert_int_eq(items[0].nbytes, 24);
    struct ts_load_report r;
    ck_assert_int_eq(ts_params_load_host(b, items, n, 1, &r), TS_OK);
    ck_assert_int_eq(r.loaded, 3);
    ts_load_report_free(&r);
    float got[6];
    ck_assert_int_eq(ts_to_host(ts_params_get(b, "conv.weight"), TS_F32, got, sizeof got), TS_OK);
    ck_assert_mem_eq(got, w, sizeof w);
    free(items);
    free(blob);
    ts_params_free(a);
    ts_params_free(b);
}
END_TEST

START_TEST(test_params_to_casts_floats_only)
{
    ts_params *p = model();
    ts_tensor *before = ts_params_get(p, "conv.weight");
    ck_assert_int_eq(ts_params_to(p, TS_CPU, TS_BF16), TS_OK);
    /* the borrowed handle stays valid and now holds the cast tensor */
    ck_assert_ptr_eq(ts_params_get(p, "conv.weight"), before);
    ck_assert_int_eq(ts_dtype(before), TS_BF16);
    ck_assert_int_eq(ts_requires_grad(before), 1);
    ck_assert_int_eq(ts_dtype(ts_params_get(p, "bn.running_mean")), TS_BF16);
    ck_assert_int_eq(ts_requires_grad(ts_params_get(p, "bn.running_mean")), 0);
    ck_assert_int_eq(ts_dtype(ts_params_get(p, "bn.num_batches_tracked")), TS_I64);
    ck_assert_int_eq(ts_params_to(p, TS_CUDA(200), -1), TS_ETORCH); /* no such GPU anywhere */
    ck_assert_int_eq(ts_dtype(before), TS_BF16);        /* a failed move changes nothing */
    ts_params_free(p);
}
END_TEST

START_TEST(test_runtime_info)
{
    struct ts_runtime_info info;
    ck_assert_int_eq(ts_runtime_info_get(&info), TS_OK);
    ck_assert_str_eq(info.libtorch_version, ts_libtorch_version());
    ck_assert_int_eq(info.cuda_compiled, ts_cuda_compiled());
    ck_assert_int_ge(info.num_threads, 1);
    if (!info.cuda_compiled) {
        ck_assert_int_eq(info.device_count, 0);
        ck_assert_int_eq(info.cuda_available, 0);
        ck_assert_int_eq(info.cudnn_version, 0);
        ck_assert_int_eq(info.cuda_runtime_version, 0);
    }
    for (int i = 0; i < info.device_count && i < TS_MAX_DEVICES; i++) {
        ck_assert(info.devices[i].name[0] != '\0');
        ck_assert_int_eq(info.devices[i].bf16_native, info.devices[i].cc_major >= 8);
        ck_assert_uint_ge(info.devices[i].total_bytes, info.devices[i].free_bytes);
    }
    char *js = ts_runtime_info_json(&info);
    ck_assert_ptr_nonnull(js);
    json_error_t err;
    json_t *root = json_loads(js, 0, &err);
    ck_assert_msg(root != NULL, "bad JSON %s: %s", js, err.text);
    ck_assert_str_eq(json_string_value(json_object_get(root, "libtorch_version")), info.libtorch_version);
    ck_assert_int_eq(json_integer_value(json_object_get(root, "device_count")), info.device_count);
    ck_assert(json_is_boolean(json_object_get(root, "cuda_available")));
    ck_assert_int_eq(json_array_size(json_object_get(root, "devices")), info.device_count);
    json_decref(root);
    free(js);
    ck_assert_ptr_null(ts_runtime_info_json(NULL));
    ck_assert_int_eq(ts_runtime_info_get(NULL), TS_EARG);
    /* the version Python's torch reports is the one we were built against */
    char *out = NULL;
    ck_assert_int_eq(tu_run("/usr/bin/python3 -c 'import torch; print(torch.__version__)'", &out), 0);
    ck_assert_msg(strncmp(out, info.libtorch_version, strlen(info.libtorch_version) - 2) == 0,
                  "python torch %s vs libtorch %s", out, info.libtorch_version);
    free(out);
    ck_assert_int_eq(ts_set_deterministic(1, 0), TS_OK);
    ck_assert_int_eq(ts_set_num_threads(0), TS_EARG);
}
END_TEST

Suite *suite_shim_core(void)
{
    Suite *s = suite_create("shim_core");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_scopes_free_what_they_hold);
    tcase_add_test(tc, test_host_transfer_and_metadata);
    tcase_add_test(tc, test_grad_controls);
    tcase_add_test(tc, test_clip_grad_norm);
    tcase_add_test(tc, test_params_store_basics);
    tcase_add_test(tc, test_params_load_converts_and_reports);
    tcase_add_test(tc, test_params_export_round_trip);
    tcase_add_test(tc, test_params_to_casts_floats_only);
    tcase_add_test(tc, test_runtime_info);
    suite_add_tcase(s, tc);
    return s;
}
