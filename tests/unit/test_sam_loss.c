/* Lab 2.2.6's quick-mode loss (labs/2.2.6-segment-anything/quick_loss.c)
 * against PyTorch (tests/ref/sam_quick_loss.py): the single-output loss and
 * the multimask one (each row's best mask, every IoU prediction), their
 * values and their gradients with respect to the logits and the IoU head. */
#include "base/error.h"
#include "labs/2.2.6-segment-anything/quick.h"
#include "tests/unit/shim_testref.h"
#include "tests/unit/testutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

static void check_case(const char *dir, int multimask)
{
    const char *name = multimask ? "multi" : "single";
    ck_assert_int_eq(ts_scope_begin(), TS_OK);
    ts_tensor *low = shim_ref_load(dir, "low", NULL), *iou = shim_ref_load(dir, "iou", NULL),
              *truth = shim_ref_load(dir, "truth", NULL), *x = low, *ip = iou, *loss, *gl, *gi;
    ck_assert(low && iou && truth);
    ck_assert_int_eq(ts_set_requires_grad(low, 1), TS_OK);
    ck_assert_int_eq(ts_set_requires_grad(iou, 1), TS_OK);
    struct sam_quick_weights w = {.focal = 20, .dice = 1, .iou = 1};
    double parts[3];
    if (multimask) {
        ck_assert_int_eq(sam_quick_loss_multimask(low, iou, truth, &w, &loss, parts), LAB_OK);
    } else {
        ck_assert_int_eq(ts_narrow(&x, low, 1, 0, 1), TS_OK);
        ck_assert_int_eq(ts_narrow(&ip, iou, 1, 0, 1), TS_OK);
        ck_assert_int_eq(sam_quick_loss(x, ip, truth, &w, &loss, parts), LAB_OK);
    }
    char ref[64];
    shim_ref_expect(dir, name, loss, 1e-5);
    ck_assert(parts[0] > 0 && parts[1] > 0 && parts[2] >= 0);
    ck_assert_int_eq(ts_backward(loss, NULL), TS_OK);
    ck_assert_int_eq(ts_grad(&gl, low), TS_OK);
    ck_assert_int_eq(ts_grad(&gi, iou), TS_OK);
    snprintf(ref, sizeof ref, "%s.grad_low", name);
    shim_ref_expect(dir, ref, gl, 1e-4);
    snprintf(ref, sizeof ref, "%s.grad_iou", name);
    shim_ref_expect(dir, ref, gi, 1e-4);
    ts_scope_end();
}

START_TEST(test_quick_loss_matches_pytorch)
{
    char *dir = shim_ref_generate("sam_quick_loss.py");
    check_case(dir, 0);
    check_case(dir, 1);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

Suite *suite_sam_loss(void)
{
    Suite *s = suite_create("sam_loss");
    TCase *tc = tcase_create("loss");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_quick_loss_matches_pytorch);
    suite_add_tcase(s, tc);
    return s;
}
