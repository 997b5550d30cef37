/* Messages never quote or garble themselves: lab_err and lab_err_context
 * given their own buffers, and the load report's name lists. */
#include "base/error.h"
#include "labs/models/weights.h"
#include "tests/unit/testutil.h"

#include <check.h>
#include <string.h>

START_TEST(test_err_wraps_its_own_message)
{
    lab_err(LAB_EENV, "check the path", "cannot open x/config.json: No such file or directory");
    /* The pattern that printed "X is not a run: X is not a run: such file ..." */
    int rc = lab_err(LAB_EUSAGE, lab_err_fix(), "x is not a lab run directory: %s", lab_err_message());
    ck_assert_int_eq(rc, LAB_EUSAGE);
    ck_assert_str_eq(lab_err_message(), "x is not a lab run directory: cannot open x/config.json: No such file or directory");
    ck_assert_str_eq(lab_err_fix(), "check the path");
    /* Only the message as the whole format argument: kept whole. */
    lab_err(LAB_EENV, lab_err_fix(), "%s", lab_err_message());
    ck_assert_str_eq(lab_err_message(), "x is not a lab run directory: cannot open x/config.json: No such file or directory");
    ck_assert_str_eq(lab_err_fix(), "check the path");
}
END_TEST

START_TEST(test_err_context)
{
    lab_err(LAB_EENV, "the fix", "cannot read a.zip: damaged");
    ck_assert_int_eq(lab_err_context(LAB_EUSAGE, "unpacking %s", "a.zip"), LAB_EUSAGE);
    ck_assert_str_eq(lab_err_message(), "unpacking a.zip: cannot read a.zip: damaged");
    ck_assert_str_eq(lab_err_fix(), "the fix");
    /* The same context twice is said once. */
    lab_err_context(LAB_EUSAGE, "unpacking %s", "a.zip");
    ck_assert_str_eq(lab_err_message(), "unpacking a.zip: cannot read a.zip: damaged");
    /* A long message wrapped in itself stays a bounded, terminated string. */
    char big[3000];
    memset(big, 'm', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    lab_err(LAB_EENV, NULL, "%s", big);
    lab_err(LAB_EENV, NULL, "outer: %s", lab_err_message());
    ck_assert_int_lt(strlen(lab_err_message()), 2048);
    ck_assert(strncmp(lab_err_message(), "outer: mmm", 10) == 0);
    lab_err_clear();
    ck_assert_str_eq(lab_err_message(), "");
}
END_TEST

/* A load report has room for TS_REPORT_MAX names and holds fewer: the list
 * names what it holds, never "(null)", and "..." only when some are left out. */
START_TEST(test_weights_names_list)
{
    char *two[TS_REPORT_MAX] = {"fc.weight", "fc.bias"};
    char buf[512] = "";
    weights_append_names(buf, sizeof buf, "mis-shaped", two, TS_REPORT_MAX, 2);
    ck_assert_str_eq(buf, "2 mis-shaped (fc.weight, fc.bias)");
    char *seven[TS_REPORT_MAX] = {"a", "b", "c", "d", "e", "f", "g"};
    weights_append_names(buf, sizeof buf, "missing", seven, TS_REPORT_MAX, 7);
    ck_assert_str_eq(buf, "2 mis-shaped (fc.weight, fc.bias); 7 missing (a, b, c, d, e, ...)");
    char small[24] = "";
    weights_append_names(small, sizeof small, "unexpected", seven, TS_REPORT_MAX, 7);
    ck_assert_ptr_null(strstr(small, "(null)"));
    ck_assert_uint_lt(strlen(small), sizeof small);
}
END_TEST

Suite *suite_error(void)
{
    Suite *s = suite_create("error");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_err_wraps_its_own_message);
    tcase_add_test(tc, test_err_context);
    tcase_add_test(tc, test_weights_names_list);
    suite_add_tcase(s, tc);
    return s;
}
