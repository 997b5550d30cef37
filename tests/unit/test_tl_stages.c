/* Lab 2.2.2's gradual-unfreezing stages (labs/2.2.2-transfer-learning/
 * stages.c): the course's stages as written, the solution's
 * gradual_unfreeze rule (epochs per stage, the children each stage opens),
 * what each of its four stages trains on the course model against the
 * parameter counts of ../shared/reference/2.2.2-efficientnet_b0.tsv, and
 * the refusals. */
#include "base/error.h"
#include "labs/2.2.2-transfer-learning/stages.h"
#include "labs/models/efficientnet.h"
#include "labs/train.h"
#include "tests/unit/testutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Parameters (not buffers) in the reference whose key starts with one of `prefixes`. */
static int64_t reference_params(const char *const *prefixes)
{
    char path[4200], line[512];
    snprintf(path, sizeof path, "%s/../shared/reference/2.2.2-efficientnet_b0.tsv", tu_src_dir());
    FILE *f = fopen(path, "r");
    ck_assert_msg(f, "no %s", path);
    int64_t n = 0;
    while (fgets(line, sizeof line, f)) {
        char key[256], shape[128], kind[16];
        if (line[0] == '#' || sscanf(line, "%255s %127s %15s", key, shape, kind) != 3 || strcmp(kind, "param"))
            continue;
        int hit = 0;
        for (const char *const *p = prefixes; *p; p++)
            hit |= !strncmp(key, *p, strlen(*p));
        if (!hit)
            continue;
        int64_t numel = 1;
        for (char *s = shape, *end; *s; s = *end ? end + 1 : end)
            numel *= strtoll(s, &end, 10);
        n += numel;
    }
    fclose(f);
    return n;
}

static json_t *solution(int epochs, int stages)
{
    return json_pack("{s:s, s:{s:i, s:i, s:f}}", "rule", "solution", "solution", "epochs", epochs, "num_stages",
                     stages, "lr", 1e-4);
}

START_TEST(test_solution_rule_stages)
{
    json_t *g = solution(10, 4), *st;
    ck_assert_int_eq(tl_gradual_stages(g, &st), LAB_OK);
    ck_assert_int_eq(json_array_size(st), 4);
    /* epochs // 4 each, the last stage to the end, as stage = min(epoch // per, 3) */
    int want_epochs[4] = {2, 2, 2, 4};
    const char *want_last[4] = {"global_pool", "bn2", "conv_head", "blocks"};
    for (int s = 0; s < 4; s++) {
        const json_t *e = json_array_get(st, s), *u = json_object_get(e, "unfreeze");
        ck_assert_int_eq(json_integer_value(json_object_get(e, "epochs")), want_epochs[s]);
        ck_assert_int_eq(json_array_size(u), s + 1);
        ck_assert_str_eq(json_string_value(json_array_get(u, 0)), want_last[s]);
        ck_assert(json_real_value(json_object_get(json_object_get(e, "lr"), "backbone")) == 1e-4);
    }
    json_decref(st);
    json_decref(g);
    /* two stages: three candidates each */
    g = solution(5, 2);
    ck_assert_int_eq(tl_gradual_stages(g, &st), LAB_OK);
    ck_assert_int_eq(json_array_size(json_object_get(json_array_get(st, 0), "unfreeze")), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(st, 1), "epochs")), 3);
    json_decref(st);
    json_decref(g);
}
END_TEST

START_TEST(test_solution_stages_train_what_the_solution_trains)
{
    char ref[4200];
    snprintf(ref, sizeof ref, "%s/../shared/reference/2.2.2-efficientnet_b0.tsv", tu_src_dir());
    if (access(ref, R_OK) != 0) { /* the shared reference lives beside the checkout; a clone elsewhere skips */
        fprintf(stderr, "tl_stages: skipped: no %s\n", ref);
        return;
    }
    struct effnet_config c;
    effnet_config_course(&c);
    c.num_classes = 100;
    struct model *m;
    ck_assert_int_eq(effnet_b0_new(&c, &m), LAB_OK);
    json_t *g = solution(8, 4), *st;
    ck_assert_int_eq(tl_gradual_stages(g, &st), LAB_OK);
    const char *const opened[4][5] = {{"classifier.", NULL},
                                      {"classifier.", "bn2.", NULL},
                                      {"classifier.", "bn2.", "conv_head.", NULL},
                                      {"classifier.", "bn2.", "conv_head.", "blocks.", NULL}};
    for (int s = 0; s < 4; s++) {
        json_t *frozen = tl_frozen_children(json_object_get(json_array_get(st, s), "unfreeze"), 0);
        struct train_config tc = {.lr = 1e-4, .device = TS_CPU, .accumulate = 1, .unfreeze_epoch = -1, .freeze = frozen};
        snprintf(tc.optimizer, sizeof tc.optimizer, "adamw");
        ts_optim *opt;
        for (size_t i = 0; i < ts_params_count(m->params); i++) { /* each stage from all trainable, as the lab does */
            const char *name;
            ts_tensor *t;
            int kind, group;
            ck_assert_int_eq(ts_params_at(m->params, i, &name, &t, &kind, &group), TS_OK);
            if (kind == TS_PARAM)
                ck_assert_int_eq(ts_set_requires_grad(t, 1), TS_OK);
        }
        ck_assert_int_eq(train_optimizer(m, &tc, &opt), LAB_OK);
        int64_t trainable = 0;
        for (size_t i = 0; i < ts_params_count(m->params); i++) {
            const char *name;
            ts_tensor *t;
            int kind, group;
            ck_assert_int_eq(ts_params_at(m->params, i, &name, &t, &kind, &group), TS_OK);
            if (kind == TS_PARAM && ts_requires_grad(t))
                trainable += ts_numel(t);
        }
        int64_t want = reference_params(opened[s]);
        ck_assert_msg(trainable == want, "stage %d trains %lld parameters, the solution %lld", s + 1,
                      (long long)trainable, (long long)want);
        ts_optim_free(opt);
        json_decref(frozen);
    }
    json_decref(st);
    json_decref(g);
    model_free(m);
}
END_TEST

START_TEST(test_stages_as_written_and_refusals)
{
    json_t *g = json_pack("{s:s, s:[{s:i, s:[s, s]}]}", "rule", "stages", "stages", "epochs", 3, "unfreeze", "blocks.6",
                          "conv_head"),
           *st;
    ck_assert_int_eq(tl_gradual_stages(g, &st), LAB_OK);
    ck_assert(json_equal(st, json_object_get(g, "stages")));
    json_t *frozen = tl_frozen_children(json_object_get(json_array_get(st, 0), "unfreeze"), 0);
    ck_assert_int_eq(json_array_size(frozen), TL_NBACKBONE - 2);
    json_decref(frozen);
    json_decref(st);
    json_decref(g);

    g = json_pack("{s:s, s:[{s:i, s:[s]}]}", "rule", "stages", "stages", "epochs", 3, "unfreeze", "block.6");
    ck_assert_int_eq(tl_gradual_stages(g, &st), LAB_EUSAGE);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "block.6"));
    json_decref(g);
    g = json_pack("{s:s}", "rule", "linear");
    ck_assert_int_eq(tl_gradual_stages(g, &st), LAB_EUSAGE);
    ck_assert_ptr_nonnull(strstr(lab_err_fix(), "solution"));
    json_decref(g);
    g = solution(3, 4); /* the solution would divide by zero */
    ck_assert_int_eq(tl_gradual_stages(g, &st), LAB_EUSAGE);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "3 epoch"));
    json_decref(g);
    g = solution(10, 7);
    ck_assert_int_eq(tl_gradual_stages(g, &st), LAB_EUSAGE);
    json_decref(g);
}
END_TEST

Suite *suite_tl_stages(void)
{
    Suite *s = suite_create("tl_stages");
    TCase *tc = tcase_create("stages");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_solution_rule_stages);
    tcase_add_test(tc, test_solution_stages_train_what_the_solution_trains);
    tcase_add_test(tc, test_stages_as_written_and_refusals);
    suite_add_tcase(s, tc);
    return s;
}
