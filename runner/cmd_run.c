#include "base/error.h"
#include "base/fsutil.h"
#include "base/jsonio.h"
#include "base/paths.h"
#include "containers/engine.h"
#include "containers/slurm_run.h"
#include "grader/grade.h"
#include "grader/pack.h"
#include "grader/report_format.h"
#include "labs/config.h"
#include "labs/lab.h"
#include "labs/run.h"
#include "runner/cli.h"
#include "store/store.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_SETS 64

struct run_args {
    const char *lab_id;
    int quick, json, verbose;
    const char *device, *precision, *out, *resume, *student;
    const char *sets[MAX_SETS + 8]; /* --set, then the flags as assignments */
    size_t n_sets;
    char flag_sets[8][96];
    size_t n_flag_sets;
};

static void on_signal(int sig)
{
    (void)sig;
    lab_interrupted = 1;
}

static int add_flag_set(struct run_args *a, const char *key, const char *value)
{
    if (a->n_flag_sets == 8)
        return lab_cli_usage("run", "too many flags");
    snprintf(a->flag_sets[a->n_flag_sets], sizeof a->flag_sets[0], "%s=%s", key, value);
    a->sets[a->n_sets++] = a->flag_sets[a->n_flag_sets++];
    return LAB_OK;
}

enum { O_QUICK = 1, O_MODEL, O_DEVICE, O_PREC, O_EPOCHS, O_BATCH, O_LR, O_SET, O_SEED, O_OUT, O_RESUME, O_JSON,
       O_ENGINE, O_IMAGE, O_DRY, O_VERBOSE, O_PARTITION, O_GRES, O_TIME, O_ACCOUNT, O_STUDENT };
static const char *const precisions[] = {"auto", "bf16", "fp32", NULL};

/* --engine, --image, --dry-run and sbatch's options are taken out by lab_engine_take_args
 * before parsing; they are here for --help and "did you mean". */
const struct lab_opt lab_run_options[] = {
    {O_QUICK, "quick", 0, LAB_OPT_FLAG, NULL, "the lab's quick mode: small real data, minutes on a CPU", 0, 0, NULL},
    {O_MODEL, "model", 0, LAB_OPT_STR, "NAME|all", "which model(s) to train (see `lab info <id>`)", 0, 0, NULL},
    {O_DEVICE, "device", 0, LAB_OPT_STR, "D", "auto (default), cpu, cuda or cuda:N", 0, 0, NULL},
    {O_PREC, "precision", 0, LAB_OPT_CHOICE, "P", "auto (default: bf16 where the device has it natively), bf16, fp32", 0, 0,
     precisions},
    {O_EPOCHS, "epochs", 0, LAB_OPT_INT, "N", "same as --set train.epochs=N (0 to 10000; 0 only evaluates)", 0, 10000, NULL},
    {O_BATCH, "batch-size", 0, LAB_OPT_INT, "N", "same as --set train.batch_size=N (1 to 65536)", 1, 65536, NULL},
    {O_LR, "lr", 0, LAB_OPT_NUM, "X", "same as --set train.lr=X (0 to 10)", 0, 10, NULL},
    {O_SEED, "seed", 0, LAB_OPT_INT, "N", "same as --set seed=N (same seed, device, precision: same results)", 0,
     9007199254740992.0, NULL},
    {O_STUDENT, "student", 0, LAB_OPT_STR, "ID", "your course login; without --seed the run's seed is derived from it,\nso each student's run is their own and repeatable (docs/grading.md)", 0, 0, NULL},
    {O_SET, "set", 0, LAB_OPT_STR, "KEY=VALUE", "change any configuration key (dotted path, e.g. train.momentum=0.8);\n`lab info <id>` lists them; repeatable", 0, 0, NULL},
    {O_OUT, "out", 0, LAB_OPT_STR, "DIR", "run directory (default $LAB_HOME/runs/<id>/<time>); must be empty", 0, 0, NULL},
    {O_RESUME, "resume", 0, LAB_OPT_STR, "RUN", "continue an interrupted run from its last checkpoint: its directory,\nits id in `lab runs`, or last", 0, 0, NULL},
    {O_JSON, "json", 0, LAB_OPT_FLAG, NULL, "print only a JSON summary on stdout (progress goes to stderr)", 0, 0, NULL},
    {O_VERBOSE, "verbose", 'v', LAB_OPT_FLAG, NULL, "the self-check lists every check, not only those that fail", 0, 0, NULL},
    {O_ENGINE, "engine", 0, LAB_OPT_STR, "E", "where to run: native (default), docker, podman, or auto (podman,\nelse docker, else native); also LAB_ENGINE or \"engine\" in\n$LAB_HOME/config.json. docker/podman run the lab in the course image\nwith --gpus all --ipc=host, the workspace at /workspace\n(docs/containers.md). slurm runs it on a cluster node through sbatch\n(docs/cluster.md): the log is streamed here, the lab's exit code\nreturned; with --image, in that image with the node's podman", 0, 0, NULL},
    {O_IMAGE, "image", 0, LAB_OPT_STR, "NAME", "the container image (default lab-course:<version>); also LAB_IMAGE\nor \"image\" in $LAB_HOME/config.json", 0, 0, NULL},
    {O_DRY, "dry-run", 0, LAB_OPT_FLAG, NULL, "print the exact command (or batch script) that would run, and run nothing", 0, 0, NULL},
    {O_PARTITION, "partition", 0, LAB_OPT_STR, "P", "sbatch's own, for --engine slurm", 0, 0, NULL},
    {O_GRES, "gres", 0, LAB_OPT_STR, "G", "sbatch's own (e.g. gpu:1), for --engine slurm", 0, 0, NULL},
    {O_TIME, "time", 0, LAB_OPT_STR, "T", "sbatch's own, for --engine slurm", 0, 0, NULL},
    {O_ACCOUNT, "account", 0, LAB_OPT_STR, "A", "sbatch's own, for --engine slurm", 0, 0, NULL},
    {0},
};

static int parse_args(int argc, char **argv, struct run_args *a, struct lab_opts *p)
{
    memset(a, 0, sizeof *a);
    a->device = "auto";
    a->precision = "auto";
    lab_opts_init(p, "run", lab_run_options, argc, argv);
    int c, rc = LAB_OK;
    while (!rc && (c = lab_opts_next(p)) > 0) {
        const char *v = p->value;
        switch (c) {
        case O_QUICK: a->quick = 1; break;
        case O_JSON: a->json = 1; break;
        case O_VERBOSE: a->verbose = 1; break;
        case O_DEVICE: a->device = v; break;
        case O_PREC: a->precision = v; break;
        case O_OUT: a->out = v; break;
        case O_RESUME: a->resume = v; break;
        case O_MODEL: rc = add_flag_set(a, "model", v); break;
        case O_EPOCHS: rc = add_flag_set(a, "train.epochs", v); break;
        case O_BATCH: rc = add_flag_set(a, "train.batch_size", v); break;
        case O_LR: rc = add_flag_set(a, "train.lr", v); break;
        case O_SEED: rc = add_flag_set(a, "seed", v); break;
        case O_STUDENT: a->student = v; break;
        case O_SET:
            if (a->n_sets >= MAX_SETS)
                return lab_cli_usage("run", "more than %d --set assignments", MAX_SETS);
            a->sets[a->n_sets++] = v;
            break;
        default: /* --engine, --image, --dry-run, sbatch's: already taken */ break;
        }
    }
    if (rc)
        return rc;
    if (c < 0)
        return c;
    if (p->npos != 1)
        return lab_cli_usage("run", "run takes exactly one lab id, e.g. `lab run 2.2.1 --quick`");
    a->lab_id = p->pos[0];
    if (a->student) {
        if (!pack_student_ok(a->student))
            return lab_cli_usage("run", "--student '%.80s' is not a course login: use 1-64 letters, digits or . _ @ + -",
                                 a->student);
        int seeded = 0;
        for (size_t i = 0; i < a->n_sets; i++)
            seeded |= !strncmp(a->sets[i], "seed=", 5);
        char seed[24];
        snprintf(seed, sizeof seed, "%lld", pack_student_seed(a->student));
        if (!seeded && (rc = add_flag_set(a, "seed", seed)))
            return rc;
    }
    if (a->resume && (a->n_sets || a->quick || a->out))
        return lab_cli_usage("run", "--resume continues a run with its own configuration; drop the other flags");
    return LAB_OK;
}

/* A directory where a run failed before it made anything (missing data, a
 * value only the lab could check): it holds the attempt's config.json,
 * metrics.json and log.txt at most, with empty models/ and plots/. A rerun
 * into it is allowed; its log keeps the earlier error. */
static int holds_failed_start(const char *path)
{
    static const char *const files[] = {"config.json", "metrics.json", "log.txt", NULL};
    static const char *const dirs[] = {"models", "plots", NULL};
    DIR *d = opendir(path);
    if (!d)
        return 0;
    struct dirent *e;
    int ok = 1, has_config = 0;
    while (ok && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        int known = 0;
        for (size_t i = 0; files[i]; i++)
            known |= !strcmp(e->d_name, files[i]);
        for (size_t i = 0; dirs[i] && !known; i++) {
            char sub[4200];
            snprintf(sub, sizeof sub, "%s/%s", path, dirs[i]);
            known = !strcmp(e->d_name, dirs[i]) && lab_is_dir(sub) && lab_dir_is_empty(sub);
        }
        has_config |= !strcmp(e->d_name, "config.json");
        ok = known;
    }
    closedir(d);
    if (!ok || !has_config)
        return 0;
    char cfg[4200];
    snprintf(cfg, sizeof cfg, "%s/config.json", path);
    json_t *config = NULL;
    int is_run = lab_json_load(cfg, &config) == LAB_OK && json_is_string(json_object_get(config, "lab"));
    json_decref(config);
    lab_err_clear();
    return is_run;
}

static int make_run_dir(const struct run_args *a, struct lab_run *r)
{
    if (a->resume) {
        snprintf(r->dir, sizeof r->dir, "%s", a->resume);
        return LAB_OK;
    }
    if (a->out) {
        if (!lab_dir_is_empty(a->out) && !holds_failed_start(a->out))
            return lab_err(LAB_EUSAGE, "choose an empty or new --out directory, or continue it with --resume",
                           "%s already holds files; lab never overwrites a run", a->out);
        snprintf(r->dir, sizeof r->dir, "%s", a->out);
    } else {
        char base[4096], stamp[32];
        time_t t = time(NULL);
        struct tm tm;
        localtime_r(&t, &tm);
        strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
        int rc = lab_dir_ensure(LAB_DIR_HOME, "runs", base, sizeof base);
        if (rc)
            return rc;
        snprintf(r->dir, sizeof r->dir, "%s/%s/%s", base, a->lab_id, stamp);
        /* two runs started in the same second get -2, -3 ... */
        for (int i = 2; !lab_dir_is_empty(r->dir) && i < 100; i++)
            snprintf(r->dir, sizeof r->dir, "%s/%s/%s-%d", base, a->lab_id, stamp, i);
    }
    return lab_mkdir_p(r->dir);
}

static int load_resumed_config(const struct run_args *a, struct lab_run *r)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/config.json", a->resume);
    if (!lab_path_exists(path))
        return lab_err(LAB_EUSAGE, "give --resume the run directory printed as `run dir:`",
                       "%s is not a lab run directory (no config.json)", a->resume);
    int rc = lab_json_load(path, &r->config);
    if (rc)
        return rc;
    const char *lab = lab_cfg_str(r->config, "lab", "");
    if (strcmp(lab, a->lab_id) != 0)
        return lab_err(LAB_EUSAGE, "resume it as that lab, or give the run directory of this lab (`lab runs` lists them)",
                       "%s holds a run of lab %s, not %s", a->resume, lab, a->lab_id);
    char metrics[4200];
    snprintf(metrics, sizeof metrics, "%s/metrics.json", a->resume);
    if (lab_path_exists(metrics) && (rc = lab_json_load(metrics, &r->metrics)))
        return rc;
    r->resume = 1;
    return LAB_OK;
}

static int resolve_config(const struct run_args *a, const struct lab_impl *impl, struct lab_run *r)
{
    int rc = lab_config_resolve(r->manifest, a->quick, &r->config);
    for (size_t i = 0; !rc && i < a->n_sets; i++)
        rc = lab_config_set(r->config, a->sets[i]);
    if (!rc)
        rc = lab_config_validate(r->config);
    if (!rc && impl->validate)
        rc = impl->validate(r->config);
    return rc;
}

static int start_run(const struct run_args *a, const struct lab_impl *impl, struct lab_run *r)
{
    int rc = a->resume ? load_resumed_config(a, r) : resolve_config(a, impl, r);
    if (rc)
        return rc;
    const char *device = a->resume ? lab_cfg_str(r->config, "device", "auto") : a->device;
    const char *precision = a->resume ? lab_cfg_str(r->config, "precision", "auto") : a->precision;
    if (impl->fp32_only && !strcmp(precision, "bf16"))
        return lab_err(LAB_EUSAGE, "drop --precision (or use --precision fp32)",
                       "lab %s trains in fp32 only in lab %s (no bf16 autocast path yet)", a->lab_id, LAB_VERSION);
    int forced = impl->fp32_only && strcmp(precision, "fp32");
    if (impl->fp32_only)
        precision = "fp32";
    if ((rc = lab_choose_device(device, precision, &r->dev)))
        return rc;
    if (forced)
        snprintf(r->dev.reason, sizeof r->dev.reason, "lab %s trains in fp32 only in this version", a->lab_id);
    /* A mode may name what --precision auto means on a CPU ("cpu_precision"
     * in lab.json: 2.2.2's quick mode, whose target was met in fp32 only). */
    const char *cpu_prec = lab_cfg_str(r->config, "cpu_precision", "");
    if (!a->resume && !impl->fp32_only && !strcmp(precision, "auto") && r->dev.device == TS_CPU &&
        (!strcmp(cpu_prec, "fp32") || !strcmp(cpu_prec, "bf16"))) {
        if ((rc = lab_choose_device(device, cpu_prec, &r->dev)))
            return rc;
        snprintf(r->dev.reason, sizeof r->dev.reason, "lab %s's %s mode trains in %s on a CPU (lab.json cpu_precision; "
                 "--precision overrides)", a->lab_id, a->quick ? "quick" : "full", cpu_prec);
    }
    if ((rc = lab_use_all_cpus(&r->dev)))
        return rc;
    if ((rc = make_run_dir(a, r)))
        return rc;
    if (!a->resume) {
        json_object_set_new(r->config, "lab", json_string(a->lab_id));
        json_object_set_new(r->config, "device", json_string(r->dev.device_name));
        json_object_set_new(r->config, "precision", json_string(r->dev.precision));
        char path[4200];
        snprintf(path, sizeof path, "%s/config.json", r->dir);
        if ((rc = lab_json_save(path, r->config)))
            return rc;
    }
    if (!r->metrics)
        r->metrics = json_object();
    char log[4200];
    snprintf(log, sizeof log, "%s/log.txt", r->dir);
    r->log = fopen(log, "a");
    if (!r->log)
        return lab_err(LAB_EENV, "check the run directory's permissions", "cannot open %s", log);
    return LAB_OK;
}

/* The grader's checks on the fresh run directory (those that need no
 * submission): one summary line when all pass, else the failing ones as
 * ✗ lines with troubleshooting ids; `verbose` prints every check. Kept in
 * log.txt too; returns how many did not pass. */
static int self_check(struct lab_run *r, int verbose)
{
    struct grade_opts opts = {.device = "cpu"};
    struct grade_report *rep = NULL;
    if (grade_run_dir(r->dir, &opts, &rep) != LAB_OK) {
        lab_say(r, "self-check could not run: %s", lab_err_message());
        lab_err_clear();
        return 1;
    }
    int fancy = isatty(fileno(r->say)) && !getenv("NO_COLOR") && report_utf8_ok();
    size_t total = rep->n_checks, shown = 0, skipped = 0;
    struct check_result *all = rep->checks;
    struct check_result *bad = calloc(total ? total : 1, sizeof *bad);
    for (size_t i = 0; bad && i < total; i++) {
        skipped += all[i].status == CHECK_SKIPPED;
        if (verbose || (all[i].status != CHECK_PASS && all[i].status != CHECK_SKIPPED))
            bad[shown++] = all[i];
    }
    rep->checks = bad ? bad : all;
    rep->n_checks = bad ? shown : total;
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    int failed = mem ? report_print_checks(mem, rep, !fancy, "  ") : 1;
    if (mem)
        fclose(mem);
    rep->checks = all;
    rep->n_checks = total;
    free(bad);
    if (failed)
        lab_say(r, "self-check: %d of %zu of the grader's checks did not pass:", failed, total);
    else if (skipped)
        lab_say(r, "self-check: all %zu of the grader's checks passed, %zu skipped%s", total - skipped, skipped,
                verbose ? ":" : " (-v lists them)");
    else
        lab_say(r, "self-check: all %zu of the grader's checks passed%s", total, verbose ? ":" : " (-v lists them)");
    for (char *line = failed || verbose ? text : NULL, *nl; line && *line; line = nl + 1) {
        nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        lab_say(r, "%s", line);
        if (!nl)
            break;
    }
    free(text);
    grade_report_free(rep);
    return failed;
}

static int no_code(const char *lab_id)
{
    return lab_err(LAB_EUSAGE, "`lab list` shows which labs can run in this version",
                   "lab %s has no code in lab %s yet: its manifest is here (`lab info %s`), its runner is not", lab_id,
                   LAB_VERSION, lab_id);
}

static int no_run(const char *lab_id)
{
    char fix[256];
    snprintf(fix, sizeof fix, "run its models on your images instead: lab predict %s --weights FILE --source IMAGE "
             "--out DIR", lab_id);
    return lab_err(LAB_EUSAGE, fix, "lab %s has models but no full or quick run in lab %s yet", lab_id, LAB_VERSION);
}

static int no_full_mode(const char *lab_id, int has_predict, int own_data)
{
    char fix[384];
    snprintf(fix, sizeof fix, "run its quick mode: lab run %s --quick%s%s%s%s", lab_id,
             own_data ? "; or train on your own dataset: --set data.dataset=PATH/data.yaml" : "",
             has_predict ? "; or its models on your images: lab predict " : "", has_predict ? lab_id : "",
             has_predict ? " --weights FILE --source IMAGE --out DIR" : "");
    return lab_err(LAB_EUSAGE, fix, "lab %s has only a quick mode in lab %s: its full mode is not written yet (`lab info %s`)",
                   lab_id, LAB_VERSION, lab_id);
}

/* Refused here, before any engine, container or batch script is chosen. A
 * resumed run keeps the mode it started in. */
static int runnable(const struct run_args *a)
{
    const struct lab_impl *impl = lab_impl_find(a->lab_id);
    if (!impl)
        return no_code(a->lab_id);
    if (!impl->run)
        return no_run(a->lab_id);
    int own = 0; /* the lab's validate judges the path */
    for (size_t i = 0; impl->own_data && i < a->n_sets; i++)
        own |= strncmp(a->sets[i], "data.dataset=", 13) == 0;
    if (impl->quick_only && !a->quick && !a->resume && !own)
        return no_full_mode(a->lab_id, impl->predict != NULL, impl->own_data);
    return LAB_OK;
}

/* The words a lab inside a container or a Slurm job gets: every one but
 * the lab id, in order; --resume with the directory a run id or `last`
 * stands for. NULL when out of memory. */
static char **engine_options(int argc, char **argv, const struct run_args *a, const char *raw_resume, size_t *n)
{
    char **options = calloc((size_t)argc + 2, sizeof *options);
    *n = 0;
    for (int i = 1; options && i < argc; i++) {
        if (argv[i] == a->lab_id)
            continue;
        if (raw_resume && argv[i] == raw_resume) {
            options[(*n)++] = (char *)a->resume;
        } else if (raw_resume && strncmp(argv[i], "--resume=", 9) == 0) {
            options[(*n)++] = "--resume";
            options[(*n)++] = (char *)a->resume;
        } else {
            options[(*n)++] = argv[i];
        }
    }
    return options;
}

/* --engine docker|podman: checked here, run in the container (runner/engine*.c). */
static int run_in_engine(int argc, char **argv, const struct run_args *a, const char *raw_resume,
                         const struct lab_engine_choice *ec, const struct lab_engine_args *ea)
{
    const json_t *manifest;
    int rc = lab_cli_find_lab(a->lab_id, &manifest);
    if (rc)
        return rc;
    if ((rc = runnable(a)))
        return rc;
    size_t n = 0;
    char **options = engine_options(argc, argv, a, raw_resume, &n);
    if (!options)
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    struct lab_engine_run req = {.lab_id = a->lab_id, .device = a->device, .options = options, .n_options = n};
    rc = lab_engine_run_lab(ec, ea, &req);
    free(options);
    return rc;
}

int cmd_run(int argc, char **argv)
{
    struct run_args a;
    struct lab_engine_args ea;
    struct lab_engine_choice ec;
    int rc = lab_engine_take_args(&argc, argv, &ea);
    int slurm = !rc && ea.engine && strcmp(ea.engine, "slurm") == 0;
    if (!rc && !slurm && (ea.partition || ea.gres || ea.time_limit || ea.account))
        return lab_cli_usage("run", "--partition, --gres, --time and --account go with --engine slurm");
    struct lab_opts p;
    rc = rc ? rc : parse_args(argc, argv, &a, &p);
    if (rc)
        return rc;
    char resume_dir[4096];
    const char *raw_resume = a.resume;
    if (a.resume) {
        if ((rc = lab_cli_run_dir("run", a.resume, a.lab_id, resume_dir, sizeof resume_dir)))
            return rc;
        a.resume = resume_dir;
    }
    if (slurm) { /* containers/slurm_run.c */
        if ((rc = lab_cli_find_lab(a.lab_id, &(const json_t *){NULL})))
            return rc;
        if ((rc = runnable(&a)))
            return rc;
        size_t n = 0;
        char **options = engine_options(argc, argv, &a, raw_resume, &n);
        if (!options)
            return lab_err(LAB_EINTERNAL, NULL, "out of memory");
        struct lab_engine_run req = {.lab_id = a.lab_id, .device = a.device, .options = options, .n_options = n};
        rc = lab_slurm_run_lab(&ea, &req);
        free(options);
        return rc;
    }
    if ((rc = lab_engine_choose(ea.engine, ea.image, &ec)))
        return rc;
    if (ec.engine != LAB_ENGINE_NATIVE || ea.dry_run)
        return run_in_engine(argc, argv, &a, raw_resume, &ec, &ea);
    struct lab_run r = {.say = a.json ? stderr : stdout, .json_output = a.json};
    if ((rc = lab_cli_find_lab(a.lab_id, &r.manifest)))
        return rc;
    if ((rc = runnable(&a)))
        return rc;
    const struct lab_impl *impl = lab_impl_find(a.lab_id);

    lab_store *store = NULL;
    int64_t run_id = 0;
    if ((rc = start_run(&a, impl, &r)) == LAB_OK && (rc = lab_store_open_default(&store)) == LAB_OK) {
        struct lab_run_record rec = {.seed = lab_cfg_int(r.config, "seed", 0)};
        snprintf(rec.lab, sizeof rec.lab, "%s", a.lab_id);
        snprintf(rec.device, sizeof rec.device, "%s", r.dev.device_name);
        snprintf(rec.precision, sizeof rec.precision, "%s", r.dev.precision);
        snprintf(rec.run_dir, sizeof rec.run_dir, "%s", r.dir);
        char *cfg = json_dumps(r.config, JSON_COMPACT);
        rc = lab_store_run_begin(store, &rec, cfg, &run_id);
        free(cfg);
    }
    if (rc == LAB_OK) {
        struct sigaction sa = {.sa_handler = on_signal};
        struct sigaction old_int, old_term;
        sigemptyset(&sa.sa_mask);
        lab_interrupted = 0;
        sigaction(SIGINT, &sa, &old_int);
        sigaction(SIGTERM, &sa, &old_term);
        lab_say(&r, "lab %s  %s%s", a.lab_id, lab_manifest_title(r.manifest), r.resume ? "  (resumed)" : "");
        lab_say(&r, "device %s%s%s (%d CPU thread%s), precision %s (%s)", r.dev.device_name,
                r.dev.gpu_name[0] ? " " : "", r.dev.gpu_name, r.dev.threads, r.dev.threads == 1 ? "" : "s",
                r.dev.precision, r.dev.reason);
        rc = impl->run(&r);
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
        if (rc != LAB_OK && rc != LAB_EINTERRUPTED && r.log && lab_err_message()[0]) {
            /* the cause stays with the run, not only on the terminal */
            fprintf(r.log, "error: %s\n", lab_err_message());
            if (lab_err_fix()[0])
                fprintf(r.log, "  fix: %s\n", lab_err_fix());
            fflush(r.log);
        }
        int failed_checks = rc == LAB_OK ? self_check(&r, a.verbose) : 0;
        if (failed_checks) {
            /* Said here, not by main, so that `run dir:` stays the last line. */
            lab_say(&r, "%d self-check(s) failed: see the lines above and `lab explain <TS-id>`", failed_checks);
            rc = LAB_EFAIL;
        }
        const char *status = rc == LAB_OK ? "ok" : rc == LAB_EINTERRUPTED ? "interrupted" : "failed";
        char *metrics = json_dumps(r.metrics, JSON_COMPACT);
        int store_rc = lab_store_run_finish(store, run_id, status, metrics);
        free(metrics);
        if (store_rc && rc == LAB_OK)
            rc = store_rc;
        if (rc == LAB_EINTERRUPTED)
            lab_say(&r, "interrupted: progress saved; continue with `lab run %s --resume %s`", a.lab_id, r.dir);
        if (a.json) {
            json_t *out = json_pack("{s:s, s:s, s:s, s:O}", "lab", a.lab_id, "status", status, "run_dir", r.dir,
                                    "metrics", r.metrics);
            char *text = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
            puts(text);
            free(text);
            json_decref(out);
        }
        lab_say(&r, "run dir: %s", r.dir);
        if (rc == LAB_EFAIL || rc == LAB_EINTERRUPTED)
            lab_err_clear(); /* already explained above */
    }
    lab_store_close(store);
    if (r.log)
        fclose(r.log);
    json_decref(r.config);
    json_decref(r.metrics);
    return rc;
}
