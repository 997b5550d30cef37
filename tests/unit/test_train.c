/* labs/train.c against PyTorch (tests/ref/train_step.py): two optimizer
 * steps of LeNet-5 with parameter groups, a frozen prefix, label smoothing,
 * gradient accumulation, gradient clipping and a per-batch warm-up + cosine
 * schedule give PyTorch's losses and weights, and labs/ema.c the average
 * AveragedModel keeps. */
#include "base/error.h"
#include "labs/2.2.1-cnn-architectures/cnn_models.h"
#include "labs/ema.h"
#include "labs/train.h"
#include "tests/unit/shim_testref.h"
#include "tests/unit/testutil.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static float *host_f32(const ts_tensor *t, size_t n)
{
    float *v = malloc(n * sizeof *v);
    ck_assert_int_eq(ts_to_host(t, TS_F32, v, n * sizeof *v), TS_OK);
    return v;
}

START_TEST(test_train_step_matches_pytorch)
{
    char *dir = shim_ref_generate("train_step.py");
    ck_assert_int_eq(ts_manual_seed(1), TS_OK);
    struct model *m;
    ck_assert_int_eq(lenet5_create(10, 0, &m), LAB_OK);
    shim_ref_copy_params(dir, "init.", m->params);

    json_t *groups = json_pack("[{s:s, s:f, s:f}]", "prefix", "fc3.", "lr", 3e-3, "weight_decay", 0.0);
    json_t *freeze = json_pack("[s]", "conv1.");
    struct train_config tc = {.epochs = 2, .batch_size = 4, .lr = 1e-3, .weight_decay = 0.1, .label_smoothing = 0.1,
                              .grad_clip = 1.0, .warmup_epochs = 1, .warmup_start_factor = 0.01, .device = TS_CPU,
                              .accumulate = 2, .groups = groups, .freeze = freeze, .unfreeze_epoch = -1};
    snprintf(tc.optimizer, sizeof tc.optimizer, "adamw");
    snprintf(tc.schedule, sizeof tc.schedule, "warmup_cosine");
    ts_optim *opt;
    ck_assert_int_eq(train_optimizer(m, &tc, &opt), LAB_OK);
    struct ema ema;
    ck_assert_int_eq(ema_init(&ema, m, 0.9), LAB_OK);

    ts_tensor *x = shim_ref_load(dir, "x", NULL), *y = shim_ref_load(dir, "y", NULL);
    float *px = host_f32(x, 8 * 3 * 32 * 32);
    int64_t labels[8];
    ck_assert_int_eq(ts_to_host(y, TS_I64, labels, sizeof labels), TS_OK);
    for (int k = 0; k < 4; k++) {
        int half = k % 2;
        struct ds_batch b = {.n = 4, .c = 3, .h = 32, .w = 32, .images = px + half * 4 * 3 * 32 * 32,
                             .labels = labels + half * 4};
        double loss_sum = 0;
        int64_t correct = 0;
        ck_assert_int_eq(ts_scope_begin(), TS_OK);
        train_set_lr(opt, &tc, 0, k, 4);
        ck_assert_int_eq(train_batch(m, opt, &b, &tc, k % 2 == 0, k % 2 == 1, &loss_sum, &correct), LAB_OK);
        ts_scope_end();
        if (k % 2 == 1)
            ck_assert_int_eq(ema_update(&ema, m), LAB_OK);
        char ref[32];
        snprintf(ref, sizeof ref, "loss.%d", k);
        ts_tensor *want = shim_ref_load(dir, ref, NULL);
        float w;
        ck_assert_int_eq(ts_to_host(want, TS_F32, &w, sizeof w), TS_OK);
        ck_assert_msg(fabs(loss_sum / 4 - w) <= 1e-5 * fabs(w), "batch %d: loss %.7f, PyTorch %.7f", k, loss_sum / 4, w);
        ts_tensor_free(want);
    }
    for (size_t i = 0; i < ts_params_count(m->params); i++) {
        const char *name;
        ts_tensor *t;
        int kind, group;
        char ref[160];
        ck_assert_int_eq(ts_params_at(m->params, i, &name, &t, &kind, &group), TS_OK);
        snprintf(ref, sizeof ref, "after.%s", name);
        shim_ref_expect(dir, ref, t, 1e-4);
    }
    /* the average: swapped into the model, then back */
    ck_assert_int_eq(ema_swap(&ema, m), LAB_OK);
    for (size_t i = 0; i < ts_params_count(m->params); i++) {
        const char *name;
        ts_tensor *t;
        int kind, group;
        char ref[160];
        ck_assert_int_eq(ts_params_at(m->params, i, &name, &t, &kind, &group), TS_OK);
        snprintf(ref, sizeof ref, "ema.%s", name);
        shim_ref_expect(dir, ref, t, 1e-4);
    }
    ck_assert_int_eq(ema_swap(&ema, m), LAB_OK);
    ts_tensor *w = ts_params_get(m->params, "fc3.weight");
    shim_ref_expect(dir, "after.fc3.weight", w, 1e-4);
    ema_free(&ema);
    ts_tensor_free(x);
    ts_tensor_free(y);
    free(px);
    ts_optim_free(opt);
    model_free(m);
    json_decref(groups);
    json_decref(freeze);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

Suite *suite_train(void)
{
    Suite *s = suite_create("train");
    TCase *tc = tcase_create("parity");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_train_step_matches_pytorch);
    suite_add_tcase(s, tc);
    return s;
}
