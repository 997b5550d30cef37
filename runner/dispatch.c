#include "base/error.h"
#include "base/suggest.h"
#include "containers/engine.h"
#include "grader/kb.h"
#include "labs/lab.h"
#include "runner/cli.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void lab_cli_reset_getopt(void)
{
    optind = 0; /* 0, not 1: makes glibc re-initialise its scanning state */
    opterr = 0;
}

int lab_cli_bad_option(const char *cmd, char **argv)
{
    char fix[96];
    snprintf(fix, sizeof fix, "see `lab %s --help`", cmd);
    if (optopt && strchr("", optopt) == NULL)
        return lab_err(LAB_EUSAGE, fix, "option -%c is unknown or lacks its value", optopt);
    return lab_err(LAB_EUSAGE, fix, "option '%s' is unknown or lacks its value", argv[optind - 1]);
}

int lab_cli_usage(const char *cmd, const char *fmt, ...)
{
    char msg[512], fix[96];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(fix, sizeof fix, "see `lab %s --help`", cmd);
    return lab_err(LAB_EUSAGE, fix, "%s", msg);
}

int lab_cli_find_lab(const char *id, const json_t **manifest)
{
    int rc = lab_registry_load();
    if (rc)
        return rc;
    *manifest = lab_registry_find(id);
    if (*manifest)
        return LAB_OK;
    const char *close = lab_suggest(id, lab_registry_ids());
    char fix[128];
    if (close)
        snprintf(fix, sizeof fix, "did you mean '%s'? `lab list` shows every lab", close);
    else
        snprintf(fix, sizeof fix, "`lab list` shows every lab");
    return lab_err(LAB_EUSAGE, fix, "unknown lab '%s'", id);
}

static int wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return 0;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    }
    return 0;
}

int lab_cli_unknown_command(const char *name)
{
    const char *names[64];
    size_t n = 0;
    for (const struct lab_command *c = lab_commands; c->name && n < 63; c++)
        names[n++] = c->name;
    names[n] = NULL;
    const char *close = lab_suggest(name, names);
    char fix[128];
    if (close)
        snprintf(fix, sizeof fix, "did you mean 'lab %s'? `lab help` lists every command", close);
    else
        snprintf(fix, sizeof fix, "`lab help` lists every command");
    return lab_err(LAB_EUSAGE, fix, "'%s' is not a lab command", name);
}

static int dispatch(int argc, char **argv)
{
    if (argc < 2) {
        char *help[] = {"help", NULL};
        return cmd_help(1, help);
    }
    const char *name = argv[1];
    if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0)
        name = "version";
    else if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0)
        name = "help";
    const struct lab_command *c = lab_command_find(name);
    if (!c)
        return lab_cli_unknown_command(name);
    if (wants_help(argc - 1, argv + 1)) {
        fputs(c->usage, stdout);
        return LAB_OK;
    }
    lab_cli_reset_getopt();
    return c->fn(argc - 1, argv + 1);
}

int lab_main(int argc, char **argv)
{
    lab_err_clear();
    lab_engine_set_kb_matcher(kb_match_ids);
    int status = dispatch(argc, argv);
    if (status < 0 && lab_err_message()[0]) {
        fflush(stdout);
        fprintf(stderr, "lab: error: %s\n", lab_err_message());
        if (lab_err_fix()[0])
            fprintf(stderr, "  fix: %s\n", lab_err_fix());
    }
    return lab_exit_code(status);
}
