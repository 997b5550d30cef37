/* reeval.detections' matching (grader/detect_match.h): one model's
 * detections re-run agree with themselves up to float noise; boxes that
 * moved, another class, another score, a duplicate, or detections of
 * other images do not; the top-k cut looks each side's best up in the
 * other's whole list. */
#include "base/error.h"
#include "grader/detect_match.h"

#include <check.h>
#include <math.h>
#include <string.h>

#define M 5
/* Two images: three detections on image 0, two on image 1, by row. */
static const float kBoxes[M * 4] = {10, 10, 40, 40, 50, 12, 80, 30, 5, 60, 25, 90, 20, 20, 60, 70, 0, 0, 30, 30};
static const float kScores[M] = {0.9f, 0.6f, 0.2f, 0.8f, 0.05f};
static const int64_t kClasses[M] = {1, 3, 1, 0, 7}, kImage[M] = {0, 0, 0, 1, 1};

struct set {
    float boxes[M * 4], scores[M];
    int64_t classes[M], image[M];
    struct detect_predictions p;
};

static void set_init(struct set *s)
{
    memcpy(s->boxes, kBoxes, sizeof kBoxes);
    memcpy(s->scores, kScores, sizeof kScores);
    memcpy(s->classes, kClasses, sizeof kClasses);
    memcpy(s->image, kImage, sizeof kImage);
    s->p = (struct detect_predictions){.m = M, .n = 2, .boxes = s->boxes, .scores = s->scores,
                                       .classes = s->classes, .image_index = s->image};
}

static const struct det_match_tol kExact = {20, 0.99, 0.01};

static double share_of(const struct set *a, const struct set *b, const struct det_match_tol *t,
                       struct det_match_stats *st)
{
    ck_assert_int_eq(det_match(&a->p, &b->p, t, st), LAB_OK);
    return det_match_share(st);
}

START_TEST(test_same_model)
{
    struct set a, b;
    set_init(&a);
    set_init(&b);
    struct det_match_stats st;
    ck_assert_double_eq(share_of(&a, &b, &kExact, &st), 1.0);
    ck_assert_int_eq(st.looked[0], M);
    ck_assert_int_eq(st.looked[1], M);
    ck_assert_int_eq(st.miss_image, -1);
    /* another summation order: a hundredth of a pixel, a score 1e-4 off, the rows in another order */
    for (int i = 0; i < M * 4; i++)
        b.boxes[i] += 0.01f;
    for (int i = 0; i < M; i++)
        b.scores[i] += 1e-4f;
    struct set c = b;
    for (int i = 0; i < M; i++) {
        int j = M - 1 - i;
        memcpy(c.boxes + i * 4, b.boxes + j * 4, sizeof(float) * 4);
        c.scores[i] = b.scores[j], c.classes[i] = b.classes[j], c.image[i] = b.image[j];
    }
    c.p = (struct detect_predictions){.m = M, .n = 2, .boxes = c.boxes, .scores = c.scores, .classes = c.classes,
                                      .image_index = c.image};
    ck_assert_double_eq(share_of(&a, &c, &kExact, &st), 1.0);
}
END_TEST

START_TEST(test_other_boxes)
{
    struct set a, b;
    set_init(&a);
    set_init(&b);
    struct det_match_stats st;
    /* image 1's first box moved by 2 pixels (IoU about 0.9): the ground truth, not the weights' box */
    b.boxes[3 * 4] += 2, b.boxes[3 * 4 + 2] += 2;
    ck_assert_double_eq(share_of(&a, &b, &kExact, &st), 8.0 / 10.0);
    ck_assert_int_eq(st.miss_image, 1);
    ck_assert_int_eq(st.miss_side, 0);
    ck_assert_int_eq(st.miss_class, 0);
    ck_assert(st.near_iou > 0.85f && st.near_iou < 0.99f);
    /* a looser IoU (4-bit weights) accepts it */
    struct det_match_tol loose = {20, 0.85, 0.1};
    ck_assert_double_eq(share_of(&a, &b, &loose, &st), 1.0);
    /* another class on image 0 */
    set_init(&b);
    b.classes[1] = 4;
    ck_assert_double_eq(share_of(&a, &b, &kExact, &st), 8.0 / 10.0);
    ck_assert_int_eq(st.miss_image, 0);
    ck_assert_double_eq_tol(st.near_iou, 0, 1e-9); /* no box of class 3 remains there */
    /* a score moved by more than the tolerance */
    set_init(&b);
    b.scores[0] = 0.95f;
    ck_assert_double_eq(share_of(&a, &b, &kExact, &st), 8.0 / 10.0);
    ck_assert_double_eq(share_of(&a, &b, &loose, &st), 1.0);
    /* NaN never matches */
    b.scores[0] = NAN;
    ck_assert_double_eq(share_of(&a, &b, &loose, &st), 8.0 / 10.0);
    /* the same detections on the wrong images */
    set_init(&b);
    for (int i = 0; i < M; i++)
        b.image[i] = 1 - b.image[i];
    ck_assert_double_eq(share_of(&a, &b, &loose, &st), 0.0);
}
END_TEST

START_TEST(test_one_to_one_and_top_k)
{
    struct set a, b;
    set_init(&a);
    set_init(&b);
    struct det_match_stats st;
    /* a duplicate of image 0's best box in the submission: one of the two has no partner */
    b.boxes[2 * 4] = 10, b.boxes[2 * 4 + 1] = 10, b.boxes[2 * 4 + 2] = 40, b.boxes[2 * 4 + 3] = 40;
    b.scores[2] = 0.9f;
    a.boxes[2 * 4 + 1] = 61; /* and the weights' third box moved away from it */
    ck_assert(share_of(&a, &b, &kExact, &st) < 1.0);
    ck_assert_int_eq(st.found[1], M - 1);
    /* top 2 per image: image 0's third detection (score 0.2) is looked for on neither side */
    set_init(&a);
    set_init(&b);
    b.boxes[2 * 4] += 5;
    struct det_match_tol top2 = {2, 0.99, 0.01};
    ck_assert_double_eq(share_of(&a, &b, &top2, &st), 1.0);
    ck_assert_int_eq(st.looked[0], 4);
    ck_assert_double_eq(share_of(&a, &b, &kExact, &st), 8.0 / 10.0);
    /* a top detection on one side found below the other side's top k */
    set_init(&b);
    b.scores[1] = 0.1f, b.scores[2] = 0.7f;
    struct det_match_tol wide = {2, 0.99, 0.6};
    ck_assert_double_eq(share_of(&a, &b, &wide, &st), 1.0);
}
END_TEST

START_TEST(test_other_images)
{
    struct set a, b;
    set_init(&a);
    set_init(&b);
    b.p.n = 3;
    struct det_match_stats st;
    ck_assert_int_eq(det_match(&a.p, &b.p, &kExact, &st), LAB_EUSAGE);
    /* no detections on either side agree trivially */
    a.p.m = b.p.m = 0, b.p.n = 2;
    ck_assert_int_eq(det_match(&a.p, &b.p, &kExact, &st), LAB_OK);
    ck_assert_double_eq(det_match_share(&st), 1.0);
    /* none submitted where the weights detect five */
    a.p.m = M;
    ck_assert_int_eq(det_match(&a.p, &b.p, &kExact, &st), LAB_OK);
    ck_assert_double_eq(det_match_share(&st), 0.0);
}
END_TEST

Suite *suite_detect_match(void)
{
    Suite *s = suite_create("detect_match");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_same_model);
    tcase_add_test(tc, test_other_boxes);
    tcase_add_test(tc, test_one_to_one_and_top_k);
    tcase_add_test(tc, test_other_images);
    suite_add_tcase(s, tc);
    return s;
}
