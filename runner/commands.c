#include "runner/cli.h"

#include <stddef.h>
#include <string.h>

const struct lab_command lab_commands[] = {
    {"list", cmd_list, "list the labs and their last run",
     "usage: lab list [--json]\n"
     "\n"
     "Lists the labs of the module with their titles and the status of each\n"
     "lab's last run recorded in the store ($LAB_HOME/lab.db).\n"
     "\n"
     "  --json    print a JSON array instead of a table\n"},
    {"info", cmd_info, "show a lab: objectives, data, models, configuration",
     "usage: lab info <lab-id> [--json]\n"
     "\n"
     "Shows a lab's title, objectives, datasets, models (with parameter counts),\n"
     "its default configuration and what --quick changes, and its last run.\n"
     "\n"
     "  --json    print the lab's manifest as JSON\n"},
    {"doctor", cmd_doctor, "diagnose the machine, GPU, container, caches and network, with fixes",
     "usage: lab doctor [--json] [--check ID]... [--full] [--strict] [--list-checks]\n"
     "\n"
     "Checks the system, the NVIDIA driver and GPUs, the container, the caches,\n"
     "the network and the environment, each in about a second, and says what to\n"
     "type to fix each problem, with its troubleshooting id (docs/troubleshooting).\n"
     "The report of a whole run is kept in the store ($LAB_HOME/lab.db).\n"
     "\n"
     "  --json          print only JSON: {schema_version, ok, summary, checks}\n"
     "  --check ID      run only this check (repeatable); see --list-checks\n"
     "  --list-checks   list the checks and exit\n"
     "  --full          also run the smoke test (conv forward+backward, bf16)\n"
     "  --strict        warnings count as failures\n"
     "\n"
     "Network checks are skipped when HF_HUB_OFFLINE, TRANSFORMERS_OFFLINE or\n"
     "LAB_OFFLINE is set to 1/true/yes/on. NO_COLOR or a non-terminal gives\n"
     "ASCII markers ([ok] [warn] [FAIL] [CRASH] [skip]).\n"
     "\n"
     "exit codes: 0 no failures, 1 failures (or warnings with --strict), 2 usage\n"},
    {"version", cmd_version, "show lab's version and how it was built",
     "usage: lab version   (or lab --version)\n"
     "\n"
     "Prints lab's version, the libtorch it was built against, whether that\n"
     "libtorch has CUDA compiled in, and the compile flags.\n"},
    {"help", cmd_help, "show help for lab or one command",
     "usage: lab help [command]\n"
     "\n"
     "Without a command, lists every command. `lab <command> --help` is the same\n"
     "as `lab help <command>`.\n"},
    {NULL, NULL, NULL, NULL},
};

const struct lab_command *lab_command_find(const char *name)
{
    for (const struct lab_command *c = lab_commands; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}
