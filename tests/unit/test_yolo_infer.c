/* YOLOv8 post-processing and letterbox (labs/2.2.3-yolo-detection/infer.h)
 * against tests/ref/yolov8_infer.py (torchvision's nms with Ultralytics'
 * class offsets, LetterBox's arithmetic, scale_boxes). */
#include "base/error.h"
#include "labs/2.2.3-yolo-detection/infer.h"
#include "tests/unit/shim_testref.h"
#include "tests/unit/testutil.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dir;
static void generate(void) { dir = shim_ref_generate("yolov8_infer.py"); }
static void cleanup(void)
{
    tu_rmtree(dir);
    free(dir);
    dir = NULL;
}

/* A reference tensor as host floats (*n elements). */
static float *host_f32(const char *name, int64_t *n)
{
    ts_tensor *t = shim_ref_load(dir, name, NULL);
    ck_assert_msg(t != NULL, "%s missing", name);
    *n = ts_numel(t);
    float *v = malloc(sizeof *v * (size_t)(*n ? *n : 1));
    ck_assert_int_eq(ts_to_host(t, TS_F32, v, sizeof *v * (size_t)*n), TS_OK);
    ts_tensor_free(t);
    return v;
}

START_TEST(test_nms_is_ultralytics)
{
    static const struct {
        double conf, iou;
        int max_det;
        int classes[3], nclasses;
    } cases[] = {{0.25, 0.7, 300, {0}, 0}, {0.1, 0.45, 300, {0}, 0}, {0.25, 0.7, 5, {0}, 0},
                 {0.25, 0.7, 300, {0, 2, 5}, 3}};
    int64_t np;
    float *pred = host_f32("nms.pred", &np);
    int64_t anchors = np / 84;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        struct yolo_nms_opts o = {.conf = cases[k].conf, .iou = cases[k].iou, .max_det = cases[k].max_det,
                                  .classes = cases[k].nclasses ? cases[k].classes : NULL,
                                  .nclasses = cases[k].nclasses};
        struct yolo_det *d = malloc(sizeof *d * 300);
        int n;
        ck_assert_int_eq(yolo_nms(pred, 80, anchors, &o, d, &n), 0);
        char name[32];
        int64_t nb, nc, ncl;
        snprintf(name, sizeof name, "nms.%zu.boxes", k);
        float *boxes = host_f32(name, &nb);
        snprintf(name, sizeof name, "nms.%zu.conf", k);
        float *conf = host_f32(name, &nc);
        snprintf(name, sizeof name, "nms.%zu.cls", k);
        float *cls = host_f32(name, &ncl);
        ck_assert_msg(n == nc, "case %zu: %d kept, torchvision keeps %lld", k, n, (long long)nc);
        ck_assert_msg(n > 1, "case %zu keeps too little to test", k);
        for (int i = 0; i < n; i++) {
            ck_assert_float_eq_tol(d[i].conf, conf[i], 1e-6);
            ck_assert_int_eq(d[i].cls, (int)cls[i]);
            float got[4] = {d[i].x1, d[i].y1, d[i].x2, d[i].y2};
            for (int c = 0; c < 4; c++)
                ck_assert_float_eq_tol(got[c], boxes[i * 4 + c], 1e-3);
        }
        free(boxes), free(conf), free(cls), free(d);
    }
    free(pred);
}
END_TEST

START_TEST(test_letterbox_is_ultralytics)
{
    int64_t np, no;
    float *plans = host_f32("lb.plans", &np), *outs = host_f32("lb.out", &no);
    for (int64_t i = 0; i < np / 8; i++) {
        const float *p = plans + i * 8;
        struct yolo_letterbox lb;
        ck_assert_int_eq(yolo_letterbox_plan((int)p[0], (int)p[1], (int)p[2], (int)p[3], &lb), 0);
        int got[6] = {lb.new_w, lb.new_h, lb.left, lb.top, lb.out_w, lb.out_h};
        int want[6] = {(int)p[4], (int)p[5], (int)p[6], (int)p[7], (int)outs[i * 2], (int)outs[i * 2 + 1]};
        for (int k = 0; k < 6; k++)
            ck_assert_msg(got[k] == want[k], "%gx%g at %g rect %g: field %d is %d, Ultralytics %d", p[0], p[1], p[2],
                          p[3], k, got[k], want[k]);
    }
    free(plans), free(outs);
    /* pixels: bilinear (half-pixel), rounded to u8, 114 around, / 255 */
    int64_t ni, nx;
    float *img = host_f32("lb.img", &ni), *want = host_f32("lb.input", &nx);
    uint8_t *px = malloc((size_t)ni);
    for (int64_t i = 0; i < ni; i++)
        px[i] = (uint8_t)img[i];
    struct yolo_letterbox lb;
    ck_assert_int_eq(yolo_letterbox_plan(200, 150, 64, 1, &lb), 0);
    ck_assert_int_eq((int64_t)3 * lb.out_w * lb.out_h, nx);
    float *x = malloc(sizeof *x * (size_t)nx);
    ck_assert_int_eq(yolo_letterbox_apply(px, 3, &lb, x), 0);
    for (int64_t i = 0; i < nx; i++)
        ck_assert_msg(fabsf(x[i] - want[i]) <= 1.01f / 255, "input[%lld] %g, reference %g", (long long)i, x[i],
                      want[i]);
    ck_assert_float_eq_tol(x[0], 114.0f / 255, 1e-6); /* 200x150 -> 64x48, 8 rows of padding on top */
    free(img), free(want), free(px), free(x);
    ck_assert_int_eq(yolo_letterbox_plan(100, 100, 100, 1, &lb), LAB_EUSAGE);
    ck_assert_int_eq(yolo_letterbox_plan(0, 100, 640, 1, &lb), LAB_EUSAGE);
}
END_TEST

START_TEST(test_scale_boxes_is_ultralytics)
{
    int64_t ni, no;
    float *in = host_f32("scale.in", &ni), *want = host_f32("scale.out", &no);
    struct yolo_letterbox lb;
    ck_assert_int_eq(yolo_letterbox_plan(1280, 720, 640, 1, &lb), 0);
    ck_assert_int_eq(lb.out_w, 640);
    ck_assert_int_eq(lb.out_h, 384);
    struct yolo_det d[8];
    int n = (int)(ni / 4);
    for (int i = 0; i < n; i++)
        d[i] = (struct yolo_det){in[4 * i], in[4 * i + 1], in[4 * i + 2], in[4 * i + 3], 1, 0};
    yolo_scale_boxes(&lb, d, n);
    for (int i = 0; i < n; i++) {
        float got[4] = {d[i].x1, d[i].y1, d[i].x2, d[i].y2};
        for (int k = 0; k < 4; k++)
            ck_assert_float_eq_tol(got[k], want[4 * i + k], 1e-3);
    }
    free(in), free(want);
}
END_TEST

Suite *suite_yolo_infer(void)
{
    Suite *s = suite_create("yolo_infer");
    TCase *tc = tcase_create("post");
    tcase_add_unchecked_fixture(tc, generate, cleanup);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_nms_is_ultralytics);
    tcase_add_test(tc, test_letterbox_is_ultralytics);
    tcase_add_test(tc, test_scale_boxes_is_ultralytics);
    suite_add_tcase(s, tc);
    return s;
}
