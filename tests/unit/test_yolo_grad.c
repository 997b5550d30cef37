/* The network's gradients under the YOLOv8 loss against Ultralytics':
 * ../shared/reference/2.2.3-yolov8n-random.pt in train mode on the loss
 * fixture's images (u8 / 255), the three maps flattened to [b, a, 144],
 * the assigner on our own maps with the fixture's ground truth, yolo_loss,
 * backward; then grad.model.22.cv2.0.2.weight and grad.model.0.conv.weight
 * (gradients of loss.total) as stored in 2.2.3-yolov8n.loss.safetensors.
 * Skipped without the reference checkout. */
#include "base/error.h"
#include "labs/models/yolov8.h"
#include "labs/tasks/detect_assign.h"
#include "labs/tasks/detect_loss.h"
#include "shim/safetensors.h"
#include "tests/unit/testutil.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

enum { B = 2, A = 336, K = 80, C = 144, REG = 16, S = 128 };

static const void *get(st_file *f, const char *name, enum st_dtype dt, size_t numel)
{
    const struct st_tensor *t = st_find(f, name);
    ck_assert_msg(t, "fixture lacks %s", name);
    ck_assert_msg(t->dtype == dt && t->nbytes == numel * st_dtype_size(dt), "%s: unexpected dtype or size", name);
    return t->data;
}

/* worst |got - want| over the tensor, relative to the largest |want| */
static double rel_worst(const float *got, const float *want, size_t n)
{
    double worst = 0, scale = 0;
    for (size_t i = 0; i < n; i++) {
        worst = fmax(worst, fabs((double)got[i] - want[i]));
        scale = fmax(scale, fabs((double)want[i]));
    }
    return scale > 0 ? worst / scale : worst;
}

static void compare_grad(struct model *m, st_file *f, const char *name, size_t numel)
{
    char key[96];
    snprintf(key, sizeof key, "grad.%s", name);
    const float *want = get(f, key, ST_F32, numel);
    ts_tensor *p = ts_params_get(m->params, name), *g = NULL;
    ck_assert_msg(p, "the model has no %s", name);
    ck_assert_int_eq(ts_grad(&g, p), TS_OK);
    ck_assert_msg(g, "%s got no gradient", name);
    float *got = malloc(numel * sizeof *got);
    ck_assert_ptr_nonnull(got);
    ck_assert_int_eq(ts_to_host(g, TS_F32, got, numel * sizeof *got), TS_OK);
    double big = 0;
    for (size_t i = 0; i < numel; i++)
        big = fmax(big, fabs((double)got[i]));
    ck_assert_msg(big > 0, "%s is all zero", name);
    /* measured 7e-6 and 1e-5 of the largest value: fp32 rounding */
    double w = rel_worst(got, want, numel);
    ck_assert_msg(w < 1e-4, "%s differs from Ultralytics' by %g of its largest value", key, w);
    free(got);
}

START_TEST(test_network_gradients_match_ultralytics)
{
    char path[4200], pt[4200];
    snprintf(path, sizeof path, "%s/../shared/reference/2.2.3-yolov8n.loss.safetensors", tu_src_dir());
    snprintf(pt, sizeof pt, "%s/../shared/reference/2.2.3-yolov8n-random.pt", tu_src_dir());
    FILE *probe = fopen(path, "rb"), *probe2 = fopen(pt, "rb");
    if (probe)
        fclose(probe);
    if (probe2)
        fclose(probe2);
    if (!probe || !probe2)
        return;
    st_file *f;
    ck_assert_int_eq(st_open(path, &f), LAB_OK);
    struct model *m = NULL;
    ck_assert_msg(yolov8_load(pt, &m) == LAB_OK, "%s", lab_err_message());
    ck_assert_int_eq(ts_scope_begin(), TS_OK);
    const uint8_t *u8 = get(f, "images_u8", ST_U8, (size_t)B * 3 * S * S);
    static float img[B * 3 * S * S];
    for (size_t i = 0; i < sizeof img / sizeof img[0]; i++)
        img[i] = (float)u8[i] / 255.0f;
    ts_tensor *x, *raw[3] = {NULL, NULL, NULL}, *y = NULL;
    int64_t xs[4] = {B, 3, S, S};
    ck_assert_int_eq(ts_from_host(&x, img, TS_F32, 4, xs, TS_CPU), TS_OK);
    ck_assert_msg(yolov8_forward(m, x, 1, &y, raw, NULL) == LAB_OK, "%s", lab_err_message());
    /* maps -> [b, 144, a] -> [b, a, 144], Ultralytics' anchor order */
    ts_tensor *flat[3], *cat, *perm, *rt;
    static float anchors[A * 2], anc_px[A * 2], strides[A];
    int64_t a = 0;
    for (int l = 0; l < 3; l++) {
        int hw = 16 >> l, stride = 8 << l;
        int64_t shp[3] = {B, C, (int64_t)hw * hw};
        ck_assert_int_eq(ts_reshape(&flat[l], raw[l], 3, shp), TS_OK);
        /* our maps against the stored train-mode maps */
        char name[16];
        snprintf(name, sizeof name, "pred.%d", l);
        size_t n = (size_t)B * C * hw * hw;
        float *got = malloc(n * sizeof *got);
        ck_assert_ptr_nonnull(got);
        ck_assert_int_eq(ts_to_host(raw[l], TS_F32, got, n * sizeof *got), TS_OK);
        double w = rel_worst(got, get(f, name, ST_F32, n), n);
        ck_assert_msg(w < 1e-4, "%s differs by %g of its largest value", name, w);
        free(got);
        for (int yy = 0; yy < hw; yy++)
            for (int xx = 0; xx < hw; xx++, a++) {
                anchors[a * 2] = (float)xx + 0.5f;
                anchors[a * 2 + 1] = (float)yy + 0.5f;
                strides[a] = (float)stride;
                anc_px[a * 2] = anchors[a * 2] * (float)stride;
                anc_px[a * 2 + 1] = anchors[a * 2 + 1] * (float)stride;
            }
    }
    ck_assert_int_eq(a, A);
    ck_assert_int_eq(ts_cat(&cat, (const ts_tensor *const *)flat, 3, 2), TS_OK);
    int64_t dims[3] = {0, 2, 1};
    ck_assert_int_eq(ts_permute(&perm, cat, 3, dims), TS_OK);
    ck_assert_int_eq(ts_contiguous(&rt, perm), TS_OK);
    /* the assigner's inputs from our maps, as Ultralytics takes them (detached) */
    static float host[B * A * C], scores[B * A * K], pd[B * A * 4];
    ck_assert_int_eq(ts_to_host(rt, TS_F32, host, sizeof host), TS_OK);
    for (int64_t o = 0; o < B * A; o++) {
        float box[4];
        dfl_decode(host + o * C, REG, anchors + (o % A) * 2, box);
        for (int s = 0; s < 4; s++)
            pd[o * 4 + s] = box[s] * strides[o % A];
        for (int k = 0; k < K; k++)
            scores[o * K + k] = 1.0f / (1.0f + expf(-host[o * C + 4 * REG + k]));
    }
    const float *gl = get(f, "assigner.in.gt_labels", ST_F32, B * 3);
    const float *mg = get(f, "assigner.in.mask_gt", ST_F32, B * 3);
    int64_t labels[B * 3];
    uint8_t mask[B * 3];
    for (int i = 0; i < B * 3; i++)
        labels[i] = (int64_t)gl[i], mask[i] = mg[i] > 0.5f;
    struct tal_input in = {B, A, 3, K, scores, pd, anc_px, labels,
                           get(f, "assigner.in.gt_bboxes", ST_F32, B * 3 * 4), mask};
    struct tal_params prm = TAL_DEFAULTS;
    struct tal_output out;
    ck_assert_int_eq(tal_assign(&in, &prm, &out), LAB_OK);
    ts_tensor *items, *tot;
    ck_assert_int_eq(yolo_loss(rt, B, A, K, REG, anchors, strides, &out, &items, &tot), LAB_OK);
    double total;
    ck_assert_int_eq(ts_item_f64(tot, &total), TS_OK);
    const float *want_total = get(f, "loss.total", ST_F32, 1);
    ck_assert_msg(fabs(total - want_total[0]) <= 1e-4 * want_total[0], "loss.total %.6f, Ultralytics %.6f", total,
                  (double)want_total[0]);
    ck_assert_int_eq(ts_backward(tot, NULL), TS_OK);
    compare_grad(m, f, "model.22.cv2.0.2.weight", 64 * 64);
    compare_grad(m, f, "model.0.conv.weight", 16 * 3 * 3 * 3);
    ts_scope_end();
    tal_output_free(&out);
    model_free(m);
    st_close(f);
}
END_TEST

Suite *suite_yolo_grad(void)
{
    Suite *s = suite_create("yolo_grad");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_network_gradients_match_ultralytics);
    suite_add_tcase(s, tc);
    return s;
}
