/* Batch grading on Slurm without a cluster: what sacct and scontrol print
 * (lines in the formats Slurm 22.05 prints, the scontrol ones as the e2e
 * test's slurmctld printed them) parsed into array tasks, pending ranges
 * expanded; which states are final; each failure state's outcome and
 * troubleshooting id (the KB has every one); a spool's result files read
 * back as written; a malformed spool refused with its KB id. The real
 * thing runs in tests/e2e/slurm.sh. */
#include "base/error.h"
#include "base/fsutil.h"
#include "base/slurm.h"
#include "grader/batch_slurm.h"
#include "grader/batch_spool.h"
#include "grader/kb.h"
#include "tests/unit/testutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct lab_slurm_task *find(const struct lab_slurm_task *t, size_t n, long task)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].task == task)
            return &t[i];
    return NULL;
}

START_TEST(test_parse_sacct)
{
    const char *text = "12_0|COMPLETED|0:0\n"
                       "12_0.batch|COMPLETED|0:0\n"
                       "12_1|TIMEOUT|0:15\n"
                       "12_2|OUT_OF_MEMORY|0:125\n"
                       "12_3|FAILED|1:0\n"
                       "12_4|CANCELLED by 0|0:15\n"
                       "12_5|NODE_FAIL|0:0\n"
                       "12_[6-8,10]|PENDING|0:0\n"
                       "120_1|COMPLETED|0:0\n"; /* another job: not ours */
    struct lab_slurm_task *t = NULL;
    size_t n = 0;
    ck_assert_int_eq(lab_slurm_parse_sacct(text, "12", &t, &n), LAB_OK);
    ck_assert_uint_eq(n, 10);
    ck_assert_str_eq(find(t, n, 0)->state, "COMPLETED");
    ck_assert_str_eq(find(t, n, 1)->state, "TIMEOUT");
    ck_assert_int_eq(find(t, n, 1)->signaled, 1);
    ck_assert_int_eq(find(t, n, 1)->exit_code, 15);
    ck_assert_str_eq(find(t, n, 2)->state, "OUT_OF_MEMORY");
    ck_assert_int_eq(find(t, n, 3)->exit_code, 1);
    ck_assert_int_eq(find(t, n, 3)->signaled, 0);
    ck_assert_str_eq(find(t, n, 4)->state, "CANCELLED");
    ck_assert_str_eq(find(t, n, 5)->state, "NODE_FAIL");
    for (long k = 6; k <= 8; k++)
        ck_assert_str_eq(find(t, n, k)->state, "PENDING");
    ck_assert_ptr_null(find(t, n, 9));
    ck_assert_str_eq(find(t, n, 10)->state, "PENDING");
    free(t);
    /* A plain job: task -1. */
    ck_assert_int_eq(lab_slurm_parse_sacct("77|RUNNING|0:0\n", "77", &t, &n), LAB_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(t[0].task, -1);
    free(t);
    ck_assert_int_eq(lab_slurm_parse_sacct("", "77", &t, &n), LAB_OK);
    ck_assert_uint_eq(n, 0);
    free(t);
    /* ids past an int (found by fuzz_slurm: t++ overflowed at LONG_MAX) are no tasks */
    ck_assert_int_eq(lab_slurm_parse_sacct("77_[9223372036854775806-9223372036854775807]|PENDING|0:0\n", "77", &t, &n),
                     LAB_OK);
    ck_assert_uint_eq(n, 0);
    free(t);
}
END_TEST

START_TEST(test_parse_scontrol)
{
    const char *text =
        "JobId=2 ArrayJobId=1 ArrayTaskId=0 JobName=j.sh UserId=root(0) JobState=COMPLETED Reason=None "
        "ExitCode=0:0 RunTime=00:00:01 TimeLimit=UNLIMITED\n"
        "JobId=3 ArrayJobId=1 ArrayTaskId=4 JobName=j.sh UserId=root(0) JobState=TIMEOUT Reason=TimeLimit "
        "ExitCode=0:15\n"
        "JobId=1 ArrayJobId=1 ArrayTaskId=1-3 JobName=j.sh UserId=root(0) JobState=PENDING Reason=Resources "
        "Dependency=(null) ExitCode=0:0\n"
        "JobId=9 JobName=lab-collect UserId=root(0) JobState=PENDING Reason=Dependency ExitCode=0:0\n";
    struct lab_slurm_task *t = NULL;
    size_t n = 0;
    ck_assert_int_eq(lab_slurm_parse_scontrol(text, "1", &t, &n), LAB_OK);
    ck_assert_uint_eq(n, 5);
    ck_assert_str_eq(find(t, n, 0)->state, "COMPLETED");
    ck_assert_str_eq(find(t, n, 4)->state, "TIMEOUT");
    ck_assert_str_eq(find(t, n, 2)->state, "PENDING");
    free(t);
    ck_assert_int_eq(lab_slurm_parse_scontrol(text, "9", &t, &n), LAB_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(t[0].task, -1);
    ck_assert_str_eq(t[0].state, "PENDING");
    free(t);
    char esc[64];
    ck_assert_int_eq(lab_slurm_escape_pattern("/a/100%/b", esc, sizeof esc), LAB_OK);
    ck_assert_str_eq(esc, "/a/100%%/b");
    ck_assert_int_eq(lab_slurm_escape_pattern("/a/very/long/path", esc, 8), LAB_EUSAGE);
    char v[64];
    lab_slurm_field("JobId=3 ArrayJobId=1 JobState=RUNNING", "JobId", v, sizeof v);
    ck_assert_str_eq(v, "3"); /* not ArrayJobId's */
}
END_TEST

START_TEST(test_final_states_and_fates)
{
    ck_assert(!lab_slurm_state_final("PENDING"));
    ck_assert(!lab_slurm_state_final("RUNNING"));
    ck_assert(!lab_slurm_state_final("COMPLETING"));
    ck_assert(lab_slurm_state_final("COMPLETED"));
    ck_assert(lab_slurm_state_final("TIMEOUT"));
    ck_assert(lab_slurm_state_final("LOST"));
    ck_assert_int_eq(kb_load(), LAB_OK);
    static const struct {
        const char *state;
        enum grade_status status;
        const char *kb;
    } want[] = {
        {"TIMEOUT", GRADE_TIMEOUT, "TS-SLURM-TIMEOUT"},     {"OUT_OF_MEMORY", GRADE_OOM, "TS-SLURM-OOM"},
        {"NODE_FAIL", GRADE_CRASH, "TS-SLURM-NODE-FAIL"},   {"CANCELLED", GRADE_CRASH, "TS-SLURM-TASK-FAILED"},
        {"FAILED", GRADE_CRASH, "TS-SLURM-TASK-FAILED"},    {"LOST", GRADE_CRASH, "TS-SLURM-TASK-FAILED"},
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        struct batch_slurm_fate f = batch_slurm_fate_of(want[i].state);
        ck_assert_int_eq(f.status, want[i].status);
        ck_assert_str_eq(f.kb, want[i].kb);
        ck_assert_ptr_nonnull(kb_find(f.kb));
        /* The entry's own patterns recognise the message the outcome carries. */
        const char *ids[4];
        size_t k = kb_match_ids(f.what, ids, 4);
        ck_assert_uint_ge(k, 1);
        ck_assert_str_eq(ids[0], f.kb);
    }
}
END_TEST

START_TEST(test_spool_results_and_refusals)
{
    char *tmp = tu_tempdir();
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", tmp);
    free(tmp);
    char spool[4200], p[4300];
    snprintf(spool, sizeof spool, "%s/sp", dir);
    ck_assert_int_eq(lab_mkdir_p(spool), LAB_OK);
    struct batch_spool sp;
    ck_assert_int_eq(batch_spool_open(spool, &sp), LAB_EUSAGE);
    ck_assert_ptr_nonnull(strstr(lab_err_fix(), "TS-SLURM-SPOOL"));
    batch_spool_close(&sp);
    snprintf(p, sizeof p, "%s/spool.json", spool);
    const char *bad = "{\"format\": 1, \"lab\": \"2.2.1\", \"tasks\": 0}";
    ck_assert_int_eq(lab_write_atomic(p, bad, strlen(bad)), LAB_OK);
    ck_assert_int_eq(batch_spool_open(spool, &sp), LAB_EUSAGE);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "out of range"));
    batch_spool_close(&sp);

    /* A result written by a task reads back as the same outcome. */
    char made[4096];
    ck_assert_int_eq(batch_spool_create(dir, "2.2.1", made, sizeof made), LAB_OK);
    struct batch_spool w = {0};
    snprintf(w.dir, sizeof w.dir, "%s", made);
    char out[] = "{\"hello\":{}}\n{\"report\":1}\n";
    struct sandbox_outcome o = {.how = SANDBOX_SIGNALED, .code = 11, .output = out, .len = strlen(out), .wall_s = 1.5};
    ck_assert_int_eq(batch_spool_put_result(&w, 7, &o), LAB_OK);
    struct sandbox_outcome back;
    ck_assert_int_eq(batch_spool_get_result(&w, 7, &back), 0);
    ck_assert_int_eq(back.how, SANDBOX_SIGNALED);
    ck_assert_int_eq(back.code, 11);
    ck_assert_str_eq(back.output, out);
    sandbox_outcome_clear(&back);
    ck_assert_int_eq(batch_spool_get_result(&w, 8, &back), 1); /* none yet */
    /* A damaged result file is graded again, not trusted. */
    batch_spool_path(&w, "results", 9, ".json", p, sizeof p);
    ck_assert_int_eq(lab_write_atomic(p, "{\"how\": 99", 10), LAB_OK);
    ck_assert_int_eq(batch_spool_get_result(&w, 9, &back), 1);
    tu_rmtree(dir);
}
END_TEST

/* sbatch's refusal, in the words Slurm 22.05 prints it (the e2e
 * tests/e2e/slurm_acct.sh gets the same from a real slurmdbd). */
/* --task-mem reaches sbatch's --mem only in a form sbatch takes. */
START_TEST(test_mem_spec)
{
    const char *ok[] = {"4096", "500M", "16G", "1t", "64k"};
    const char *bad[] = {"", "0", "00M", "3GB", "G", "-1", "1.5G", "16 G", "1234567890123"};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        ck_assert_msg(lab_slurm_mem_spec_ok(ok[i]), "'%s' refused", ok[i]);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_msg(!lab_slurm_mem_spec_ok(bad[i]), "'%s' accepted", bad[i]);
}
END_TEST

START_TEST(test_refusal_names_the_account)
{
    const char *invalid = "sbatch: error: Batch job submission failed: Invalid account or account/partition "
                          "combination specified\n";
    struct lab_argv args = {0};
    ck_assert_ptr_null(lab_slurm_account_arg(&args));
    ck_assert_int_eq(lab_argv_push(&args, "--partition=debug"), LAB_OK);
    ck_assert_int_eq(lab_argv_push(&args, "--account=cv999"), LAB_OK);
    ck_assert_str_eq(lab_slurm_account_arg(&args), "cv999");
    ck_assert_int_eq(lab_slurm_refused(1, invalid, lab_slurm_account_arg(&args)), LAB_EENV);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "account 'cv999'"));
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "Invalid account"));
    ck_assert_ptr_nonnull(strstr(lab_err_fix(), "sacctmgr show assoc user=$USER format=account,partition"));
    ck_assert_ptr_nonnull(strstr(lab_err_fix(), "--account"));
    ck_assert_ptr_nonnull(strstr(lab_err_fix(), "TS-SLURM-ACCOUNT"));
    ck_assert_int_eq(kb_load(), LAB_OK);
    ck_assert_ptr_nonnull(kb_find("TS-SLURM-ACCOUNT"));
    lab_argv_free(&args);
    /* -A X and --account X: as sbatch takes them. */
    ck_assert_int_eq(lab_argv_push(&args, "-A"), LAB_OK);
    ck_assert_int_eq(lab_argv_push(&args, "cv1"), LAB_OK);
    ck_assert_str_eq(lab_slurm_account_arg(&args), "cv1");
    lab_argv_free(&args);
    ck_assert_int_eq(lab_argv_push(&args, "--account"), LAB_OK); /* no value: none */
    ck_assert_ptr_null(lab_slurm_account_arg(&args));
    lab_argv_free(&args);
    /* No --account: the default association is what failed. */
    ck_assert_int_eq(lab_slurm_refused(1, invalid, NULL), LAB_EENV);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "default account"));
    ck_assert_ptr_nonnull(strstr(lab_err_fix(), "sacctmgr show assoc"));
    /* Any other refusal keeps sbatch's words and TS-SLURM-SUBMIT. */
    ck_assert_int_eq(lab_slurm_refused(1, "sbatch: error: Batch job submission failed: Invalid partition name "
                                          "specified\n", "cv999"), LAB_EENV);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "sbatch refused the job (exit 1)"));
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "Invalid partition name"));
    ck_assert_ptr_nonnull(strstr(lab_err_fix(), "TS-SLURM-SUBMIT"));
    ck_assert_ptr_null(strstr(lab_err_fix(), "TS-SLURM-ACCOUNT"));
    ck_assert_int_eq(lab_slurm_refused(1, NULL, NULL), LAB_EENV);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "(no message)"));
}
END_TEST

#define LLVMFuzzerTestOneInput fuzz_slurm_one
#include "tests/fuzz/fuzz_slurm.c"
#undef LLVMFuzzerTestOneInput

START_TEST(test_fuzz_replay)
{
    static const char *const inputs[] = {
        "12_[0-99999]|PENDING|0:0\n12_[0-99999]|PENDING|0:0\n", "12_|X|\n12_[|Y|1:\n12_[-5]|Z|0:0",
        "JobId=12 ArrayJobId=12 ArrayTaskId=4294967294 JobState=PENDING", "JobState= ArrayJobId=12",
        "12_3|" "AVERYLONGSTATENAMETHATDOESNOTFITINTOTHIRTYTWOBYTES|0:0\n", "",
    };
    for (size_t i = 0; i < sizeof inputs / sizeof *inputs; i++)
        fuzz_slurm_one((const unsigned char *)inputs[i], strlen(inputs[i]));
    struct lab_slurm_task *t = NULL;
    size_t n = 0;
    ck_assert_int_eq(lab_slurm_parse_sacct(inputs[0], "12", &t, &n), LAB_OK);
    ck_assert_uint_eq(n, LAB_SLURM_MAX_TASKS);
    free(t);
}
END_TEST

Suite *suite_slurm(void)
{
    Suite *s = suite_create("slurm");
    TCase *tc = tcase_create("slurm");
    tcase_add_test(tc, test_parse_sacct);
    tcase_add_test(tc, test_parse_scontrol);
    tcase_add_test(tc, test_final_states_and_fates);
    tcase_add_test(tc, test_spool_results_and_refusals);
    tcase_add_test(tc, test_refusal_names_the_account);
    tcase_add_test(tc, test_mem_spec);
    tcase_add_test(tc, test_fuzz_replay);
    suite_add_tcase(s, tc);
    return s;
}
