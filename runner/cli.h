/* Command dispatch, git-style: one file per command (runner/cmd_<name>.c),
 * one table (runner/commands.c). A command returns a lab_status; only
 * runner/main.c turns that into an exit code. */
#ifndef LAB_CLI_H
#define LAB_CLI_H

#include <jansson.h>

struct lab_command {
    const char *name;
    int (*fn)(int argc, char **argv); /* argv[0] is the command name */
    const char *summary;
    const char *usage; /* the whole --help text */
};

extern const struct lab_command lab_commands[]; /* ends with name == NULL */

const struct lab_command *lab_command_find(const char *name);

/* Runs `lab argv...`; prints the error (cause and fix) to stderr once.
 * Returns the process exit code. */
int lab_main(int argc, char **argv);

/* LAB_EUSAGE for an unknown command, with a "did you mean". */
int lab_cli_unknown_command(const char *name);

/* Looks up a lab id; LAB_EUSAGE with a "did you mean" when unknown. */
int lab_cli_find_lab(const char *id, const json_t **manifest);

/* getopt state reset for a command about to parse its arguments (getopt's
 * own messages are silenced; use lab_cli_bad_option on '?'). */
void lab_cli_reset_getopt(void);
/* The LAB_EUSAGE for the option getopt just rejected, pointing to --help. */
int lab_cli_bad_option(const char *cmd, char **argv);
/* The LAB_EUSAGE for a stray or missing positional argument. */
int lab_cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

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

#endif
