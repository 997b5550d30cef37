/* Lab 2.2.6's preprocessing against segment_anything's: ResizeLongestSide
 * through Pillow's bilinear resize gives the same bytes here
 * (tests/ref/sam_resize.py). */
#include "base/error.h"
#include "base/fsutil.h"
#include "labs/2.2.6-segment-anything/resize.h"
#include "tests/unit/testutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_resize_longest_side_is_pillows)
{
    char *dir = tu_tempdir(), cmd[8192], *out = NULL, path[4300];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/tests/ref/sam_resize.py' '%s' 2>&1", tu_src_dir(), dir);
    ck_assert_msg(tu_run(cmd, &out) == 0, "sam_resize.py: %s", out ? out : "");
    free(out);
    snprintf(path, sizeof path, "%s/resize.txt", dir);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char name[64];
    int h, w, nh, nw, cases = 0;
    while (fscanf(f, "%63s %d %d %d %d", name, &h, &w, &nh, &nw) == 5) {
        int gh, gw;
        sam_preprocess_shape(h, w, 1024, &gh, &gw);
        ck_assert_msg(gh == nh && gw == nw, "%s: %dx%d here, %dx%d upstream", name, gh, gw, nh, nw);
        char *in = NULL, *want = NULL;
        size_t in_len, want_len;
        snprintf(path, sizeof path, "%s/%s.in.raw", dir, name);
        ck_assert_int_eq(lab_read_file(path, 1u << 30, &in, &in_len), 0);
        snprintf(path, sizeof path, "%s/%s.out.raw", dir, name);
        ck_assert_int_eq(lab_read_file(path, 1u << 30, &want, &want_len), 0);
        ck_assert_int_eq(in_len, (size_t)h * w * 3);
        struct ds_image im = {.w = w, .h = h, .c = 3, .px = (uint8_t *)in}, res = {0};
        ck_assert_msg(sam_pil_resize_bilinear(&im, nw, nh, &res) == 0, "%s", lab_err_message());
        ck_assert_int_eq(want_len, (size_t)nw * nh * 3);
        size_t diff = 0;
        for (size_t i = 0; i < want_len; i++)
            diff += res.px[i] != (uint8_t)want[i];
        ck_assert_msg(diff == 0, "%s: %zu of %zu bytes differ from Pillow's", name, diff, want_len);
        ds_image_free(&res);
        free(in);
        free(want);
        cases++;
    }
    fclose(f);
    ck_assert_int_eq(cases, 4);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

Suite *suite_sam_predict(void)
{
    Suite *s = suite_create("sam_predict");
    TCase *tc = tcase_create("preprocess");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_resize_longest_side_is_pillows);
    suite_add_tcase(s, tc);
    return s;
}
