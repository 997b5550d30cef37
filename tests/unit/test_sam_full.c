/* Lab 2.2.6's full mode pieces that need no model: the notebook's prompt
 * study rows (labs/tasks/prompt_study.h, which the grader also derives) and
 * its "SAM BENCHMARK RESULTS" table's layout (full_bench.h). The
 * placeholder's pixels are compared with the notebook's numpy drawing in
 * tests/e2e/lab226_full.sh. */
#include "labs/2.2.6-segment-anything/full_bench.h"
#include "labs/tasks/prompt_study.h"
#include "tests/unit/testutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_study_prompts_follow_the_notebook)
{
    struct sam_study_prompt p[SAM_STUDY_N];
    int w = 801, h = 603; /* odd sides: the notebook's // floors */
    sam_study_prompts(w, h, p);
    ck_assert_int_eq(p[0].kind, SAM_STUDY_POINT);
    ck_assert(p[0].multimask && p[0].n_points == 1 && p[0].labels[0] == 1 && !p[0].has_box);
    ck_assert(p[0].points[0] == 400 && p[0].points[1] == 301);
    ck_assert_int_eq(p[1].kind, SAM_STUDY_BOX);
    ck_assert(!p[1].multimask && p[1].has_box && !p[1].n_points);
    ck_assert(p[1].box[0] == 200 && p[1].box[1] == 150 && p[1].box[2] == 600 && p[1].box[3] == 452);
    ck_assert_int_eq(p[2].kind, SAM_STUDY_COMBO);
    ck_assert(!p[2].multimask && p[2].n_points == 3 && !p[2].has_box);
    ck_assert(p[2].labels[0] == 1 && p[2].labels[1] == 0 && p[2].labels[2] == 0);
    ck_assert(p[2].points[2] == 50 && p[2].points[3] == 50 && p[2].points[4] == 751 && p[2].points[5] == 553);
    int masks = 0;
    for (int k = 0; k < SAM_STUDY_N; k++)
        masks += sam_study_masks(&p[k]);
    ck_assert_int_eq(masks, 5);
    float row[4];
    sam_study_row(&p[1], row);
    ck_assert(row[0] == 200 && row[3] == 452);
    sam_study_row(&p[2], row);
    ck_assert(row[0] == 400 && row[1] == 301 && row[2] == 1 && row[3] == 0);
}
END_TEST

START_TEST(test_placeholder_size)
{
    struct ds_image im = {0};
    ck_assert_int_eq(sam_placeholder(&im), 0);
    ck_assert(im.w == 800 && im.h == 600 && im.c == 3);
    ds_image_free(&im);
}
END_TEST

START_TEST(test_bench_table_layout)
{
    struct sam_bench_result b = {.runs = 10, .mean_ms = {1234.56, 48.04, 51.25}, .std_ms = {12.34, 0.5, 1.0}};
    struct ds_image im = {.w = 800, .h = 600, .c = 3};
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    sam_bench_table(f, &b, &im, "vit_b", "CPU");
    fclose(f);
    const char *want[] = {
        "",
        "============================================================",
        "\xF0\x9F\x93\x8A SAM BENCHMARK RESULTS ON CPU",
        "============================================================",
        "Image size: (600, 800, 3)",
        "Model: SAM vit_b",
        "------------------------------------------------------------",
        "Operation                      Mean (ms)       Std (ms)",
        "------------------------------------------------------------",
        "encode_time                       1234.6           12.3",
        "point_inference                     48.0            0.5",
        "box_inference                       51.2            1.0",
        "============================================================",
        "",
        "\xF0\x9F\x92\xA1 Key insight: After encoding (1235ms),",
        "   predictions are fast (48ms)!",
        "   This enables interactive applications.",
    };
    char *line = buf;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char *nl = strchr(line, '\n');
        ck_assert_msg(nl, "line %zu missing", i);
        *nl = '\0';
        ck_assert_str_eq(line, want[i]);
        line = nl + 1;
    }
    ck_assert_str_eq(line, "");
    free(buf);
}
END_TEST

Suite *suite_sam_full(void)
{
    Suite *s = suite_create("sam_full");
    TCase *tc = tcase_create("sam_full");
    tcase_add_test(tc, test_study_prompts_follow_the_notebook);
    tcase_add_test(tc, test_placeholder_size);
    tcase_add_test(tc, test_bench_table_layout);
    suite_add_tcase(s, tc);
    return s;
}
