#include "base/progress.h"
#include "tests/unit/testutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double fake_time;
static double fake_now(void) { return fake_time; }

static char *capture(enum lab_progress_mode mode, const char *unit, int steps)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    struct lab_progress p;
    fake_time = 100.0;
    lab_progress_start(&p, out, mode, "epoch 1/3", 1000, unit);
    p.now = fake_now;
    p.start = fake_time;
    for (int i = 1; i <= steps; i++) {
        fake_time += 1.0; /* 1000/steps items per second */
        lab_progress_update(&p, (uint64_t)(1000 * i / steps), "loss 0.50");
    }
    lab_progress_finish(&p, "loss 0.25");
    fclose(out);
    return buf;
}

static int count(const char *s, char c)
{
    int n = 0;
    for (; *s; s++)
        n += *s == c;
    return n;
}

START_TEST(test_tty_redraws_one_line)
{
    char *out = capture(LAB_PROGRESS_TTY, "img", 10);
    ck_assert_int_eq(count(out, '\n'), 1); /* only the final newline */
    ck_assert_int_eq(count(out, '\r'), 11);
    ck_assert_ptr_nonnull(strstr(out, "[##########..........]  50%"));
    ck_assert_ptr_nonnull(strstr(out, "100.0 img/s"));
    ck_assert_ptr_nonnull(strstr(out, "ETA 00:05")); /* 500 left at 100/s */
    ck_assert_ptr_nonnull(strstr(out, "\033[K"));
    ck_assert_ptr_nonnull(strstr(out, "loss 0.25\033[K\n"));
    free(out);
}
END_TEST

START_TEST(test_plain_prints_periodic_lines_without_escapes)
{
    /* 100 updates one second apart with a 10 s interval: 10 lines + final. */
    char *out = capture(LAB_PROGRESS_PLAIN, "img", 100);
    ck_assert_int_eq(count(out, '\n'), 11);
    ck_assert_int_eq(count(out, '\r'), 0);
    ck_assert_ptr_null(strchr(out, '\033'));
    ck_assert_ptr_nonnull(strstr(out, "epoch 1/3: 1000/1000 (100%)"));
    free(out);
}
END_TEST

START_TEST(test_bytes_and_quiet)
{
    struct lab_progress p;
    char line[256];
    lab_progress_start(&p, stdout, LAB_PROGRESS_PLAIN, "cifar-10", 170498071, "B");
    p.now = fake_now;
    fake_time = 10.0;
    p.start = 0.0;
    p.done = 10 * 1048576;
    lab_progress_format(&p, NULL, line, sizeof line);
    ck_assert_ptr_nonnull(strstr(line, "10.0 MiB/162.6 MiB"));
    ck_assert_ptr_nonnull(strstr(line, "1.0 MiB/s"));
    char *out = capture(LAB_PROGRESS_QUIET, "img", 10);
    ck_assert_str_eq(out, "");
    free(out);
}
END_TEST

START_TEST(test_auto_mode_honours_no_color)
{
    /* A memstream is never a TTY; NO_COLOR must not turn plain into TTY either. */
    setenv("NO_COLOR", "1", 1);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    struct lab_progress p;
    lab_progress_start(&p, out, LAB_PROGRESS_AUTO, "x", 10, "img");
    ck_assert_int_eq(p.mode, LAB_PROGRESS_PLAIN);
    fclose(out);
    free(buf);
}
END_TEST

Suite *suite_progress(void)
{
    Suite *s = suite_create("progress");
    TCase *tc = tcase_create("progress");
    tcase_add_test(tc, test_tty_redraws_one_line);
    tcase_add_test(tc, test_plain_prints_periodic_lines_without_escapes);
    tcase_add_test(tc, test_bytes_and_quiet);
    tcase_add_test(tc, test_auto_mode_honours_no_color);
    suite_add_tcase(s, tc);
    return s;
}
