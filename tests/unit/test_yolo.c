/* YOLOv8 (labs/models/yolov8.h) against the reference PyTorch YOLOv8 of
 * tests/ref/yolov8.py and Ultralytics' own state dicts
 * (../shared/reference/2.2.3-yolov8{n,s,m}.tsv when the checkout has them):
 * keys, shapes and parameter counts of n/s/m/l/x; PyTorch's weights give
 * PyTorch's per-layer outputs, raw maps and decoded [B, 84, A] here, in eval
 * and in train mode. */
#include "base/error.h"
#include "labs/models/weights.h"
#include "labs/models/yolov8.h"
#include "tests/unit/shim_testref.h"
#include "tests/unit/testutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dir;
static void generate(void) { dir = shim_ref_generate("yolov8.py"); }
static void cleanup(void)
{
    tu_rmtree(dir);
    free(dir);
    dir = NULL;
}

#define RTOL 1e-4 /* fp32, relative to the largest reference value */

/* "key<TAB>shape" rows (TSV: third column and header lines ignored,
 * scalars "scalar" or "") against the store, in order. */
static void expect_keys(const struct model *m, const char *path)
{
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    char line[512];
    size_t i = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || !strncmp(line, "key\t", 4) || line[0] == '\n')
            continue;
        char *tab = strchr(line, '\t');
        ck_assert_ptr_nonnull(tab);
        *tab = '\0';
        char *shape = tab + 1;
        shape[strcspn(shape, "\t\n")] = '\0';
        if (!strcmp(shape, "scalar"))
            shape[0] = '\0';
        ck_assert_msg(i < ts_params_count(m->params), "%s: %s past %s's entries", path, line, m->name);
        const char *name;
        ts_tensor *h;
        int kind, group;
        ts_params_at(m->params, i, &name, &h, &kind, &group);
        ck_assert_msg(!strcmp(name, line), "%s row %zu: %s, %s has %s", path, i, line, m->name, name);
        char ours[128] = "";
        for (int d = 0; d < ts_dim(h); d++) {
            size_t len = strlen(ours);
            snprintf(ours + len, sizeof ours - len, "%s%lld", d ? "x" : "", (long long)ts_size(h, d));
        }
        ck_assert_msg(!strcmp(ours, shape), "%s: %s is %s here, %s in %s", m->name, name, ours, shape, path);
        i++;
    }
    fclose(f);
    ck_assert_msg(i == ts_params_count(m->params), "%s: %zu entries, %s lists %zu", m->name,
                  ts_params_count(m->params), path, i);
}

/* The count on a TSV's first line ("...; parameters 3157200"). */
static long long tsv_params(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[1024] = "";
    char *ok = fgets(line, sizeof line, f);
    fclose(f);
    const char *p = ok ? strstr(line, "parameters ") : NULL;
    return p ? atoll(p + strlen("parameters ")) : -1;
}

START_TEST(test_state_dicts_are_ultralytics)
{
    static const char scales[] = "nsmlx";
    for (int i = 0; scales[i]; i++) {
        struct model *m = NULL;
        ck_assert_msg(yolov8_create(scales[i], 80, &m) == 0, "%s", lab_err_message());
        char path[4200];
        snprintf(path, sizeof path, "%s/yolov8%c.keys.txt", dir, scales[i]);
        expect_keys(m, path);
        snprintf(path, sizeof path, "yolov8%c.params", scales[i]);
        char *count = shim_ref_text(dir, path);
        ck_assert_int_eq(model_num_params(m), atoll(count));
        free(count);
        snprintf(path, sizeof path, "%s/../shared/reference/2.2.3-yolov8%c.tsv", tu_src_dir(), scales[i]);
        FILE *f = fopen(path, "r");
        if (f) {
            fclose(f);
            expect_keys(m, path);
            ck_assert_int_eq(model_num_params(m), tsv_params(path));
        }
        /* only the DFL bins are frozen (Ultralytics: 16 untrainable) */
        ts_tensor *dfl = ts_params_get(m->params, "model.22.dfl.conv.weight");
        ck_assert_ptr_nonnull(dfl);
        ck_assert_int_eq(ts_requires_grad(dfl), 0);
        ck_assert_int_eq(yolov8_scale_of(m->name), scales[i]);
        model_free(m);
    }
}
END_TEST

static struct model *loaded_n(void)
{
    struct model *m = NULL;
    ck_assert_int_eq(yolov8_create('n', 80, &m), 0);
    char path[4200];
    snprintf(path, sizeof path, "%s/yolov8n.safetensors", dir);
    ck_assert_msg(weights_load(m->params, path, 1, NULL, NULL) == 0, "%s", lab_err_message());
    return m;
}

START_TEST(test_pytorch_weights_give_pytorch_layers)
{
    struct model *m = loaded_n();
    ck_assert_int_eq(ts_scope_begin(), TS_OK);
    ts_tensor *x = shim_ref_load(dir, "x", NULL), *y, *raw[3], *layers[YOLOV8_LAYERS - 1];
    ck_assert_ptr_nonnull(x);
    int prev = ts_no_grad_push();
    ck_assert_msg(yolov8_forward(m, x, 0, &y, raw, layers) == 0, "%s", lab_err_message());
    for (int i = 0; i < YOLOV8_LAYERS - 1; i++) {
        char name[32];
        snprintf(name, sizeof name, "layer.%d", i);
        shim_ref_expect(dir, name, layers[i], RTOL);
    }
    shim_ref_expect(dir, "raw0", raw[0], RTOL);
    shim_ref_expect(dir, "raw1", raw[1], RTOL);
    shim_ref_expect(dir, "raw2", raw[2], RTOL);
    shim_ref_expect(dir, "y", y, RTOL);
    ck_assert_int_eq(ts_size(y, 1), 84);
    ck_assert_int_eq(ts_size(y, 2), 8 * 12 + 4 * 6 + 2 * 3);
    /* train mode: BN batch statistics, raw maps only */
    ts_tensor *y2 = (ts_tensor *)1;
    ck_assert_int_eq(yolov8_forward(m, x, 1, &y2, raw, NULL), 0);
    ck_assert_ptr_null(y2);
    shim_ref_expect(dir, "train.raw0", raw[0], RTOL);
    shim_ref_expect(dir, "train.raw1", raw[1], RTOL);
    shim_ref_expect(dir, "train.raw2", raw[2], RTOL);
    ts_grad_mode_pop(prev);
    ts_scope_end();
    model_free(m);
}
END_TEST

START_TEST(test_shapes_and_names_are_checked)
{
    struct model *m = NULL;
    ck_assert_int_eq(yolov8_create('q', 80, &m), LAB_EUSAGE);
    ck_assert_int_eq(yolov8_create('n', 0, &m), LAB_EUSAGE);
    ck_assert_int_eq(yolov8_scale_of("yolov8"), 0);
    ck_assert_int_eq(yolov8_scale_of("yolov8q"), 0);
    ck_assert_int_eq(yolov8_create('n', 10, &m), 0);
    ck_assert_int_eq(yolov8_num_classes(m), 10);
    ck_assert_int_eq(ts_scope_begin(), TS_OK);
    int64_t bad[4] = {1, 3, 60, 64}, good[4] = {1, 3, 64, 32};
    ts_tensor *x, *y, *raw[3];
    ck_assert_int_eq(ts_zeros(&x, 4, bad, TS_F32, TS_CPU), TS_OK);
    ck_assert_int_eq(yolov8_forward(m, x, 0, &y, raw, NULL), LAB_EUSAGE);
    ck_assert_int_eq(ts_zeros(&x, 4, good, TS_F32, TS_CPU), TS_OK);
    ck_assert_int_eq(yolov8_forward(m, x, 0, &y, raw, NULL), 0);
    ck_assert_int_eq(ts_size(y, 1), 14);
    ck_assert_int_eq(ts_size(y, 2), 8 * 4 + 4 * 2 + 2 * 1);
    ck_assert_int_eq(ts_size(raw[0], 1), 64 + 10);
    ts_scope_end();
    model_free(m);
}
END_TEST

Suite *suite_yolo(void)
{
    Suite *s = suite_create("yolo");
    TCase *tc = tcase_create("model");
    tcase_add_unchecked_fixture(tc, generate, cleanup);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_state_dicts_are_ultralytics);
    tcase_add_test(tc, test_pytorch_weights_give_pytorch_layers);
    tcase_add_test(tc, test_shapes_and_names_are_checked);
    suite_add_tcase(s, tc);
    return s;
}
