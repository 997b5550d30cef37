/* Lab 2.2.3's full run, the parts with logic of their own: the threshold
 * study (one NMS at the lowest threshold counted at each, which must be
 * what NMS at each threshold keeps: the grader recounts the study that
 * way), the latency statistics (against Python's statistics module), the
 * clip before NMS, and the notebook's summary table. */
#include "base/error.h"
#include "labs/2.2.3-yolo-detection/bench.h"
#include "labs/2.2.3-yolo-detection/full.h"
#include "labs/2.2.3-yolo-detection/infer.h"
#include "labs/2.2.3-yolo-detection/study.h"
#include "tests/unit/testutil.h"

#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state = 88172645463325252ull;
static double urand(void)
{
    rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

/* [4 + nc, a] predictions: boxes clustered so that NMS has work to do,
 * continuous scores (no ties). */
static float *random_pred(int nc, int64_t a)
{
    float *p = malloc(sizeof *p * (size_t)(4 + nc) * (size_t)a);
    for (int64_t j = 0; j < a; j++) {
        p[j] = (float)(50 + 100 * (j % 4) + 20 * urand());
        p[a + j] = (float)(60 + 20 * urand());
        p[2 * a + j] = (float)(30 + 30 * urand());
        p[3 * a + j] = (float)(30 + 30 * urand());
        for (int c = 0; c < nc; c++)
            p[(4 + c) * a + j] = (float)urand();
    }
    return p;
}

START_TEST(test_one_nms_counts_as_nms_at_each_threshold)
{
    const int nc = 5, images = 3;
    const double thr[4] = {0.1, 0.25, 0.5, 0.75};
    for (int max_det = 7; max_det <= 300; max_det += 293) { /* the cap reached and not */
        struct yolo_study study;
        ck_assert_int_eq(yolo_study_init(&study, thr, 4, images, nc), LAB_OK);
        int64_t want_total[4] = {0}, want_class[4][5] = {{0}};
        struct yolo_det *d = malloc(sizeof *d * (size_t)max_det);
        for (int im = 0; im < images; im++) {
            int64_t a = 200 + 50 * im;
            float *p = random_pred(nc, a);
            struct yolo_nms_opts low = {.conf = thr[0], .iou = 0.45, .max_det = max_det};
            int all = 0;
            ck_assert_int_eq(yolo_nms(p, nc, a, &low, d, &all), LAB_OK);
            for (int t = 0; t < 4; t++)
                ck_assert_int_eq(yolo_study_add(&study, t, im, d, all), LAB_OK);
            for (int t = 0; t < 4; t++) { /* what the notebook does: predict again at conf t */
                struct yolo_det *e = malloc(sizeof *e * (size_t)max_det);
                struct yolo_nms_opts o = low;
                int n = 0;
                o.conf = thr[t];
                ck_assert_int_eq(yolo_nms(p, nc, a, &o, e, &n), LAB_OK);
                ck_assert_int_eq(study.rows[t].per_image[im], n);
                want_total[t] += n;
                for (int k = 0; k < n; k++)
                    want_class[t][e[k].cls]++;
                if (t == 0)
                    ck_assert_int_gt(n, 2);
                free(e);
            }
            free(p);
        }
        for (int t = 0; t < 4; t++) {
            ck_assert_int_eq(study.rows[t].total, want_total[t]);
            for (int c = 0; c < nc; c++)
                ck_assert_int_eq(study.rows[t].per_class[c], want_class[t][c]);
        }
        if (max_det > 100) /* uncapped: the thresholds differ */
            ck_assert_int_gt(want_total[0], want_total[3]);
        json_t *j = yolo_study_json(&study, NULL);
        ck_assert_int_eq((int)json_array_size(j), 4);
        for (int t = 0; t < 4; t++) {
            const json_t *row = json_array_get(j, (size_t)t), *cls = json_object_get(row, "per_class");
            ck_assert_int_eq(json_integer_value(json_object_get(row, "detections")), want_total[t]);
            int64_t sum = 0, prev = INT64_MAX;
            for (size_t k = 0; k < json_array_size(cls); k++) { /* most frequent first, absent classes left out */
                int64_t n = json_integer_value(json_object_get(json_array_get(cls, k), "count"));
                ck_assert(n > 0 && n <= prev);
                prev = n, sum += n;
            }
            ck_assert_int_eq(sum, want_total[t]);
        }
        json_decref(j);
        free(d);
        yolo_study_free(&study);
    }
}
END_TEST

START_TEST(test_study_refuses_out_of_range)
{
    const double thr[1] = {0.5};
    struct yolo_study s;
    ck_assert_int_eq(yolo_study_init(&s, thr, 0, 1, 1), LAB_EUSAGE);
    ck_assert_int_eq(yolo_study_init(&s, thr, 1, 2, 3), LAB_OK);
    struct yolo_det d = {0, 0, 1, 1, 0.9f, 3};
    ck_assert_int_eq(yolo_study_add(&s, 0, 0, &d, 1), LAB_EINTERNAL); /* class 3 of 3 */
    ck_assert_int_eq(yolo_study_add(&s, 0, 2, &d, 0), LAB_EINTERNAL);
    d.cls = 2;
    ck_assert_int_eq(yolo_study_add(&s, 0, 1, &d, 1), LAB_OK);
    d.conf = 0.5f; /* kept as NMS keeps: above, not at, the threshold */
    ck_assert_int_eq(yolo_study_add(&s, 0, 1, &d, 1), LAB_OK);
    ck_assert_int_eq(s.rows[0].per_image[1], 1);
    ck_assert_int_eq(s.rows[0].per_class[2], 1);
    yolo_study_free(&s);
    lab_err_clear();
}
END_TEST

START_TEST(test_latency_stats_are_pythons)
{
    const int counts[3] = {1, 5, 20}; /* one run, odd and even */
    for (int c = 0; c < 3; c++) {
        int n = counts[c];
        double ms[20];
        char cmd[4096], *out = NULL;
        int len = snprintf(cmd, sizeof cmd, "/usr/bin/python3 -c 'import statistics as s; v=[");
        for (int i = 0; i < n; i++) {
            ms[i] = 5 + 40 * urand();
            len += snprintf(cmd + len, sizeof cmd - (size_t)len, "%.17g,", ms[i]);
        }
        snprintf(cmd + len, sizeof cmd - (size_t)len,
                 "]; print(repr(s.mean(v)), repr(s.median(v)), repr(min(v)), repr(max(v)), repr(s.pstdev(v)), "
                 "repr(1000 / s.mean(v)))'");
        ck_assert_int_eq(tu_run(cmd, &out), 0);
        double want[6];
        ck_assert_int_eq(sscanf(out, "%lf %lf %lf %lf %lf %lf", &want[0], &want[1], &want[2], &want[3], &want[4],
                                &want[5]),
                         6);
        free(out);
        struct yolo_latency l;
        ck_assert_int_eq(yolo_latency_stats(ms, n, &l), LAB_OK);
        double got[6] = {l.mean_ms, l.median_ms, l.min_ms, l.max_ms, l.std_ms, l.fps};
        for (int k = 0; k < 6; k++)
            ck_assert_msg(fabs(got[k] - want[k]) <= 1e-9 * fmax(1, fabs(want[k])), "n %d stat %d: %.17g, python %.17g",
                          n, k, got[k], want[k]);
        ck_assert_int_eq(l.runs, n);
    }
    struct yolo_latency l;
    ck_assert_int_eq(yolo_latency_stats(NULL, 0, &l), LAB_EUSAGE);
    lab_err_clear();
}
END_TEST

START_TEST(test_clip_keeps_boxes_on_the_image)
{
    struct yolo_letterbox lb;
    ck_assert_int_eq(yolo_letterbox_plan(200, 100, 320, 1, &lb), LAB_OK); /* 320x160, no padding: rect */
    ck_assert_int_eq(yolo_letterbox_plan(200, 100, 320, 0, &lb), LAB_OK); /* 320x320, 80 above and below */
    ck_assert_int_eq(lb.top, 80);
    const int64_t a = 3;
    /* cx, cy, w, h rows (a box a column): one across the top edge of the image (into the padding), one
     * inside, one past the right edge */
    float p[4 * 3 + 3] = {100, 160, 310, 80, 160, 160, 100, 40, 330, 40, 60, 60, 0.9f, 0.8f, 0.7f};
    yolo_clip_pred(p, 1, a, &lb);
    const float want[4][3] = {{100, 160, 232.5f}, {90, 160, 160}, {100, 40, 175}, {20, 60, 60}};
    for (int r = 0; r < 4; r++)
        for (int j = 0; j < 3; j++)
            ck_assert_msg(fabsf(p[r * a + j] - want[r][j]) < 1e-4f, "row %d box %d: %g, want %g", r, j,
                          (double)p[r * a + j], (double)want[r][j]);
}
END_TEST

START_TEST(test_summary_is_the_notebooks_table)
{
    struct yolo_summary_row rows[3] = {{"yolov8n", 3157200, 37.3, {.mean_ms = 10, .fps = 100}},
                                       {"yolov8s", 11166560, 44.9, {.mean_ms = 20, .fps = 50}},
                                       {"yolov8m", 25902640, 50.2, {.mean_ms = 40, .fps = 25}}};
    char *t = yolo_summary_table(rows, 3, "cpu");
    ck_assert_ptr_nonnull(strstr(t, "📊 BENCHMARK SUMMARY: cpu\n"));
    /* Model L12, then R12 columns; the mAP column named for the figure it holds */
    ck_assert_ptr_nonnull(strstr(t, "\nModel         Parameters    mAP50-95   Time (ms)         FPS\n"));
    ck_assert_ptr_nonnull(strstr(t, "\nyolov8s           11.2M       44.9%        20.0        50.0\n"));
    ck_assert_ptr_nonnull(strstr(t, "For real-time video (30+ FPS): Use yolov8n\n"));
    ck_assert_ptr_nonnull(strstr(t, "For best accuracy: Use yolov8m\n"));
    free(t);
    t = yolo_summary_markdown(rows, 3, "cpu");
    ck_assert_ptr_nonnull(strstr(t, "| yolov8m | 25902640 | 50.2 | 40.0 |"));
    free(t);
}
END_TEST

Suite *suite_yolo_full(void)
{
    Suite *s = suite_create("yolo_full");
    TCase *tc = tcase_create("full");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_one_nms_counts_as_nms_at_each_threshold);
    tcase_add_test(tc, test_study_refuses_out_of_range);
    tcase_add_test(tc, test_latency_stats_are_pythons);
    tcase_add_test(tc, test_clip_keeps_boxes_on_the_image);
    tcase_add_test(tc, test_summary_is_the_notebooks_table);
    suite_add_tcase(s, tc);
    return s;
}
