/* lab grade: one submission through its lab's rubric, reported as text,
 * JSON, Gradescope's results.json or PrairieLearn's results. */
#include "base/error.h"
#include "base/fsutil.h"
#include "grader/grade.h"
#include "grader/report_format.h"
#include "labs/device.h"
#include "runner/cli.h"

#include <dirent.h>
#include <getopt.h>
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

int cmd_grade(int argc, char **argv)
{
    enum { O_LAB = 1, O_FORMAT, O_OUT, O_REEVAL, O_DEVICE, O_DATA, O_TIMEOUT };
    static const struct option opts[] = {
        {"lab", required_argument, NULL, O_LAB},         {"format", required_argument, NULL, O_FORMAT},
        {"out", required_argument, NULL, O_OUT},         {"reeval", no_argument, NULL, O_REEVAL},
        {"device", required_argument, NULL, O_DEVICE},   {"data", required_argument, NULL, O_DATA},
        {"check-timeout", required_argument, NULL, O_TIMEOUT}, {NULL, 0, NULL, 0},
    };
    if (grade_batch_wanted(argc, argv)) /* lab grade --batch: runner/grade_batch.c */
        return grade_batch_main(argc, argv);
    if (grade_slurm_wanted(argc, argv)) /* --collect, --slurm-task: runner/cmd_grade_slurm.c */
        return grade_slurm_main(argc, argv);
    struct grade_opts g = {.device = "auto"};
    enum report_format fmt = REPORT_TEXT;
    const char *out = NULL;
    int c, rc;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_LAB: g.lab = optarg; break;
        case O_FORMAT:
            if ((rc = report_format_parse(optarg, &fmt)))
                return rc;
            break;
        case O_OUT: out = optarg; break;
        case O_REEVAL: g.reeval = true; break;
        case O_DEVICE: g.device = optarg; break;
        case O_DATA: g.data_dir = optarg; break;
        case O_TIMEOUT: {
            char *end;
            g.check_timeout_s = strtod(optarg, &end);
            if (*end || end == optarg || !(g.check_timeout_s > 0))
                return lab_cli_usage("grade", "--check-timeout takes a positive number of seconds, not '%s'", optarg);
            break;
        }
        default: return lab_cli_bad_option("grade", argv);
        }
    }
    if (optind != argc - 1)
        return lab_cli_usage("grade", "grade takes one submission (archive or directory)");
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
    if ((rc = check_input(argv[optind], g.lab)))
        return rc;
    struct grade_report *r = NULL;
    if ((rc = grade_submission(argv[optind], &g, &r)))
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
