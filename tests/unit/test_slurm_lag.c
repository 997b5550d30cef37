/* Accounting behind the controller. With slurmdbd, a task split off a
 * throttled job array reaches sacct seconds after the controller has seen
 * it end (tests/e2e/slurm_acct.sh's Slurm 22.05: 3 s, at the next
 * scheduling pass), and the collect job, started by its afterany
 * dependency, can ask in that window. The snapshots below are what sacct
 * and `scontrol -o show job` printed there for array 3 (0-2%1), traced
 * every 0.3 s: task 1 FAILED in the controller while sacct still had it in
 * the pending range, or had no row for it at all. The collect must neither
 * record such a task LOST nor give up on it as still pending: it asks
 * again until accounting agrees, and after LAB_SLURM_ACCT_WAIT seconds
 * takes the controller's word. Stand-in sbatch, sacct and scontrol (shell
 * scripts first in PATH) drive a whole collect through a real spool. */
#include "base/error.h"
#include "base/fsutil.h"
#include "base/progress.h"
#include "base/slurm.h"
#include "grader/batch.h"
#include "grader/batch_slurm.h"
#include "tests/unit/testutil.h"

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The controller: task 0 timed out, 1 failed, 2 was cancelled while it ran. */
#define CTL_ENDED                                                                                                  \
    "JobId=3 ArrayJobId=3 ArrayTaskId=2 JobName=lab-grade-2.2.1 JobState=CANCELLED Reason=None ExitCode=0:15\n"  \
    "JobId=6 ArrayJobId=3 ArrayTaskId=1 JobName=lab-grade-2.2.1 JobState=FAILED Reason=NonZeroExitCode "         \
    "ExitCode=1:0\n"                                                                                               \
    "JobId=5 ArrayJobId=3 ArrayTaskId=0 JobName=lab-grade-2.2.1 JobState=TIMEOUT Reason=TimeLimit ExitCode=0:15\n"
/* Accounting, as it caught up: tasks 1-2 still pending; task 1 missing; all there. */
#define ACCT_PENDING "3_0|TIMEOUT|0:15\n3_[1-2%1]|PENDING|0:0\n"
#define ACCT_MISSING "3_0|TIMEOUT|0:15\n3_2|CANCELLED by 0|0:0\n"
#define ACCT_CAUGHT_UP "3_0|TIMEOUT|0:15\n3_1|FAILED|1:0\n3_2|CANCELLED by 0|0:0\n"

static struct lab_slurm_view view_of(const char *acct, const char *ctl)
{
    struct lab_slurm_view v = {.asked = 1, .acct_on = acct != NULL};
    ck_assert_int_eq(lab_slurm_parse_sacct(acct ? acct : "", "3", &v.acct, &v.n_acct), LAB_OK);
    ck_assert_int_eq(lab_slurm_parse_scontrol(ctl, "3", &v.ctl, &v.n_ctl), LAB_OK);
    return v;
}

#define VERDICT(v, task, want, want_state, want_source)                                                            \
    do {                                                                                                           \
        char st_[32];                                                                                              \
        const char *src_ = NULL;                                                                                   \
        ck_assert_int_eq(lab_slurm_view_task(&(v), task, st_, sizeof st_, &src_), want);                          \
        ck_assert_str_eq(st_, want_state);                                                                         \
        ck_assert_str_eq(src_, want_source);                                                                       \
    } while (0)

START_TEST(test_view_verdicts)
{
    /* Accounting behind: no final row for task 1, or none at all. */
    struct lab_slurm_view v = view_of(ACCT_PENDING, CTL_ENDED);
    VERDICT(v, 0, LAB_SLURM_ENDED, "TIMEOUT", "sacct");
    VERDICT(v, 1, LAB_SLURM_BEHIND, "FAILED", "scontrol");
    VERDICT(v, 2, LAB_SLURM_BEHIND, "CANCELLED", "scontrol");
    lab_slurm_view_free(&v);
    ck_assert_int_eq(v.asked, 0);
    v = view_of(ACCT_MISSING, CTL_ENDED);
    VERDICT(v, 1, LAB_SLURM_BEHIND, "FAILED", "scontrol"); /* not LOST: the controller saw it fail */
    VERDICT(v, 2, LAB_SLURM_ENDED, "CANCELLED", "sacct");
    lab_slurm_view_free(&v);
    v = view_of(ACCT_CAUGHT_UP, CTL_ENDED);
    VERDICT(v, 1, LAB_SLURM_ENDED, "FAILED", "sacct");
    VERDICT(v, 7, LAB_SLURM_LOST, "LOST", "no record"); /* neither knows it */
    lab_slurm_view_free(&v);
    /* Requeued: accounting's last word is final, the controller has it pending again. */
    v = view_of("3_1|NODE_FAIL|0:0\n", "JobId=6 ArrayJobId=3 ArrayTaskId=1 JobState=PENDING ExitCode=0:0\n");
    VERDICT(v, 1, LAB_SLURM_LIVE, "PENDING", "scontrol");
    lab_slurm_view_free(&v);
    /* The controller has forgotten the job (MinJobAge): accounting alone. */
    v = view_of(ACCT_CAUGHT_UP, "");
    VERDICT(v, 1, LAB_SLURM_ENDED, "FAILED", "sacct");
    lab_slurm_view_free(&v);
    v = view_of(ACCT_PENDING, "");
    VERDICT(v, 1, LAB_SLURM_LIVE, "PENDING", "sacct"); /* stale, maybe, but not a guess */
    lab_slurm_view_free(&v);
    /* No accounting on this cluster: the controller is all there is. */
    v = view_of(NULL, CTL_ENDED);
    VERDICT(v, 1, LAB_SLURM_ENDED, "FAILED", "scontrol");
    VERDICT(v, 4, LAB_SLURM_LOST, "LOST", "no record");
    lab_slurm_view_free(&v);
}
END_TEST

static char *dir;

static void setup(void)
{
    dir = tu_tempdir();
    char p[4200];
    snprintf(p, sizeof p, "%s/bin", dir);
    ck_assert_int_eq(lab_mkdir_p(p), 0);
    snprintf(p, sizeof p, "%s/bin:/usr/bin:/bin", dir); /* the stand-ins before any real Slurm client */
    setenv("PATH", p, 1);
}

static void teardown(void)
{
    setenv("PATH", "/usr/bin:/bin", 1);
    unsetenv("LAB_SLURM_ACCT_WAIT");
    tu_rmtree(dir);
    free(dir);
}

/* bin/<name>: a script whose body is `body`. */
static void tool(const char *name, const char *body) { tu_write_tool(dir, name, body); }

/* sacct's k-th call prints answer k (the last one from then on), each
 * call counted in sacct.calls; scontrol prints CTL_ENDED. The answers are
 * files: "%1" in them is no printf format. */
static void stand_ins(const char *a1, const char *a2, const char *a3)
{
    const char *answers[3] = {a1, a2, a3};
    char p[4300], body[4096];
    for (int k = 0; k < 3; k++) {
        snprintf(p, sizeof p, "%s/acct%d.txt", dir, k + 1);
        tu_write_file(p, answers[k], strlen(answers[k]));
    }
    snprintf(p, sizeof p, "%s/ctl.txt", dir);
    tu_write_file(p, CTL_ENDED, strlen(CTL_ENDED));
    tool("sbatch", "echo 3");
    snprintf(body, sizeof body,
             "[ \"$*\" = '-X -n -P -o JobID,State,ExitCode -j 3' ] || { echo \"unexpected: sacct $*\" >&2; exit 2; }\n"
             "echo x >>'%s/sacct.calls'\n"
             "k=$(wc -l <'%s/sacct.calls'); [ \"$k\" -le 3 ] || k=3\n"
             "cat \"%s/acct$k.txt\"",
             dir, dir, dir);
    tool("sacct", body);
    snprintf(body, sizeof body,
             "[ \"$*\" = '-o show job 3' ] || { echo \"unexpected: scontrol $*\" >&2; exit 2; }\n"
             "cat '%s/ctl.txt'",
             dir);
    tool("scontrol", body);
}

static int sacct_calls(void)
{
    char p[4300], *text = NULL;
    snprintf(p, sizeof p, "%s/sacct.calls", dir);
    size_t len = 0;
    if (lab_read_file(p, 1 << 16, &text, &len) != LAB_OK)
        return 0;
    int n = 0;
    for (size_t i = 0; i < len; i++)
        n += text[i] == '\n';
    free(text);
    return n;
}

/* Three submissions in three tasks, none graded (every task ended badly),
 * submitted with no collect job and not followed; returns the spool. */
static void submit(char *spool, size_t cap)
{
    char in[4200], db[4200], parent[4200], p[4300];
    snprintf(in, sizeof in, "%s/in", dir);
    ck_assert_int_eq(lab_mkdir_p(in), 0);
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/s%d.tar.gz", in, i);
        tu_write_file(p, "not an archive", 14);
    }
    snprintf(db, sizeof db, "%s/gb.sqlite", dir);
    snprintf(parent, sizeof parent, "%s/spool", dir);
    struct batch_opts o;
    batch_opts_defaults(&o);
    o.input = in, o.lab = "2.2.1", o.db_path = db, o.grader_version = LAB_VERSION;
    struct batch_slurm_opts so;
    batch_slurm_opts_defaults(&so);
    so.spool_parent = parent, so.tasks = 3, so.retries = 0, so.wait = false, so.collect_job = false;
    struct batch_summary s;
    ck_assert_int_eq(batch_slurm_submit(&o, &so, &s), LAB_OK);
    batch_summary_free(&s);
    DIR *d = opendir(parent);
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    spool[0] = 0;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            snprintf(spool, cap, "%s/%s", parent, e->d_name);
    closedir(d);
    ck_assert_str_ne(spool, "");
}

static const char *detail_of(const struct batch_summary *s, const char *source)
{
    for (size_t i = 0; i < s->n_problems; i++)
        if (strcmp(s->problems[i].source, source) == 0 && strcmp(s->problems[i].status, "id") != 0)
            return s->problems[i].detail;
    return "";
}

START_TEST(test_collect_waits_for_accounting)
{
    char spool[4400];
    /* Tasks 1-2 pending, then task 1 missing, then caught up. */
    stand_ins(ACCT_PENDING, ACCT_MISSING, ACCT_CAUGHT_UP);
    submit(spool, sizeof spool);
    struct batch_summary s;
    bool complete = false;
    ck_assert_int_eq(batch_slurm_collect(spool, NULL, &s, &complete), LAB_OK);
    ck_assert_msg(complete, "the collect gave up on tasks accounting had not caught up with");
    ck_assert_int_eq(sacct_calls(), 3);
    ck_assert_uint_eq(s.counts[GRADE_TIMEOUT], 1);
    ck_assert_uint_eq(s.counts[GRADE_CRASH], 2);
    ck_assert_ptr_nonnull(strstr(detail_of(&s, "s0.tar.gz"), "Slurm state TIMEOUT of job 3, task 0, after 1 attempt; "
                                                             "from sacct"));
    ck_assert_ptr_nonnull(strstr(detail_of(&s, "s1.tar.gz"), "Slurm state FAILED of job 3, task 1, after 1 attempt; "
                                                             "from sacct"));
    ck_assert_ptr_nonnull(strstr(detail_of(&s, "s2.tar.gz"), "Slurm state CANCELLED of job 3, task 2, after 1 "
                                                             "attempt; from sacct"));
    batch_summary_free(&s);
}
END_TEST

START_TEST(test_collect_takes_the_controllers_word)
{
    char spool[4400];
    stand_ins(ACCT_MISSING, ACCT_MISSING, ACCT_MISSING); /* accounting never hears of task 1 */
    setenv("LAB_SLURM_ACCT_WAIT", "1", 1);
    submit(spool, sizeof spool);
    struct batch_summary s;
    bool complete = false;
    double t0 = lab_monotonic_s();
    ck_assert_int_eq(batch_slurm_collect(spool, NULL, &s, &complete), LAB_OK);
    double took = lab_monotonic_s() - t0;
    ck_assert(complete);
    ck_assert_msg(took >= 1.0 && took < 10, "waited %.2f s for accounting, not LAB_SLURM_ACCT_WAIT=1", took);
    ck_assert_int_ge(sacct_calls(), 2);
    ck_assert_ptr_nonnull(strstr(detail_of(&s, "s1.tar.gz"), "Slurm state FAILED of job 3, task 1, after 1 attempt; "
                                                             "from scontrol"));
    ck_assert_ptr_nonnull(strstr(detail_of(&s, "s2.tar.gz"), "Slurm state CANCELLED of job 3, task 2, after 1 "
                                                             "attempt; from sacct"));
    batch_summary_free(&s);
}
END_TEST

Suite *suite_slurm_lag(void)
{
    Suite *s = suite_create("slurm_lag");
    TCase *tc = tcase_create("slurm_lag");
    tcase_add_test(tc, test_view_verdicts);
    suite_add_tcase(s, tc);
    TCase *co = tcase_create("collect");
    tcase_add_checked_fixture(co, setup, teardown);
    tcase_add_test(co, test_collect_waits_for_accounting);
    tcase_add_test(co, test_collect_takes_the_controllers_word);
    suite_add_tcase(s, co);
    return s;
}
