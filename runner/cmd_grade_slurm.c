/* `lab grade --collect SPOOL [--db FILE] [--json]` and the job array's
 * `lab grade --slurm-task SPOOL` (grader/batch_slurm.h). */
#include "base/error.h"
#include "grader/batch_slurm.h"
#include "runner/cli.h"

#include <getopt.h>
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

int grade_slurm_main(int argc, char **argv)
{
    enum { O_COLLECT = 256, O_TASK, O_DB, O_JSON };
    static const struct option longopts[] = {
        {"collect", required_argument, NULL, O_COLLECT}, {"slurm-task", required_argument, NULL, O_TASK},
        {"db", required_argument, NULL, O_DB},           {"json", no_argument, NULL, O_JSON},
        {NULL, 0, NULL, 0},
    };
    const char *collect = NULL, *task = NULL, *db = NULL;
    int json = 0, c;
    lab_cli_reset_getopt();
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case O_COLLECT: collect = optarg; break;
        case O_TASK: task = optarg; break;
        case O_DB: db = optarg; break;
        case O_JSON: json = 1; break;
        default: return lab_cli_bad_option("grade", argv);
        }
    }
    if (optind < argc)
        return lab_cli_usage("grade", "unexpected '%s': --collect takes the spool directory as its value",
                             argv[optind]);
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
