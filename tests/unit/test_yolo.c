/* YOLOv8 (labs/models/yolov8.h) against the reference PyTorch YOLOv8 of
 * tests/ref/yolov8.py and Ultralytics' own state dicts
 * (../shared/reference/2.2.3-yolov8{n,s,m}.tsv when the checkout has them):
 * keys, shapes and parameter counts of n/s/m/l/x; PyTorch's weights give
 * PyTorch's per-layer outputs, raw maps and decoded [B, 84, A] here, in eval
 * and in train mode. */
#include "base/error.h"
#include "labs/models/weights.h"
#include "labs/models/yolov8.h"
#include "shim/pth.h"
#include "shim/safetensors.h"
#include "tests/fuzz/pth_module_cases.h"
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
        tu_expect_state_keys(m, path);
        snprintf(path, sizeof path, "yolov8%c.params", scales[i]);
        char *count = shim_ref_text(dir, path);
        ck_assert_int_eq(model_num_params(m), atoll(count));
        free(count);
        snprintf(path, sizeof path, "%s/../shared/reference/2.2.3-yolov8%c.tsv", tu_src_dir(), scales[i]);
        FILE *f = fopen(path, "r");
        if (f) {
            fclose(f);
            tu_expect_state_keys(m, path);
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

/* ../shared/reference/NAME, or NULL (with a note) when the checkout lacks it. */
static char *shared(const char *name)
{
    char *path = malloc(4200);
    snprintf(path, 4200, "%s/../shared/reference/%s", tu_src_dir(), name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "yolo: %s absent, skipped\n", path);
        free(path);
        return NULL;
    }
    fclose(f);
    return path;
}

static ts_tensor *st_tensor(const st_file *f, const char *name)
{
    const struct st_tensor *t = st_find(f, name);
    ck_assert_msg(t != NULL, "%s missing", name);
    ck_assert_int_eq(t->dtype, ST_F32);
    ts_tensor *out;
    ck_assert_int_eq(ts_from_host(&out, t->data, TS_F32, t->ndim, t->shape, TS_CPU), TS_OK);
    return out;
}

/* max|got - ref| <= rtol * max|ref| */
static void expect_close(const char *what, const ts_tensor *got, const ts_tensor *ref, double rtol)
{
    ck_assert_int_eq(ts_dim(got), ts_dim(ref));
    for (int d = 0; d < ts_dim(ref); d++)
        ck_assert_msg(ts_size(got, d) == ts_size(ref, d), "%s: dim %d is %lld, expected %lld", what, d,
                      (long long)ts_size(got, d), (long long)ts_size(ref, d));
    ts_tensor *diff, *mx, *absref, *mref;
    double err, scale;
    ck_assert_int_eq(ts_sub(&diff, got, ref), TS_OK);
    ck_assert_int_eq(ts_abs(&diff, diff), TS_OK);
    ck_assert_int_eq(ts_max(&mx, diff, TS_ALL, 0), TS_OK);
    ck_assert_int_eq(ts_item_f64(mx, &err), TS_OK);
    ck_assert_int_eq(ts_abs(&absref, ref), TS_OK);
    ck_assert_int_eq(ts_max(&mref, absref, TS_ALL, 0), TS_OK);
    ck_assert_int_eq(ts_item_f64(mref, &scale), TS_OK);
    ck_assert_msg(err <= rtol * (scale > 1e-12 ? scale : 1e-12), "%s: max error %g, largest value %g", what, err,
                  scale);
}

/* The released-checkpoint fixtures (Ultralytics 8.3.253 and 8.0.20 layouts)
 * load through the restricted unpickler; the 8.3.253 one gives, layer by
 * layer, what Ultralytics computed from it. */
START_TEST(test_ultralytics_checkpoints_load_and_match)
{
    char *pt = shared("2.2.3-yolov8n-random.pt"), *old = shared("2.2.3-yolov8n-random-8.0.20.pt"),
         *exp = shared("2.2.3-yolov8n-random.expected.safetensors");
    if (!pt || !old || !exp) {
        free(pt), free(old), free(exp);
        return;
    }
    struct model *m = NULL, *m_old = NULL;
    ck_assert_msg(yolov8_load(pt, &m) == 0, "%s", lab_err_message());
    ck_assert_msg(yolov8_load(old, &m_old) == 0, "%s", lab_err_message());
    ck_assert_str_eq(m->name, "yolov8n");
    ck_assert_int_eq(yolov8_num_classes(m_old), 80);
    /* the default reader still refuses the pickled module tree */
    pth_file *f = (pth_file *)1;
    ck_assert_int_eq(pth_load(pt, &f), LAB_EUSAGE);
    ck_assert_ptr_null(f);
    ck_assert_msg(strstr(lab_err_message(), "Python objects") != NULL, "%s", lab_err_message());
    /* with PTH_MODULES: the DetectionModel's state dict under "model." */
    ck_assert_int_eq(pth_load_ex(pt, PTH_MODULES, &f), 0);
    ck_assert_uint_eq(pth_count(f), ts_params_count(m->params));
    ck_assert_str_eq(pth_at(f, 0)->name, "model.model.0.conv.weight");
    ck_assert_int_eq(pth_at(f, 0)->dtype, ST_F16);
    pth_free(f);

    st_file *e;
    ck_assert_int_eq(st_open(exp, &e), 0);
    ck_assert_int_eq(ts_scope_begin(), TS_OK);
    int prev = ts_no_grad_push();
    ts_tensor *x = st_tensor(e, "input"), *y, *raw[3], *layers[YOLOV8_LAYERS - 1];
    ck_assert_msg(yolov8_forward(m, x, 0, &y, raw, layers) == 0, "%s", lab_err_message());
    for (int i = 0; i < YOLOV8_LAYERS - 1; i++) {
        char name[32];
        snprintf(name, sizeof name, "layer.%d", i);
        expect_close(name, layers[i], st_tensor(e, name), RTOL);
    }
    for (int i = 0; i < 3; i++) {
        char name[32];
        snprintf(name, sizeof name, "layer.22.raw%d", i);
        expect_close(name, raw[i], st_tensor(e, name), RTOL);
    }
    expect_close("layer.22.y", y, st_tensor(e, "layer.22.y"), RTOL);
    /* the 8.0.20 file is another random draw: its first layer must differ
     * (the final output barely depends on the weights with this init) */
    ts_tensor *y_old, *l_old[YOLOV8_LAYERS - 1];
    ck_assert_int_eq(yolov8_forward(m_old, x, 0, &y_old, NULL, l_old), 0);
    ck_assert_int_eq(ts_size(y_old, 1), 84);
    ts_tensor *d, *mx;
    double worst;
    ck_assert_int_eq(ts_sub(&d, l_old[0], layers[0]), TS_OK);
    ck_assert_int_eq(ts_abs(&d, d), TS_OK);
    ck_assert_int_eq(ts_max(&mx, d, TS_ALL, 0), TS_OK);
    ck_assert_int_eq(ts_item_f64(mx, &worst), TS_OK);
    ck_assert_msg(worst > 1e-3 && worst == worst, "8.0.20 weights give %g from the 8.3.253 layer 0", worst);
    ts_grad_mode_pop(prev);
    ts_scope_end();
    st_close(e);
    model_free(m);
    model_free(m_old);
    free(pt), free(old), free(exp);
}
END_TEST

/* Module-tree pickles: what a YOLOv8 checkpoint is made of is read;
 * every other GLOBAL, any call, an oversized storage or a cycle is refused
 * with its reason (the same cases seed the fuzz target). */
START_TEST(test_hostile_module_pickles_refused)
{
    for (size_t i = 0; i < PTH_MODULE_NCASES; i++) {
        const struct pth_module_case *c = &pth_module_cases[i];
        pth_file *f = (pth_file *)1;
        lab_err_clear();
        int rc = pth_load_pickle_ex(c->pickle, c->len, PTH_MODULE_CASE_STORAGE_BYTES, PTH_MODULES, &f);
        if (c->ok) {
            ck_assert_msg(rc == LAB_OK, "case %s: %s", c->name, lab_err_message());
            ck_assert_uint_eq(pth_count(f), c->expect ? 1 : 0);
            if (c->expect)
                ck_assert_str_eq(pth_at(f, 0)->name, c->expect);
        } else {
            ck_assert_msg(rc == LAB_EUSAGE, "case %s: rc %d (%s)", c->name, rc, lab_err_message());
            ck_assert_ptr_null(f);
            ck_assert_msg(strstr(lab_err_message(), c->expect) != NULL, "case %s: message '%s' lacks '%s'", c->name,
                          lab_err_message(), c->expect);
            ck_assert_msg(lab_err_fix()[0] != '\0', "case %s: no fix", c->name);
        }
        pth_free(f);
        /* without PTH_MODULES nothing of a module tree is read */
        if (c->ok && c->expect) {
            ck_assert_int_eq(pth_load_pickle(c->pickle, c->len, PTH_MODULE_CASE_STORAGE_BYTES, &f), LAB_EUSAGE);
            ck_assert_ptr_null(f);
        }
    }
}
END_TEST

/* Weights written here are a state dict with Ultralytics' keys: they load
 * strictly into a PyTorch YOLOv8n (as into ultralytics' DetectionModel,
 * docs/labs/2.2.3.md) and give our output there, and load back here. */
START_TEST(test_our_weights_load_in_pytorch)
{
    /* the perturbed reference weights: every layer shows in the output */
    struct model *m = loaded_n(), *back = NULL;
    char path[4200], out[4200], cmd[16384];
    snprintf(path, sizeof path, "%s/ours.safetensors", dir);
    ck_assert_msg(weights_save(m->params, path, NULL, NULL, 0) == 0, "%s", lab_err_message());
    ck_assert_msg(yolov8_load(path, &back) == 0, "%s", lab_err_message());
    ck_assert_str_eq(back->name, "yolov8n");
    ck_assert_int_eq(ts_scope_begin(), TS_OK);
    int prev = ts_no_grad_push();
    ts_tensor *x = shim_ref_load(dir, "x", NULL), *y, *y2;
    ck_assert_int_eq(yolov8_forward(m, x, 0, &y, NULL, NULL), 0);
    ck_assert_int_eq(yolov8_forward(back, x, 0, &y2, NULL, NULL), 0);
    snprintf(out, sizeof out, "%s/ours_y.t", dir);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/ref/yolov8.py check '%s' '%s/x.t' '%s' 2>&1", tu_src_dir(),
             path, dir, out);
    char *log = NULL;
    int rc = tu_run(cmd, &log);
    ck_assert_msg(rc == 0, "%s: %s", cmd, log);
    free(log);
    shim_ref_expect(dir, "ours_y", y, RTOL);
    shim_ref_expect(dir, "ours_y", y2, RTOL);
    ts_grad_mode_pop(prev);
    ts_scope_end();
    model_free(m);
    model_free(back);
}
END_TEST

/* Whole-model pickles of the reference with Ultralytics' class paths: the
 * SiLU one gives the reference output; the one with Identity after SPPF's
 * cv1 (Ultralytics 8.4's build) is run that way, as its tree says. */
START_TEST(test_pickled_tree_decides_the_sppf_activation)
{
    char path[4200];
    struct model *m = NULL, *id = NULL;
    snprintf(path, sizeof path, "%s/yolov8n.pt", dir);
    ck_assert_msg(yolov8_load(path, &m) == 0, "%s", lab_err_message());
    pth_file *f;
    ck_assert_int_eq(pth_load_ex(path, PTH_MODULES, &f), 0);
    ck_assert_str_eq(pth_module_class(f, "model.model.9.cv1.act"), "SiLU");
    ck_assert_str_eq(pth_module_class(f, "model.model.9"), "SPPF");
    ck_assert_str_eq(pth_module_class(f, "model"), "DetectionModel");
    ck_assert_ptr_null(pth_module_class(f, "model.model.99"));
    pth_free(f);
    snprintf(path, sizeof path, "%s/yolov8n-identity.pt", dir);
    ck_assert_msg(yolov8_load(path, &id) == 0, "%s", lab_err_message());
    ck_assert_int_eq(ts_scope_begin(), TS_OK);
    int prev = ts_no_grad_push();
    ts_tensor *x = shim_ref_load(dir, "x", NULL), *y, *layers[YOLOV8_LAYERS - 1];
    ck_assert_int_eq(yolov8_forward(m, x, 0, &y, NULL, layers), 0);
    shim_ref_expect(dir, "y", y, RTOL);
    shim_ref_expect(dir, "layer.9", layers[9], RTOL);
    ck_assert_int_eq(yolov8_forward(id, x, 0, &y, NULL, layers), 0);
    shim_ref_expect(dir, "id.layer.9", layers[9], RTOL);
    shim_ref_expect(dir, "id.y", y, RTOL);
    char why[256];
    ck_assert_msg(shim_ref_compare(dir, "layer.9", layers[9], RTOL, why, sizeof why) != 0,
                  "the Identity SPPF gives the SiLU one's layer 9");
    ts_grad_mode_pop(prev);
    ts_scope_end();
    model_free(m);
    model_free(id);
}
END_TEST

/* Under CPU bf16 autocast (what --precision bf16 runs) the same weights
 * stay close to PyTorch's fp32 output: boxes within 2% of the largest
 * coordinate, scores within 5% of the largest score. */
START_TEST(test_bf16_autocast_stays_close)
{
    struct model *m = loaded_n();
    ck_assert_int_eq(ts_scope_begin(), TS_OK);
    int prev = ts_no_grad_push(), token;
    ts_tensor *x = shim_ref_load(dir, "x", NULL), *y, *y32, *ref = shim_ref_load(dir, "y", NULL);
    ck_assert_int_eq(ts_autocast_push(TS_CPU, TS_BF16, &token), TS_OK);
    int rc = yolov8_forward(m, x, 0, &y, NULL, NULL);
    ck_assert_int_eq(ts_autocast_pop(token), TS_OK);
    ck_assert_msg(rc == 0, "%s", lab_err_message());
    ck_assert_int_eq(ts_dtype(y), TS_BF16);
    ck_assert_int_eq(ts_to(&y32, y, TS_CPU, TS_F32), TS_OK);
    ts_tensor *box, *rbox, *cls, *rcls;
    ck_assert_int_eq(ts_narrow(&box, y32, 1, 0, 4), TS_OK);
    ck_assert_int_eq(ts_narrow(&rbox, ref, 1, 0, 4), TS_OK);
    ck_assert_int_eq(ts_narrow(&cls, y32, 1, 4, 80), TS_OK);
    ck_assert_int_eq(ts_narrow(&rcls, ref, 1, 4, 80), TS_OK);
    expect_close("bf16 boxes", box, rbox, 0.02);
    expect_close("bf16 scores", cls, rcls, 0.05);
    ts_grad_mode_pop(prev);
    ts_scope_end();
    model_free(m);
}
END_TEST

/* The reference itself: Ultralytics' checkpoint through tests/ref/yolov8.py's
 * classes reproduces Ultralytics' own per-layer outputs. */
START_TEST(test_reference_is_ultralytics)
{
    char *pt = shared("2.2.3-yolov8n-random.pt"), *exp = shared("2.2.3-yolov8n-random.expected.safetensors");
    if (pt && exp) {
        char cmd[16384], *log = NULL;
        snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/ref/yolov8.py fixture '%s' '%s' 2>&1", tu_src_dir(), pt,
                 exp);
        int rc = tu_run(cmd, &log);
        ck_assert_msg(rc == 0 && strstr(log, "reference matches"), "%s: %s", cmd, log);
        free(log);
    }
    free(pt);
    free(exp);
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
    tcase_add_test(tc, test_ultralytics_checkpoints_load_and_match);
    tcase_add_test(tc, test_hostile_module_pickles_refused);
    tcase_add_test(tc, test_our_weights_load_in_pytorch);
    tcase_add_test(tc, test_pickled_tree_decides_the_sppf_activation);
    tcase_add_test(tc, test_bf16_autocast_stays_close);
    tcase_add_test(tc, test_reference_is_ultralytics);
    suite_add_tcase(s, tc);
    return s;
}
