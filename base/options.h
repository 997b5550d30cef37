/* One option table per command: it drives parsing, the options part of
 * `--help` and the "did you mean" for mistyped options and values. Long
 * options must be spelled out (no getopt-style abbreviations: `--ful` is
 * an error that suggests `--full`, never silently `--full`). Every error is
 * LAB_EUSAGE with a fix line that names `lab <cmd> --help`. */
#ifndef LAB_OPTIONS_H
#define LAB_OPTIONS_H

#include <stddef.h>
#include <stdio.h>

enum lab_opt_type {
    LAB_OPT_FLAG,   /* no value */
    LAB_OPT_STR,    /* any value */
    LAB_OPT_INT,    /* a whole number in [min, max] */
    LAB_OPT_NUM,    /* a finite number in [min, max] */
    LAB_OPT_CHOICE, /* one of `choices` */
};

struct lab_opt {
    int id;          /* what lab_opts_next returns for it; > 0 */
    const char *name; /* long name without "--"; NULL ends a table */
    char short_name; /* 0 when none */
    enum lab_opt_type type;
    const char *arg;  /* the value's name in --help: "N", "DIR" */
    const char *help; /* '\n' starts a continuation line */
    double min, max;  /* LAB_OPT_INT, LAB_OPT_NUM */
    const char *const *choices; /* LAB_OPT_CHOICE; NULL-terminated */
};

#define LAB_OPTS_MAX_POS 32

struct lab_opts {
    const char *cmd; /* "run" for `lab run --help` in fixes; "" for lab itself */
    const struct lab_opt *table;
    int argc;
    char **argv; /* argv[0] is the command's name */
    int next;
    int after_dashes;
    /* The option just returned: */
    const struct lab_opt *opt;
    const char *value; /* as typed; NULL for a flag */
    long long ival;    /* LAB_OPT_INT */
    double num;        /* LAB_OPT_INT, LAB_OPT_NUM */
    /* The words that are not options, in order: */
    char *pos[LAB_OPTS_MAX_POS];
    size_t npos;
};

void lab_opts_init(struct lab_opts *p, const char *cmd, const struct lab_opt *table, int argc, char **argv);
/* The next option's id, 0 when the words are used up, or a negative
 * LAB_EUSAGE (recorded) for an unknown option, a missing or extra value, a
 * number out of range or a value not among the choices. */
int lab_opts_next(struct lab_opts *p);
/* Parses every word; for commands that only need the positionals checked. */
int lab_opts_rest(struct lab_opts *p);
/* 1 when `w` is one of the option words argv holds (not a positional). */
int lab_opts_is_positional(const struct lab_opts *p, const char *w);

/* LAB_EUSAGE for a value of `option` ("--model") that is not one of
 * `choices`, with the closest one (case, '-' and '_' ignored) suggested. */
int lab_opts_bad_value(const char *option, const char *value, const char *const *choices);
/* LAB_EUSAGE with the fix "see `lab <cmd> --help`". */
int lab_opts_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The options part of --help: one line per option, help aligned. */
void lab_opts_print_help(FILE *f, const struct lab_opt *table);

#endif
