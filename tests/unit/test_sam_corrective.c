/* Lab 2.2.6's corrective clicks (labs/2.2.6-segment-anything/quick_corrective.c):
 * the evaluation click is the error pixel deepest inside the error (checked
 * against a brute-force distance), with the label saying which way the
 * mask was wrong; the training click is uniform over the error; a mask
 * without error gets the object's centre. */
#include "datasets/mosaic.h"
#include "datasets/rng.h"
#include "labs/2.2.6-segment-anything/quick_corrective.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

enum { S = 32 };

static int wrong(const float *logits, const uint8_t *truth, int p) { return (logits[p] > 0) != (truth[p] != 0); }

/* city-block distance from error pixel p to the nearest correct pixel or
 * the outside of the canvas, by looking at every pixel */
static int depth(const float *logits, const uint8_t *truth, int p)
{
    int x = p % S, y = p / S, best = x + 1;
    int edge[3] = {y + 1, S - x, S - y};
    for (int k = 0; k < 3; k++)
        best = edge[k] < best ? edge[k] : best;
    for (int q = 0; q < S * S; q++)
        if (!wrong(logits, truth, q)) {
            int d = abs(q % S - x) + abs(q / S - y);
            best = d < best ? d : best;
        }
    return best;
}

static void expect_deepest(const float *logits, const uint8_t *truth)
{
    int want = -1, want_d = 0;
    for (int p = 0; p < S * S; p++)
        if (wrong(logits, truth, p) && depth(logits, truth, p) > want_d)
            want = p, want_d = depth(logits, truth, p);
    float xy[2];
    int label = -1;
    sam_corrective_click(logits, truth, S, NULL, xy, &label);
    ck_assert_int_eq((int)xy[1] * S + (int)xy[0], want);
    ck_assert_int_eq(label, truth[want] != 0);
}

START_TEST(test_eval_click_is_deepest_error)
{
    float logits[S * S];
    uint8_t truth[S * S];
    memset(truth, 0, sizeof truth);
    for (int p = 0; p < S * S; p++)
        logits[p] = -1;
    /* a missed 10 x 7 object: a positive click inside it */
    for (int y = 4; y < 11; y++)
        for (int x = 12; x < 22; x++)
            truth[y * S + x] = 1;
    expect_deepest(logits, truth);
    /* the object found, plus a false 6 x 9 blob elsewhere: a negative click in the blob */
    for (int p = 0; p < S * S; p++)
        logits[p] = truth[p] ? 2.0f : -2.0f;
    for (int y = 18; y < 27; y++)
        for (int x = 3; x < 9; x++)
            logits[y * S + x] = 0.5f;
    float xy[2];
    int label = -1;
    sam_corrective_click(logits, truth, S, NULL, xy, &label);
    ck_assert_int_eq(label, 0);
    ck_assert(xy[0] >= 3 && xy[0] < 9 && xy[1] >= 18 && xy[1] < 27);
    expect_deepest(logits, truth);
    /* an error touching the border is shallower there */
    for (int y = 0; y < 5; y++)
        for (int x = 0; x < S; x++)
            logits[y * S + x] = 1;
    expect_deepest(logits, truth);
}
END_TEST

START_TEST(test_training_click_is_uniform_over_the_error)
{
    float logits[S * S];
    uint8_t truth[S * S];
    memset(truth, 0, sizeof truth);
    for (int p = 0; p < S * S; p++)
        logits[p] = -1;
    int err[12], n = 0;
    for (int x = 5; x < 11; x++) { /* 6 missed object pixels, 6 false ones */
        truth[20 * S + x] = 1, err[n++] = 20 * S + x;
        logits[3 * S + x + 10] = 1, err[n++] = 3 * S + x + 10;
    }
    int hits[12] = {0};
    struct ds_rng rng;
    ds_rng_seed(&rng, 7, 2206, 2);
    for (int i = 0; i < 2400; i++) {
        float xy[2];
        int label, p, k;
        sam_corrective_click(logits, truth, S, &rng, xy, &label);
        p = (int)xy[1] * S + (int)xy[0];
        for (k = 0; k < n && err[k] != p; k++)
            ;
        ck_assert_msg(k < n, "click at %d is not an error pixel", p);
        ck_assert_int_eq(label, truth[p] != 0);
        hits[k]++;
    }
    for (int k = 0; k < n; k++) /* 200 expected each; 120 is ~5.8 sigma below */
        ck_assert_msg(hits[k] > 120 && hits[k] < 280, "pixel %d drawn %d times of 2400", err[k], hits[k]);
}
END_TEST

START_TEST(test_no_error_clicks_the_centre)
{
    float logits[S * S];
    uint8_t truth[S * S];
    memset(truth, 0, sizeof truth);
    for (int y = 9; y < 15; y++)
        for (int x = 2; x < 30; x++)
            truth[y * S + x] = 1;
    for (int p = 0; p < S * S; p++)
        logits[p] = truth[p] ? 1.0f : -1.0f;
    float xy[2], centre[2];
    int label = -1;
    sam_corrective_click(logits, truth, S, NULL, xy, &label);
    ds_mask_center_point(truth, S, centre);
    ck_assert(xy[0] == centre[0] && xy[1] == centre[1] && label == 1);
}
END_TEST

Suite *suite_sam_corrective(void)
{
    Suite *s = suite_create("sam_corrective");
    TCase *tc = tcase_create("click");
    tcase_add_test(tc, test_eval_click_is_deepest_error);
    tcase_add_test(tc, test_training_click_is_uniform_over_the_error);
    tcase_add_test(tc, test_no_error_clicks_the_centre);
    suite_add_tcase(s, tc);
    return s;
}
