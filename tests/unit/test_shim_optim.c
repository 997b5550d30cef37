/* SGD and AdamW with two parameter groups and a schedule, 10 steps, against
 * torch.optim (tests/ref/shim_optim.py); the schedules' LR sequences. */
#include "shim/torchshim.h"
#include "tests/unit/shim_testref.h"
#include "tests/unit/testutil.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dir;
static void generate(void) { dir = shim_ref_generate("shim_optim.py"); }
static void cleanup(void)
{
    tu_rmtree(dir);
    free(dir);
    dir = NULL;
}

#define STEPS 10

enum sched { WARMCOS, STEP, COS, ONECYCLE };

/* The schedule's value for a group at a step, as the Python side sets it. */
static void apply_schedule(ts_optim *o, enum sched s, const double *base, long step)
{
    for (int g = 0; g < 2; g++) {
        double lr = 0, mom;
        switch (s) {
        case WARMCOS: lr = ts_lr_warmup_cosine(base[g], 0.1, 3, 0.001, step, STEPS); break;
        case STEP: lr = ts_lr_step(base[g], 3, 0.5, step); break;
        case COS: lr = ts_lr_cosine(base[g], 0.0, step, STEPS); break;
        case ONECYCLE:
            lr = ts_lr_onecycle(base[g], STEPS, 0.3, 25.0, 1e4, 0.85, 0.95, step, &mom);
            ck_assert_int_eq(ts_optim_set_momentum(o, g, mom), TS_OK);
            break;
        }
        ck_assert_int_eq(ts_optim_set_lr(o, g, lr), TS_OK);
    }
}

static void train(const char *name, int adamw, enum sched s, double base0, double base1, double wd0, double wd1)
{
    ck_assert_int_eq(ts_scope_begin(), TS_OK);
    ts_params *p;
    ck_assert_int_eq(ts_params_new(&p), TS_OK);
    ts_tensor *w[3], *c[3], *d[3];
    char buf[64];
    for (int i = 0; i < 3; i++) {
        snprintf(buf, sizeof buf, "p%d.init", i);
        ts_tensor *init = shim_ref_load(dir, buf, NULL);
        snprintf(buf, sizeof buf, "p%d", i);
        ck_assert_int_eq(ts_params_add(p, buf, init, TS_PARAM, i < 2 ? 0 : 1, &w[i]), TS_OK);
        snprintf(buf, sizeof buf, "p%d.c", i);
        c[i] = shim_ref_load(dir, buf, NULL);
        snprintf(buf, sizeof buf, "p%d.d", i);
        d[i] = shim_ref_load(dir, buf, NULL);
    }
    ts_optim *o;
    double base[2] = {base0, base1};
    if (adamw) {
        struct ts_adamw_opts ao = {.lr = base0, .beta1 = 0.9, .beta2 = 0.99, .eps = 1e-8, .weight_decay = wd0};
        ck_assert_int_eq(ts_optim_adamw(&o, p, &ao), TS_OK);
    } else if (s == WARMCOS) {
        struct ts_sgd_opts so = {.lr = base0, .momentum = 0.9, .weight_decay = wd0, .nesterov = 1};
        ck_assert_int_eq(ts_optim_sgd(&o, p, &so), TS_OK);
    } else {
        struct ts_sgd_opts so = {.lr = base0, .momentum = 0.8, .dampening = 0.1, .weight_decay = wd0};
        ck_assert_int_eq(ts_optim_sgd(&o, p, &so), TS_OK);
    }
    ck_assert_int_eq(ts_optim_set_weight_decay(o, 1, wd1), TS_OK);
    for (long step = 0; step < STEPS; step++) {
        ck_assert_int_eq(ts_scope_begin(), TS_OK);
        apply_schedule(o, s, base, step);
        ck_assert_int_eq(ts_optim_zero_grad(o), TS_OK);
        ts_tensor *loss = NULL;
        for (int i = 0; i < 3; i++) {
            ts_tensor *pp, *cpp, *dp, *sum, *t, *l;
            ck_assert_int_eq(ts_mul(&pp, w[i], w[i]), TS_OK);
            ck_assert_int_eq(ts_mul(&cpp, c[i], pp), TS_OK);
            ck_assert_int_eq(ts_mul(&dp, d[i], w[i]), TS_OK);
            ck_assert_int_eq(ts_add(&sum, cpp, dp), TS_OK);
            ck_assert_int_eq(ts_sum(&t, sum, TS_ALL, 0), TS_OK);
            if (loss) {
                ck_assert_int_eq(ts_add(&l, loss, t), TS_OK);
                loss = l;
            } else
                loss = t;
        }
        ck_assert_int_eq(ts_backward(loss, NULL), TS_OK);
        ck_assert_int_eq(ts_optim_step(o), TS_OK);
        ts_scope_end();
    }
    for (int i = 0; i < 3; i++) {
        snprintf(buf, sizeof buf, "%s.p%d", name, i);
        shim_ref_expect(dir, buf, w[i], 1e-6);
    }
    ts_optim_free(o);
    ts_params_free(p);
    ts_scope_end();
}

START_TEST(test_sgd_nesterov_warmup_cosine) { train("sgd_warmcos", 0, WARMCOS, 0.1, 0.05, 0.01, 0.0); }
END_TEST
START_TEST(test_sgd_dampening_step) { train("sgd_step", 0, STEP, 0.1, 0.02, 0.05, 0.0); }
END_TEST
START_TEST(test_adamw_cosine) { train("adamw_cos", 1, COS, 0.01, 0.003, 0.1, 0.0); }
END_TEST
START_TEST(test_adamw_onecycle) { train("adamw_onecycle", 1, ONECYCLE, 0.02, 0.005, 0.1, 0.0); }
END_TEST

static void expect_sequence(const char *name, double (*f)(long step, double *mom), int momentum)
{
    ts_tensor *ref = shim_ref_load(dir, name, NULL);
    ck_assert_ptr_nonnull(ref);
    int64_t n = ts_numel(ref);
    double *v = malloc(sizeof(double) * n);
    ck_assert_int_eq(ts_to_host(ref, TS_F64, v, sizeof(double) * n), TS_OK);
    for (long i = 0; i < n; i++) {
        double mom = NAN, lr = f(i, &mom);
        double got = momentum ? mom : lr;
        ck_assert_msg(fabs(got - v[i]) <= 1e-12 + 1e-9 * fabs(v[i]), "%s step %ld: %.15g, PyTorch %.15g", name, i,
                      got, v[i]);
    }
    free(v);
    ts_tensor_free(ref);
}

static double f_cos(long s, double *m) { (void)m; return ts_lr_cosine(0.5, 0.01, s, 20); }
static double f_lin(long s, double *m) { (void)m; return ts_lr_linear(0.5, 0.25, 1.0, s, 8); }
static double f_step(long s, double *m) { (void)m; return ts_lr_step(0.5, 4, 0.3, s); }
static double f_warmcos(long s, double *m) { (void)m; return ts_lr_warmup_cosine(0.5, 0.1, 5, 0.0, s, 25); }
static double f_onecycle(long s, double *m) { return ts_lr_onecycle(1.0, 25, 0.3, 25.0, 1e4, 0.85, 0.95, s, m); }

START_TEST(test_schedules_match_pytorch)
{
    expect_sequence("lr.cosine", f_cos, 0);
    expect_sequence("lr.linear", f_lin, 0);
    expect_sequence("lr.step", f_step, 0);
    expect_sequence("lr.warmcos", f_warmcos, 0);
    expect_sequence("lr.onecycle", f_onecycle, 0);
    expect_sequence("lr.onecycle_mom", f_onecycle, 1);
}
END_TEST

START_TEST(test_frozen_group_does_not_move)
{
    ck_assert_int_eq(ts_scope_begin(), TS_OK);
    ts_params *p;
    ck_assert_int_eq(ts_params_new(&p), TS_OK);
    int64_t s[1] = {4};
    ts_tensor *a, *b, *ha, *hb, *sa, *sb, *l;
    ck_assert_int_eq(ts_ones(&a, 1, s, TS_F32, TS_CPU), TS_OK);
    ck_assert_int_eq(ts_ones(&b, 1, s, TS_F32, TS_CPU), TS_OK);
    ck_assert_int_eq(ts_params_add(p, "backbone", a, TS_PARAM, 0, &ha), TS_OK);
    ck_assert_int_eq(ts_params_add(p, "head", b, TS_PARAM, 1, &hb), TS_OK);
    struct ts_sgd_opts so = {.lr = 0.1, .weight_decay = 0.1};
    ts_optim *o;
    ck_assert_int_eq(ts_optim_sgd(&o, p, &so), TS_OK);
    ck_assert_int_eq(ts_optim_set_frozen(o, 0, 1), TS_OK);
    ck_assert_int_eq(ts_sum(&sa, ha, TS_ALL, 0), TS_OK);
    ck_assert_int_eq(ts_sum(&sb, hb, TS_ALL, 0), TS_OK);
    ck_assert_int_eq(ts_add(&l, sa, sb), TS_OK);
    ck_assert_int_eq(ts_backward(l, NULL), TS_OK);
    ck_assert_int_eq(ts_optim_step(o), TS_OK);
    float va[4], vb[4];
    ck_assert_int_eq(ts_to_host(ha, TS_F32, va, sizeof va), TS_OK);
    ck_assert_int_eq(ts_to_host(hb, TS_F32, vb, sizeof vb), TS_OK);
    ck_assert_float_eq(va[0], 1.0f);
    ck_assert_float_eq_tol(vb[0], 1.0f - 0.1f * (1.0f + 0.1f), 1e-7);
    ck_assert_double_eq(ts_optim_get_lr(o, 1), 0.1);
    /* zero_grad drops the gradients */
    ck_assert_int_eq(ts_optim_zero_grad(o), TS_OK);
    ts_tensor *g = (ts_tensor *)&g;
    ck_assert_int_eq(ts_grad(&g, hb), TS_OK);
    ck_assert_ptr_null(g);
    /* bad options are refused */
    struct ts_sgd_opts bad = {.lr = 0.1, .nesterov = 1};
    ts_optim *o2 = NULL;
    ck_assert_int_eq(ts_optim_sgd(&o2, p, &bad), TS_EARG);
    ck_assert_ptr_null(o2);
    ts_optim_free(o);
    ts_optim_free(NULL);
    ts_params_free(p);
    ts_scope_end();
}
END_TEST

Suite *suite_shim_optim(void)
{
    Suite *s = suite_create("shim_optim");
    TCase *tc = tcase_create("parity");
    tcase_add_unchecked_fixture(tc, generate, cleanup);
    tcase_add_test(tc, test_sgd_nesterov_warmup_cosine);
    tcase_add_test(tc, test_sgd_dampening_step);
    tcase_add_test(tc, test_adamw_cosine);
    tcase_add_test(tc, test_adamw_onecycle);
    tcase_add_test(tc, test_schedules_match_pytorch);
    tcase_add_test(tc, test_frozen_group_does_not_move);
    suite_add_tcase(s, tc);
    return s;
}
