/* Detection metrics against ../shared/reference/2.2.3-map.json: COCO's AP
 * as pycocotools computed it, and Ultralytics' own figures (its TP matrix
 * per image, mAP50, mAP50-95, mAP75, precision and recall at the max-F1
 * confidence, per-class AP50). Every expected number is read from the
 * file. Without the reference checkout, only the hand-checkable cases run. */
#include "base/error.h"
#include "labs/tasks/coco_eval.h"
#include "tests/unit/testutil.h"

#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fixture {
    json_t *root;
    int64_t n_images;
    float *gb, *pb, *ps;
    int64_t *gc, *gi, *pc, *pi;
    struct det_boxes gt, pred;
};

static int load_fixture(struct fixture *f)
{
    memset(f, 0, sizeof *f);
    char path[4200];
    snprintf(path, sizeof path, "%s/../shared/reference/2.2.3-map.json", tu_src_dir());
    json_error_t err;
    f->root = json_load_file(path, 0, &err);
    if (!f->root)
        return 0;
    json_t *images = json_object_get(f->root, "images");
    f->n_images = (int64_t)json_array_size(images);
    size_t ng = 0, np = 0, i;
    json_t *im;
    json_array_foreach(images, i, im) {
        ng += json_array_size(json_object_get(im, "gt"));
        np += json_array_size(json_object_get(im, "pred"));
    }
    f->gb = malloc((ng + 1) * 4 * sizeof(float));
    f->pb = malloc((np + 1) * 4 * sizeof(float));
    f->ps = malloc((np + 1) * sizeof(float));
    f->gc = malloc((ng + 1) * sizeof(int64_t));
    f->gi = malloc((ng + 1) * sizeof(int64_t));
    f->pc = malloc((np + 1) * sizeof(int64_t));
    f->pi = malloc((np + 1) * sizeof(int64_t));
    size_t a = 0, b = 0;
    json_array_foreach(images, i, im) {
        size_t j;
        json_t *o;
        ck_assert_int_eq(json_integer_value(json_object_get(im, "id")), (json_int_t)i);
        json_array_foreach(json_object_get(im, "gt"), j, o) {
            for (int c = 0; c < 4; c++)
                f->gb[a * 4 + c] = (float)json_number_value(json_array_get(json_object_get(o, "xyxy"), c));
            f->gc[a] = json_integer_value(json_object_get(o, "cls"));
            f->gi[a++] = (int64_t)i;
        }
        json_array_foreach(json_object_get(im, "pred"), j, o) {
            for (int c = 0; c < 4; c++)
                f->pb[b * 4 + c] = (float)json_number_value(json_array_get(json_object_get(o, "xyxy"), c));
            f->ps[b] = (float)json_number_value(json_object_get(o, "conf"));
            f->pc[b] = json_integer_value(json_object_get(o, "cls"));
            f->pi[b++] = (int64_t)i;
        }
    }
    f->gt = (struct det_boxes){ng, f->gb, NULL, f->gc, f->gi};
    f->pred = (struct det_boxes){np, f->pb, f->ps, f->pc, f->pi};
    return 1;
}

static void free_fixture(struct fixture *f)
{
    json_decref(f->root);
    free(f->gb);
    free(f->pb);
    free(f->ps);
    free(f->gc);
    free(f->gi);
    free(f->pc);
    free(f->pi);
}

static double num(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    ck_assert_msg(json_is_number(v), "2.2.3-map.json lacks %s", key);
    return json_number_value(v);
}

#define NEAR(got, want, what) \
    ck_assert_msg(fabs((got) - (want)) <= 1e-4, "%s: %.6f, the reference says %.6f", what, got, want)

START_TEST(test_coco_matches_pycocotools)
{
    struct fixture f;
    if (!load_fixture(&f))
        return; /* no ../shared/reference in this checkout */
    int64_t k = (int64_t)json_array_size(json_object_get(json_object_get(f.root, "ultralytics"), "classes"));
    ck_assert_int_eq(k, 5);
    struct coco_result r;
    ck_assert_int_eq(coco_evaluate(&f.gt, &f.pred, f.n_images, k, &r), LAB_OK);
    json_t *coco = json_object_get(f.root, "coco");
    NEAR(r.ap, num(coco, "AP"), "COCO AP");
    NEAR(r.ap50, num(coco, "AP50"), "COCO AP50");
    NEAR(r.ap75, num(coco, "AP75"), "COCO AP75");
    for (int64_t c = 0; c < k; c++) {
        NEAR(r.class_ap[c], json_number_value(json_array_get(json_object_get(coco, "per_class_AP"), (size_t)c)),
             "COCO per-class AP");
        NEAR(r.class_ap50[c], json_number_value(json_array_get(json_object_get(coco, "per_class_AP50"), (size_t)c)),
             "COCO per-class AP50");
        /* the PR curve's mean is the class's AP50 */
        double s = 0;
        for (int i = 0; i < DET_RECALL_POINTS; i++) {
            ck_assert(r.pr50[c * DET_RECALL_POINTS + i] >= 0 && r.pr50[c * DET_RECALL_POINTS + i] <= 1);
            s += r.pr50[c * DET_RECALL_POINTS + i];
        }
        NEAR(s / DET_RECALL_POINTS, r.class_ap50[c], "PR curve mean");
    }
    coco_result_free(&r);
    free_fixture(&f);
}
END_TEST

START_TEST(test_ultralytics_figures)
{
    struct fixture f;
    if (!load_fixture(&f))
        return;
    json_t *u = json_object_get(f.root, "ultralytics");
    int64_t k = (int64_t)json_array_size(json_object_get(u, "classes"));
    struct ultra_result r;
    ck_assert_int_eq(ultra_evaluate(&f.gt, &f.pred, f.n_images, k, &r), LAB_OK);
    /* the TP matrix, image by image, in the order of the predictions */
    size_t at = 0, i;
    json_t *m;
    json_array_foreach(json_object_get(u, "per_image_tp_matrix"), i, m) {
        size_t j;
        json_t *row;
        json_array_foreach(m, j, row) {
            for (int t = 0; t < DET_IOU_THRESHOLDS; t++)
                ck_assert_msg(r.tp[at * DET_IOU_THRESHOLDS + (size_t)t] ==
                                  json_integer_value(json_array_get(row, (size_t)t)),
                              "image %zu prediction %zu threshold %d: tp %d", i, j, t,
                              r.tp[at * DET_IOU_THRESHOLDS + (size_t)t]);
            at++;
        }
    }
    ck_assert_uint_eq(at, f.pred.n);
    NEAR(r.map50, num(u, "mAP50"), "Ultralytics mAP50");
    NEAR(r.map, num(u, "mAP50-95"), "Ultralytics mAP50-95");
    NEAR(r.map75, num(u, "mAP75"), "Ultralytics mAP75");
    NEAR(r.precision, num(u, "precision"), "Ultralytics precision");
    NEAR(r.recall, num(u, "recall"), "Ultralytics recall");
    NEAR(r.conf_at_max_f1, num(u, "chosen_confidence"), "confidence at max F1");
    for (int64_t c = 0; c < k; c++) {
        NEAR(r.class_ap[c * DET_IOU_THRESHOLDS],
             json_number_value(json_array_get(json_object_get(u, "per_class_AP50"), (size_t)c)), "per-class AP50");
        NEAR(r.class_p[c], json_number_value(json_array_get(json_object_get(u, "per_class_precision"), (size_t)c)),
             "per-class precision");
        NEAR(r.class_r[c], json_number_value(json_array_get(json_object_get(u, "per_class_recall"), (size_t)c)),
             "per-class recall");
    }
    /* every ground truth box lands in one column of the confusion matrix */
    int64_t total = 0;
    for (int64_t row = 0; row <= k; row++)
        for (int64_t col = 0; col < k; col++)
            total += r.confusion[row * (k + 1) + col];
    ck_assert_int_eq(total, (int64_t)f.gt.n);
    ultra_result_free(&r);
    free_fixture(&f);
}
END_TEST

/* Cases small enough to check by hand, so the suite tests something
 * without the reference checkout. */
START_TEST(test_hand_cases)
{
    /* image 0: one box, found exactly, plus a lower-scored duplicate;
     * image 1: one box, missed. */
    float gb[] = {0, 0, 10, 10, 20, 20, 40, 40};
    int64_t gc[] = {0, 0}, gi[] = {0, 1};
    float pb[] = {0, 0, 10, 10, 0, 0, 10, 10}, ps[] = {0.9f, 0.8f};
    int64_t pc[] = {0, 0}, pi[] = {0, 0};
    struct det_boxes gt = {2, gb, NULL, gc, gi}, pred = {2, pb, ps, pc, pi};
    struct coco_result r;
    ck_assert_int_eq(coco_evaluate(&gt, &pred, 2, 1, &r), LAB_OK);
    /* recall reaches 0.5 at precision 1: 51 of 101 points */
    ck_assert_double_eq_tol(r.ap50, 51.0 / 101.0, 1e-12);
    ck_assert_double_eq_tol(r.ap, 51.0 / 101.0, 1e-12);
    coco_result_free(&r);
    struct ultra_result u;
    ck_assert_int_eq(ultra_evaluate(&gt, &pred, 2, 1, &u), LAB_OK);
    ck_assert_int_eq(u.tp[0], 1);
    ck_assert_int_eq(u.tp[DET_IOU_THRESHOLDS], 0);
    /* envelope over recall [0, .5, .5, 1] = [1, 1, .5, 0]; numpy.interp takes
     * the last of the tied points at 0.5, so the 101 samples are 1 up to
     * 0.49, 0.5 at 0.5, then a line to 0 at 1: 0.49 + 0.0075 + 0.125 */
    ck_assert_double_eq_tol(u.map50, 0.6225, 1e-9);
    ultra_result_free(&u);
    /* an image index past the images is refused with a message */
    int64_t bad[] = {0, 2};
    pred.image = bad;
    ck_assert_int_eq(coco_evaluate(&gt, &pred, 2, 1, &r), LAB_EFAIL);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "image index 2"));
}
END_TEST

Suite *suite_detect_metrics(void)
{
    Suite *s = suite_create("detect_metrics");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_coco_matches_pycocotools);
    tcase_add_test(tc, test_ultralytics_figures);
    tcase_add_test(tc, test_hand_cases);
    suite_add_tcase(s, tc);
    return s;
}
