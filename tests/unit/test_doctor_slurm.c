/* lab doctor's slurm.accounting without a cluster: stand-in sbatch,
 * scontrol and sacctmgr (shell scripts first in PATH) print what the real
 * ones printed for tests/e2e/slurm_lib.bash's Slurm 22.05, kept in
 * tests/fixtures/doctor/: `scontrol show config` with slurmdbd and without
 * accounting, and with the controller down; `sacctmgr -n -P show assoc`
 * for root, for a user with none (nothing), and with slurmdbd down. The
 * check runs on the host (no LAB_DOCTOR_ROOT: the Slurm checks skip under
 * one); tests/e2e/slurm_acct.sh runs it against the real thing. */
#include "base/fsutil.h"
#include "doctor/doctor.h"
#include "tests/unit/testutil.h"

#include <check.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *dir;

static void setup(void)
{
    dir = tu_tempdir();
    char bin[4200], conf[4200];
    snprintf(bin, sizeof bin, "%s/bin", dir);
    ck_assert_int_eq(lab_mkdir_p(bin), 0);
    snprintf(conf, sizeof conf, "%s/slurm.conf", dir);
    tu_write_file(conf, "ClusterName=fixture\n", 20);
    setenv("PATH", bin, 1); /* the stand-ins alone: no real Slurm client is asked */
    setenv("SLURM_CONF", conf, 1);
    unsetenv("LAB_DOCTOR_ROOT");
}

static void teardown(void)
{
    setenv("PATH", "/usr/bin:/bin", 1); /* tu_rmtree runs rm */
    tu_rmtree(dir);
    free(dir);
}

/* bin/<name>: a script whose body is `body`. */
static void tool(const char *name, const char *body) { tu_write_tool(dir, name, body); }

static const char *fixture(const char *name)
{
    static char p[4][4200];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/tests/fixtures/doctor/%s", tu_src_dir(), name);
    return p[k];
}

/* scontrol: `show config` answered by the fixture (edited by `sed`, when given). */
static void scontrol(const char *name, const char *sed, int code)
{
    char body[8192];
    snprintf(body, sizeof body,
             "[ \"$*\" = 'show config' ] || { echo \"unexpected: scontrol $*\" >&2; exit 2; }\n"
             "/bin/sed -e '%s' '%s' >&%d\nexit %d",
             sed ? sed : "", fixture(name), code ? 2 : 1, code);
    tool("scontrol", body);
}

/* sacctmgr: the associations of this process's user, or a refusal. */
static void sacctmgr(const char *name, int code)
{
    struct passwd *pw = getpwuid(geteuid());
    char body[8192];
    snprintf(body, sizeof body,
             "[ \"$*\" = '-n -P show assoc user=%s format=account,partition' ] || "
             "{ echo \"unexpected: sacctmgr $*\" >&2; exit 2; }\n"
             "%s%s%s >&%d\nexit %d",
             pw->pw_name, name ? "/bin/cat '" : "true", name ? fixture(name) : "", name ? "'" : "", code ? 2 : 1,
             code);
    tool("sacctmgr", body);
}

static struct doctor_result run(void)
{
    const struct doctor_check *c = doctor_check_find("slurm.accounting");
    ck_assert_ptr_nonnull(c);
    struct doctor_ctx ctx;
    doctor_ctx_init(&ctx, 0);
    ck_assert_str_eq(ctx.root, "");
    struct doctor_result r;
    memset(&r, 0, sizeof r);
    r.status = DOCTOR_CRASH;
    c->fn(&ctx, &r);
    if (r.kb[0]) { /* only KB ids it declares, each with a fix */
        char padded[256], kb[48];
        snprintf(padded, sizeof padded, " %s ", c->kbs);
        snprintf(kb, sizeof kb, " %s ", r.kb);
        ck_assert_msg(strstr(padded, kb) != NULL, "reported %s, which it does not declare", r.kb);
        ck_assert_msg(r.remediation[0], "a %s without a fix: %s", doctor_status_name(r.status), r.message);
    }
    return r;
}

#define EXPECT(st, text, fix)                                                                                      \
    do {                                                                                                           \
        struct doctor_result r_ = run();                                                                           \
        ck_assert_msg(r_.status == (st), "expected %s, got %s: %s", doctor_status_name(st),                        \
                      doctor_status_name(r_.status), r_.message);                                                 \
        ck_assert_msg(strstr(r_.message, text) != NULL, "expected '%s' in: %s", text, r_.message);                \
        ck_assert_msg(strstr(r_.remediation, fix) != NULL, "expected '%s' in the fix: %s", fix, r_.remediation);  \
    } while (0)

START_TEST(test_accounting_not_a_login_node)
{
    EXPECT(DOCTOR_SKIP, "no sbatch in PATH", "");
    tool("sbatch", "exit 0");
    scontrol("scontrol-config-slurmdbd", NULL, 0);
    sacctmgr("sacctmgr-assoc-root", 0);
    EXPECT(DOCTOR_PASS, "cv101", "");
    /* A fixture root stands in for the file system, not for Slurm: skipped. */
    setenv("LAB_DOCTOR_ROOT", dir, 1);
    const struct doctor_check *c = doctor_check_find("slurm.accounting");
    struct doctor_ctx ctx;
    doctor_ctx_init(&ctx, 0);
    struct doctor_result r;
    c->fn(&ctx, &r);
    ck_assert_int_eq(r.status, DOCTOR_SKIP);
}
END_TEST

START_TEST(test_accounting_on_with_accounts)
{
    tool("sbatch", "exit 0");
    scontrol("scontrol-config-slurmdbd", NULL, 0);
    sacctmgr("sacctmgr-assoc-root", 0);
    EXPECT(DOCTOR_PASS, "accounting on (accounting_storage/slurmdbd, enforce associations)", "");
    EXPECT(DOCTOR_PASS, "may charge: cv101, root (--account)", "");
}
END_TEST

START_TEST(test_accounting_disabled)
{
    tool("sbatch", "exit 0");
    scontrol("scontrol-config-none", NULL, 0);
    tool("sacctmgr", "echo 'sacctmgr must not be asked without accounting' >&2; exit 2");
    EXPECT(DOCTOR_WARN, "accounting storage is disabled (AccountingStorageType=accounting_storage/none)",
           "AccountingStorageType=accounting_storage/slurmdbd");
    EXPECT(DOCTOR_WARN, "MinJobAge (600 sec)", "lab grade --collect");
}
END_TEST

START_TEST(test_accounting_no_association)
{
    tool("sbatch", "exit 0");
    scontrol("scontrol-config-slurmdbd", NULL, 0);
    sacctmgr(NULL, 0); /* a user with none: sacctmgr prints nothing */
    EXPECT(DOCTOR_FAIL, "has no association: sbatch refuses every job", "sacctmgr add user NAME Account=A");
    /* Not enforced: jobs still run, --account means nothing. */
    scontrol("scontrol-config-slurmdbd", "s/^AccountingStorageEnforce = associations$/AccountingStorageEnforce = none/",
             0);
    EXPECT(DOCTOR_WARN, "enforce none) but", "--account");
    /* limits implies associations (slurm.conf(5)). */
    scontrol("scontrol-config-slurmdbd", "s/^AccountingStorageEnforce = associations$/AccountingStorageEnforce = limits/",
             0);
    EXPECT(DOCTOR_FAIL, "enforce limits) but", "--account");
}
END_TEST

START_TEST(test_accounting_down)
{
    tool("sbatch", "exit 0");
    scontrol("scontrol-config-slurmdbd", NULL, 0);
    sacctmgr("sacctmgr-assoc-dbd-down", 1);
    EXPECT(DOCTOR_WARN, "could not list your associations: sacctmgr: error: Sending PersistInit msg: Connection refused",
           "sacctmgr show cluster");
    scontrol("scontrol-config-down", NULL, 1);
    EXPECT(DOCTOR_FAIL, "scontrol show config failed: slurm_load_ctl_conf error: Unable to contact slurm controller",
           "scontrol ping");
}
END_TEST

Suite *suite_doctor_slurm(void)
{
    Suite *s = suite_create("doctor_slurm");
    TCase *tc = tcase_create("accounting");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_accounting_not_a_login_node);
    tcase_add_test(tc, test_accounting_on_with_accounts);
    tcase_add_test(tc, test_accounting_disabled);
    tcase_add_test(tc, test_accounting_no_association);
    tcase_add_test(tc, test_accounting_down);
    suite_add_tcase(s, tc);
    return s;
}
