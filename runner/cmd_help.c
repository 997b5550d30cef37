#include "base/error.h"
#include "runner/cli.h"

#include <stdio.h>

int cmd_help(int argc, char **argv)
{
    struct lab_opts p;
    lab_opts_init(&p, "help", lab_no_options, argc, argv);
    int rc = lab_opts_rest(&p);
    if (rc)
        return rc;
    if (p.npos > 1)
        return lab_cli_usage("help", "help takes at most one command name");
    if (p.npos == 1) {
        const struct lab_command *c = lab_command_find(p.pos[0]);
        if (!c)
            return lab_cli_unknown_command(p.pos[0]);
        lab_cli_print_help(stdout, c);
        return LAB_OK;
    }
    printf("lab %s: a runner and grading harness for GPU computer-vision labs\n\n", LAB_VERSION);
    printf("usage: lab <command> [options]     lab <command> --help\n\ncommands:\n");
    for (const struct lab_command *c = lab_commands; c->name; c++)
        printf("  %-10s %s\n", c->name, c->summary);
    printf("\nexit codes: 0 success, 1 a check or grade failed, 2 usage error,\n"
           "            3 environment problem (dependency, data, GPU, permission), 4 internal error\n"
           "environment: LAB_HOME (store, runs), LAB_CACHE (datasets, weights), LAB_LOG=debug|info|warn\n");
    return LAB_OK;
}
