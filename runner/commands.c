#include "runner/cli.h"

#include <stddef.h>
#include <string.h>

const struct lab_command lab_commands[] = {
    {"run", cmd_run, "run a lab: train, evaluate, write artifacts",
     "usage: lab run <lab-id> [options]\n"
     "\n"
     "Runs a lab and writes its run directory (printed last as `run dir: <path>`):\n"
     "config.json, metrics.json, models/<name>/{model,predictions}.safetensors,\n"
     "plots/*.png, comparison.md and log.txt. The run is recorded in the store.\n"
     "\n"
     "  --quick               the lab's quick mode: small real data, minutes on a CPU\n"
     "  --model NAME|all      which model(s) to train (see `lab info <id>`)\n"
     "  --device D            auto (default), cpu, cuda or cuda:N\n"
     "  --precision P         auto (default: bf16 where the device has it natively), bf16, fp32\n"
     "  --epochs N            same as --set train.epochs=N\n"
     "  --batch-size N        same as --set train.batch_size=N\n"
     "  --lr X                same as --set train.lr=X\n"
     "  --seed N              same as --set seed=N (same seed, device, precision: same results)\n"
     "  --set KEY=VALUE       change any configuration key (dotted path, e.g. train.momentum=0.8);\n"
     "                        `lab info <id>` lists them; repeatable\n"
     "  --out DIR             run directory (default $LAB_HOME/runs/<id>/<time>); must be empty\n"
     "  --resume DIR          continue an interrupted run from its last checkpoint\n"
     "  --json                print only a JSON summary on stdout (progress goes to stderr)\n"
     "\n"
     "Ctrl-C saves a checkpoint, marks the run interrupted and exits 130.\n"},
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
    {"explain", cmd_explain, "explain a troubleshooting id or an error message",
     "usage: lab explain <TS-id>\n"
     "       lab explain \"<error text>\"      (or - to read the text from stdin)\n"
     "       lab explain --list\n"
     "\n"
     "Every failed check and every doctor finding names a troubleshooting entry\n"
     "(TS-...). `lab explain TS-NORM-MISMATCH` prints it: symptoms, causes, fixes.\n"
     "Given the text of an error instead, lab ranks the entries whose patterns\n"
     "match it and prints the best one, e.g.\n"
     "  python train.py 2>&1 | lab explain -\n"
     "Exit 1 when no entry matches.\n"},
    {"datasets", cmd_datasets, "list datasets and weights: size, location, present/verified",
     "usage: lab datasets [--verify] [--json]\n"
     "\n"
     "Lists every entry of the dataset and weights registry (datasets/*.json)\n"
     "with its size, where it is (or would be) and its status: missing,\n"
     "partial, present (not hashed yet), verified or MISMATCH. Local copies\n"
     "(e.g. Debian's /usr/share/datasets/fashion-mnist) count as present.\n"
     "\n"
     "  --verify  hash every present file against the manifest's checksums\n"
     "  --json    print a JSON array instead of a table\n"},
    {"fetch", cmd_fetch, "download datasets and weights into the cache",
     "usage: lab fetch <name | lab-id | all> [--dry-run]\n"
     "       lab fetch --url URL [--url MIRROR ...] --sha256 HEX -o PATH\n"
     "\n"
     "Downloads what a dataset, a lab (both its full and quick data) or every\n"
     "entry needs, resuming partial downloads (<file>.part, HTTP Range), trying\n"
     "mirrors in order, verifying checksums before the file is put in place.\n"
     "\n"
     "  --dry-run     say what would be downloaded, and from where; download nothing\n"
     "  --url URL     download one file (instructors, tests); repeat for mirrors ...\n"
     "  --sha256 HEX  ... checking it against this sha256 ...\n"
     "  -o PATH       ... into PATH\n"
     "\n"
     "Environment: LAB_MIRROR=<base URL> tries <base>/<name>/<file> first;\n"
     "LAB_OFFLINE=1 (or HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE) never opens a\n"
     "connection; HF_TOKEN / HUGGING_FACE_HUB_TOKEN for Hugging Face;\n"
     "https_proxy / http_proxy / no_proxy are honoured; LAB_FETCH_RETRIES\n"
     "(default 4) and LAB_FETCH_BACKOFF_MS (default 1000) tune retries.\n"},
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
    {"grades", cmd_grades, "export grades, write feedback pages, find duplicates (from a gradebook)",
     "usage: lab grades export [--db FILE] [--csv | --json] [--lab ID] [-o FILE]\n"
     "       lab grades feedback [--db FILE] --out DIR [--lab ID]\n"
     "       lab grades duplicates [--db FILE] [--lab ID] [--json]\n"
     "\n"
     "Reads the gradebook written by `lab grade --batch` (docs/batch-grading.md).\n"
     "Each student counts with their latest submission per lab; submissions whose\n"
     "student id is missing or claimed twice are left out and listed on stderr\n"
     "(lab explain TS-STUDENT-ID).\n"
     "\n"
     "  export       one row per student and lab, ready for an LMS upload: student,\n"
     "               lab, score (after the late penalty), max_score, status,\n"
     "               late_penalty (%), graded_at, grader_version, raw_score,\n"
     "               late_days, name, lms, lms_user, source\n"
     "  feedback     DIR/index.html (class summary: score histogram, failure rate\n"
     "               per check) and one self-contained page per student: their\n"
     "               checks, the troubleshooting text of each failure, their plots\n"
     "  duplicates   students whose model or predictions files are byte-identical,\n"
     "               or whose weights are equal: a reason to look, not a verdict\n"
     "\n"
     "  --db FILE    the gradebook (default ./gradebook.sqlite)\n"
     "  --lab ID     only this lab\n"
     "  --csv        export as CSV (the default; fields a spreadsheet would run as\n"
     "               formulas are prefixed with ')\n"
     "  --json       export, or the duplicates report, as JSON\n"
     "  -o, --out    export: write FILE instead of stdout; feedback: the folder\n"},
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
