/* Lab 2.2.4's challenge model (labs/models/deeplabv3.h) against torchvision
 * 0.14's deeplabv3_resnet50 itself (tests/ref/deeplabv3.py): the state dict
 * is torchvision's key for key (and ../shared/reference/2.2.4-deeplabv3-
 * resnet50.tsv when the checkout has it), 42,004,074 parameters with the
 * aux head; torchvision's weights give torchvision's "out" and "aux" here
 * in eval (one odd 41x299 image: small for CPU time, wide enough that the
 * ASPP's dilations 12, 24 and 36 all reach inside layer4's 6x38 map), and ours load
 * strictly into torchvision's model and give ours there. */
#include "base/error.h"
#include "labs/models/deeplabv3.h"
#include "labs/models/weights.h"
#include "tests/unit/shim_testref.h"
#include "tests/unit/testutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dir;
static void generate(void) { dir = shim_ref_generate("deeplabv3.py"); }
static void cleanup(void)
{
    tu_rmtree(dir);
    free(dir);
    dir = NULL;
}

#define RTOL 1e-4 /* fp32, relative to the largest reference value */

static struct model *build(void)
{
    struct model *m = NULL;
    ck_assert_msg(deeplabv3_resnet50_create(3, 21, &m) == 0, "%s", lab_err_message());
    return m;
}

/* out and aux of m on the reference's image against NAME and NAME.aux */
static void expect_outputs(struct model *m, const char *name)
{
    ck_assert_int_eq(ts_scope_begin(), TS_OK);
    ts_tensor *x = shim_ref_load(dir, "course.x", NULL), *y, *aux;
    ck_assert_msg(deeplabv3_forward_aux(m, x, 0, &y, &aux) == 0, "%s", lab_err_message());
    ck_assert_int_eq(ts_size(y, 1), 21);
    ck_assert_int_eq(ts_size(y, 2), 41);
    ck_assert_int_eq(ts_size(y, 3), 299);
    shim_ref_expect(dir, name, y, RTOL);
    char aux_name[256];
    snprintf(aux_name, sizeof aux_name, "%s.aux", name);
    shim_ref_expect(dir, aux_name, aux, RTOL);
    /* m->forward is the dict's "out" */
    ts_tensor *y2;
    ck_assert_int_eq(m->forward(m, x, 0, &y2), 0);
    shim_ref_expect(dir, name, y2, RTOL);
    ts_scope_end();
}

START_TEST(test_state_dict_is_torchvisions)
{
    struct model *m = build();
    char path[4200];
    snprintf(path, sizeof path, "%s/course.keys.txt", dir);
    tu_expect_state_keys(m, path);
    ck_assert_int_eq(model_num_params(m), 42004074);
    snprintf(path, sizeof path, "%s/../shared/reference/2.2.4-deeplabv3-resnet50.tsv", tu_src_dir());
    FILE *f = fopen(path, "r");
    if (f) {
        fclose(f);
        tu_expect_state_keys(m, path);
    }
    model_free(m);
}
END_TEST

START_TEST(test_torchvision_weights_give_torchvision_outputs)
{
    struct model *m = build();
    char path[4200];
    snprintf(path, sizeof path, "%s/course.safetensors", dir);
    ck_assert_msg(weights_load(m->params, path, 1, NULL, NULL) == 0, "%s", lab_err_message());
    expect_outputs(m, "course.out");
    model_free(m);
}
END_TEST

START_TEST(test_our_weights_load_into_torchvision)
{
    ts_manual_seed(7);
    struct model *m = build();
    char wpath[4200], xpath[4300], out[4300], cmd[16384];
    snprintf(wpath, sizeof wpath, "%s/ours.safetensors", dir);
    ck_assert_msg(weights_save(m->params, wpath, NULL, NULL, 0) == 0, "%s", lab_err_message());
    snprintf(xpath, sizeof xpath, "%s/course.x.t", dir);
    snprintf(out, sizeof out, "%s/ours.out", dir);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/tests/ref/deeplabv3.py' check '%s' '%s' '%s' 2>&1", tu_src_dir(),
             wpath, xpath, out);
    char *log = NULL;
    int rc = tu_run(cmd, &log);
    ck_assert_msg(rc == 0, "torchvision could not load our weights: %s", log ? log : "");
    free(log);
    expect_outputs(m, "ours.out");
    model_free(m);
}
END_TEST

START_TEST(test_bad_configurations_are_refused)
{
    struct model *m = NULL;
    ck_assert_int_ne(deeplabv3_resnet50_create(3, 0, &m), 0);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "class"));
    ck_assert_int_ne(deeplabv3_resnet50_create(0, 21, &m), 0);
}
END_TEST

Suite *suite_deeplabv3(void)
{
    Suite *s = suite_create("deeplabv3");
    TCase *tc = tcase_create("parity");
    tcase_add_unchecked_fixture(tc, generate, cleanup);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_state_dict_is_torchvisions);
    tcase_add_test(tc, test_torchvision_weights_give_torchvision_outputs);
    tcase_add_test(tc, test_our_weights_load_into_torchvision);
    tcase_add_test(tc, test_bad_configurations_are_refused);
    suite_add_tcase(s, tc);
    return s;
}
