/* Every shim op against PyTorch (tests/ref/shim_ops.py): forward values and
 * the gradients of sum(out * gout) with respect to each input. */
#include "shim/torchshim.h"
#include "tests/unit/shim_testref.h"
#include "tests/unit/testutil.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dir; /* made once per tcase by the unchecked fixture */

static void generate(void) { dir = shim_ref_generate("shim_ops.py"); }
static void cleanup(void)
{
    tu_rmtree(dir);
    free(dir);
    dir = NULL;
}

#define CONV_RTOL 1e-4
#define RTOL 1e-5

typedef int (*op_fn)(ts_tensor **out, ts_tensor **in);

static const int64_t S1[2] = {1, 1}, S2[2] = {2, 2}, P0[2] = {0, 0}, P1[2] = {1, 1}, P2[2] = {2, 2};

static int op_conv(ts_tensor **o, ts_tensor **in) { return ts_conv2d(o, in[0], in[1], in[2], S2, P1, S1, 1); }
static int op_conv_grouped(ts_tensor **o, ts_tensor **in) { return ts_conv2d(o, in[0], in[1], NULL, S1, P2, S2, 2); }
static int op_convT(ts_tensor **o, ts_tensor **in)
{
    return ts_conv_transpose2d(o, in[0], in[1], in[2], S2, P1, S1, 1, S1);
}
static int op_linear(ts_tensor **o, ts_tensor **in) { return ts_linear(o, in[0], in[1], in[2]); }

static ts_tensor *bn_rm, *bn_rv; /* running stats shared by bn_train then bn_eval */
static int op_bn_train(ts_tensor **o, ts_tensor **in)
{
    bn_rm = shim_ref_load(dir, "bn.rm0", NULL);
    bn_rv = shim_ref_load(dir, "bn.rv0", NULL);
    ts_tensor *nbt = NULL;
    ck_assert_int_eq(ts_scalar(&nbt, 0, TS_I64, TS_CPU), TS_OK);
    int rc = ts_batch_norm(o, in[0], bn_rm, bn_rv, in[1], in[2], 1, 0.1, 1e-5, nbt);
    int64_t n = -1;
    ck_assert_int_eq(ts_item_i64(nbt, &n), TS_OK);
    ck_assert_int_eq(n, 1);
    shim_ref_expect(dir, "bn.rm1", bn_rm, RTOL);
    shim_ref_expect(dir, "bn.rv1", bn_rv, RTOL);
    return rc;
}
static int op_bn_eval(ts_tensor **o, ts_tensor **in)
{
    ts_tensor *rm = shim_ref_load(dir, "bn.rm1", NULL), *rv = shim_ref_load(dir, "bn.rv1", NULL);
    int rc = ts_batch_norm(o, in[0], rm, rv, in[1], in[2], 0, 0.1, 1e-5, NULL);
    /* eval must leave the running stats alone */
    shim_ref_expect(dir, "bn.rm1", rm, 0);
    return rc;
}
static int op_layer_norm(ts_tensor **o, ts_tensor **in)
{
    int64_t ns[1] = {8};
    return ts_layer_norm(o, in[0], 1, ns, in[1], in[2], 1e-5);
}
static int op_relu(ts_tensor **o, ts_tensor **in) { return ts_relu(o, in[0]); }
static int op_gelu(ts_tensor **o, ts_tensor **in) { return ts_gelu(o, in[0], 0); }
static int op_gelu_tanh(ts_tensor **o, ts_tensor **in) { return ts_gelu(o, in[0], 1); }
static int op_silu(ts_tensor **o, ts_tensor **in) { return ts_silu(o, in[0]); }
static int op_sigmoid(ts_tensor **o, ts_tensor **in) { return ts_sigmoid(o, in[0]); }
static int op_tanh(ts_tensor **o, ts_tensor **in) { return ts_tanh(o, in[0]); }
static int op_softmax(ts_tensor **o, ts_tensor **in) { return ts_softmax(o, in[0], 1); }
static int op_log_softmax(ts_tensor **o, ts_tensor **in) { return ts_log_softmax(o, in[0], 1); }
static int op_maxpool(ts_tensor **o, ts_tensor **in)
{
    int64_t k[2] = {3, 3};
    return ts_max_pool2d(o, in[0], k, S2, P1, 0);
}
static int op_avgpool(ts_tensor **o, ts_tensor **in) { return ts_avg_pool2d(o, in[0], S2, NULL, P0, 0, 1); }
static int op_adaptive(ts_tensor **o, ts_tensor **in) { return ts_adaptive_avg_pool2d(o, in[0], 3, 3); }
static int op_bilinear(ts_tensor **o, ts_tensor **in) { return ts_interpolate(o, in[0], 11, 9, TS_BILINEAR, 0); }
static int op_bilinear_ac(ts_tensor **o, ts_tensor **in) { return ts_interpolate(o, in[0], 11, 9, TS_BILINEAR, 1); }
static int op_nearest(ts_tensor **o, ts_tensor **in) { return ts_interpolate(o, in[0], 11, 9, TS_NEAREST, 0); }
static int op_bicubic(ts_tensor **o, ts_tensor **in) { return ts_interpolate(o, in[0], 11, 9, TS_BICUBIC, 0); }
static int op_pad(ts_tensor **o, ts_tensor **in)
{
    int64_t pads[4] = {1, 2, 3, 0};
    return ts_pad(o, in[0], 4, pads, 0.5);
}
static int op_ce(ts_tensor **o, ts_tensor **in) { return ts_cross_entropy(o, in[0], in[1], NULL, TS_RED_MEAN, -100, 0.1); }
static int op_ce_sum_ignore(ts_tensor **o, ts_tensor **in)
{
    return ts_cross_entropy(o, in[0], in[1], NULL, TS_RED_SUM, 3, 0);
}
static int op_bce(ts_tensor **o, ts_tensor **in)
{
    int64_t s[1] = {5};
    ts_tensor *pw = NULL;
    ck_assert_int_eq(ts_full(&pw, 1, s, 2.0, TS_F32, TS_CPU), TS_OK);
    return ts_bce_with_logits(o, in[0], in[1], pw, TS_RED_MEAN);
}
static int op_mse(ts_tensor **o, ts_tensor **in) { return ts_mse_loss(o, in[0], in[1], TS_RED_MEAN); }
static int op_l1(ts_tensor **o, ts_tensor **in) { return ts_l1_loss(o, in[0], in[1], TS_RED_SUM); }
static int op_smooth_l1(ts_tensor **o, ts_tensor **in) { return ts_smooth_l1_loss(o, in[0], in[1], TS_RED_MEAN, 0.5); }
static int op_add_bcast(ts_tensor **o, ts_tensor **in) { return ts_add(o, in[0], in[1]); }
static int op_mul(ts_tensor **o, ts_tensor **in) { return ts_mul(o, in[0], in[1]); }
static int op_div(ts_tensor **o, ts_tensor **in) { return ts_div(o, in[0], in[1]); }
static int op_matmul(ts_tensor **o, ts_tensor **in) { return ts_matmul(o, in[0], in[1]); }
static int op_bmm(ts_tensor **o, ts_tensor **in) { return ts_bmm(o, in[0], in[1]); }
static int op_sum1(ts_tensor **o, ts_tensor **in) { return ts_sum(o, in[0], 1, 0); }
static int op_mean_all(ts_tensor **o, ts_tensor **in) { return ts_mean(o, in[0], TS_ALL, 0); }
static int op_max0(ts_tensor **o, ts_tensor **in) { return ts_max(o, in[0], 0, 0); }
static int op_cumsum(ts_tensor **o, ts_tensor **in) { return ts_cumsum(o, in[0], 1); }
static int op_clamp(ts_tensor **o, ts_tensor **in) { return ts_clamp(o, in[0], -0.5, 0.7); }
static int op_exp_log(ts_tensor **o, ts_tensor **in)
{
    ts_tensor *e, *e1, *l;
    ck_assert_int_eq(ts_exp(&e, in[0]), TS_OK);
    ck_assert_int_eq(ts_add_scalar(&e1, e, 1), TS_OK);
    ck_assert_int_eq(ts_log(&l, e1), TS_OK);
    return ts_sqrt(o, l);
}
static int op_sin_cos(ts_tensor **o, ts_tensor **in)
{
    ts_tensor *a, *b, *s, *c;
    ck_assert_int_eq(ts_mul_scalar(&a, in[0], 7), TS_OK);
    ck_assert_int_eq(ts_mul_scalar(&b, in[0], 5), TS_OK);
    ck_assert_int_eq(ts_sin(&s, a), TS_OK);
    ck_assert_int_eq(ts_cos(&c, b), TS_OK);
    return ts_sub(o, s, c);
}
static int op_cat(ts_tensor **o, ts_tensor **in) { return ts_cat(o, (const ts_tensor *const *)in, 2, 1); }
static int op_stack(ts_tensor **o, ts_tensor **in) { return ts_stack(o, (const ts_tensor *const *)in, 2, 0); }
static int op_permute(ts_tensor **o, ts_tensor **in)
{
    int64_t d[3] = {2, 0, 1};
    ts_tensor *p;
    ck_assert_int_eq(ts_permute(&p, in[0], 3, d), TS_OK);
    return ts_contiguous(o, p);
}
static int op_flatten(ts_tensor **o, ts_tensor **in) { return ts_flatten(o, in[0], 1, -1); }
static int op_index_select(ts_tensor **o, ts_tensor **in) { return ts_index_select(o, in[0], 0, in[1]); }
static int op_gather(ts_tensor **o, ts_tensor **in) { return ts_gather(o, in[0], 1, in[1]); }
static int op_where(ts_tensor **o, ts_tensor **in) { return ts_where(o, in[0], in[1], in[2]); }
static int op_masked_fill(ts_tensor **o, ts_tensor **in) { return ts_masked_fill(o, in[0], in[1], -1.5); }
static int op_attention(ts_tensor **o, ts_tensor **in) { return ts_attention(o, in[0], in[1], in[2], NULL, 0); }
static int op_attention_mask(ts_tensor **o, ts_tensor **in) { return ts_attention(o, in[0], in[1], in[2], in[3], 0); }
static int op_attention_scale_addmask(ts_tensor **o, ts_tensor **in)
{
    return ts_attention(o, in[0], in[1], in[2], in[3], 0.5);
}

static int op_narrow(ts_tensor **o, ts_tensor **in) { return ts_narrow(o, in[0], 1, 1, 2); }
static int op_unsqueeze(ts_tensor **o, ts_tensor **in) { return ts_unsqueeze(o, in[0], 1); }
static int op_squeeze(ts_tensor **o, ts_tensor **in) { return ts_squeeze(o, in[0], 1); }
static int op_view(ts_tensor **o, ts_tensor **in)
{
    int64_t s[2] = {4, 6};
    return ts_view(o, in[0], 2, s);
}
static int op_reshape_T(ts_tensor **o, ts_tensor **in)
{
    int64_t s[1] = {12};
    ts_tensor *t;
    ck_assert_int_eq(ts_transpose(&t, in[0], 0, 1), TS_OK);
    return ts_reshape(o, t, 1, s);
}
static int op_sub_neg_abs(ts_tensor **o, ts_tensor **in)
{
    ts_tensor *d, *n;
    ck_assert_int_eq(ts_sub(&d, in[0], in[1]), TS_OK);
    ck_assert_int_eq(ts_neg(&n, d), TS_OK);
    return ts_abs(o, n);
}
static int op_pow(ts_tensor **o, ts_tensor **in) { return ts_pow_scalar(o, in[0], 3.0); }
static int op_mean_keep(ts_tensor **o, ts_tensor **in) { return ts_mean(o, in[0], 0, 1); }
static int op_min1(ts_tensor **o, ts_tensor **in) { return ts_min(o, in[0], 1, 0); }

static const struct op_case {
    const char *name;
    op_fn fn;
    double rtol;
} cases[] = {
    {"conv", op_conv, CONV_RTOL},
    {"conv_grouped", op_conv_grouped, CONV_RTOL},
    {"convT", op_convT, CONV_RTOL},
    {"linear", op_linear, RTOL},
    {"bn_train", op_bn_train, RTOL},
    {"bn_eval", op_bn_eval, RTOL},
    {"layer_norm", op_layer_norm, RTOL},
    {"relu", op_relu, RTOL},
    {"gelu", op_gelu, RTOL},
    {"gelu_tanh", op_gelu_tanh, RTOL},
    {"silu", op_silu, RTOL},
    {"sigmoid", op_sigmoid, RTOL},
    {"tanh", op_tanh, RTOL},
    {"softmax", op_softmax, RTOL},
    {"log_softmax", op_log_softmax, RTOL},
    {"maxpool", op_maxpool, RTOL},
    {"avgpool", op_avgpool, RTOL},
    {"adaptive", op_adaptive, RTOL},
    {"bilinear", op_bilinear, RTOL},
    {"bilinear_ac", op_bilinear_ac, RTOL},
    {"nearest", op_nearest, RTOL},
    {"bicubic", op_bicubic, RTOL},
    {"pad", op_pad, RTOL},
    {"ce", op_ce, RTOL},
    {"ce_sum_ignore", op_ce_sum_ignore, RTOL},
    {"bce", op_bce, RTOL},
    {"mse", op_mse, RTOL},
    {"l1", op_l1, RTOL},
    {"smooth_l1", op_smooth_l1, RTOL},
    {"add_bcast", op_add_bcast, RTOL},
    {"mul", op_mul, RTOL},
    {"div", op_div, RTOL},
    {"matmul", op_matmul, RTOL},
    {"bmm", op_bmm, RTOL},
    {"sum1", op_sum1, RTOL},
    {"mean_all", op_mean_all, RTOL},
    {"max0", op_max0, RTOL},
    {"cumsum", op_cumsum, RTOL},
    {"clamp", op_clamp, RTOL},
    {"exp_log", op_exp_log, RTOL},
    {"sin_cos", op_sin_cos, RTOL},
    {"cat", op_cat, RTOL},
    {"stack", op_stack, RTOL},
    {"permute", op_permute, RTOL},
    {"flatten", op_flatten, RTOL},
    {"index_select", op_index_select, RTOL},
    {"gather", op_gather, RTOL},
    {"where", op_where, RTOL},
    {"masked_fill", op_masked_fill, RTOL},
    {"attention", op_attention, RTOL},
    {"attention_mask", op_attention_mask, RTOL},
    {"attention_scale_addmask", op_attention_scale_addmask, RTOL},
    {"narrow", op_narrow, RTOL},
    {"unsqueeze", op_unsqueeze, RTOL},
    {"squeeze", op_squeeze, RTOL},
    {"view", op_view, RTOL},
    {"reshape_T", op_reshape_T, RTOL},
    {"sub_neg_abs", op_sub_neg_abs, RTOL},
    {"pow", op_pow, RTOL},
    {"mean_keep", op_mean_keep, RTOL},
    {"min1", op_min1, RTOL},
};
#define NCASES ((int)(sizeof cases / sizeof cases[0]))

/* Runs one case; returns 0 or writes why it failed. */
static int run_case(const struct op_case *c, char *why, size_t cap)
{
    ts_tensor *in[8] = {0};
    int nin = 0, bad = 0;
    char name[256];
    for (; nin < 8; nin++) {
        snprintf(name, sizeof name, "%s.in%d", c->name, nin);
        int dt;
        if (!(in[nin] = shim_ref_load(dir, name, &dt)))
            break;
        if (dt == TS_F32)
            ck_assert_int_eq(ts_set_requires_grad(in[nin], 1), TS_OK);
    }
    if (nin == 0) {
        snprintf(why, cap, "%s: no inputs", c->name);
        return 1;
    }
    ts_tensor *out = NULL;
    if (c->fn(&out, in) != TS_OK) {
        snprintf(why, cap, "%s: %s", c->name, ts_last_error());
        return 1;
    }
    snprintf(name, sizeof name, "%s.out", c->name);
    if ((bad = shim_ref_compare(dir, name, out, c->rtol, why, cap)))
        return bad;
    snprintf(name, sizeof name, "%s.gout", c->name);
    ts_tensor *gout = shim_ref_load(dir, name, NULL);
    if (!gout)
        return 0;
    if (ts_backward(out, gout) != TS_OK) {
        snprintf(why, cap, "%s backward: %s", c->name, ts_last_error());
        return 1;
    }
    int ngrads = 0;
    for (int i = 0; i < nin; i++) {
        snprintf(name, sizeof name, "%s.grad%d", c->name, i);
        if (!shim_ref_exists(dir, name))
            continue;
        ts_tensor *g = NULL;
        if (ts_grad(&g, in[i]) != TS_OK || !g) {
            snprintf(why, cap, "%s: input %d has no gradient", c->name, i);
            return 1;
        }
        if ((bad = shim_ref_compare(dir, name, g, c->rtol, why, cap)))
            return bad;
        ngrads++;
    }
    if (!ngrads) {
        snprintf(why, cap, "%s: PyTorch wrote no gradients", c->name);
        return 1;
    }
    return 0;
}

/* One test for all cases (a fork of a libtorch process per case costs more
 * than the cases); the failure message lists every failing case. */
START_TEST(test_ops_match_pytorch)
{
    long live0 = ts_live_tensors();
    char failures[8192] = "", why[1024];
    int nfail = 0;
    for (int i = 0; i < NCASES; i++) {
        ck_assert_int_eq(ts_scope_begin(), TS_OK);
        if (run_case(&cases[i], why, sizeof why)) {
            nfail++;
            size_t len = strlen(failures);
            snprintf(failures + len, sizeof failures - len, "\n  %s", why);
        }
        ts_scope_end(); /* frees the running stats too: loaded inside the scope */
        bn_rm = bn_rv = NULL;
    }
    ck_assert_msg(nfail == 0, "%d of %d ops differ from PyTorch:%s", nfail, NCASES, failures);
    ck_assert_int_eq(ts_live_tensors(), live0);
}
END_TEST

START_TEST(test_selections_match_pytorch)
{
    ck_assert_int_eq(ts_scope_begin(), TS_OK);
    ts_tensor *s = shim_ref_load(dir, "sel.in0", NULL), *o, *v, *i;
    ck_assert_int_eq(ts_argmax(&o, s, 1, 0), TS_OK);
    shim_ref_expect(dir, "sel.argmax", o, 0);
    ck_assert_int_eq(ts_argmax(&o, s, TS_ALL, 0), TS_OK);
    shim_ref_expect(dir, "sel.argmax_all", o, 0);
    ck_assert_int_eq(ts_topk(&v, &i, s, 3, 1, 1, 1), TS_OK);
    shim_ref_expect(dir, "sel.topk_v", v, 0);
    shim_ref_expect(dir, "sel.topk_i", i, 0);
    ck_assert_int_eq(ts_sort(&v, &i, s, 1, 1), TS_OK);
    shim_ref_expect(dir, "sel.sort_v", v, 0);
    shim_ref_expect(dir, "sel.sort_i", i, 0);
    ts_scope_end();
}
END_TEST

START_TEST(test_pieces_match_pytorch)
{
    ck_assert_int_eq(ts_scope_begin(), TS_OK);
    ts_tensor *t = shim_ref_load(dir, "pieces.in0", NULL), *parts[4], *o, *flip, *idx;
    int n = 0;
    char name[64];
    ck_assert_int_eq(ts_split(parts, 4, &n, t, 3, 1), TS_OK);
    ck_assert_int_eq(n, 3);
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, "pieces.split%d", i);
        shim_ref_expect(dir, name, parts[i], 0);
    }
    ck_assert_int_eq(ts_split(parts, 2, &n, t, 3, 1), TS_EARG); /* no room for 3 */
    ck_assert_int_eq(ts_chunk(parts, 4, &n, t, 2, 0), TS_OK);
    ck_assert_int_eq(n, 2);
    shim_ref_expect(dir, "pieces.chunk0", parts[0], 0);
    shim_ref_expect(dir, "pieces.chunk1", parts[1], 0);
    ck_assert_int_eq(ts_gt_scalar(&o, t, 0.2), TS_OK);
    shim_ref_expect(dir, "pieces.gt", o, 0);
    ck_assert_int_eq(ts_arange(&idx, 6, -1, -1, TS_I64, TS_CPU), TS_OK);
    ck_assert_int_eq(ts_index_select(&flip, t, 1, idx), TS_OK);
    ck_assert_int_eq(ts_eq(&o, t, flip), TS_OK);
    shim_ref_expect(dir, "pieces.eq", o, 0);
    ck_assert_int_eq(ts_arange(&o, 0, 5, 0.5, TS_F32, TS_CPU), TS_OK);
    shim_ref_expect(dir, "pieces.arange", o, 0);
    ts_scope_end();
}
END_TEST

START_TEST(test_silu_in_place_matches_pytorch)
{
    ck_assert_int_eq(ts_scope_begin(), TS_OK);
    int prev = ts_no_grad_push();
    ts_tensor *x = shim_ref_load(dir, "silu.in0", NULL), *y;
    ck_assert_int_eq(ts_clone(&y, x), TS_OK);
    ck_assert_int_eq(ts_silu_(y), TS_OK);
    shim_ref_expect(dir, "silu.out", y, RTOL);
    ck_assert_int_eq(ts_silu_(NULL), TS_EARG);
    ts_grad_mode_pop(prev);
    ts_scope_end();
}
END_TEST

START_TEST(test_seeded_randomness_matches_pytorch)
{
    ck_assert_int_eq(ts_scope_begin(), TS_OK);
    ck_assert_int_eq(ts_manual_seed(7), TS_OK);
    int64_t s35[2] = {3, 5}, s46[2] = {4, 6}, s200[1] = {200};
    ts_tensor *r, *ones, *d, *t;
    ck_assert_int_eq(ts_randn(&r, 2, s35, TS_F32, TS_CPU), TS_OK);
    shim_ref_expect(dir, "rng.randn", r, 0);
    ck_assert_int_eq(ts_ones(&ones, 2, s46, TS_F32, TS_CPU), TS_OK);
    ck_assert_int_eq(ts_dropout(&d, ones, 0.5, 1), TS_OK);
    shim_ref_expect(dir, "rng.dropout", d, 0);
    ck_assert_int_eq(ts_zeros(&t, 1, s200, TS_F32, TS_CPU), TS_OK);
    ck_assert_int_eq(ts_trunc_normal_(t, 0, 0.02, -0.04, 0.04), TS_OK);
    shim_ref_expect(dir, "rng.trunc_normal", t, 1e-6);
    /* eval-mode dropout is the identity */
    ck_assert_int_eq(ts_dropout(&d, ones, 0.5, 0), TS_OK);
    double sum;
    ts_tensor *sm;
    ck_assert_int_eq(ts_sum(&sm, d, TS_ALL, 0), TS_OK);
    ck_assert_int_eq(ts_item_f64(sm, &sum), TS_OK);
    ck_assert_double_eq(sum, 24.0);
    ts_scope_end();
}
END_TEST

START_TEST(test_autocast_bf16_matches_pytorch)
{
    ck_assert_int_eq(ts_scope_begin(), TS_OK);
    ts_tensor *x = shim_ref_load(dir, "ac.x", NULL), *w = shim_ref_load(dir, "ac.w", NULL),
              *b = shim_ref_load(dir, "ac.b", NULL), *lw = shim_ref_load(dir, "ac.lw", NULL),
              *lb = shim_ref_load(dir, "ac.lb", NULL), *tgt = shim_ref_load(dir, "ac.tgt", NULL);
    ts_set_requires_grad(w, 1);
    ts_set_requires_grad(b, 1);
    ts_set_requires_grad(lw, 1);
    ts_set_requires_grad(lb, 1);
    ck_assert_int_eq(ts_autocast_enabled(TS_CPU), 0);
    int tok;
    ck_assert_int_eq(ts_autocast_push(TS_CPU, TS_BF16, &tok), TS_OK);
    ck_assert_int_eq(ts_autocast_enabled(TS_CPU), 1);
    ts_tensor *y1, *y2, *y3, *f, *y4, *y5, *y4t, *y6, *loss;
    int64_t k1[2] = {1, 1};
    ck_assert_int_eq(ts_conv2d(&y1, x, w, b, S1, P0, S1, 1), TS_OK);
    ck_assert_int_eq(ts_relu(&y2, y1), TS_OK);
    ck_assert_int_eq(ts_max_pool2d(&y3, y2, k1, NULL, P0, 0), TS_OK);
    ck_assert_int_eq(ts_flatten(&f, y3, 1, -1), TS_OK);
    ck_assert_int_eq(ts_linear(&y4, f, lw, lb), TS_OK);
    ck_assert_int_eq(ts_log_softmax(&y5, y4, 1), TS_OK);
    ck_assert_int_eq(ts_transpose(&y4t, y4, 0, 1), TS_OK);
    ck_assert_int_eq(ts_matmul(&y6, y4, y4t), TS_OK);
    ck_assert_int_eq(ts_cross_entropy(&loss, y4, tgt, NULL, TS_RED_MEAN, -100, 0), TS_OK);
    ck_assert_int_eq(ts_autocast_pop(tok), TS_OK);
    ck_assert_int_eq(ts_autocast_enabled(TS_CPU), 0);
    shim_ref_expect(dir, "ac.out_conv", y1, 5e-3);
    shim_ref_expect(dir, "ac.out_relu", y2, 5e-3);
    shim_ref_expect(dir, "ac.out_linear", y4, 5e-3);
    shim_ref_expect(dir, "ac.out_log_softmax", y5, 5e-3);
    shim_ref_expect(dir, "ac.out_matmul", y6, 5e-3);
    shim_ref_expect(dir, "ac.out_loss", loss, 5e-3);
    ck_assert_int_eq(ts_backward(loss, NULL), TS_OK);
    ts_tensor *gw, *glw;
    ck_assert_int_eq(ts_grad(&gw, w), TS_OK);
    ck_assert_int_eq(ts_grad(&glw, lw), TS_OK);
    shim_ref_expect(dir, "ac.grad_w", gw, 5e-3);
    shim_ref_expect(dir, "ac.grad_lw", glw, 5e-3);
    /* after pop, the same conv runs in f32 again */
    ts_tensor *y1f;
    ck_assert_int_eq(ts_conv2d(&y1f, x, w, b, S1, P0, S1, 1), TS_OK);
    ck_assert_int_eq(ts_dtype(y1f), TS_F32);
    /* pops must nest */
    int t1, t2;
    ck_assert_int_eq(ts_autocast_push(TS_CPU, TS_BF16, &t1), TS_OK);
    ck_assert_int_eq(ts_autocast_push(TS_CPU, TS_BF16, &t2), TS_OK);
    ck_assert_int_eq(ts_autocast_pop(t1), TS_EARG);
    ck_assert_int_eq(ts_autocast_pop(t2), TS_OK);
    ck_assert_int_eq(ts_autocast_pop(t1), TS_OK);
    ck_assert_int_eq(ts_autocast_enabled(TS_CPU), 0);
    ck_assert_int_eq(ts_autocast_push(TS_CPU, TS_F16, &t1), TS_EARG);
    ts_scope_end();
}
END_TEST

START_TEST(test_conv2d_mismatch_explains_and_does_not_leak)
{
    long live0 = ts_live_tensors();
    int64_t xs[4] = {1, 3, 8, 8}, ws[4] = {4, 2, 3, 3};
    ts_tensor *x, *w, *out = (ts_tensor *)&out;
    ck_assert_int_eq(ts_zeros(&x, 4, xs, TS_F32, TS_CPU), TS_OK);
    ck_assert_int_eq(ts_zeros(&w, 4, ws, TS_F32, TS_CPU), TS_OK);
    ck_assert_int_eq(ts_conv2d(&out, x, w, NULL, S1, P0, S1, 1), TS_ETORCH);
    char *expected = shim_ref_text(dir, "err.conv2d");
    ck_assert_msg(strlen(expected) > 20, "PyTorch's message is empty");
    ck_assert_msg(strstr(ts_last_error(), expected) != NULL, "message '%s' lacks PyTorch's '%s'", ts_last_error(),
                  expected);
    free(expected);
    ck_assert_int_eq(ts_live_tensors(), live0 + 2);
    /* the next successful call clears the message */
    ck_assert_int_eq(ts_relu(&out, x), TS_OK);
    ck_assert_str_eq(ts_last_error(), "");
    ts_tensor_free(out);
    /* a NULL input is a bad argument, not a crash */
    ck_assert_int_eq(ts_relu(&out, NULL), TS_EARG);
    ck_assert_ptr_nonnull(strstr(ts_last_error(), "NULL"));
    ck_assert_int_eq(ts_relu(NULL, x), TS_EARG);
    ts_tensor_free(x);
    ts_tensor_free(w);
    ts_tensor_free(NULL);
    ck_assert_int_eq(ts_live_tensors(), live0);
}
END_TEST

Suite *suite_shim_ops(void)
{
    Suite *s = suite_create("shim_ops");
    TCase *tc = tcase_create("parity");
    tcase_add_unchecked_fixture(tc, generate, cleanup);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_ops_match_pytorch);
    tcase_add_test(tc, test_selections_match_pytorch);
    tcase_add_test(tc, test_pieces_match_pytorch);
    tcase_add_test(tc, test_silu_in_place_matches_pytorch);
    tcase_add_test(tc, test_seeded_randomness_matches_pytorch);
    tcase_add_test(tc, test_autocast_bf16_matches_pytorch);
    tcase_add_test(tc, test_conv2d_mismatch_explains_and_does_not_leak);
    suite_add_tcase(s, tc);
    return s;
}
