/* `lab grade --batch ...`: parsed here, run by grader/batch.c. cmd_grade
 * hands over as soon as it sees --batch. */
#include "base/error.h"
#include "grader/batch.h"
#include "grader/batch_slurm.h"
#include "labs/lab.h"
#include "runner/cli.h"

#include <errno.h>
#include <getopt.h>
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

static int parse_number(const char *opt, const char *text, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end || errno || !isfinite(v) || v < lo || v > hi)
        return lab_cli_usage("grade", "%s takes a number from %g to %g, not '%s'", opt, lo, hi, text);
    *out = v;
    return LAB_OK;
}

int grade_batch_wanted(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
        if (!strcmp(argv[i], "--batch") || !strncmp(argv[i], "--batch=", 8))
            return 1;
    return 0;
}

int grade_batch_main(int argc, char **argv)
{
    enum { O_BATCH = 256, O_LAB, O_DB, O_JOBS, O_TIMEOUT, O_MEM, O_REEVAL, O_REGRADE, O_DUE, O_PENALTY, O_DEVICE,
           O_DATA, O_JSON, O_SLURM, O_SPOOL, O_PARTITION, O_GRES, O_TIME, O_APAR, O_ACCOUNT, O_RETRIES, O_TASKS,
           O_NOWAIT, O_NOCOLLECT, O_CPT };
    static const struct option longopts[] = {
        {"batch", required_argument, NULL, O_BATCH},     {"lab", required_argument, NULL, O_LAB},
        {"db", required_argument, NULL, O_DB},           {"jobs", required_argument, NULL, O_JOBS},
        {"timeout", required_argument, NULL, O_TIMEOUT}, {"mem", required_argument, NULL, O_MEM},
        {"reeval", no_argument, NULL, O_REEVAL},         {"regrade", no_argument, NULL, O_REGRADE},
        {"due", required_argument, NULL, O_DUE},         {"late-penalty", required_argument, NULL, O_PENALTY},
        {"device", required_argument, NULL, O_DEVICE},   {"data", required_argument, NULL, O_DATA},
        {"json", no_argument, NULL, O_JSON},             {"slurm", no_argument, NULL, O_SLURM},
        {"spool", required_argument, NULL, O_SPOOL},     {"partition", required_argument, NULL, O_PARTITION},
        {"gres", required_argument, NULL, O_GRES},       {"time", required_argument, NULL, O_TIME},
        {"array-parallel", required_argument, NULL, O_APAR}, {"account", required_argument, NULL, O_ACCOUNT},
        {"retries", required_argument, NULL, O_RETRIES}, {"tasks", required_argument, NULL, O_TASKS},
        {"no-wait", no_argument, NULL, O_NOWAIT},        {"no-collect-job", no_argument, NULL, O_NOCOLLECT},
        {"cpus-per-task", required_argument, NULL, O_CPT},
        {NULL, 0, NULL, 0},
    };
    struct batch_opts o;
    batch_opts_defaults(&o);
    o.grade = grade_submission;
    o.grader_version = LAB_VERSION;
    struct batch_slurm_opts so;
    batch_slurm_opts_defaults(&so);
    int json = 0, slurm = 0, slurm_only = 0, rc, c;
    const char *penalty = NULL;
    double v;
    lab_cli_reset_getopt();
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
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
            if ((rc = parse_number("--jobs", optarg, 1, 256, &v)))
                return rc;
            o.jobs = (int)v;
            break;
        case O_TIMEOUT:
            if ((rc = parse_number("--timeout", optarg, 1, 7 * 86400, &v)))
                return rc;
            o.timeout_s = v;
            break;
        case O_MEM:
            if ((rc = parse_number("--mem", optarg, 64, 1 << 24, &v)))
                return rc;
            o.mem_mb = (uint64_t)v;
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
            if ((rc = parse_number("--array-parallel", optarg, 1, 100000, &v)))
                return rc;
            so.array_parallel = (int)v, slurm_only = 1;
            break;
        case O_RETRIES:
            if ((rc = parse_number("--retries", optarg, 0, 100, &v)))
                return rc;
            so.retries = (int)v, slurm_only = 1;
            break;
        case O_TASKS:
            if ((rc = parse_number("--tasks", optarg, 1, 1000, &v)))
                return rc;
            so.tasks = (int)v, slurm_only = 1;
            break;
        case O_NOWAIT:
            so.wait = false, slurm_only = 1;
            break;
        case O_CPT:
            if ((rc = parse_number("--cpus-per-task", optarg, 1, 1024, &v)))
                return rc;
            so.cpus_per_task = (int)v, slurm_only = 1;
            break;
        case O_NOCOLLECT:
            so.collect_job = false, slurm_only = 1;
            break;
        default:
            return lab_cli_bad_option("grade", argv);
        }
    }
    if (optind < argc)
        return lab_cli_usage("grade", "unexpected '%s': with --batch, the input is --batch's value", argv[optind]);
    if (!o.input)
        return lab_cli_usage("grade", "--batch needs a folder of submissions or an LMS bulk-download zip");
    if (!o.lab)
        return lab_cli_usage("grade", "--batch needs --lab ID: every submission is graded as that lab");
    if (penalty && !o.has_due)
        return lab_cli_usage("grade", "--late-penalty needs --due TIME to know what is late");
    if (slurm_only && !slurm)
        return lab_cli_usage("grade", "--spool, --partition, --gres, --time, --account, --array-parallel, --tasks, "
                                      "--retries, --cpus-per-task, --no-wait and --no-collect-job go with --slurm");
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
