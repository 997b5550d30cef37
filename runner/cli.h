/* Command dispatch, git-style: one file per command (runner/cmd_<name>.c),
 * one table (runner/commands.c). A command returns a lab_status; only
 * runner/main.c turns that into an exit code. */
#ifndef LAB_CLI_H
#define LAB_CLI_H

#include "base/options.h"

#include <jansson.h>
#include <stdio.h>

/* --help is usage, the options table, epilog, then (lab grade --batch) a
 * second table and its epilog. */
struct lab_command {
    const char *name;
    int (*fn)(int argc, char **argv); /* argv[0] is the command name */
    const char *summary;
    const char *usage; /* synopsis and description */
    const struct lab_opt *options;
    const char *epilog;
    const struct lab_opt *options2;
    const char *epilog2;
};

/* The option tables, beside each command's parser (runner/cmd_<name>.c). */
extern const struct lab_opt lab_run_options[], lab_list_options[], lab_info_options[], lab_explain_options[],
    lab_datasets_options[], lab_fetch_options[], lab_doctor_options[], lab_submit_options[], lab_grade_options[],
    lab_grade_batch_options[], lab_grades_options[], lab_ps_options[], lab_image_options[], lab_runs_options[], lab_predict_options[], lab_val_options[], lab_autograder_options[], lab_grade_slurm_options[],
    lab_no_options[];

void lab_cli_print_help(FILE *f, const struct lab_command *c);

extern const struct lab_command lab_commands[]; /* ends with name == NULL */

const struct lab_command *lab_command_find(const char *name);

/* Runs `lab argv...`; prints the error (cause and fix) to stderr once.
 * Returns the process exit code. */
int lab_main(int argc, char **argv);

/* LAB_EUSAGE for an unknown command, with a "did you mean". */
int lab_cli_unknown_command(const char *name);

/* Looks up a lab id; LAB_EUSAGE with a "did you mean" when unknown. */
int lab_cli_find_lab(const char *id, const json_t **manifest);

/* The LAB_EUSAGE for a stray or missing positional argument. */
#define lab_cli_usage lab_opts_usage

/* A run directory given as a path, a run id from `lab runs` or `last`
 * (the latest run, of `lab_id` when not NULL), into out. */
int lab_cli_run_dir(const char *cmd, const char *arg, const char *lab_id, char *out, size_t cap);

int cmd_help(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_datasets(int argc, char **argv);
int cmd_fetch(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_submit(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_val(int argc, char **argv);
int cmd_grade(int argc, char **argv);
int cmd_grades(int argc, char **argv);
int cmd_autograder(int argc, char **argv);

/* `lab grade --batch ...` (runner/grade_batch.c); cmd_grade hands over to it
 * when --batch is given. */
int grade_batch_main(int argc, char **argv);
int grade_batch_wanted(int argc, char **argv); /* 1 when --batch is among the options */
/* `lab grade --collect SPOOL` and the array task's `--slurm-task SPOOL`
 * (runner/cmd_grade_slurm.c). */
int grade_slurm_main(int argc, char **argv);
int grade_slurm_wanted(int argc, char **argv);
int cmd_ps(int argc, char **argv);
int cmd_image(int argc, char **argv);
int cmd_runs(int argc, char **argv);

#endif
