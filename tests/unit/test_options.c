/* The option engine (base/options.c): exact names only, suggestions for
 * options and values, numeric ranges, positionals, generated help. */
#include "base/error.h"
#include "base/options.h"
#include "base/suggest.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

enum { T_QUICK = 1, T_FULL, T_EPOCHS, T_LR, T_MODE, T_OUT };
static const char *const modes[] = {"auto", "bf16", "fp32", NULL};
static const struct lab_opt table[] = {
    {T_QUICK, "quick", 0, LAB_OPT_FLAG, NULL, "quick", 0, 0, NULL},
    {T_FULL, "full", 'f', LAB_OPT_FLAG, NULL, "full", 0, 0, NULL},
    {T_EPOCHS, "epochs", 0, LAB_OPT_INT, "N", "epochs", 1, 100, NULL},
    {T_LR, "lr", 0, LAB_OPT_NUM, "X", "rate\nsecond line", 0, 10, NULL},
    {T_MODE, "precision", 0, LAB_OPT_CHOICE, "P", "precision", 0, 0, modes},
    {T_OUT, "out", 'o', LAB_OPT_STR, "DIR", "where", 0, 0, NULL},
    {0},
};

/* Parses argv (NULL-terminated, argv[0] the command); returns the last status. */
static int parse(struct lab_opts *p, char **argv)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    lab_err_clear();
    lab_opts_init(p, "t", table, argc, argv);
    return lab_opts_rest(p);
}

START_TEST(test_parses_options_anywhere_and_positionals)
{
    struct lab_opts p;
    char *argv[] = {"t", "a", "--quick", "--epochs=3", "b", "--out", "d", "-o", "e", "-", "--", "--full", NULL};
    ck_assert_int_eq(parse(&p, argv), 0);
    ck_assert_uint_eq(p.npos, 4);
    ck_assert_str_eq(p.pos[0], "a");
    ck_assert_str_eq(p.pos[1], "b");
    ck_assert_str_eq(p.pos[2], "-");
    ck_assert_str_eq(p.pos[3], "--full");
    /* the values, one option at a time */
    char *argv2[] = {"t", "--epochs", "7", "--lr", "0.25", "--precision=bf16", NULL};
    lab_opts_init(&p, "t", table, 6, argv2);
    ck_assert_int_eq(lab_opts_next(&p), T_EPOCHS);
    ck_assert_int_eq(p.ival, 7);
    ck_assert_int_eq(lab_opts_next(&p), T_LR);
    ck_assert(p.num == 0.25);
    ck_assert_int_eq(lab_opts_next(&p), T_MODE);
    ck_assert_str_eq(p.value, "bf16");
    ck_assert_int_eq(lab_opts_next(&p), 0);
}
END_TEST

START_TEST(test_no_abbreviations_and_suggestions)
{
    struct lab_opts p;
    char *ful[] = {"t", "--ful", NULL};
    ck_assert_int_eq(parse(&p, ful), LAB_EUSAGE);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "'--ful'"));
    ck_assert_ptr_nonnull(strstr(lab_err_fix(), "did you mean --full?"));
    ck_assert_ptr_nonnull(strstr(lab_err_fix(), "lab t --help"));
    char *quik[] = {"t", "--quik", NULL};
    ck_assert_int_eq(parse(&p, quik), LAB_EUSAGE);
    ck_assert_ptr_nonnull(strstr(lab_err_fix(), "did you mean --quick?"));
    char *far[] = {"t", "--zzzzzzzz", NULL};
    ck_assert_int_eq(parse(&p, far), LAB_EUSAGE);
    ck_assert_ptr_null(strstr(lab_err_fix(), "did you mean"));
    ck_assert_ptr_nonnull(strstr(lab_err_fix(), "lab t --help"));
    char *shortbad[] = {"t", "-x", NULL};
    ck_assert_int_eq(parse(&p, shortbad), LAB_EUSAGE);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "'-x'"));
}
END_TEST

START_TEST(test_values_checked)
{
    struct lab_opts p;
    char *missing[] = {"t", "--out", NULL};
    ck_assert_int_eq(parse(&p, missing), LAB_EUSAGE);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "--out needs a value (DIR)"));
    char *flagval[] = {"t", "--quick=1", NULL};
    ck_assert_int_eq(parse(&p, flagval), LAB_EUSAGE);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "takes no value"));
    char *low[] = {"t", "--epochs", "0", NULL};
    ck_assert_int_eq(parse(&p, low), LAB_EUSAGE);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "from 1 to 100, not '0'"));
    char *word[] = {"t", "--epochs", "3x", NULL};
    ck_assert_int_eq(parse(&p, word), LAB_EUSAGE);
    char *frac[] = {"t", "--epochs", "2.5", NULL};
    ck_assert_int_eq(parse(&p, frac), LAB_EUSAGE);
    char *nan[] = {"t", "--lr", "nan", NULL};
    ck_assert_int_eq(parse(&p, nan), LAB_EUSAGE);
    char *big[] = {"t", "--lr", "11", NULL};
    ck_assert_int_eq(parse(&p, big), LAB_EUSAGE);
    char *choice[] = {"t", "--precision", "BF-16", NULL};
    ck_assert_int_eq(parse(&p, choice), LAB_EUSAGE);
    ck_assert_ptr_nonnull(strstr(lab_err_fix(), "did you mean --precision bf16?"));
    ck_assert(lab_err_fix()[0]);
}
END_TEST

START_TEST(test_loose_value_suggestions)
{
    const char *const models[] = {"all", "lenet5", "alexnet", "vgg11", "resnet18", "se-resnet18", NULL};
    ck_assert_str_eq(lab_suggest_loose("ResNet18", models), "resnet18");
    ck_assert_str_eq(lab_suggest_loose("resnet-18", models), "resnet18");
    ck_assert_str_eq(lab_suggest_loose("resnet", models), "resnet18");
    ck_assert_str_eq(lab_suggest_loose("VGG-11", models), "vgg11");
    ck_assert_ptr_null(lab_suggest_loose("transformer", models));
    ck_assert_int_eq(lab_opts_bad_value("--model", "resnet", models), LAB_EUSAGE);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "unknown value 'resnet' for --model"));
    ck_assert_ptr_nonnull(strstr(lab_err_fix(), "did you mean --model resnet18?"));
}
END_TEST

START_TEST(test_help_lists_every_option)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    lab_opts_print_help(f, table);
    fclose(f);
    for (const struct lab_opt *o = table; o->name; o++) {
        char want[64];
        snprintf(want, sizeof want, "--%s", o->name);
        ck_assert_msg(strstr(text, want), "%s missing from help:\n%s", want, text);
    }
    ck_assert_ptr_nonnull(strstr(text, "  -o, --out DIR"));
    ck_assert_ptr_nonnull(strstr(text, "\n                        second line\n"));
    free(text);
}
END_TEST

Suite *suite_options(void)
{
    Suite *s = suite_create("options");
    TCase *tc = tcase_create("engine");
    tcase_add_test(tc, test_parses_options_anywhere_and_positionals);
    tcase_add_test(tc, test_no_abbreviations_and_suggestions);
    tcase_add_test(tc, test_values_checked);
    tcase_add_test(tc, test_loose_value_suggestions);
    tcase_add_test(tc, test_help_lists_every_option);
    suite_add_tcase(s, tc);
    return s;
}
