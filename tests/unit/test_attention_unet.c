/* Lab 2.2.4's attention U-Net (labs/models/attention_unet.h) against the
 * solution's AttentionUNet re-stated in PyTorch (tests/ref/attention_unet.py,
 * with the README's fix of its forward): the state dict is the course's key
 * for key (../shared/reference/2.2.4-attention-unet.tsv when the checkout
 * has it), 31,563,581 parameters; PyTorch's weights give PyTorch's logits
 * here (eval, training-mode batch statistics, bf16 autocast), ours give
 * ours in PyTorch; sizes that are no multiple of 16 are refused. */
#include "base/error.h"
#include "labs/models/attention_unet.h"
#include "labs/models/weights.h"
#include "tests/unit/model_testref.h"
#include "tests/unit/shim_testref.h"
#include "tests/unit/testutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dir;
static void generate(void) { dir = shim_ref_generate("attention_unet.py"); }
static void cleanup(void)
{
    tu_rmtree(dir);
    free(dir);
    dir = NULL;
}

#define RTOL 1e-4 /* fp32, relative to the largest reference value */
/* bf16 autocast: lab and PyTorch run the same libtorch bf16 kernels, and
 * here agree to 1e-6 (measured with this bound set to 1e-6); the bound
 * leaves room for another libtorch build's kernels while staying under a
 * third of bf16's own distance from the fp32 logits (1.6e-2 on this case),
 * so a forward that left autocast off would fail. */
#define RTOL_BF16 5e-3

struct att_case {
    const char *name;
    int classes, width;
};
static const struct att_case cases[] = {{"course", 21, 64}, {"narrow", 11, 8}};
#define NCASES ((int)(sizeof cases / sizeof cases[0]))

static struct model *build(const struct att_case *c)
{
    struct model *m = NULL;
    ck_assert_msg(attention_unet_create(3, c->classes, c->width, &m) == 0, "%s: %s", c->name, lab_err_message());
    return m;
}

static struct model *build_loaded(const struct att_case *c)
{
    struct model *m = build(c);
    char path[4200];
    snprintf(path, sizeof path, "%s/%s.safetensors", dir, c->name);
    ck_assert_msg(weights_load(m->params, path, 1, NULL, NULL) == 0, "%s: %s", c->name, lab_err_message());
    return m;
}

START_TEST(test_state_dict_is_the_courses)
{
    for (int i = 0; i < NCASES; i++) {
        struct model *m = build(&cases[i]);
        char path[4200];
        snprintf(path, sizeof path, "%s/%s.keys.txt", dir, cases[i].name);
        tu_expect_state_keys(m, path);
        model_free(m);
    }
    struct model *m = build(&cases[0]);
    ck_assert_int_eq(model_num_params(m), 31563581);
    char path[4200];
    snprintf(path, sizeof path, "%s/../shared/reference/2.2.4-attention-unet.tsv", tu_src_dir());
    FILE *f = fopen(path, "r");
    if (f) {
        fclose(f);
        tu_expect_state_keys(m, path);
    }
    model_free(m);
}
END_TEST

START_TEST(test_pytorch_weights_give_pytorch_outputs)
{
    for (int i = 0; i < NCASES; i++) {
        const struct att_case *c = &cases[i];
        struct model *m = build_loaded(c);
        model_ref_pytorch_in_ours(m, dir, c->name, c->classes, "inc.double_conv.1.running_mean", RTOL);
        model_free(m);
    }
}
END_TEST

START_TEST(test_bf16_autocast_matches_pytorch)
{
    struct model *m = build_loaded(&cases[0]);
    ck_assert_int_eq(ts_scope_begin(), TS_OK);
    ts_tensor *x = shim_ref_load(dir, "course.x", NULL), *y;
    int token;
    ck_assert_int_eq(ts_autocast_push(TS_CPU, TS_BF16, &token), TS_OK);
    int rc = m->forward(m, x, 0, &y);
    ck_assert_int_eq(ts_autocast_pop(token), TS_OK);
    ck_assert_msg(rc == 0, "%s", lab_err_message());
    shim_ref_expect(dir, "course.eval_bf16", y, RTOL_BF16);
    ts_scope_end();
    model_free(m);
}
END_TEST

/* Our initial weights, saved, loaded strictly by the PyTorch model, give
 * our logits there. */
START_TEST(test_our_weights_give_our_outputs_in_pytorch)
{
    for (int i = 0; i < NCASES; i++) {
        const struct att_case *c = &cases[i];
        ts_manual_seed(31 + (uint64_t)i);
        struct model *m = build(c);
        model_ref_ours_in_pytorch(m, dir, "attention_unet.py", c->name, RTOL);
        model_free(m);
    }
}
END_TEST

START_TEST(test_bad_configurations_and_inputs_are_refused)
{
    struct model *m = NULL;
    ck_assert_int_ne(attention_unet_create(3, 0, 64, &m), 0);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "class"));
    ck_assert_int_ne(attention_unet_create(3, 21, 1, &m), 0);
    m = build(&cases[1]);
    ck_assert_int_eq(ts_scope_begin(), TS_OK);
    /* 40 = 2.5 x 16: the course's decoder has no padding to absorb it */
    const int64_t sizes[][4] = {{1, 3, 40, 48}, {1, 3, 48, 33}, {1, 3, 8, 8}};
    for (int i = 0; i < 3; i++) {
        ts_tensor *x, *y;
        ck_assert_int_eq(ts_zeros(&x, 4, sizes[i], TS_F32, TS_CPU), TS_OK);
        ck_assert_int_ne(m->forward(m, x, 0, &y), 0);
        ck_assert_ptr_nonnull(strstr(lab_err_message(), "multiple of 16"));
    }
    ts_scope_end();
    model_free(m);
}
END_TEST

Suite *suite_attention_unet(void)
{
    Suite *s = suite_create("attention_unet");
    TCase *tc = tcase_create("parity");
    tcase_add_unchecked_fixture(tc, generate, cleanup);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_state_dict_is_the_courses);
    tcase_add_test(tc, test_pytorch_weights_give_pytorch_outputs);
    tcase_add_test(tc, test_bf16_autocast_matches_pytorch);
    tcase_add_test(tc, test_our_weights_give_our_outputs_in_pytorch);
    tcase_add_test(tc, test_bad_configurations_and_inputs_are_refused);
    suite_add_tcase(s, tc);
    return s;
}
