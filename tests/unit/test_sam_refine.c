/* Lab 2.2.6's mask tools (labs/2.2.6-segment-anything/refine.c): the
 * solution's refine_mask against a NumPy statement of it
 * (tests/ref/sam_refine.py) on random blobby masks with specks and holes,
 * and the grow / shrink choice among multimask outputs. */
#include "base/error.h"
#include "labs/2.2.6-segment-anything/refine.h"
#include "tests/unit/shim_testref.h"
#include "tests/unit/testutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

START_TEST(test_refine_matches_the_reference)
{
    char *dir = shim_ref_generate("sam_refine.py");
    static const long min_area[3] = {500, 40, 120};
    ck_assert_int_eq(ts_scope_begin(), TS_OK);
    for (int i = 0; i < 3; i++) {
        char a[16], b[16];
        snprintf(a, sizeof a, "in%d", i);
        snprintf(b, sizeof b, "out%d", i);
        ts_tensor *in = shim_ref_load(dir, a, NULL), *out = shim_ref_load(dir, b, NULL);
        ck_assert(in && out);
        int h = (int)ts_size(in, 0), w = (int)ts_size(in, 1);
        size_t px = (size_t)h * w;
        uint8_t *m = malloc(px), *want = malloc(px);
        ck_assert_int_eq(ts_to_host(in, TS_U8, m, px), TS_OK);
        ck_assert_int_eq(ts_to_host(out, TS_U8, want, px), TS_OK);
        size_t before = 0, differ = 0;
        for (size_t p = 0; p < px; p++)
            before += m[p] != want[p];
        ck_assert_msg(before > 0, "case %d: refining changes nothing, a weak case", i);
        ck_assert_int_eq(sam_refine_mask(m, h, w, min_area[i]), LAB_OK);
        for (size_t p = 0; p < px; p++)
            differ += m[p] != want[p];
        ck_assert_msg(differ == 0, "case %d (%dx%d, min area %ld): %zu of %zu pixels differ", i, w, h, min_area[i],
                      differ, px);
        free(m), free(want);
    }
    ts_scope_end();
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_grow_and_shrink_pick_by_area)
{
    uint8_t masks[3 * 4] = {1, 1, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0};
    ck_assert_int_eq(sam_mask_by_area(masks, 3, 4, 1), 1);
    ck_assert_int_eq(sam_mask_by_area(masks, 3, 4, 0), 2);
    uint8_t ties[2 * 2] = {1, 0, 0, 1};
    ck_assert_int_eq(sam_mask_by_area(ties, 2, 2, 1), 0);
    ck_assert_int_eq(sam_mask_by_area(ties, 2, 2, 0), 0);
}
END_TEST

Suite *suite_sam_refine(void)
{
    Suite *s = suite_create("sam_refine");
    TCase *tc = tcase_create("refine");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_refine_matches_the_reference);
    tcase_add_test(tc, test_grow_and_shrink_pick_by_area);
    suite_add_tcase(s, tc);
    return s;
}
