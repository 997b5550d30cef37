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
    {"submit", cmd_submit, "pack a finished run into a submission archive",
     "usage: lab submit <run-dir> --student ID [-o FILE]\n"
     "\n"
     "Packs a finished run (every model done) into <student>-<lab>.tar.gz: the run's\n"
     "files, a submission.json (lab, student, time, lab version and the environment:\n"
     "device, GPU, driver, CUDA/cuDNN/libtorch versions, precision, seed, the last\n"
     "`lab doctor` summary) and MANIFEST.sha256 over everything. Checkpoints are left\n"
     "out. docs/submission-format.md describes the format.\n"
     "\n"
     "  --student ID   your course login: 1-64 letters, digits or . _ @ + -\n"
     "  -o, --out FILE the archive to write (default <student>-<lab>.tar.gz here)\n"},
    {"grade", cmd_grade, "grade a submission with its lab's rubric",
     "usage: lab grade <submission> [--lab ID] [--format F] [--out FILE] [--reeval]\n"
     "                 [--device D] [--data DIR] [--check-timeout S]\n"
     "\n"
     "Runs the lab's rubric on a submission (a .tar.gz/.zip archive or a directory):\n"
     "integrity, shapes, values, normalization, results, honesty, and with --reeval\n"
     "the submitted weights run again. Each check has an id, points and a status\n"
     "(pass, fail, error, timeout, skipped, not_gradable); a failure names its\n"
     "troubleshooting entry (`lab explain <TS-id>`). docs/grading.md lists the checks.\n"
     "\n"
     "  --lab ID            grade as this lab; a submission of another lab is not gradable\n"
     "  --format F          text (default), json, gradescope (results.json),\n"
     "                      prairielearn (external grading results)\n"
     "  --out FILE          write the report to FILE (atomically) instead of stdout\n"
     "  --reeval            load the weights into the lab's model and re-run the eval images\n"
     "  --device D          for --reeval: auto (default), cpu, cuda or cuda:N\n"
     "  --data DIR          the directory holding the eval split (default: as the labs find it)\n"
     "  --check-timeout S   give every check S seconds instead of its own budget\n"
     "\n"
     "exit codes: 0 every check passed, 1 a check failed (or errored, or timed out),\n"
     "2 usage, 3 the submission is not gradable (unreadable, wrong lab, no manifest)\n"},
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
