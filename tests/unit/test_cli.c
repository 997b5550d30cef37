/* Dispatch, exit codes and suggestions, in process. */
#include "base/error.h"
#include "base/suggest.h"
#include "runner/cli.h"
#include "tests/unit/testutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Runs lab_main with stdout/stderr sent to /dev/null. */
static int run_quiet(int argc, char **argv)
{
    fflush(stdout);
    fflush(stderr);
    int so = dup(1), se = dup(2);
    FILE *null = fopen("/dev/null", "w");
    dup2(fileno(null), 1);
    dup2(fileno(null), 2);
    int code = lab_main(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(so, 1);
    dup2(se, 2);
    close(so);
    close(se);
    fclose(null);
    return code;
}

START_TEST(test_exit_codes_map_statuses)
{
    ck_assert_int_eq(lab_exit_code(LAB_OK), 0);
    ck_assert_int_eq(lab_exit_code(LAB_EFAIL), 1);
    ck_assert_int_eq(lab_exit_code(LAB_EUSAGE), 2);
    ck_assert_int_eq(lab_exit_code(LAB_EENV), 3);
    ck_assert_int_eq(lab_exit_code(LAB_EINTERNAL), 4);
    ck_assert_int_eq(lab_exit_code(-77), 4);
}
END_TEST

START_TEST(test_unknown_command_is_usage_with_suggestion)
{
    char *argv[] = {"lab", "inf", "2.2.1", NULL};
    ck_assert_int_eq(run_quiet(3, argv), 2);
    ck_assert_ptr_nonnull(strstr(lab_err_fix(), "did you mean 'lab info'"));
    char *argv2[] = {"lab", "zzzzzzzz", NULL};
    ck_assert_int_eq(run_quiet(2, argv2), 2);
    ck_assert_ptr_null(strstr(lab_err_fix(), "did you mean"));
}
END_TEST

START_TEST(test_every_command_has_help_and_summary)
{
    for (const struct lab_command *c = lab_commands; c->name; c++) {
        ck_assert_msg(c->summary && *c->summary, "%s has no summary", c->name);
        ck_assert_msg(strncmp(c->usage, "usage: lab ", 11) == 0, "%s help does not start with usage", c->name);
        char *argv[] = {"lab", (char *)c->name, "--help", NULL};
        ck_assert_int_eq(run_quiet(3, argv), 0);
    }
}
END_TEST

START_TEST(test_info_and_list_argument_errors)
{
    char *a[] = {"lab", "info", NULL};
    ck_assert_int_eq(run_quiet(2, a), 2);
    char *b[] = {"lab", "info", "2.2.1", "extra", NULL};
    ck_assert_int_eq(run_quiet(4, b), 2);
    char *c[] = {"lab", "info", "2.2.8", NULL};
    ck_assert_int_eq(run_quiet(3, c), 2);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "unknown lab '2.2.8'"));
    char *d[] = {"lab", "list", "--nope", NULL};
    ck_assert_int_eq(run_quiet(3, d), 2);
    char *e[] = {"lab", "info", "2.2.6", NULL};
    ck_assert_int_eq(run_quiet(3, e), 0);
}
END_TEST

START_TEST(test_suggest)
{
    const char *cands[] = {"list", "info", "version", "help", NULL};
    ck_assert_str_eq(lab_suggest("lsit", cands), "list");
    ck_assert_str_eq(lab_suggest("versoin", cands), "version");
    ck_assert_str_eq(lab_suggest("inf", cands), "info");
    ck_assert_ptr_null(lab_suggest("doctorate", cands));
    ck_assert_uint_eq(lab_edit_distance("kitten", "sitting"), 3);
    ck_assert_uint_eq(lab_edit_distance("", "abc"), 3);
}
END_TEST

static char *home_dir;

static void with_private_home(void)
{
    home_dir = tu_tempdir();
    setenv("LAB_HOME", home_dir, 1);
}

static void remove_private_home(void)
{
    tu_rmtree(home_dir);
    free(home_dir);
}

/* Every option of every command's table: a typo of it is exit 2 with the
 * option suggested and a fix line, before the command does anything. */
START_TEST(test_every_option_typo_is_suggested)
{
    for (const struct lab_command *c = lab_commands; c->name; c++) {
        const struct lab_opt *tables[2] = {c->options, c->options2};
        for (int t = 0; t < 2; t++) {
            for (const struct lab_opt *o = tables[t]; o && o->name; o++) {
                char typo[96];
                snprintf(typo, sizeof typo, "--%sx", o->name);
                /* the batch table is parsed once --batch is given */
                char *argv[] = {"lab", (char *)c->name, t ? "--batch" : typo, t ? "in" : NULL, t ? typo : NULL, NULL};
                int argc = t ? 5 : 3;
                ck_assert_msg(run_quiet(argc, argv) == 2, "lab %s %s is not a usage error", c->name, typo);
                char want[96];
                snprintf(want, sizeof want, "did you mean --%s?", o->name);
                ck_assert_msg(strstr(lab_err_fix(), want), "lab %s %s: fix is '%s'", c->name, typo, lab_err_fix());
            }
        }
    }
    char *v[] = {"lab", "-v", NULL};
    ck_assert_int_eq(run_quiet(2, v), 0);
    char *versoin[] = {"lab", "--versoin", NULL};
    ck_assert_int_eq(run_quiet(2, versoin), 2);
    ck_assert_ptr_nonnull(strstr(lab_err_fix(), "did you mean --version?"));
}
END_TEST

/* Every usage error says how to fix it. */
START_TEST(test_usage_errors_have_a_fix)
{
    char *cases[][6] = {
        {"lab", "run", NULL},
        {"lab", "run", "2.2.1", "--epochs", "-1", NULL},
        {"lab", "run", "2.2.1", "--precision", "fp8", NULL},
        {"lab", "run", "2.2.6", "--set", "data.dataset=x", NULL},
        {"lab", "run", "2.2.3", "--set", "model=yolov8x", NULL},
        {"lab", "grade", "--batch", "x", "--jobs", "0"},
        {"lab", "grades", "exprot", NULL},
        {"lab", "image", "biuld", NULL},
        {"lab", "submit", "last", "--student", "a", NULL},
        {"lab", "runs", "2.2.9", NULL},
        {"lab", "runs", "--limit", "-3", NULL},
        {"lab", "doctor", "--check", "gpu.drivr", NULL},
        {"lab", "version", "extra", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int argc = 0;
        while (argc < 6 && cases[i][argc])
            argc++;
        ck_assert_msg(run_quiet(argc, cases[i]) == 2, "case %zu (lab %s %s) is not exit 2", i, cases[i][1],
                      argc > 2 ? cases[i][2] : "");
        ck_assert_msg(lab_err_fix()[0], "case %zu (lab %s): no fix line for '%s'", i, cases[i][1], lab_err_message());
    }
}
END_TEST

Suite *suite_cli(void)
{
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("dispatch");
    tcase_add_checked_fixture(tc, with_private_home, remove_private_home);
    tcase_add_test(tc, test_exit_codes_map_statuses);
    tcase_add_test(tc, test_unknown_command_is_usage_with_suggestion);
    tcase_add_test(tc, test_every_command_has_help_and_summary);
    tcase_add_test(tc, test_info_and_list_argument_errors);
    tcase_add_test(tc, test_suggest);
    tcase_add_test(tc, test_every_option_typo_is_suggested);
    tcase_add_test(tc, test_usage_errors_have_a_fix);
    suite_add_tcase(s, tc);
    return s;
}
