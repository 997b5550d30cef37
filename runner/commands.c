#include "containers/engine.h"
#include "runner/cli.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

const struct lab_opt lab_no_options[] = {{0}};

const struct lab_command lab_commands[] = {
    {"run", cmd_run, "run a lab: train, evaluate, write artifacts",
     "usage: lab run <lab-id> [options]\n"
     "\n"
     "Runs a lab and writes its run directory (printed last as `run dir: <path>`):\n"
     "config.json, metrics.json, models/<name>/{model,predictions}.safetensors,\n"
     "plots/*.png, comparison.md and log.txt. The run is recorded in the store\n"
     "(`lab runs` lists them). A lab whose code is not in this version is an error\n"
     "(exit 2); `lab list` says what each lab can run.\n"
     "\n",
     lab_run_options,
     "\n"
     "Ctrl-C saves a checkpoint, marks the run interrupted and exits 130 (in a container too:\n"
     "lab stops it; Ctrl-C twice kills it).\n", NULL, NULL},
    {"list", cmd_list, "list the labs and their last run",
     "usage: lab list [--json]\n"
     "\n"
     "Lists the labs of the module with their titles, what each can run in this\n"
     "version (full, quick, grading, or \"no code yet\") and its last finished run\n"
     "recorded in the store ($LAB_HOME/lab.db); a failed attempt since is noted\n"
     "after it. `lab runs` shows the whole history.\n"
     "\n",
     lab_list_options, NULL, NULL, NULL},
    {"info", cmd_info, "show a lab: objectives, data, models, configuration",
     "usage: lab info <lab-id> [--json]\n"
     "\n"
     "Shows a lab's title, objectives, datasets, models (with parameter counts),\n"
     "its configuration as the dotted keys `lab run --set` takes (with the values\n"
     "--quick changes), the rubric the grader applies, and its last run.\n"
     "\n",
     lab_info_options, NULL, NULL, NULL},
    {"runs", cmd_runs, "list the run history: id, lab, model, mode, status, headline metric",
     "usage: lab runs [LAB] [--limit N] [--json]\n"
     "\n"
     "Lists the runs recorded in the store ($LAB_HOME/lab.db), newest first: the\n"
     "run id, lab, model(s), mode (full or quick), status, the headline metric\n"
     "and the run directory. Where a command takes a run directory (`lab submit`,\n"
     "`lab grade`, `lab run --resume`), a run id from this list or `last` works too.\n"
     "\n",
     lab_runs_options, NULL, NULL, NULL},
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
     "Exit 1 when no entry matches.\n"
     "\n",
     lab_explain_options, NULL, NULL, NULL},
    {"datasets", cmd_datasets, "list datasets and weights: size, location, present/verified",
     "usage: lab datasets [--verify] [--json]\n"
     "       lab datasets --export-yolo SET --out DIR [--split val|train]\n"
     "\n"
     "Lists every entry of the dataset and weights registry (datasets/*.json)\n"
     "with its size, where it is (or would be) and its status: missing,\n"
     "partial, present (not hashed yet), verified or MISMATCH. Local copies\n"
     "(e.g. Debian's /usr/share/datasets/fashion-mnist) count as present.\n"
     "\n"
     "--export-yolo writes a set of Fashion-MNIST detection mosaics (the name\n"
     "a 2.2.3 quick run's predictions give as eval_set) in the Ultralytics/YOLO\n"
     "layout, for `lab val 2.2.3`, `lab run 2.2.3 --set data.dataset=DIR` or\n"
     "Ultralytics' `yolo val data=DIR/data.yaml`.\n"
     "\n",
     lab_datasets_options, NULL, NULL, NULL},
    {"fetch", cmd_fetch, "download datasets and weights into the cache",
     "usage: lab fetch <name | lab-id | all> [--dry-run]\n"
     "       lab fetch --url URL [--url MIRROR ...] --sha256 HEX -o PATH\n"
     "\n"
     "Downloads what a dataset, a lab (both its full and quick data) or every\n"
     "entry needs, resuming partial downloads (<file>.part, HTTP Range), trying\n"
     "mirrors in order, verifying checksums before the file is put in place.\n"
     "\n",
     lab_fetch_options,
     "\n"
     "Environment: LAB_MIRROR=<base URL> tries <base>/<name>/<file> first;\n"
     "LAB_OFFLINE=1 (or HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE) never opens a\n"
     "connection; HF_TOKEN / HUGGING_FACE_HUB_TOKEN for Hugging Face;\n"
     "https_proxy / http_proxy / no_proxy are honoured; LAB_FETCH_RETRIES\n"
     "(default 4) and LAB_FETCH_BACKOFF_MS (default 1000) tune retries.\n", NULL, NULL},
    {"doctor", cmd_doctor, "diagnose the machine, GPU, container, caches and network, with fixes",
     "usage: lab doctor [--json] [--check ID]... [--full] [--strict] [--list-checks]\n"
     "\n"
     "Checks the system, the NVIDIA driver and GPUs, the container, the caches,\n"
     "the network and the environment, each in about a second, and says what to\n"
     "type to fix each problem, with its troubleshooting id (docs/troubleshooting).\n"
     "The report of a whole run is kept in the store ($LAB_HOME/lab.db).\n"
     "\n",
     lab_doctor_options,
     "\n"
     "Network checks are skipped when HF_HUB_OFFLINE, TRANSFORMERS_OFFLINE or\n"
     "LAB_OFFLINE is set to 1/true/yes/on. NO_COLOR or a non-terminal gives\n"
     "ASCII markers ([ok] [warn] [FAIL] [CRASH] [skip]).\n"
     "\n"
     "exit codes: 0 no failures, 1 failures (or warnings with --strict), 2 usage\n", NULL, NULL},
    {"predict", cmd_predict, "run a lab's model on your own images",
     "usage: lab predict <lab> --weights RUN-DIR|FILE --source IMAGE|DIR --out DIR [--model NAME] [--device D]\n"
     "\n"
     "Runs a trained model on PNG/JPEG images (EXIF orientation applied): each is\n"
     "resized to the lab's input and put through the lab's eval transform (the run's\n"
     "normalization). Writes DIR/predictions.json (per image: the top-5 class ids,\n"
     "names and probabilities) and DIR/outputs.safetensors (\"logits\" [N, classes],\n"
     "in the same order), so a run's weights can be checked against PyTorch on any\n"
     "image. Classify labs (2.2.1, 2.2.5) in this version.\n"
     "\n",
     lab_predict_options, NULL, NULL, NULL},
    {"val", cmd_val, "evaluate detection weights on a YOLO-format dataset, as yolo val",
     "usage: lab val 2.2.3 --weights FILE --data PATH/data.yaml --out DIR [--split val] [--imgsz 640]\n"
     "                     [--batch 16] [--conf 0.001] [--iou 0.7] [--max-det 300] [--device D]\n"
     "\n"
     "Evaluates YOLOv8 weights (an Ultralytics .pt, a run's model.safetensors or a\n"
     "state dict) on a split of a dataset in the Ultralytics/YOLO layout (data.yaml,\n"
     "images/<split>, labels/<split> with `class cx cy w h` normalized), as\n"
     "Ultralytics' `yolo val` does: each image letterboxed to imgsz, NMS, boxes back\n"
     "in the image's pixels. Prints the per-class table (Class, Images, Instances,\n"
     "P, R, mAP50, mAP50-95, `all` first) and writes DIR/val.json: COCO's\n"
     "(pycocotools) and Ultralytics' figures, per class, the settings and the\n"
     "weights' and dataset's sha256. docs/labs/2.2.3.md says where it differs from\n"
     "yolo val (square letterbox, not rect batches).\n"
     "\n",
     lab_val_options, NULL, NULL, NULL},
    {"submit", cmd_submit, "pack a finished run into a submission archive",
     "usage: lab submit <run-dir | run-id | last> --student ID [-o FILE] [--weights q4|exact]\n"
     "\n"
     "Packs a finished run (every model done) into <student>-<lab>.tar.gz: the run's\n"
     "files, a submission.json (lab, student, time, lab version and the environment:\n"
     "device, GPU, driver, CUDA/cuDNN/libtorch versions, precision, seed, the last\n"
     "`lab doctor` summary) and MANIFEST.sha256 over everything. Checkpoints are left\n"
     "out. Weights go in with their big tensors at 4 bits (a complete 2.2.1\n"
     "submission fits a 50 MB upload limit); `--weights exact` keeps them as trained.\n"
     "docs/submission-format.md describes the format. The run is a directory,\n"
     "a run id from `lab runs` or `last` (the latest run).\n"
     "\n",
     lab_submit_options, NULL, NULL, NULL},
    {"autograder", cmd_autograder, "write what Gradescope or PrairieLearn needs to grade a lab with lab",
     "usage: lab autograder gradescope|prairielearn <lab-id> [--reeval] [-o PATH]\n"
     "\n"
     "gradescope: writes autograder-<lab>-gradescope.zip (setup.sh, run_autograder,\n"
     "this lab binary, rubric.json) to upload as a programming assignment's\n"
     "autograder. prairielearn: writes prairielearn-<lab>/, a question for its\n"
     "external grader (info.json, question.html, tests/run.sh, the binary,\n"
     "tests/rubric.json). Either wrapper grades what the student uploaded (the\n"
     "archive itself, or its files) and always writes the platform's\n"
     "results.json. docs/grading.md has the steps.\n"
     "\n",
     lab_autograder_options, NULL, NULL, NULL},
    {"grade", cmd_grade, "grade a submission with its lab's rubric",
     "usage: lab grade <submission> [--lab ID] [--format F] [--out FILE] [--reeval]\n"
     "                 [--device D] [--data DIR] [--check-timeout S]\n"
     "       lab grade --batch <folder | bulk.zip> --lab ID [--db FILE] [--jobs N]\n"
     "                 [--timeout S] [--mem MB] [--reeval] [--regrade]\n"
     "                 [--due TIME --late-penalty PCT/day] [--device D] [--data DIR] [--json]\n"
     "\n"
     "Runs the lab's rubric on a submission (a .tar.gz/.zip archive or a directory):\n"
     "integrity, shapes, values, normalization, results, honesty, and with --reeval\n"
     "the submitted weights run again. Each check has an id, points and a status\n"
     "(pass, fail, error, timeout, skipped, not_gradable); a failure names its\n"
     "troubleshooting entry (`lab explain <TS-id>`). docs/grading.md lists the checks.\n"
     "A run id from `lab runs` or `last` grades that run's directory as it stands (the\n"
     "checks that need no submission.json, as `lab run`'s self-check does).\n"
     "\n",
     lab_grade_options,
     "\n"
     "exit codes: 0 every check passed, 1 a check failed (or errored, or timed out),\n"
     "2 usage, 3 the submission is not gradable (unreadable, wrong lab, no manifest)\n"
     "\n"
     "Batch grading (docs/batch-grading.md): every submission in a folder (archives,\n"
     "or folders holding submission.json) or in an LMS bulk-download zip (Canvas and\n"
     "Moodle file names give the student when submission.json does not), each in its\n"
     "own child process with limits, recorded in a gradebook, one transaction each.\n"
     "A crash, timeout or out-of-memory is recorded as such and earns nothing; the\n"
     "batch goes on. Rerunning skips what is already graded (Ctrl-C or kill are safe).\n"
     "\n",
     lab_grade_batch_options,
     "\n"
     "Per submission: at most 2 GiB and 10,000 files unpacked, compression ratio 200.\n"
     "exit codes: 0 all graded and every student id clear, 1 some not graded or ids\n"
     "to check (listed), 2 usage, 3 gradebook or staging problem, 130 interrupted\n"
     "\n"
     "On a Slurm cluster (docs/cluster.md): add --slurm. The submissions are staged once\n"
     "in a spool on shared storage; one job array grades them, a collect job after it\n"
     "records them in the gradebook (the only writer; keep --db off NFS). The options\n"
     "from --slurm on in the list above go with it;\n"
     "       lab grade --collect SPOOL [--db FILE] [--json]: record what is graded so far\n"},
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
     "\n",
     lab_grades_options, NULL, NULL, NULL},
    {"ps", cmd_ps, "list the containers lab runs started; remove ones left behind",
     "usage: lab ps [--engine docker|podman] [--clean] [--json]\n"
     "\n"
     "Lists the containers started by `lab run --engine docker|podman` (found by\n"
     "their lab.* labels), named lab-<lab id>-<pid of the lab that started it>,\n"
     "and says when that lab process is gone (the container was left behind by a\n"
     "killed runner).\n"
     "\n",
     lab_ps_options, NULL, NULL, NULL},
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
     "\n",
     lab_image_options, NULL, NULL, NULL},
    {"version", cmd_version, "show lab's version and how it was built",
     "usage: lab version   (or lab --version, lab -v)\n"
     "\n"
     "Prints lab's version, the libtorch it was built against, whether that\n"
     "libtorch has CUDA compiled in, and the compile flags.\n", lab_no_options, NULL, NULL, NULL},
    {"help", cmd_help, "show help for lab or one command",
     "usage: lab help [command]\n"
     "\n"
     "Without a command, lists every command. `lab <command> --help` is the same\n"
     "as `lab help <command>`.\n", lab_no_options, NULL, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL},
};

const struct lab_command *lab_command_find(const char *name)
{
    for (const struct lab_command *c = lab_commands; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

void lab_cli_print_help(FILE *f, const struct lab_command *c)
{
    fputs(c->usage, f);
    if (c->options && c->options[0].name)
        lab_opts_print_help(f, c->options);
    if (c->epilog)
        fputs(c->epilog, f);
    if (c->options2)
        lab_opts_print_help(f, c->options2);
    if (c->epilog2)
        fputs(c->epilog2, f);
}
