/* Lab 2.2.2's rubric: it builds from lab.json, every troubleshooting id its
 * checks name exists and lists the check, transfer.gain judges the best
 * pretrained strategy against scratch, transfer.norm's message shows the
 * submitted constants as they are (the other transfer.* checks need a
 * run's weights and checkpoint: tests/e2e/lab222.sh breaks a real
 * submission for each). */
#include "base/error.h"
#include "grader/kb.h"
#include "grader/rubric.h"
#include "grader/submission.h"
#include "labs/lab.h"
#include "tests/unit/testutil.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static const struct rubric_check *find(const struct rubric *rb, const char *id)
{
    for (size_t i = 0; i < rb->n; i++)
        if (!strcmp(rb->checks[i].id, id))
            return &rb->checks[i];
    return NULL;
}

START_TEST(test_rubric_and_kb_entries)
{
    ck_assert_int_eq(lab_registry_load(), LAB_OK);
    const struct rubric *rb = rubric_find("2.2.2");
    ck_assert_msg(rb, "%s", lab_err_message());
    const char *want[] = {"transfer.backbone", "transfer.frozen", "transfer.head", "transfer.norm", "transfer.gain",
                          "honesty.accuracy", "predictions.coverage"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        ck_assert_msg(find(rb, want[i]), "2.2.2's rubric has no %s", want[i]);
    ck_assert_uint_eq(rb->models[1].n, 4);
    ck_assert_int_eq(kb_load(), LAB_OK);
    for (size_t i = 0; i < rb->n; i++)
        for (size_t k = 0; k < 4 && rb->checks[i].kb[k]; k++) {
            const struct kb_entry *e = kb_find(rb->checks[i].kb[k]);
            ck_assert_msg(e, "%s names %s, which does not exist", rb->checks[i].id, rb->checks[i].kb[k]);
            int listed = 0;
            for (size_t c = 0; c < e->n_checks; c++)
                listed |= !strcmp(e->checks[c], rb->checks[i].id);
            ck_assert_msg(listed, "%s does not list check %s", e->id, rb->checks[i].id);
        }
    kb_free();
}
END_TEST

static enum check_status gain(const char *metrics, double threshold, struct check_out *o)
{
    const struct rubric *rb = rubric_find("2.2.2");
    ck_assert_ptr_nonnull(rb);
    struct rubric_check c = *find(rb, "transfer.gain");
    c.threshold = threshold;
    struct submission sub = {.metrics = json_loads(metrics, 0, NULL)};
    ck_assert_ptr_nonnull(sub.metrics);
    struct grade_ctx g = {.sub = &sub, .check = &c, .lab = lab_registry_find("2.2.2")};
    memset(o, 0, sizeof *o);
    enum check_status st = c.fn(&g, o);
    json_decref(sub.metrics);
    return st;
}

START_TEST(test_gain_over_scratch)
{
    ck_assert_int_eq(lab_registry_load(), LAB_OK);
    struct check_out o;
    const char *ok = "{\"models\": {\"frozen\": {\"test_accuracy\": 0.4}, \"finetune\": {\"test_accuracy\": 0.78},"
                     " \"scratch\": {\"test_accuracy\": 0.63}}}";
    ck_assert_int_eq(gain(ok, 0.1, &o), CHECK_PASS);
    ck_assert_msg(strstr(o.message, "finetune"), "%s", o.message);
    /* 15 points is below a 20-point bar; the threshold is the rubric's */
    ck_assert_int_eq(gain(ok, 0.2, &o), CHECK_FAIL);
    ck_assert_str_eq(o.kb, "TS-TRANSFER-LOW");
    ck_assert_msg(strstr(o.message, "by 15.0 points"), "%s", o.message);
    /* no baseline, or no pretrained strategy: nothing shows a transfer */
    ck_assert_int_eq(gain("{\"models\": {\"finetune\": {\"test_accuracy\": 0.9}}}", 0.1, &o), CHECK_FAIL);
    ck_assert_msg(strstr(o.message, "scratch"), "%s", o.message);
    ck_assert_int_eq(gain("{\"models\": {\"scratch\": {\"test_accuracy\": 0.5}}}", 0.1, &o), CHECK_FAIL);
}
END_TEST

/* Quick mode (Fashion-MNIST) with ImageNet's constants, no checkpoint in
 * the (empty) grader cache: the lab's quick-mode constants are expected.
 * The message once stopped reading at the first wrong channel and showed
 * "mean [0.485, 0.000, 0.000]". */
START_TEST(test_norm_message_shows_every_channel)
{
    ck_assert_int_eq(lab_registry_load(), LAB_OK);
    char *tmp = tu_tempdir();
    setenv("HF_HUB_CACHE", tmp, 1);
    const struct rubric *rb = rubric_find("2.2.2");
    ck_assert_ptr_nonnull(rb);
    struct rubric_check c = *find(rb, "transfer.norm");
    struct submission sub = {.metrics = json_pack("{s:{}}", "models"),
                             .config = json_pack("{s:{s:s, s:{s:[f,f,f], s:[f,f,f]}}}", "data", "dataset", "fashion-mnist",
                                                 "normalize", "mean", 0.485, 0.456, 0.406, "std", 0.229, 0.224,
                                                 0.225)};
    /* the mode as grade_mode derives it for Fashion-MNIST (without loading its labels) */
    struct grade_ctx g = {.sub = &sub, .check = &c, .lab = lab_registry_find("2.2.2"), .mode_state = 1, .quick = 1};
    struct check_out o;
    memset(&o, 0, sizeof o);
    enum check_status st = c.fn(&g, &o);
    ck_assert_msg(st == CHECK_FAIL, "status %d: %s", st, o.message);
    ck_assert_str_eq(o.kb, "TS-NORM-MISMATCH");
    ck_assert_msg(strstr(o.message, "mean [0.485, 0.456, 0.406] std [0.229, 0.224, 0.225]"), "%s", o.message);
    ck_assert_msg(strstr(o.message, "expects lab 2.2.2's quick mode: mean [0.286, 0.286, 0.286]"), "%s", o.message);
    json_decref(sub.metrics);
    json_decref(sub.config);
    unsetenv("HF_HUB_CACHE");
    tu_rmtree(tmp);
    free(tmp);
}
END_TEST

Suite *suite_grade_transfer(void)
{
    Suite *s = suite_create("grade_transfer");
    TCase *tc = tcase_create("rubric");
    tcase_add_test(tc, test_rubric_and_kb_entries);
    tcase_add_test(tc, test_gain_over_scratch);
    tcase_add_test(tc, test_norm_message_shows_every_channel);
    suite_add_tcase(s, tc);
    return s;
}
