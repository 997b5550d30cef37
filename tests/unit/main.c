/* The one Check runner: every tests/unit/test_<name>.c defines
 * `Suite *suite_<name>(void)` (the Makefile lists them in suites.h), and the
 * e2e shell scripts in tests/e2e/ run as one more suite, so `make test` ends
 * with a single Check summary line covering everything. */
#include "tests/unit/testutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define SUITE(name) Suite *suite_##name(void);
#include "suites.h"
#undef SUITE

#ifndef __SANITIZE_ADDRESS__
/* Each forked test would spend about a second in libtorch's static
 * destructors on its way out; skip them (not under ASan: LeakSanitizer
 * runs at exit). */
static void exit_now(int status, void *arg)
{
    (void)arg;
    fflush(NULL);
    _exit(status);
}
#endif

int main(void)
{
#ifndef __SANITIZE_ADDRESS__
    on_exit(exit_now, NULL);
#endif
    /* Check's default of 4 s is too short for parity and e2e tests; a
     * tcase that needs more or less sets its own. */
    setenv("CK_DEFAULT_TIMEOUT", "300", 0);
    SRunner *sr = srunner_create(NULL);
#define SUITE(name) srunner_add_suite(sr, suite_##name());
#include "suites.h"
#undef SUITE
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
