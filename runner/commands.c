#include "runner/cli.h"
#include "runner/engine.h"

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
     "  --engine E            where to run: native (default), docker, podman, or auto (podman,\n"
     "                        else docker, else native); also LAB_ENGINE or \"engine\" in\n"
     "                        $LAB_HOME/config.json. docker/podman run the lab in the course image\n"
     "                        with --gpus all --ipc=host, the workspace at /workspace\n"
     "                        (docs/containers.md)\n"
     "  --image NAME          the container image (default lab-course:<version>); also LAB_IMAGE\n"
     "                        or \"image\" in $LAB_HOME/config.json\n"
     "  --dry-run             print the exact command that would run, and run nothing\n"
     "\n"
     "Ctrl-C saves a checkpoint, marks the run interrupted and exits 130 (in a container too:\n"
     "lab stops it; Ctrl-C twice kills it).\n"},
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
    {"ps", cmd_ps, "list the containers lab runs started; remove ones left behind",
     "usage: lab ps [--engine docker|podman] [--clean] [--json]\n"
     "\n"
     "Lists the containers started by `lab run --engine docker|podman` (found by\n"
     "their lab.* labels), named lab-<lab id>-<pid of the lab that started it>,\n"
     "and says when that lab process is gone (the container was left behind by a\n"
     "killed runner).\n"
     "\n"
     "  --engine E    ask only this engine (default: every one installed)\n"
     "  --clean       remove the containers whose lab process on this host is gone\n"
     "  --json        print a JSON array instead of a table\n"},
    {"image", cmd_image, "build or check the container image the labs run in",
     "usage: lab image build [--engine E] [--source DIR] [--image NAME] [--dry-run]\n"
     "       lab image build --local [--engine E] [--dry-run]\n"
     "       lab image check [--engine E] [--image NAME | --local] [--json]\n"
     "\n"
     "build          builds the course image (default lab-course:<version>) from\n"
     "               containers/Containerfile: NVIDIA's PyTorch container\n"
     "               (" LAB_IMAGE_BASE ") with lab compiled inside against its\n"
     "               CUDA libtorch. Needs access to nvcr.io.\n"
     "build --local  makes lab-local:<version> from this machine's lab, its shared\n"
     "               libraries and Fashion-MNIST, with no registry access (classrooms\n"
     "               without NGC access, tests). CPU only unless lab was built with CUDA.\n"
     "check          says whether the image exists and holds this lab's version\n"
     "               (its lab.version label); exit 3 when not.\n"
     "\n"
     "  --engine E    docker or podman (default: LAB_ENGINE or the config file when\n"
     "                they name one, else podman, else docker)\n"
     "  --image NAME  the image to build or check (default: LAB_IMAGE, the config\n"
     "                file's \"image\", else lab-course:<version>)\n"
     "  --local       the minimal local image, lab-local:<version>\n"
     "  --source DIR  lab's source tree, holding containers/ (default: .)\n"
     "  --dry-run     print the engine command, run nothing\n"
     "  --json        (check) print {engine, image, exists, version, lab_version, matches}\n"},
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
