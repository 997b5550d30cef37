/* .pth checkpoints written by torch.save at test time
 * (tests/ref/weights_pth.py): state dicts load with PyTorch's names, order,
 * dtypes, shapes and bytes; whole pickled models, TorchScript, legacy and
 * damaged files are refused with a message that says what to do. */
#include "base/error.h"
#include "base/fsutil.h"
#include "base/jsonio.h"
#include "shim/pth.h"
#include "tests/fuzz/pth_cases.h"
#include "tests/unit/testutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *ref_dir; /* one set of checkpoints for the whole suite */

static void make_refs(void)
{
    ref_dir = tu_tempdir();
    char cmd[8192], *out = NULL;
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/ref/weights_pth.py '%s' 2>&1", tu_src_dir(), ref_dir);
    int rc = tu_run(cmd, &out);
    ck_assert_msg(rc == 0, "%s failed (%d): %s", cmd, rc, out);
    free(out);
}

static void drop_refs(void)
{
    tu_rmtree(ref_dir);
    free(ref_dir);
    ref_dir = NULL;
}

static const char *ref(const char *name)
{
    static char path[4200];
    snprintf(path, sizeof path, "%s/%s", ref_dir, name);
    return path;
}

/* The loaded file holds exactly the manifest's tensors, in its order. */
static void check_against(const char *stem)
{
    char name[64];
    snprintf(name, sizeof name, "%s.pth", stem);
    pth_file *f;
    ck_assert_msg(pth_load(ref(name), &f) == LAB_OK, "%s: %s", name, lab_err_message());
    snprintf(name, sizeof name, "%s.json", stem);
    json_t *m;
    ck_assert_int_eq(lab_json_load(ref(name), &m), LAB_OK);
    ck_assert_uint_eq(pth_count(f), json_array_size(m));
    size_t i;
    json_t *e;
    json_array_foreach(m, i, e)
    {
        const struct pth_tensor *t = pth_at(f, i);
        ck_assert_str_eq(t->name, json_string_value(json_object_get(e, "name")));
        ck_assert_ptr_eq(pth_find(f, t->name), t);
        ck_assert_str_eq(st_dtype_name(t->dtype), json_string_value(json_object_get(e, "dtype")));
        json_t *shape = json_object_get(e, "shape");
        ck_assert_int_eq(t->ndim, (int)json_array_size(shape));
        for (int d = 0; d < t->ndim; d++)
            ck_assert_int_eq(t->shape[d], json_integer_value(json_array_get(shape, (size_t)d)));
        char *raw;
        size_t len;
        ck_assert_int_eq(lab_read_file(json_string_value(json_object_get(e, "bin")), 1 << 24, &raw, &len), LAB_OK);
        ck_assert_uint_eq(t->nbytes, len);
        ck_assert_msg(len == 0 || memcmp(t->data, raw, len) == 0, "%s: bytes of %s differ", stem, t->name);
        free(raw);
    }
    ck_assert_ptr_null(pth_at(f, pth_count(f)));
    ck_assert_ptr_null(pth_find(f, "no.such.tensor"));
    json_decref(m);
    pth_free(f);
}

START_TEST(test_state_dict_loads)
{
    check_against("sd");
    pth_file *f;
    ck_assert_int_eq(pth_load(ref("sd.pth"), &f), LAB_OK);
    ck_assert_str_eq(pth_at(f, 0)->name, "conv.weight");
    ck_assert_int_eq(pth_find(f, "conv.weight")->shape[0], 8);
    ck_assert_uint_eq(pth_skipped_count(f), 0);
    pth_free(f);
    pth_free(NULL);
}
END_TEST

START_TEST(test_dtypes_and_views_load)
{
    check_against("mixed");
    check_against("params");
}
END_TEST

START_TEST(test_nested_dict_flattens)
{
    check_against("nested");
    pth_file *f;
    ck_assert_int_eq(pth_load(ref("nested.pth"), &f), LAB_OK);
    ck_assert_uint_eq(pth_skipped_count(f), 4);
    ck_assert_str_eq(pth_skipped_at(f, 0), "epoch");
    ck_assert_str_eq(pth_skipped_at(f, 3), "lr.0");
    ck_assert_ptr_null(pth_skipped_at(f, 4));
    pth_free(f);
}
END_TEST

static void refused(const char *name, int status, const char *const *words)
{
    pth_file *f = (pth_file *)1;
    ck_assert_int_eq(pth_load(ref(name), &f), status);
    ck_assert_ptr_null(f);
    ck_assert_msg(strstr(lab_err_message(), ref(name)) != NULL, "%s: '%s' does not name the file", name,
                  lab_err_message());
    for (; *words; words++)
        ck_assert_msg(strstr(lab_err_message(), *words) || strstr(lab_err_fix(), *words),
                      "%s: '%s' / '%s' lacks '%s'", name, lab_err_message(), lab_err_fix(), *words);
}

START_TEST(test_pickled_model_refused)
{
    refused("model.pth", LAB_EUSAGE,
            (const char *const[]){"holds Python objects", "not a plain state dict", "__main__.Net",
                                  "torch.save(model.state_dict()", "safetensors.torch.save_file", NULL});
    refused("script.pt", LAB_EUSAGE,
            (const char *const[]){"TorchScript", "safetensors.torch.save_file", NULL});
}
END_TEST

START_TEST(test_legacy_and_damaged_refused)
{
    refused("legacy.pth", LAB_EUSAGE, (const char *const[]){"legacy (pre-1.6, non-zip)", "torch.save", NULL});
    refused("truncated.pth", LAB_EUSAGE, (const char *const[]){"damaged", NULL});
    refused("sd.json", LAB_EUSAGE, (const char *const[]){"not a PyTorch checkpoint", NULL});
    refused("absent.pth", LAB_EENV, (const char *const[]){"cannot open", NULL});
}
END_TEST

/* Crafted pickles through the fuzz target's entry point: what a state dict
 * needs is read; anything that would run code, reach outside a storage or
 * confuse the interpreter is refused with its reason. */
START_TEST(test_replay_crafted_pickles)
{
    for (size_t i = 0; i < PTH_NCASES; i++) {
        const struct pth_case *c = &pth_cases[i];
        pth_file *f = (pth_file *)1;
        lab_err_clear();
        int rc = pth_load_pickle(c->pickle, c->len, PTH_CASE_STORAGE_BYTES, &f);
        if (c->ok) {
            ck_assert_msg(rc == LAB_OK, "case %s: %s", c->name, lab_err_message());
            for (size_t k = 0; k < pth_count(f); k++)
                ck_assert_ptr_eq(pth_find(f, pth_at(f, k)->name), pth_at(f, k));
        } else {
            ck_assert_msg(rc == LAB_EUSAGE, "case %s: rc %d (%s)", c->name, rc, lab_err_message());
            ck_assert_ptr_null(f);
            ck_assert_msg(strstr(lab_err_message(), c->expect) != NULL, "case %s: message '%s' lacks '%s'", c->name,
                          lab_err_message(), c->expect);
        }
        pth_free(f);
    }
}
END_TEST

/* What the accepted crafted pickles hold, element for element. */
START_TEST(test_crafted_pickles_content)
{
    pth_file *f;
    const struct pth_case *c = &pth_cases[1]; /* one_tensor */
    ck_assert_int_eq(pth_load_pickle(c->pickle, c->len, PTH_CASE_STORAGE_BYTES, &f), LAB_OK);
    ck_assert_uint_eq(pth_count(f), 1);
    ck_assert_str_eq(pth_at(f, 0)->name, "a");
    ck_assert_int_eq(pth_at(f, 0)->dtype, ST_F32);
    ck_assert_int_eq(pth_at(f, 0)->ndim, 2);
    ck_assert_uint_eq(pth_at(f, 0)->nbytes, 16);
    pth_free(f);
    c = &pth_cases[4]; /* int_key_and_list: {7: [1, 0.1]} */
    ck_assert_str_eq(c->name, "int_key_and_list");
    ck_assert_int_eq(pth_load_pickle(c->pickle, c->len, PTH_CASE_STORAGE_BYTES, &f), LAB_OK);
    ck_assert_uint_eq(pth_count(f), 0);
    ck_assert_uint_eq(pth_skipped_count(f), 2);
    ck_assert_str_eq(pth_skipped_at(f, 1), "7.1");
    pth_free(f);
}
END_TEST

Suite *suite_pth(void)
{
    Suite *s = suite_create("pth");
    TCase *tc = tcase_create("core");
    tcase_add_unchecked_fixture(tc, make_refs, drop_refs);
    tcase_add_test(tc, test_state_dict_loads);
    tcase_add_test(tc, test_dtypes_and_views_load);
    tcase_add_test(tc, test_nested_dict_flattens);
    tcase_add_test(tc, test_pickled_model_refused);
    tcase_add_test(tc, test_legacy_and_damaged_refused);
    tcase_add_test(tc, test_replay_crafted_pickles);
    tcase_add_test(tc, test_crafted_pickles_content);
    suite_add_tcase(s, tc);
    return s;
}
