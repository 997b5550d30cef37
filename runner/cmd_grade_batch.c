/* `lab grade --batch ...`: parsed here, run by grader/batch.c. cmd_grade
 * hands over as soon as it sees --batch. */
#include "base/error.h"
#include "base/slurm.h"
#include "grader/batch.h"
#include "grader/batch_slurm.h"
#include "labs/lab.h"
#include "runner/cli.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

int grade_batch_wanted(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
        if (!strcmp(argv[i], "--batch") || !strncmp(argv[i], "--batch=", 8))
            return 1;
    return 0;
}

enum { O_BATCH = 1, O_LAB, O_DB, O_JOBS, O_TIMEOUT, O_MEM, O_REEVAL, O_REGRADE, O_DUE, O_PENALTY, O_DEVICE, O_DATA,
       O_JSON, O_SLURM, O_SPOOL, O_PARTITION, O_GRES, O_TIME, O_APAR, O_ACCOUNT, O_RETRIES, O_TASKS, O_NOWAIT,
       O_NOCOLLECT, O_CPT, O_TMEM };

const struct lab_opt lab_grade_batch_options[] = {
    {O_BATCH, "batch", 0, LAB_OPT_STR, "IN", "the folder or bulk-download zip to grade", 0, 0, NULL},
    {O_LAB, "lab", 0, LAB_OPT_STR, "ID", "the lab every submission is graded as (required)", 0, 0, NULL},
    {O_DB, "db", 0, LAB_OPT_STR, "FILE", "the gradebook (default ./gradebook.sqlite; created if absent)", 0, 0, NULL},
    {O_JOBS, "jobs", 0, LAB_OPT_INT, "N", "submissions graded at once, 1-256 (default: the number of CPUs)", 1, 256, NULL},
    {O_TIMEOUT, "timeout", 0, LAB_OPT_NUM, "S", "wall-clock seconds per submission (default 600)", 1, 7 * 86400, NULL},
    {O_MEM, "mem", 0, LAB_OPT_INT, "MB", "address-space limit per submission (default 4096)", 64, 1 << 24, NULL},
    {O_REEVAL, "reeval", 0, LAB_OPT_FLAG, NULL, "re-run the submitted weights on the eval images", 0, 0, NULL},
    {O_REGRADE, "regrade", 0, LAB_OPT_FLAG, NULL, "grade again what this grader version already graded", 0, 0, NULL},
    {O_DUE, "due", 0, LAB_OPT_STR, "TIME", "deadline: 2026-11-22, 2026-11-22T23:59 (local) or ...Z / +01:00", 0, 0, NULL},
    {O_PENALTY, "late-penalty", 0, LAB_OPT_STR, "P", "percent of the score taken off per day late (needs --due);\na Canvas late marker counts; otherwise the file's time", 0, 0, NULL},
    {O_DEVICE, "device", 0, LAB_OPT_STR, "D", "for --reeval (default cpu in a batch)", 0, 0, NULL},
    {O_DATA, "data", 0, LAB_OPT_STR, "DIR", "the directory holding the eval split", 0, 0, NULL},
    {O_JSON, "json", 0, LAB_OPT_FLAG, NULL, "print the summary as JSON on stdout", 0, 0, NULL},
    {O_SLURM, "slurm", 0, LAB_OPT_FLAG, NULL, "grade through sbatch instead of on this machine (docs/cluster.md)", 0, 0, NULL},
    {O_SPOOL, "spool", 0, LAB_OPT_STR, "DIR", "shared directory for the spool (default ./lab-spool)", 0, 0, NULL},
    {O_PARTITION, "partition", 0, LAB_OPT_STR, "P", "sbatch's --partition", 0, 0, NULL},
    {O_GRES, "gres", 0, LAB_OPT_STR, "G", "sbatch's --gres (e.g. gpu:1)", 0, 0, NULL},
    {O_TIME, "time", 0, LAB_OPT_STR, "T", "sbatch's --time per task", 0, 0, NULL},
    {O_APAR, "array-parallel", 0, LAB_OPT_INT, "N", "at most N array tasks at once (1 to 100000)", 1, 100000, NULL},
    {O_ACCOUNT, "account", 0, LAB_OPT_STR, "A", "sbatch's --account", 0, 0, NULL},
    {O_RETRIES, "retries", 0, LAB_OPT_INT, "N", "resubmit a failed/timed-out/OOM/node-failed task N times (default 2)", 0, 100, NULL},
    {O_TASKS, "tasks", 0, LAB_OPT_INT, "N", "the array's size (default one task per 10 submissions)", 1, 1000, NULL},
    {O_NOWAIT, "no-wait", 0, LAB_OPT_FLAG, NULL, "submit and return; the collect job completes the gradebook", 0, 0, NULL},
    {O_NOCOLLECT, "no-collect-job", 0, LAB_OPT_FLAG, NULL, "this process collects (it must keep running)", 0, 0, NULL},
    {O_TMEM, "task-mem", 0, LAB_OPT_STR, "M", "sbatch's --mem for each array task (e.g. 8G); Slurm kills a task over it", 0, 0, NULL},
    {O_CPT, "cpus-per-task", 0, LAB_OPT_INT, "N", "CPUs per array task (default 1; --reeval threads use them)", 1, 1024, NULL},
    {0},
};

int grade_batch_main(int argc, char **argv)
{
    struct batch_opts o;
    batch_opts_defaults(&o);
    o.grade = grade_submission;
    o.grader_version = LAB_VERSION;
    struct batch_slurm_opts so;
    batch_slurm_opts_defaults(&so);
    int json = 0, slurm = 0, slurm_only = 0, rc, c;
    const char *penalty = NULL;
    struct lab_opts p;
    lab_opts_init(&p, "grade", lab_grade_batch_options, argc, argv);
    while ((c = lab_opts_next(&p)) > 0) {
        const char *optarg = p.value;
        switch (c) {
        case O_BATCH:
            o.input = optarg;
            break;
        case O_LAB:
            o.lab = optarg;
            break;
        case O_DB:
            o.db_path = optarg;
            break;
        case O_JOBS:
            o.jobs = (int)p.ival;
            break;
        case O_TIMEOUT:
            o.timeout_s = p.num;
            break;
        case O_MEM:
            o.mem_mb = (uint64_t)p.ival;
            break;
        case O_REEVAL:
            o.reeval = true;
            break;
        case O_REGRADE:
            o.regrade = true;
            break;
        case O_DUE:
            if ((rc = batch_parse_due(optarg, &o.due)))
                return rc;
            o.has_due = true;
            break;
        case O_PENALTY:
            penalty = optarg;
            if ((rc = batch_parse_penalty(optarg, &o.late_pct_per_day)))
                return rc;
            break;
        case O_DEVICE:
            o.device = optarg;
            break;
        case O_DATA:
            o.data_dir = optarg;
            break;
        case O_JSON:
            json = 1;
            break;
        case O_SLURM:
            slurm = 1;
            break;
        case O_SPOOL:
            so.spool_parent = optarg, slurm_only = 1;
            break;
        case O_PARTITION:
            so.partition = optarg, slurm_only = 1;
            break;
        case O_GRES:
            so.gres = optarg, slurm_only = 1;
            break;
        case O_TIME:
            so.time_limit = optarg, slurm_only = 1;
            break;
        case O_ACCOUNT:
            so.account = optarg, slurm_only = 1;
            break;
        case O_APAR:
            so.array_parallel = (int)p.ival, slurm_only = 1;
            break;
        case O_RETRIES:
            so.retries = (int)p.ival, slurm_only = 1;
            break;
        case O_TASKS:
            so.tasks = (int)p.ival, slurm_only = 1;
            break;
        case O_NOWAIT:
            so.wait = false, slurm_only = 1;
            break;
        case O_CPT:
            so.cpus_per_task = (int)p.ival, slurm_only = 1;
            break;
        case O_TMEM:
            so.task_mem = optarg, slurm_only = 1;
            break;
        case O_NOCOLLECT:
            so.collect_job = false, slurm_only = 1;
            break;
        }
    }
    if (c < 0)
        return c;
    if (p.npos)
        return lab_cli_usage("grade", "unexpected '%s': with --batch, the input is --batch's value", p.pos[0]);
    if (!o.input)
        return lab_cli_usage("grade", "--batch needs a folder of submissions or an LMS bulk-download zip");
    if (!o.lab)
        return lab_cli_usage("grade", "--batch needs --lab ID: every submission is graded as that lab");
    if (penalty && !o.has_due)
        return lab_cli_usage("grade", "--late-penalty needs --due TIME to know what is late");
    if (slurm_only && !slurm)
        return lab_cli_usage("grade", "--spool, --partition, --gres, --time, --account, --array-parallel, --tasks, "
                                      "--retries, --cpus-per-task, --task-mem, --no-wait and --no-collect-job go with --slurm");
    if (so.task_mem && !lab_slurm_mem_spec_ok(so.task_mem))
        return lab_cli_usage("grade", "--task-mem '%s' is not a size: write megabytes as a number or with a unit, "
                                      "as sbatch's --mem takes it (4096, 500M, 16G)", so.task_mem);
    if (!so.wait && !so.collect_job)
        return lab_cli_usage("grade", "--no-wait with --no-collect-job would leave nobody to record the grades");
    so.json = json;
    const json_t *manifest;
    if ((rc = lab_cli_find_lab(o.lab, &manifest)))
        return rc;

    struct sigaction sa = {.sa_handler = on_signal}, old_int, old_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    stop_requested = 0;
    o.stop = &stop_requested;
    struct batch_summary s;
    rc = slurm ? batch_slurm_submit(&o, &so, &s) : batch_run(&o, &s);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);

    if (s.gradebook && slurm && !so.wait) {
        /* submitted: the ids and the spool were said; nothing is recorded yet */
    } else if (s.gradebook) {
        if (json) {
            json_t *j = batch_summary_to_json(&s);
            char *text = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
            if (text)
                printf("%s\n", text);
            free(text);
            json_decref(j);
        } else {
            batch_summary_print(&s, stdout);
        }
    }
    size_t not_graded = s.counts[GRADE_NOT_GRADABLE] + s.counts[GRADE_CRASH] + s.counts[GRADE_TIMEOUT] +
                        s.counts[GRADE_OOM] + s.still_not_graded;
    if (!rc && (not_graded || s.id_issues))
        rc = lab_err(LAB_EFAIL,
                     "see the lists above; `lab grades export` leaves out rows whose student id is unclear",
                     "%zu submission%s not graded, %zu student id%s to check", not_graded, not_graded == 1 ? "" : "s",
                     s.id_issues, s.id_issues == 1 ? "" : "s");
    batch_summary_free(&s);
    return rc;
}
