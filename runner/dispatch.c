#include "base/error.h"
#include "base/fsutil.h"
#include "base/suggest.h"
#include "containers/engine.h"
#include "grader/kb.h"
#include "labs/lab.h"
#include "runner/cli.h"
#include "store/store.h"

#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

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

int lab_cli_run_dir(const char *cmd, const char *arg, const char *lab_id, char *out, size_t cap)
{
    int is_id = *arg && strspn(arg, "0123456789") == strlen(arg);
    if ((strcmp(arg, "last") != 0 && !is_id) || lab_path_exists(arg)) {
        snprintf(out, cap, "%s", arg); /* a path, even one named "last" */
        return LAB_OK;
    }
    lab_store *store = NULL;
    int rc = lab_store_open_default(&store), found = 0;
    struct lab_run_query q = {.lab = is_id ? NULL : lab_id, .id = is_id ? strtoll(arg, NULL, 10) : 0};
    struct lab_run_record rec;
    if (!rc)
        rc = lab_store_find_run(store, &q, &rec, &found);
    lab_store_close(store);
    if (rc)
        return rc;
    char fix[160];
    snprintf(fix, sizeof fix, "`lab runs%s%s` lists the runs with their ids; or give `lab %s` the run directory",
             lab_id ? " " : "", lab_id ? lab_id : "", cmd);
    if (!found && is_id)
        return lab_err(LAB_EUSAGE, fix, "no run %s in the store (and no file of that name)", arg);
    if (!found)
        return lab_err(LAB_EUSAGE, fix, "`last`: no run%s%s is recorded in the store yet", lab_id ? " of lab " : "",
                       lab_id ? lab_id : "");
    if (lab_id && strcmp(rec.lab, lab_id) != 0)
        return lab_err(LAB_EUSAGE, fix, "run %s is a run of lab %s, not %s", arg, rec.lab, lab_id);
    snprintf(out, cap, "%s", rec.run_dir);
    return LAB_OK;
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

/* `lab --versoin`: the options lab takes before a command. */
static int unknown_top_option(const char *word)
{
    static const struct lab_opt top[] = {
        {1, "version", 'v', LAB_OPT_FLAG, NULL, "lab's version", 0, 0, NULL},
        {2, "help", 'h', LAB_OPT_FLAG, NULL, "the commands", 0, 0, NULL},
        {0},
    };
    char *argv[] = {"lab", (char *)word, NULL};
    struct lab_opts p;
    lab_opts_init(&p, "", top, 2, argv);
    int rc = lab_opts_next(&p);
    return rc < 0 ? rc : lab_cli_unknown_command(word);
}

static int dispatch(int argc, char **argv)
{
    if (argc < 2) {
        char *help[] = {"help", NULL};
        return cmd_help(1, help);
    }
    const char *name = argv[1];
    if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0 || strcmp(name, "-v") == 0)
        name = "version";
    else if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0)
        name = "help";
    else if (name[0] == '-')
        return unknown_top_option(name);
    const struct lab_command *c = lab_command_find(name);
    if (!c)
        return lab_cli_unknown_command(name);
    if (wants_help(argc - 1, argv + 1)) {
        lab_cli_print_help(stdout, c);
        return LAB_OK;
    }
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
