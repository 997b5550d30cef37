#include "base/error.h"
#include "base/progress.h"
#include "base/proc_deadline.h"
#include "tests/unit/testutil.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int say_hello(void *arg, int fd)
{
    const char *text = arg;
    return write(fd, text, strlen(text)) == (ssize_t)strlen(text) ? 7 : 1;
}

static int hang(void *arg, int fd)
{
    (void)arg, (void)fd;
    for (;;)
        pause();
    return 0;
}

/* Leaves a grandchild that holds the pipe open: the deadline must still
 * end the child's whole process group. */
static int hang_in_grandchild(void *arg, int fd)
{
    (void)arg;
    if (fork() == 0)
        for (;;)
            pause();
    (void)fd;
    for (;;)
        pause();
    return 0;
}

static int flood(void *arg, int fd)
{
    (void)arg;
    char buf[4096];
    memset(buf, 'x', sizeof buf);
    for (;;)
        if (write(fd, buf, sizeof buf) < 0)
            return 1;
}

static int crash(void *arg, int fd)
{
    (void)arg, (void)fd;
    raise(SIGSEGV);
    return 0;
}

static void run_one(const struct lab_child_opts *o, lab_child_fn fn, void *arg, struct lab_child_outcome *out)
{
    struct lab_child *c;
    ck_assert_int_eq(lab_child_start(o, fn, arg, &c), LAB_OK);
    size_t which = 99;
    while (!lab_child_wait_any(&c, 1, 5, &which))
        ;
    ck_assert_uint_eq(which, 0);
    lab_child_collect(c, out);
}

START_TEST(test_child_result_and_exit_code)
{
    struct lab_child_opts o = {.timeout_s = 10};
    struct lab_child_outcome out;
    run_one(&o, say_hello, "result", &out);
    ck_assert_int_eq(out.how, LAB_CHILD_EXITED);
    ck_assert_int_eq(out.code, 7);
    ck_assert_str_eq(out.output, "result");
    ck_assert_uint_eq(out.len, 6);
    lab_child_outcome_clear(&out);
}
END_TEST

START_TEST(test_child_killed_at_deadline)
{
    struct lab_child_opts o = {.timeout_s = 0.3};
    struct lab_child_outcome out;
    double t0 = lab_monotonic_s();
    run_one(&o, hang, NULL, &out);
    ck_assert_int_eq(out.how, LAB_CHILD_TIMED_OUT);
    ck_assert(out.wall_s >= 0.3);
    lab_child_outcome_clear(&out);
    run_one(&o, hang_in_grandchild, NULL, &out);
    ck_assert_int_eq(out.how, LAB_CHILD_TIMED_OUT);
    lab_child_outcome_clear(&out);
    /* Generous: the machine is shared; a runner that ignores the deadline
     * would wait forever. */
    ck_assert(lab_monotonic_s() - t0 < 20);
}
END_TEST

START_TEST(test_child_output_limit_and_crash)
{
    struct lab_child_opts o = {.timeout_s = 10, .max_output = 10000};
    struct lab_child_outcome out;
    run_one(&o, flood, NULL, &out);
    ck_assert_int_eq(out.how, LAB_CHILD_TOO_MUCH_OUTPUT);
    lab_child_outcome_clear(&out);
    run_one(&o, crash, NULL, &out);
    ck_assert_int_eq(out.how, LAB_CHILD_SIGNALED);
    ck_assert_int_eq(out.code, SIGSEGV);
    lab_child_outcome_clear(&out);
}
END_TEST

/* Several at once: each is reported when it ends, the quick ones first. */
START_TEST(test_child_wait_any_many)
{
    struct lab_child_opts quick = {.timeout_s = 10}, slow = {.timeout_s = 0.5};
    struct lab_child *kids[3];
    ck_assert_int_eq(lab_child_start(&slow, hang, NULL, &kids[0]), LAB_OK);
    ck_assert_int_eq(lab_child_start(&quick, say_hello, "a", &kids[1]), LAB_OK);
    ck_assert_int_eq(lab_child_start(&quick, say_hello, "b", &kids[2]), LAB_OK);
    int seen_hang_last = 0;
    for (int left = 3; left > 0;) {
        size_t i;
        if (!lab_child_wait_any(kids, 3, 5, &i))
            continue;
        struct lab_child_outcome out;
        lab_child_collect(kids[i], &out);
        kids[i] = NULL;
        left--;
        if (i == 0)
            seen_hang_last = left == 0 && out.how == LAB_CHILD_TIMED_OUT;
        else
            ck_assert_str_eq(out.output, i == 1 ? "a" : "b");
        lab_child_outcome_clear(&out);
    }
    ck_assert(seen_hang_last);
}
END_TEST

Suite *suite_proc_deadline(void)
{
    Suite *s = suite_create("proc_deadline");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_child_result_and_exit_code);
    tcase_add_test(tc, test_child_killed_at_deadline);
    tcase_add_test(tc, test_child_output_limit_and_crash);
    tcase_add_test(tc, test_child_wait_any_many);
    suite_add_tcase(s, tc);
    return s;
}
