/* The segment task's losses and metrics (labs/tasks/segment.h) against the
 * course's definitions restated in tests/ref/segment224.py, with pixels
 * labelled 255 present: each loss variant and its gradient w.r.t. the
 * logits, and per-class IoU / mIoU over the classes present in prediction
 * or ground truth / pixel accuracy / Dice from a confusion matrix. */
#include "base/error.h"
#include "labs/2.2.4-unet-segmentation/seg_plots.h"
#include "labs/tasks/segment.h"
#include "tests/unit/shim_testref.h"
#include "tests/unit/testutil.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dir;
static void generate(void) { dir = shim_ref_generate("segment224.py"); }
static void cleanup(void)
{
    tu_rmtree(dir);
    free(dir);
    dir = NULL;
}

START_TEST(test_losses_and_gradients_match_the_reference)
{
    static const char *const kinds[] = {"ce_dice", "ce", "dice", "focal"};
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(ts_scope_begin(), TS_OK);
        ts_tensor *logits = shim_ref_load(dir, "loss.logits", NULL);
        ts_tensor *target = shim_ref_load(dir, "loss.target", NULL);
        ck_assert_int_eq(ts_set_requires_grad(logits, 1), TS_OK);
        struct segment_loss_cfg cfg;
        segment_loss_cfg_course(&cfg);
        ck_assert_int_eq(segment_loss_kind_parse(kinds[i], &cfg.kind), 0);
        ck_assert_int_eq(cfg.kind, i);
        ts_tensor *loss, *grad;
        ck_assert_msg(segment_loss(logits, target, &cfg, &loss) == 0, "%s: %s", kinds[i], lab_err_message());
        char name[64];
        snprintf(name, sizeof name, "loss.%s", kinds[i]);
        shim_ref_expect(dir, name, loss, 1e-5);
        ck_assert_int_eq(ts_backward(loss, NULL), TS_OK);
        ck_assert_int_eq(ts_grad(&grad, logits), TS_OK);
        snprintf(name, sizeof name, "loss.%s.grad", kinds[i]);
        shim_ref_expect(dir, name, grad, 1e-5);
        ts_scope_end();
    }
    int kind;
    ck_assert_int_ne(segment_loss_kind_parse("lovasz", &kind), 0);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "lovasz"));
}
END_TEST

START_TEST(test_argmax_masks_are_pytorchs)
{
    enum { N = 2 * 7 * 9 };
    ck_assert_int_eq(ts_scope_begin(), TS_OK);
    ts_tensor *logits = shim_ref_load(dir, "loss.logits", NULL);
    uint8_t got[N], want[N];
    ck_assert_msg(segment_argmax_masks(logits, got, N) == 0, "%s", lab_err_message());
    ts_tensor *ref = shim_ref_load(dir, "loss.argmax", NULL);
    ck_assert_int_eq(ts_to_host(ref, TS_U8, want, N), TS_OK);
    ck_assert_mem_eq(got, want, N);
    ck_assert_int_ne(segment_argmax_masks(logits, got, N - 1), 0);
    ts_scope_end();
}
END_TEST

START_TEST(test_mismatched_shapes_name_the_kb_entry)
{
    ck_assert_int_eq(ts_scope_begin(), TS_OK);
    int64_t ls[4] = {1, 3, 8, 8}, ts[3] = {1, 8, 9};
    ts_tensor *logits, *target, *loss;
    ck_assert_int_eq(ts_zeros(&logits, 4, ls, TS_F32, TS_CPU), TS_OK);
    ck_assert_int_eq(ts_zeros(&target, 3, ts, TS_I64, TS_CPU), TS_OK);
    struct segment_loss_cfg cfg;
    segment_loss_cfg_course(&cfg);
    ck_assert_int_ne(segment_loss(logits, target, &cfg, &loss), 0);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "TS-UNET-SHAPE"));
    ts_scope_end();
}
END_TEST

static void host_u8(const char *name, uint8_t *buf, size_t n)
{
    ts_tensor *t = shim_ref_load(dir, name, NULL);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(ts_numel(t), (int64_t)n);
    ck_assert_int_eq(ts_to_host(t, TS_U8, buf, n), TS_OK);
    ts_tensor_free(t);
}

static void host_f64(const char *name, double *buf, size_t n)
{
    ts_tensor *t = shim_ref_load(dir, name, NULL);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(ts_numel(t), (int64_t)n);
    ck_assert_int_eq(ts_to_host(t, TS_F64, buf, n * sizeof *buf), TS_OK);
    ts_tensor_free(t);
}

static void expect_close(const char *what, double got, double want)
{
    if (isnan(want))
        ck_assert_msg(isnan(got), "%s: %g, the reference has NaN", what, got);
    else
        ck_assert_msg(fabs(got - want) < 1e-12, "%s: %.15g, the reference has %.15g", what, got, want);
}

START_TEST(test_metrics_pooled_over_the_split_match_the_courses)
{
    enum { N = 3 * 6 * 8, K = 6 };
    uint8_t pred[N], truth[N];
    host_u8("iou.pred", pred, N);
    host_u8("iou.truth", truth, N);
    struct segment_confusion c;
    ck_assert_int_eq(segment_confusion_init(&c, K), 0);
    /* accumulated image by image: the same as pooled */
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(segment_confusion_add(&c, pred + i * 48, truth + i * 48, 48, 255), 0);
    ck_assert_int_gt(c.ignored, 0);
    struct segment_metrics m;
    ck_assert_int_eq(segment_metrics_compute(&c, &m), 0);
    double iou[K], dice[K], miou, acc;
    host_f64("iou.per_class", iou, K);
    host_f64("iou.dice", dice, K);
    host_f64("iou.miou", &miou, 1);
    host_f64("iou.pixel_accuracy", &acc, 1);
    for (int k = 0; k < K; k++) {
        expect_close("IoU", m.iou[k], iou[k]);
        expect_close("Dice", m.dice[k], dice[k]);
    }
    ck_assert(isnan(m.iou[4]));   /* in neither: not present */
    ck_assert(m.iou[5] == 0.0);   /* predicted only: present with IoU 0 */
    ck_assert_int_eq(m.present, 5);
    expect_close("mIoU", m.miou, miou);
    expect_close("pixel accuracy", m.pixel_accuracy, acc);
    json_t *o = json_object();
    segment_metrics_to_json(&m, o);
    ck_assert(json_is_null(json_array_get(json_object_get(o, "per_class_iou"), 4)));
    ck_assert(fabs(json_real_value(json_object_get(o, "miou")) - miou) < 1e-12);
    json_decref(o);
    segment_metrics_free(&m);
    /* an id outside the classes is refused, naming it */
    uint8_t bad = 7, ok = 1;
    ck_assert_int_ne(segment_confusion_add(&c, &bad, &ok, 1, 255), 0);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "7"));
    ck_assert_int_ne(segment_confusion_add(&c, &ok, &bad, 1, 255), 0);
    segment_confusion_free(&c);
}
END_TEST

START_TEST(test_all_one_class_scores_low)
{
    /* the course's "IoU is 0" case: everything predicted background */
    uint8_t pred[16] = {0}, truth[16];
    for (int i = 0; i < 16; i++)
        truth[i] = (uint8_t)(i < 8 ? 0 : 1 + i % 3);
    struct segment_confusion c;
    ck_assert_int_eq(segment_confusion_init(&c, 4), 0);
    ck_assert_int_eq(segment_confusion_add(&c, pred, truth, 16, 255), 0);
    struct segment_metrics m;
    ck_assert_int_eq(segment_metrics_compute(&c, &m), 0);
    ck_assert(m.iou[0] == 0.5);
    ck_assert(m.iou[1] == 0.0 && m.iou[2] == 0.0 && m.iou[3] == 0.0);
    ck_assert(fabs(m.miou - 0.125) < 1e-12);
    segment_metrics_free(&m);
    segment_confusion_free(&c);
}
END_TEST

/* The file reads back in Python as the segment format says: masks U8
 * [N, H, W] (H and W not swapped), indices I64, the format in the metadata. */
START_TEST(test_predictions_follow_the_segment_format)
{
    uint8_t masks[2 * 3 * 5];
    for (int i = 0; i < 30; i++)
        masks[i] = (uint8_t)(i % 11);
    int64_t idx[2] = {4, 9};
    char *tmp = tu_tempdir(), path[4200], cmd[12000];
    snprintf(path, sizeof path, "%s/predictions.safetensors", tmp);
    ck_assert_msg(segment_save_predictions(path, masks, idx, 2, 3, 5, "voc2012/val") == 0, "%s", lab_err_message());
    snprintf(cmd, sizeof cmd,
             "cd '%s/tests/ref' && /usr/bin/python3 -c 'import sys; from weights_safetensors import deserialize; "
             "t, m = deserialize(open(sys.argv[1], \"rb\").read()); "
             "print(m[\"format\"], m[\"eval_set\"], t[\"masks\"][0], t[\"masks\"][1], t[\"indices\"][0], t[\"indices\"][1], "
             "sum(t[\"masks\"][2]), list(t[\"indices\"][2]))' '%s' 2>&1",
             tu_src_dir(), path);
    char *out = NULL;
    ck_assert_int_eq(tu_run(cmd, &out), 0);
    ck_assert_msg(strstr(out, "lab-masks-v1 voc2012/val U8 (2, 3, 5) I64 (2,) 138 [4, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0]") != NULL,
                  "%s", out);
    free(out);
    ck_assert_int_ne(segment_save_predictions(path, masks, idx, 0, 3, 5, NULL), 0);
    tu_rmtree(tmp);
    free(tmp);
}
END_TEST

/* One-pixel rings: around a lone object on the background side; between two
 * touching objects on the lower id's side; nothing inside objects. */
START_TEST(test_borders_are_one_pixel_and_outside_objects)
{
    enum { H = 7, W = 9 };
    uint8_t m[H * W] = {0};
    for (int y = 2; y <= 4; y++)
        for (int x = 2; x <= 3; x++)
            m[y * W + x] = 3; /* a 3x2 object of class 3 */
    for (int y = 2; y <= 4; y++)
        m[y * W + 4] = 5; /* touching it on the right: class 5 */
    uint8_t orig[H * W];
    memcpy(orig, m, sizeof m);
    ck_assert_int_eq(segment_mark_borders(m, H, W, 255), 0);
    int ring = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            uint8_t o = orig[y * W + x], v = m[y * W + x];
            int near = 0; /* some 8-neighbour with a larger id */
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    int yy = y + dy, xx = x + dx;
                    if (yy >= 0 && yy < H && xx >= 0 && xx < W && orig[yy * W + xx] > o)
                        near = 1;
                }
            ck_assert_msg(v == (near ? 255 : o), "(%d, %d): %d from %d", y, x, v, o);
            ring += v == 255;
        }
    /* the background ring around the 3x3 block (5x5 - 9 = 16) and class 3's
     * column touching class 5 (3 pixels); class 5 keeps every pixel */
    ck_assert_int_eq(ring, 16 + 3);
    ck_assert_int_eq(m[3 * W + 4], 5);
    ck_assert_int_eq(m[3 * W + 3], 255);
    ck_assert_int_eq(m[3 * W + 2], 3);
    segment_borders_to_background(m, H * W, 255);
    for (int i = 0; i < H * W; i++)
        ck_assert_int_ne(m[i], 255);
    ck_assert_int_eq(m[1 * W + 1], 0);
    ck_assert_int_eq(m[3 * W + 4], 5);
}
END_TEST

/* Lab 2.2.4's plots colour masks as VOC does; 255 is VOC's border colour,
 * the one shared/reference/README.md names (224, 224, 192). */
START_TEST(test_voc_colours_are_the_devkits)
{
    uint8_t want[256 * 3], got[3];
    ck_assert_int_eq(ts_scope_begin(), TS_OK);
    ts_tensor *ref = shim_ref_load(dir, "voc.palette", NULL);
    ck_assert_int_eq(ts_to_host(ref, TS_U8, want, sizeof want), TS_OK);
    ts_scope_end();
    for (int c = 0; c < 256; c++) {
        seg_voc_colour(c, got);
        ck_assert_msg(memcmp(got, want + 3 * c, 3) == 0, "class %d: %d,%d,%d", c, got[0], got[1], got[2]);
    }
    seg_voc_colour(255, got);
    ck_assert_int_eq(got[0], 224);
    ck_assert_int_eq(got[1], 224);
    ck_assert_int_eq(got[2], 192);
}
END_TEST

Suite *suite_segment(void)
{
    Suite *s = suite_create("segment");
    TCase *tc = tcase_create("loss-metrics");
    tcase_add_unchecked_fixture(tc, generate, cleanup);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_losses_and_gradients_match_the_reference);
    tcase_add_test(tc, test_argmax_masks_are_pytorchs);
    tcase_add_test(tc, test_mismatched_shapes_name_the_kb_entry);
    tcase_add_test(tc, test_metrics_pooled_over_the_split_match_the_courses);
    tcase_add_test(tc, test_all_one_class_scores_low);
    tcase_add_test(tc, test_predictions_follow_the_segment_format);
    tcase_add_test(tc, test_borders_are_one_pixel_and_outside_objects);
    tcase_add_test(tc, test_voc_colours_are_the_devkits);
    suite_add_tcase(s, tc);
    return s;
}
