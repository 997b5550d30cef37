/* The numbers lab fetch caps a download with: --max-size as typed, and the
 * cap a manifest entry's size gives. */
#include "datasets/fetch.h"

#include <check.h>
#include <jansson.h>

START_TEST(test_max_size_parses_units_and_refuses_junk)
{
    ck_assert_uint_eq(ds_fetch_parse_size("1048576"), 1048576ull);
    ck_assert_uint_eq(ds_fetch_parse_size("5M"), 5ull << 20);
    ck_assert_uint_eq(ds_fetch_parse_size("2G"), 2ull << 30);
    ck_assert_uint_eq(ds_fetch_parse_size("2GiB"), 2ull << 30);
    ck_assert_uint_eq(ds_fetch_parse_size("64kB"), 64ull << 10);
    ck_assert_uint_eq(ds_fetch_parse_size("1T"), 1ull << 40);
    static const char *const junk[] = {"", "lots", "-5", "5X", "5MM", "99999999999999999999", "17179869184T", "0x10"};
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++)
        ck_assert_msg(ds_fetch_parse_size(junk[i]) == 0, "'%s' was taken as a size", junk[i]);
}
END_TEST

START_TEST(test_manifest_size_is_the_cap)
{
    json_t *exact = json_pack("{s:s, s:I}", "name", "a", "size", (json_int_t)30000000);
    json_t *approx = json_pack("{s:s, s:I, s:b}", "name", "b", "size", (json_int_t)4000000, "size_approx", 1);
    json_t *none = json_pack("{s:s}", "name", "c");
    ck_assert_uint_eq(ds_fetch_cap_for_file(exact), 30000000ull);
    /* an approximate size gets a quarter and 1 MiB of room */
    ck_assert_uint_eq(ds_fetch_cap_for_file(approx), 4000000ull + 1000000ull + (1ull << 20));
    ck_assert_uint_eq(ds_fetch_cap_for_file(none), 0);
    json_decref(exact), json_decref(approx), json_decref(none);
}
END_TEST

Suite *suite_fetch_limits(void)
{
    Suite *s = suite_create("fetch_limits");
    TCase *tc = tcase_create("limits");
    tcase_add_test(tc, test_max_size_parses_units_and_refuses_junk);
    tcase_add_test(tc, test_manifest_size_is_the_cap);
    suite_add_tcase(s, tc);
    return s;
}
