/* `lab autograder gradescope|prairielearn LAB`: what an instructor uploads so
 * that a course platform grades with lab. Gradescope gets its autograder
 * zip (setup.sh, run_autograder, this lab binary, the rubric); PrairieLearn
 * a question directory for its external grader (info.json, question.html,
 * tests/run.sh, the binary, the rubric). Both wrappers grade whatever the
 * student uploaded (an archive or its files) and always leave a results.json
 * in the platform's format, even when lab itself cannot run. */
#ifndef GRADER_AUTOGRADER_H
#define GRADER_AUTOGRADER_H

#include <stddef.h>

enum ag_platform { AG_GRADESCOPE, AG_PRAIRIELEARN };

/* LAB_EUSAGE naming both platforms when `name` is neither. */
int ag_platform_parse(const char *name, enum ag_platform *out);

struct ag_opts {
    const char *lab;  /* a lab id the registry knows */
    int reeval;       /* the wrapper grades with --reeval --device cpu */
    const char *out;  /* NULL: autograder-<lab>-gradescope.zip / prairielearn-<lab>/ */
};

/* Writes the package; `written` receives its path. */
int ag_write(enum ag_platform p, const struct ag_opts *o, char *written, size_t cap);

#endif
