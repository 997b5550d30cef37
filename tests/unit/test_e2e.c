/* Runs every shell script in tests/e2e/ as a Check test, so command-level tests count in
 * the same summary line. A script gets LAB_BIN, LAB_SRC and a private
 * TEST_TMP, and passes by exiting 0; exit 77 means skipped, and the script
 * must say why (printed as the test's message). */
#include "tests/unit/testutil.h"

#include <check.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static glob_t scripts;

static void find_scripts(void)
{
    char pattern[4096];
    snprintf(pattern, sizeof pattern, "%s/tests/e2e/*.sh", tu_src_dir());
    if (glob(pattern, 0, NULL, &scripts) != 0)
        scripts.gl_pathc = 0;
}

START_TEST(test_e2e_script)
{
    const char *script = scripts.gl_pathv[_i];
    char *tmp = tu_tempdir(), cmd[8192], *out = NULL;
    snprintf(cmd, sizeof cmd, "cd '%s' && TEST_TMP='%s' LAB_HOME='%s/home' LAB_CACHE='%s/cache' bash '%s' 2>&1",
             tu_src_dir(), tmp, tmp, tmp, script);
    int rc = tu_run(cmd, &out);
    size_t len = strlen(out);
    const char *tail = len > 3000 ? out + len - 3000 : out;
    if (rc == 77)
        fprintf(stderr, "%s: skipped: %s\n", script, tail);
    tu_rmtree(tmp);
    free(tmp);
    ck_assert_msg(rc == 0 || rc == 77, "%s exited %d:\n%s", script, rc, tail);
    free(out);
}
END_TEST

Suite *suite_e2e(void)
{
    Suite *s = suite_create("e2e");
    TCase *tc = tcase_create("scripts");
    find_scripts();
    tcase_set_timeout(tc, 900);
    if (scripts.gl_pathc > 0)
        tcase_add_loop_test(tc, test_e2e_script, 0, (int)scripts.gl_pathc);
    suite_add_tcase(s, tc);
    return s;
}
