/* Mixup (datasets/mixup.c, classify_loss_mixed, train.mixup in
 * labs/train.c) against the course solution's mixup_data and
 * mixup_criterion in PyTorch (tests/ref/mixup.py): the mixed images, the
 * loss and every gradient of LeNet-5 for the same lambda and permutation;
 * lambda's Beta(0.2, 0.2) against NumPy's; and train_batch mixing each
 * batch by its own seeded draw. */
#include "base/error.h"
#include "datasets/mixup.h"
#include "labs/2.2.1-cnn-architectures/cnn_models.h"
#include "labs/tasks/classify.h"
#include "labs/train.h"
#include "tests/unit/shim_testref.h"
#include "tests/unit/testutil.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { N = 6, PER = 3 * 32 * 32 };

static ts_tensor *logits_of(struct model *m, float *images, int n)
{
    ts_tensor *x, *logits;
    ck_assert_int_eq(ts_from_blob(&x, images, TS_F32, 4, (int64_t[]){n, 3, 32, 32}), TS_OK);
    struct model_tensors in = {0}, out;
    ck_assert_int_eq(model_tensors_add(&in, "pixel_values", x), LAB_OK);
    ck_assert_int_eq(model_run(m, &in, 1, &out), LAB_OK);
    logits = model_tensors_get(&out, "logits");
    ck_assert_ptr_nonnull(logits);
    return logits;
}

static void host_of(const char *dir, const char *name, int dtype, void *out, size_t bytes)
{
    ts_tensor *t = shim_ref_load(dir, name, NULL);
    ck_assert_msg(t, "no %s in the reference", name);
    ck_assert_int_eq(ts_to_host(t, dtype, out, bytes), TS_OK);
    ts_tensor_free(t);
}

START_TEST(test_mixup_matches_the_solution)
{
    char *dir = shim_ref_generate("mixup.py");
    struct model *m;
    ck_assert_int_eq(lenet5_create(10, 0, &m), LAB_OK);
    shim_ref_copy_params(dir, "init.", m->params);
    float *images = malloc(N * PER * sizeof *images);
    int64_t labels[N], perm[N], labels_b[N];
    double lambda;
    host_of(dir, "x", TS_F32, images, N * PER * sizeof *images);
    host_of(dir, "y", TS_I64, labels, sizeof labels);
    host_of(dir, "perm", TS_I64, perm, sizeof perm);
    host_of(dir, "lambda", TS_F64, &lambda, sizeof lambda);
    ck_assert(lambda > 0 && lambda < 1);

    struct ds_batch b = {.n = N, .c = 3, .h = 32, .w = 32, .images = images, .labels = labels};
    ck_assert_int_eq(ds_mixup_apply(&b, lambda, perm, labels_b), LAB_OK);
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(labels_b[i], labels[perm[i]]);
    ck_assert_int_eq(ts_scope_begin(), TS_OK);
    ts_tensor *mixed, *ya, *yb, *loss;
    ck_assert_int_eq(ts_from_blob(&mixed, images, TS_F32, 4, (int64_t[]){N, 3, 32, 32}), TS_OK);
    shim_ref_expect(dir, "mixed", mixed, 1e-6);
    ck_assert_int_eq(ts_from_blob(&ya, labels, TS_I64, 1, (int64_t[]){N}), TS_OK);
    ck_assert_int_eq(ts_from_blob(&yb, labels_b, TS_I64, 1, (int64_t[]){N}), TS_OK);
    ck_assert_int_eq(classify_loss_mixed(logits_of(m, images, N), ya, yb, lambda, 0.1, &loss), LAB_OK);
    shim_ref_expect(dir, "loss", loss, 1e-5);
    ck_assert_int_eq(ts_backward(loss, NULL), TS_OK);
    for (size_t i = 0; i < ts_params_count(m->params); i++) {
        const char *name;
        ts_tensor *t, *g;
        int kind, group;
        char ref[160];
        ck_assert_int_eq(ts_params_at(m->params, i, &name, &t, &kind, &group), TS_OK);
        snprintf(ref, sizeof ref, "grad.%s", name);
        if (!shim_ref_exists(dir, ref))
            continue; /* buffers */
        ck_assert_int_eq(ts_grad(&g, t), TS_OK);
        shim_ref_expect(dir, ref, g, 1e-4);
    }
    ts_scope_end();
    free(images);
    model_free(m);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_beta_draws_match_numpy)
{
    char *dir = shim_ref_generate("mixup.py");
    double want[3], sum = 0, sq = 0, below = 0;
    host_of(dir, "beta.moments", TS_F64, want, sizeof want);
    struct ds_rng r;
    ds_rng_seed(&r, 1, 2, 3);
    const int n = 200000;
    for (int i = 0; i < n; i++) {
        double v = ds_rng_beta(&r, 0.2, 0.2);
        ck_assert(v >= 0 && v <= 1);
        sum += v;
        sq += v * v;
        below += v < 0.1;
    }
    double mean = sum / n, var = sq / n - mean * mean;
    /* Two independent estimates: the tolerances are about 4 standard errors of their difference. */
    ck_assert_msg(fabs(mean - want[0]) < 0.006, "mean %.4f, NumPy %.4f", mean, want[0]);
    ck_assert_msg(fabs(var - want[1]) < 0.003, "variance %.4f, NumPy %.4f", var, want[1]);
    ck_assert_msg(fabs(below / n - want[2]) < 0.005, "P(<0.1) %.4f, NumPy %.4f", below / n, want[2]);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_draw_is_seeded_and_a_permutation)
{
    struct ds_rng a, c;
    int64_t pa[64], pc[64];
    double la, lc;
    int64_t idx[64];
    for (int i = 0; i < 64; i++)
        idx[i] = 1000 + 7 * i;
    struct ds_batch b = {.n = 64, .indices = idx};
    ds_mixup_seed(&a, 42, &b);
    ds_mixup_seed(&c, 42, &b);
    ds_mixup_draw(&a, 64, 0.2, &la, pa);
    ds_mixup_draw(&c, 64, 0.2, &lc, pc);
    ck_assert(la == lc && memcmp(pa, pc, sizeof pa) == 0);
    int seen[64] = {0}, moved = 0;
    for (int i = 0; i < 64; i++) {
        ck_assert(pa[i] >= 0 && pa[i] < 64 && !seen[pa[i]]);
        seen[pa[i]] = 1;
        moved += pa[i] != i;
    }
    ck_assert_int_gt(moved, 32);
    idx[5] = 3; /* another batch draws something else */
    ds_mixup_seed(&c, 42, &b);
    ds_mixup_draw(&c, 64, 0.2, &lc, pc);
    ck_assert(lc != la || memcmp(pa, pc, sizeof pa) != 0);
    ds_mixup_draw(&c, 64, 0, &lc, pc); /* alpha 0: no mixing, as the solution */
    ck_assert(lc == 1.0);
}
END_TEST

START_TEST(test_train_batch_mixes_by_its_draw)
{
    struct model *m;
    ck_assert_int_eq(ts_manual_seed(3), TS_OK);
    ck_assert_int_eq(lenet5_create(10, 0, &m), LAB_OK);
    struct train_config tc = {.epochs = 1, .batch_size = N, .lr = 0, .device = TS_CPU, .accumulate = 1,
                              .unfreeze_epoch = -1, .seed = 9, .mixup = 0.4, .label_smoothing = 0.1};
    snprintf(tc.optimizer, sizeof tc.optimizer, "sgd");
    snprintf(tc.schedule, sizeof tc.schedule, "none");
    ts_optim *opt;
    ck_assert_int_eq(train_optimizer(m, &tc, &opt), LAB_OK);
    float *orig = malloc(N * PER * sizeof *orig), *images = malloc(N * PER * sizeof *images);
    struct ds_rng r;
    ds_rng_seed(&r, 5, 5, 5);
    for (int i = 0; i < N * PER; i++)
        orig[i] = (float)ds_rng_range(&r, -1, 1);
    int64_t labels[N] = {0, 1, 2, 3, 4, 5}, idx[N] = {10, 11, 12, 13, 14, 15}, perm[N], labels_b[N];
    memcpy(images, orig, N * PER * sizeof *images);
    struct ds_batch b = {.n = N, .c = 3, .h = 32, .w = 32, .images = images, .labels = labels, .indices = idx};
    double loss_sum = 0, lambda;
    int64_t correct = 0;
    ck_assert_int_eq(ts_scope_begin(), TS_OK);
    ck_assert_int_eq(train_batch(m, opt, &b, &tc, 1, 1, &loss_sum, &correct), LAB_OK);
    ts_scope_end();

    /* the same draw, by hand, from the original images */
    ds_mixup_seed(&r, tc.seed, &b);
    ds_mixup_draw(&r, N, tc.mixup, &lambda, perm);
    ck_assert(lambda < 1);
    float *by_hand = malloc(N * PER * sizeof *by_hand);
    memcpy(by_hand, orig, N * PER * sizeof *by_hand);
    struct ds_batch h = b;
    h.images = by_hand;
    ck_assert_int_eq(ds_mixup_apply(&h, lambda, perm, labels_b), LAB_OK);
    ck_assert(memcmp(images, by_hand, N * PER * sizeof *images) == 0);
    ck_assert(memcmp(images, orig, N * PER * sizeof *images) != 0);
    ck_assert_int_eq(ts_scope_begin(), TS_OK);
    ts_tensor *ya, *yb, *loss;
    double want;
    ck_assert_int_eq(ts_from_blob(&ya, labels, TS_I64, 1, (int64_t[]){N}), TS_OK);
    ck_assert_int_eq(ts_from_blob(&yb, labels_b, TS_I64, 1, (int64_t[]){N}), TS_OK);
    ck_assert_int_eq(classify_loss_mixed(logits_of(m, by_hand, N), ya, yb, lambda, 0.1, &loss), LAB_OK);
    ck_assert_int_eq(ts_item_f64(loss, &want), TS_OK);
    ts_scope_end();
    ck_assert_msg(fabs(loss_sum / N - want) <= 1e-5 * fabs(want), "train_batch %.7f, by hand %.7f", loss_sum / N, want);
    free(orig);
    free(images);
    free(by_hand);
    ts_optim_free(opt);
    model_free(m);
}
END_TEST

Suite *suite_mixup(void)
{
    Suite *s = suite_create("mixup");
    TCase *tc = tcase_create("mixup");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_mixup_matches_the_solution);
    tcase_add_test(tc, test_beta_draws_match_numpy);
    tcase_add_test(tc, test_draw_is_seeded_and_a_permutation);
    tcase_add_test(tc, test_train_batch_mixes_by_its_draw);
    suite_add_tcase(s, tc);
    return s;
}
