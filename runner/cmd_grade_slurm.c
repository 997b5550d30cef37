/* `lab grade --collect SPOOL [--db FILE] [--json]` and the job array's
 * `lab grade --slurm-task SPOOL` (grader/batch_slurm.h). */
#include "base/error.h"
#include "grader/batch_slurm.h"
#include "runner/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int grade_slurm_wanted(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
        if (!strcmp(argv[i], "--collect") || !strncmp(argv[i], "--collect=", 10) || !strcmp(argv[i], "--slurm-task") ||
            !strncmp(argv[i], "--slurm-task=", 13))
            return 1;
    return 0;
}

enum { O_COLLECT = 1, O_TASK, O_DB, O_JSON };

const struct lab_opt lab_grade_slurm_options[] = {
    {O_COLLECT, "collect", 0, LAB_OPT_STR, "SPOOL", "record what a --slurm batch's tasks graded into the gradebook", 0, 0, NULL},
    {O_TASK, "slurm-task", 0, LAB_OPT_STR, "SPOOL", "(run by the job array) grade this task's share", 0, 0, NULL},
    {O_DB, "db", 0, LAB_OPT_STR, "FILE", "the gradebook (default: the one the batch named)", 0, 0, NULL},
    {O_JSON, "json", 0, LAB_OPT_FLAG, NULL, "print the summary as JSON on stdout", 0, 0, NULL},
    {0},
};

int grade_slurm_main(int argc, char **argv)
{
    const char *collect = NULL, *task = NULL, *db = NULL;
    int json = 0, c;
    struct lab_opts p;
    lab_opts_init(&p, "grade", lab_grade_slurm_options, argc, argv);
    while ((c = lab_opts_next(&p)) > 0) {
        switch (c) {
        case O_COLLECT: collect = p.value; break;
        case O_TASK: task = p.value; break;
        case O_DB: db = p.value; break;
        case O_JSON: json = 1; break;
        }
    }
    if (c < 0)
        return c;
    if (p.npos)
        return lab_cli_usage("grade", "unexpected '%s': --collect takes the spool directory as its value", p.pos[0]);
    if (collect && task)
        return lab_cli_usage("grade", "--collect and --slurm-task are different steps; give one");
    if (task)
        return batch_slurm_task(task, grade_submission);

    struct batch_summary s;
    bool complete = false;
    int rc = batch_slurm_collect(collect, db, &s, &complete);
    if (!rc) {
        if (json) {
            json_t *j = batch_summary_to_json(&s);
            json_object_set_new(j, "complete", json_boolean(complete));
            char *text = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
            if (text)
                printf("%s\n", text);
            free(text);
            json_decref(j);
        } else {
            batch_summary_print(&s, stdout);
            if (!complete)
                printf("\nnot complete: array tasks are still queued or running (or resubmitted); run "
                       "`lab grade --collect %s` again later\n", collect);
        }
    }
    batch_summary_free(&s);
    return rc;
}
