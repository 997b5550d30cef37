/* lab grade: one submission through its lab's rubric, reported as text,
 * JSON, Gradescope's results.json or PrairieLearn's results. */
#include "base/error.h"
#include "base/fsutil.h"
#include "grader/grade.h"
#include "grader/report_format.h"
#include "labs/device.h"
#include "runner/cli.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The report's detail is "<why>; fix: <fix>" (one string, for every report
 * format); on the terminal the fix goes on its own line, said once. */
static void not_gradable_error(const char *detail)
{
    const char *sep = strstr(detail, "; fix: ");
    if (!sep) {
        lab_err(LAB_EENV, "lab explain TS-SUBMISSION-INTEGRITY", "not gradable: %s", detail);
        return;
    }
    const char *fix = sep + strlen("; fix: ");
    int has_id = strstr(fix, "TS-SUBMISSION-INTEGRITY") != NULL;
    char fixbuf[1024];
    snprintf(fixbuf, sizeof fixbuf, "%s%s", fix, has_id ? "" : " (lab explain TS-SUBMISSION-INTEGRITY)");
    lab_err(LAB_EENV, fixbuf, "not gradable: %.*s", (int)(sep - detail), detail);
}

/* Submissions in a folder that is not one: archives, or folders holding a
 * submission.json. */
static size_t submissions_inside(const char *dir)
{
    char p[4300];
    snprintf(p, sizeof p, "%s/submission.json", dir);
    if (lab_path_exists(p))
        return 0;
    DIR *d = opendir(dir);
    size_t n = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        size_t l = strlen(e->d_name);
        snprintf(p, sizeof p, "%s/%s/submission.json", dir, e->d_name);
        n += (l > 7 && !strcmp(e->d_name + l - 7, ".tar.gz")) || (l > 4 && !strcmp(e->d_name + l - 4, ".zip")) ||
             (l > 4 && !strcmp(e->d_name + l - 4, ".tgz")) || (e->d_name[0] != '.' && lab_path_exists(p));
    }
    if (d)
        closedir(d);
    return n;
}

/* A path that is not there, or a folder of submissions, is a mistake in the
 * command, said before anything is graded. */
static int check_input(const char *path, const char *lab)
{
    if (!lab_path_exists(path))
        return lab_err(LAB_EUSAGE, "give the path of a submission archive (.tar.gz, .zip) or directory",
                       "%s does not exist", path);
    size_t n = lab_is_dir(path) ? submissions_inside(path) : 0;
    char fix[4400];
    snprintf(fix, sizeof fix, "grade them all: lab grade --batch %s --lab %s", path, lab ? lab : "ID");
    if (n > 1) /* one upload in a folder (Gradescope's layout) is graded as that upload */
        return lab_err(LAB_EUSAGE, fix, "%s is a folder of %zu submission(s), not one submission", path, n);
    return LAB_OK;
}

enum { O_LAB = 1, O_FORMAT, O_OUT, O_REEVAL, O_DEVICE, O_DATA, O_TIMEOUT, O_BATCH };
static const char *const formats[] = {"text", "json", "gradescope", "prairielearn", NULL};

const struct lab_opt lab_grade_options[] = {
    {O_LAB, "lab", 0, LAB_OPT_STR, "ID", "grade as this lab; a submission of another lab is not gradable", 0, 0, NULL},
    {O_FORMAT, "format", 0, LAB_OPT_CHOICE, "F", "text (default), json, gradescope (results.json),\nprairielearn (external grading results)", 0, 0, formats},
    {O_OUT, "out", 0, LAB_OPT_STR, "FILE", "write the report to FILE (atomically) instead of stdout", 0, 0, NULL},
    {O_REEVAL, "reeval", 0, LAB_OPT_FLAG, NULL, "load the weights into the lab's model and re-run the eval images", 0, 0, NULL},
    {O_DEVICE, "device", 0, LAB_OPT_STR, "D", "for --reeval: auto (default), cpu, cuda or cuda:N", 0, 0, NULL},
    {O_DATA, "data", 0, LAB_OPT_STR, "DIR", "the directory holding the eval split (default: as the labs find it)", 0, 0, NULL},
    {O_TIMEOUT, "check-timeout", 0, LAB_OPT_NUM, "S", "give every check S seconds instead of its own budget", 1e-9, 86400, NULL},
    {O_BATCH, "batch", 0, LAB_OPT_STR, "IN", "grade a folder or bulk-download zip (below)", 0, 0, NULL},
    {0},
};

int cmd_grade(int argc, char **argv)
{
    if (grade_batch_wanted(argc, argv)) /* lab grade --batch: runner/grade_batch.c */
        return grade_batch_main(argc, argv);
    if (grade_slurm_wanted(argc, argv)) /* --collect, --slurm-task: runner/cmd_grade_slurm.c */
        return grade_slurm_main(argc, argv);
    struct grade_opts g = {.device = "auto"};
    enum report_format fmt = REPORT_TEXT;
    const char *out = NULL;
    int c, rc;
    struct lab_opts p;
    lab_opts_init(&p, "grade", lab_grade_options, argc, argv);
    while ((c = lab_opts_next(&p)) > 0) {
        switch (c) {
        case O_LAB: g.lab = p.value; break;
        case O_FORMAT:
            if ((rc = report_format_parse(p.value, &fmt)))
                return rc;
            break;
        case O_OUT: out = p.value; break;
        case O_REEVAL: g.reeval = true; break;
        case O_DEVICE: g.device = p.value; break;
        case O_DATA: g.data_dir = p.value; break;
        case O_TIMEOUT: g.check_timeout_s = p.num; break;
        }
    }
    if (c < 0)
        return c;
    if (p.npos != 1)
        return lab_cli_usage("grade", "grade takes one submission (archive or directory)");
    char run_dir[4096];
    const char *submission = p.pos[0];
    int is_run = 0; /* a run id or `last`: the run as it stands, checked like the self-check */
    if (!lab_path_exists(submission)) {
        if ((rc = lab_cli_run_dir("grade", submission, g.lab, run_dir, sizeof run_dir)))
            return rc;
        is_run = strcmp(run_dir, submission) != 0;
        submission = run_dir;
    }
    if (g.lab && (rc = lab_cli_find_lab(g.lab, &(const json_t *){NULL})))
        return rc;
    if (g.data_dir && !lab_is_dir(g.data_dir))
        return lab_err(LAB_EUSAGE, "give the directory holding the eval split's files", "--data %s is not a directory",
                       g.data_dir);
    if (g.reeval) { /* a device that cannot be used is the grader's problem, said before grading */
        struct lab_device_choice dc;
        if ((rc = lab_choose_device(g.device, "auto", &dc)))
            return rc;
    }
    if (!is_run && (rc = check_input(submission, g.lab)))
        return rc;
    struct grade_report *r = NULL;
    if ((rc = is_run ? grade_run_dir(submission, &g, &r) : grade_submission(submission, &g, &r)))
        return rc;
    char *doc = NULL;
    rc = report_render(r, fmt, !report_utf8_ok(), &doc);
    if (!rc && out)
        rc = lab_write_atomic(out, doc, strlen(doc));
    else if (!rc)
        fputs(doc, stdout);
    free(doc);
    if (!rc) {
        rc = grade_exit_status(r);
        if (rc == LAB_EENV)
            not_gradable_error(r->status_detail ? r->status_detail : grade_status_name(r->status));
        else
            lab_err_clear(); /* the report says what failed */
    }
    grade_report_free(r);
    return rc;
}
