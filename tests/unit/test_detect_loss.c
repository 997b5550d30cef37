/* Ultralytics' YOLOv8 training targets and loss on the fixture
 * ../shared/reference/2.2.3-yolov8n.loss.safetensors: the assigner's
 * outputs from its captured inputs (and the class scores of the stored head
 * maps), the DFL decode against its pd_bboxes, and the three loss items.
 * Every expected value is read from the file; without the reference
 * checkout only the CIoU identities run. */
#include "base/error.h"
#include "labs/tasks/detect_assign.h"
#include "labs/tasks/detect_loss.h"
#include "shim/safetensors.h"
#include "tests/unit/testutil.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { B = 2, A = 336, K = 80, C = 144, REG = 16 };

/* Safetensors data is packed with no alignment (a u8 mask puts the next
 * i64 at an odd address): each tensor is read through an aligned copy,
 * freed by put_all() at the end of the test. */
static void *copies[32];
static size_t ncopies;

static const void *get(st_file *f, const char *name, enum st_dtype dt, size_t numel)
{
    const struct st_tensor *t = st_find(f, name);
    ck_assert_msg(t, "fixture lacks %s", name);
    ck_assert_msg(t->dtype == dt && t->nbytes == numel * st_dtype_size(dt), "%s: unexpected dtype or size", name);
    ck_assert_uint_lt(ncopies, sizeof copies / sizeof copies[0]);
    void *c = malloc(t->nbytes ? t->nbytes : 1);
    ck_assert_ptr_nonnull(c);
    memcpy(c, t->data, t->nbytes);
    return copies[ncopies++] = c;
}

static void put_all(void)
{
    while (ncopies)
        free(copies[--ncopies]);
}

START_TEST(test_ciou_identities)
{
    float a[4] = {10, 10, 50, 40}, b[4] = {60, 60, 80, 90};
    ck_assert_float_eq_tol(det_ciou(a, a), 1.0f, 1e-6f);
    /* disjoint boxes: IoU 0 minus the centre-distance term */
    ck_assert(det_ciou(a, b) < 0);
    ck_assert_float_eq_tol(det_ciou(a, b), det_ciou(b, a), 1e-6f);
}
END_TEST

START_TEST(test_assigner_and_loss_match_ultralytics)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/../shared/reference/2.2.3-yolov8n.loss.safetensors", tu_src_dir());
    FILE *probe = fopen(path, "rb");
    if (!probe)
        return;
    fclose(probe);
    st_file *f;
    ck_assert_int_eq(st_open(path, &f), LAB_OK);
    /* head maps -> [b, a, 144] in Ultralytics' anchor order */
    static float raw[B * A * C], anchors[A * 2], strides[A], scores[B * A * K];
    int64_t a = 0;
    for (int l = 0; l < 3; l++) {
        int hw = 16 >> l, stride = 8 << l;
        char name[16];
        snprintf(name, sizeof name, "pred.%d", l);
        const float *p = get(f, name, ST_F32, (size_t)(B * C * hw * hw));
        for (int y = 0; y < hw; y++)
            for (int x = 0; x < hw; x++, a++) {
                anchors[a * 2] = (float)x + 0.5f;
                anchors[a * 2 + 1] = (float)y + 0.5f;
                strides[a] = (float)stride;
                for (int n = 0; n < B; n++)
                    for (int c = 0; c < C; c++)
                        raw[((size_t)n * A + (size_t)a) * C + (size_t)c] =
                            p[(((size_t)n * C + (size_t)c) * (size_t)hw + (size_t)y) * (size_t)hw + (size_t)x];
            }
    }
    ck_assert_int_eq(a, A);
    const float *anc_px = get(f, "assigner.in.anc_points", ST_F32, A * 2);
    const float *pd_bboxes = get(f, "assigner.in.pd_bboxes", ST_F32, B * A * 4);
    for (int64_t i = 0; i < A; i++)
        for (int d = 0; d < 2; d++)
            ck_assert_float_eq_tol(anchors[i * 2 + d] * strides[i], anc_px[i * 2 + d], 1e-4f);
    /* our DFL decode of the stored maps against the boxes Ultralytics decoded */
    double worst = 0;
    for (int64_t o = 0; o < B * A; o++) {
        float box[4];
        dfl_decode(raw + o * C, REG, anchors + (o % A) * 2, box);
        for (int s = 0; s < 4; s++)
            worst = fmax(worst, fabs(box[s] * strides[o % A] - pd_bboxes[o * 4 + s]));
    }
    ck_assert_msg(worst < 1e-3, "DFL decode differs by %g px", worst);
    for (int64_t o = 0; o < B * A; o++)
        for (int k = 0; k < K; k++)
            scores[o * K + k] = 1.0f / (1.0f + expf(-raw[o * C + 4 * REG + k]));
    const float *gl = get(f, "assigner.in.gt_labels", ST_F32, B * 3);
    const float *mg = get(f, "assigner.in.mask_gt", ST_F32, B * 3);
    int64_t labels[B * 3];
    uint8_t mask[B * 3];
    for (int i = 0; i < B * 3; i++)
        labels[i] = (int64_t)gl[i], mask[i] = mg[i] > 0.5f;
    struct tal_input in = {B, A, 3, K, scores, pd_bboxes, anc_px, labels,
                           get(f, "assigner.in.gt_bboxes", ST_F32, B * 3 * 4), mask};
    struct tal_params prm = TAL_DEFAULTS;
    struct tal_output out;
    ck_assert_int_eq(tal_assign(&in, &prm, &out), LAB_OK);
    const uint8_t *fg = get(f, "assigner.fg_mask", ST_U8, B * A);
    const int64_t *tl = get(f, "assigner.target_labels", ST_I64, B * A);
    const int64_t *tg = get(f, "assigner.target_gt_idx", ST_I64, B * A);
    const float *tb = get(f, "assigner.target_bboxes", ST_F32, B * A * 4);
    const float *tsc = get(f, "assigner.target_scores", ST_F32, B * A * K);
    int positives = 0;
    for (int64_t o = 0; o < B * A; o++) {
        ck_assert_msg(out.fg_mask[o] == fg[o], "anchor %lld of image %lld: fg %d, Ultralytics %d", (long long)(o % A),
                      (long long)(o / A), out.fg_mask[o], fg[o]);
        positives += fg[o];
        if (!fg[o])
            continue;
        ck_assert_int_eq(out.target_gt_idx[o], tg[o]);
        ck_assert_int_eq(out.target_labels[o], tl[o]);
        for (int s = 0; s < 4; s++)
            ck_assert_float_eq_tol(out.target_bboxes[o * 4 + s], tb[o * 4 + s], 1e-4f);
    }
    double sworst = 0;
    for (size_t i = 0; i < (size_t)B * A * K; i++)
        sworst = fmax(sworst, fabs(out.target_scores[i] - tsc[i]));
    ck_assert_msg(sworst < 1e-4, "target_scores differ by up to %g", sworst);
    ck_assert_int_gt(positives, 0);
    /* the loss items, gains applied, per image of the batch */
    double items[3];
    ck_assert_int_eq(yolo_loss_host(raw, B, A, K, REG, anchors, strides, &out, items), LAB_OK);
    const float *want = get(f, "loss.items", ST_F32, 3);
    const char *names[3] = {"box", "cls", "dfl"};
    for (int i = 0; i < 3; i++)
        ck_assert_msg(fabs(items[i] - want[i]) <= 1e-4 * fabs(want[i]), "loss %s: %.6f, Ultralytics %.6f", names[i],
                      items[i], (double)want[i]);
    /* the same through the shim, with gradients */
    ck_assert_int_eq(ts_scope_begin(), TS_OK);
    ts_tensor *rt, *it, *tot, *g;
    int64_t shape[3] = {B, A, C};
    ck_assert_int_eq(ts_from_host(&rt, raw, TS_F32, 3, shape, TS_CPU), TS_OK);
    ck_assert_int_eq(ts_set_requires_grad(rt, 1), TS_OK);
    ck_assert_int_eq(yolo_loss(rt, B, A, K, REG, anchors, strides, &out, &it, &tot), LAB_OK);
    float got[3];
    ck_assert_int_eq(ts_to_host(it, TS_F32, got, sizeof got), TS_OK);
    for (int i = 0; i < 3; i++)
        ck_assert_msg(fabs(got[i] - want[i]) <= 1e-4 * fabs(want[i]), "autograd loss %s: %.6f, Ultralytics %.6f",
                      names[i], (double)got[i], (double)want[i]);
    const float *want_total = get(f, "loss.total", ST_F32, 1);
    double total;
    ck_assert_int_eq(ts_item_f64(tot, &total), TS_OK);
    ck_assert_double_eq_tol(total, want_total[0], 1e-4 * want_total[0]);
    ck_assert_int_eq(ts_backward(tot, NULL), TS_OK);
    ck_assert_int_eq(ts_grad(&g, rt), TS_OK);
    static float grad[B * A * C];
    ck_assert_int_eq(ts_to_host(g, TS_F32, grad, sizeof grad), TS_OK);
    /* class logits: d total / dz = (sigmoid(z) - target) * 0.5 * B / max(sum targets, 1) */
    double tss = 0;
    for (size_t i = 0; i < (size_t)B * A * K; i++)
        tss += out.target_scores[i];
    tss = tss < 1 ? 1 : tss;
    for (int64_t o = 0; o < B * A; o += 37)
        for (int j = 0; j < K; j += 13) {
            double z = raw[o * C + 4 * REG + j], y = out.target_scores[o * K + j];
            double an = (1 / (1 + exp(-z)) - y) * 0.5 * B / tss;
            ck_assert_msg(fabs(grad[o * C + 4 * REG + j] - an) < 1e-6, "cls grad %g, analytic %g",
                          (double)grad[o * C + 4 * REG + j], an);
        }
    /* box and DFL logits of positive anchors: central differences of the host
     * loss. The host loss differentiates through CIoU's alpha, which
     * Ultralytics (and yolo_loss) detach; v * d(alpha) is small next to the
     * DFL and IoU terms, hence the 2 % tolerance. The fixture's own
     * gradients (grad.model.*) go through the network: test_yolo_grad.c. */
    int checked = 0;
    for (int64_t o = 0; o < B * A && checked < 6; o++) {
        if (!out.fg_mask[o])
            continue;
        for (int c = 0; c < 4 * REG && checked < 6; c += 21, checked++) {
            const float h = 1e-2f, keep = raw[o * C + c];
            double lp[3], lm[3];
            raw[o * C + c] = keep + h;
            yolo_loss_host(raw, B, A, K, REG, anchors, strides, &out, lp);
            raw[o * C + c] = keep - h;
            yolo_loss_host(raw, B, A, K, REG, anchors, strides, &out, lm);
            raw[o * C + c] = keep;
            double fd = ((lp[0] + lp[1] + lp[2]) - (lm[0] + lm[1] + lm[2])) * B / (2.0 * h);
            ck_assert_msg(fabs(grad[o * C + c] - fd) <= 2e-3 + 0.02 * fabs(fd),
                          "anchor %lld logit %d: autograd %g, finite differences %g", (long long)o, c,
                          (double)grad[o * C + c], fd);
        }
    }
    ck_assert_int_eq(checked, 6);
    ts_scope_end();
    tal_output_free(&out);
    st_close(f);
    put_all();
}
END_TEST

Suite *suite_detect_loss(void)
{
    Suite *s = suite_create("detect_loss");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_ciou_identities);
    tcase_add_test(tc, test_assigner_and_loss_match_ultralytics);
    suite_add_tcase(s, tc);
    return s;
}
