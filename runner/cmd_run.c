#include "base/error.h"
#include "base/fsutil.h"
#include "base/jsonio.h"
#include "base/paths.h"
#include "containers/engine.h"
#include "containers/slurm_run.h"
#include "grader/grade.h"
#include "grader/report_format.h"
#include "labs/config.h"
#include "labs/lab.h"
#include "labs/run.h"
#include "runner/cli.h"
#include "store/store.h"

#include <dirent.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_SETS 64

struct run_args {
    const char *lab_id;
    int quick, json;
    const char *device, *precision, *out, *resume;
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

static int parse_args(int argc, char **argv, struct run_args *a)
{
    enum { O_QUICK = 1, O_MODEL, O_DEVICE, O_PREC, O_EPOCHS, O_BATCH, O_LR, O_SET, O_SEED, O_OUT, O_RESUME, O_JSON };
    static const struct option opts[] = {
        {"quick", no_argument, NULL, O_QUICK},          {"model", required_argument, NULL, O_MODEL},
        {"device", required_argument, NULL, O_DEVICE},  {"precision", required_argument, NULL, O_PREC},
        {"epochs", required_argument, NULL, O_EPOCHS},  {"batch-size", required_argument, NULL, O_BATCH},
        {"lr", required_argument, NULL, O_LR},          {"set", required_argument, NULL, O_SET},
        {"seed", required_argument, NULL, O_SEED},      {"out", required_argument, NULL, O_OUT},
        {"resume", required_argument, NULL, O_RESUME},  {"json", no_argument, NULL, O_JSON},
        {NULL, 0, NULL, 0},
    };
    memset(a, 0, sizeof *a);
    a->device = "auto";
    a->precision = "auto";
    int c, rc = LAB_OK;
    while (!rc && (c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_QUICK: a->quick = 1; break;
        case O_JSON: a->json = 1; break;
        case O_DEVICE: a->device = optarg; break;
        case O_PREC: a->precision = optarg; break;
        case O_OUT: a->out = optarg; break;
        case O_RESUME: a->resume = optarg; break;
        case O_MODEL: rc = add_flag_set(a, "model", optarg); break;
        case O_EPOCHS: rc = add_flag_set(a, "train.epochs", optarg); break;
        case O_BATCH: rc = add_flag_set(a, "train.batch_size", optarg); break;
        case O_LR: rc = add_flag_set(a, "train.lr", optarg); break;
        case O_SEED: rc = add_flag_set(a, "seed", optarg); break;
        case O_SET:
            if (a->n_sets >= MAX_SETS)
                return lab_cli_usage("run", "more than %d --set assignments", MAX_SETS);
            a->sets[a->n_sets++] = optarg;
            break;
        default: return lab_cli_bad_option("run", argv);
        }
    }
    if (rc)
        return rc;
    if (optind != argc - 1)
        return lab_cli_usage("run", "run takes exactly one lab id, e.g. `lab run 2.2.1 --quick`");
    a->lab_id = argv[optind];
    if (a->resume && (a->n_sets || a->quick || a->out))
        return lab_cli_usage("run", "--resume continues a run with its own configuration; drop the other flags");
    return LAB_OK;
}

static int dir_is_empty(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return 1;
    struct dirent *e;
    int empty = 1;
    while (empty && (e = readdir(d)))
        empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
    closedir(d);
    return empty;
}

static int make_run_dir(const struct run_args *a, struct lab_run *r)
{
    if (a->resume) {
        snprintf(r->dir, sizeof r->dir, "%s", a->resume);
        return LAB_OK;
    }
    if (a->out) {
        if (!dir_is_empty(a->out))
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
        for (int i = 2; !dir_is_empty(r->dir) && i < 100; i++)
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
        return lab_err(LAB_EUSAGE, NULL, "%s holds a run of lab %s, not %s", a->resume, lab, a->lab_id);
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
    if ((rc = lab_choose_device(device, precision, &r->dev)))
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
 * submission), printed as ✓/✗ lines with troubleshooting ids and kept in
 * log.txt; returns how many did not pass. */
static int self_check(struct lab_run *r)
{
    struct grade_opts opts = {.device = "cpu"};
    struct grade_report *rep = NULL;
    if (grade_run_dir(r->dir, &opts, &rep) != LAB_OK) {
        lab_say(r, "self-check could not run: %s", lab_err_message());
        lab_err_clear();
        return 1;
    }
    int fancy = isatty(fileno(r->say)) && !getenv("NO_COLOR") && report_utf8_ok();
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    int failed = mem ? report_print_checks(mem, rep, !fancy, "  ") : 1;
    if (mem)
        fclose(mem);
    lab_say(r, "self-check (the grader's checks on this run):");
    for (char *line = text, *nl; line && *line; line = nl + 1) {
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

/* --engine docker|podman: checked here, run in the container (runner/engine*.c). */
static int run_in_engine(int argc, char **argv, const struct run_args *a, const struct lab_engine_choice *ec,
                         const struct lab_engine_args *ea)
{
    const json_t *manifest;
    int rc = lab_cli_find_lab(a->lab_id, &manifest);
    if (rc)
        return rc;
    (void)argc;
    /* getopt has moved the lab id behind the options: argv[1..optind-1]. */
    struct lab_engine_run req = {.lab_id = a->lab_id, .device = a->device, .options = argv + 1, .n_options = optind - 1};
    return lab_engine_run_lab(ec, ea, &req);
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
    if (slurm) { /* containers/slurm_run.c */
        if ((rc = parse_args(argc, argv, &a)) || (rc = lab_cli_find_lab(a.lab_id, &(const json_t *){NULL})))
            return rc;
        struct lab_engine_run req = {.lab_id = a.lab_id, .device = a.device, .options = argv + 1,
                                     .n_options = optind - 1};
        return lab_slurm_run_lab(&ea, &req);
    }
    rc = rc ? rc : lab_engine_choose(ea.engine, ea.image, &ec);
    rc = rc ? rc : parse_args(argc, argv, &a);
    if (rc)
        return rc;
    if (ec.engine != LAB_ENGINE_NATIVE || ea.dry_run)
        return run_in_engine(argc, argv, &a, &ec, &ea);
    struct lab_run r = {.say = a.json ? stderr : stdout, .json_output = a.json};
    if ((rc = lab_cli_find_lab(a.lab_id, &r.manifest)))
        return rc;
    const struct lab_impl *impl = lab_impl_find(a.lab_id);
    if (!impl)
        return lab_err(LAB_EENV, "`lab list` shows the labs; this one's runner is still being written",
                       "lab %s has no runner in lab %s yet", a.lab_id, LAB_VERSION);

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
        lab_say(&r, "device %s%s%s, precision %s (%s)", r.dev.device_name, r.dev.gpu_name[0] ? " " : "",
                r.dev.gpu_name, r.dev.precision, r.dev.reason);
        rc = impl->run(&r);
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
        int failed_checks = rc == LAB_OK ? self_check(&r) : 0;
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
