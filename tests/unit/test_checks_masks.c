/* The segment task's mask checks (grader/checks_masks.h) on synthetic masks:
 * each broken case fails with its troubleshooting id, a good one passes. */
#include "grader/checks_masks.h"
#include "tests/unit/testutil.h"

#include <check.h>
#include <math.h>
#include <string.h>

START_TEST(test_class_ids_out_of_range_fail)
{
    struct check_out o;
    uint8_t ok[6] = {0, 1, 2, 3, 4, 10}, ignore[6] = {0, 1, 255, 3, 4, 5}, big[6] = {0, 11, 0, 0, 0, 0};
    ck_assert_int_eq(check_masks_range(ok, 6, 11, &o), CHECK_PASS);
    ck_assert_int_eq(check_masks_range(ignore, 6, 11, &o), CHECK_FAIL);
    ck_assert_str_eq(o.kb, "TS-DEVICE-ASSERT-LABELS");
    ck_assert_ptr_nonnull(strstr(o.message, "ignore label"));
    ck_assert_int_eq(check_masks_range(big, 6, 11, &o), CHECK_FAIL);
    ck_assert_ptr_nonnull(strstr(o.message, "class 11"));
}
END_TEST

START_TEST(test_all_one_class_fails_with_iou_zero)
{
    struct check_out o;
    uint8_t bg[5] = {0}, two[5] = {0, 0, 0, 0, 3};
    ck_assert_int_eq(check_masks_not_one_class(bg, 5, &o), CHECK_FAIL);
    ck_assert_str_eq(o.kb, "TS-IOU-ZERO");
    ck_assert_int_eq(check_masks_not_one_class(two, 5, &o), CHECK_PASS);
}
END_TEST

/* truth: 4 background, 2 class 1, 2 ignored; pred hits all but one. The
 * recomputed mIoU = mean(IoU_0 = 4/5, IoU_1 = 1/2), ignored pixels aside. */
START_TEST(test_reported_miou_is_recomputed)
{
    struct check_out o;
    uint8_t truth[8] = {0, 0, 0, 0, 1, 1, 255, 255}, pred[8] = {0, 0, 0, 0, 1, 0, 1, 1};
    double got = -1;
    double want = (4.0 / 5.0 + 1.0 / 2.0) / 2.0;
    ck_assert_int_eq(check_masks_miou(pred, truth, 8, 2, 255, want, 1e-4, &got, &o), CHECK_PASS);
    ck_assert(fabs(got - want) < 1e-12);
    /* inflated, as when 255 pixels are counted, or made up */
    ck_assert_int_eq(check_masks_miou(pred, truth, 8, 2, 255, 0.9, 1e-4, &got, &o), CHECK_FAIL);
    ck_assert_str_eq(o.kb, "TS-METRICS-MISMATCH");
    ck_assert_ptr_null(strstr(o.message, "as background"));
    /* the course's metric: 255 remapped to background first, so the two
     * ignored pixels (predicted 1) count as misses: IoU_0 = 4/7, IoU_1 = 1/4 */
    double remapped = (4.0 / 7.0 + 1.0 / 4.0) / 2.0;
    ck_assert_int_eq(check_masks_miou(pred, truth, 8, 2, 255, remapped, 1e-4, &got, &o), CHECK_FAIL);
    ck_assert_str_eq(o.kb, "TS-METRICS-MISMATCH");
    ck_assert_msg(strstr(o.message, "scored as background"), "%s", o.message);
    ck_assert(fabs(got - want) < 1e-12);
    ck_assert_int_eq(check_masks_miou(pred, truth, 8, 2, 255, NAN, 1e-4, NULL, &o), CHECK_FAIL);
    /* a prediction outside the classes cannot be scored */
    pred[0] = 9;
    ck_assert_int_eq(check_masks_miou(pred, truth, 8, 2, 255, want, 1e-4, NULL, &o), CHECK_ERROR);
}
END_TEST

Suite *suite_checks_masks(void)
{
    Suite *s = suite_create("checks_masks");
    TCase *tc = tcase_create("checks");
    tcase_add_test(tc, test_class_ids_out_of_range_fail);
    tcase_add_test(tc, test_all_one_class_fails_with_iou_zero);
    tcase_add_test(tc, test_reported_miou_is_recomputed);
    suite_add_tcase(s, tc);
    return s;
}
