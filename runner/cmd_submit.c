/* lab submit: packs a finished run into a submission archive with the
 * environment it ran in (device, GPU, driver, CUDA/cuDNN/libtorch, precision,
 * seed, and the last `lab doctor` summary). */
#include "base/error.h"
#include "base/jsonio.h"
#include "doctor/report.h"
#include "grader/pack.h"
#include "labs/config.h"
#include "runner/cli.h"
#include "shim/torchshim.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "550.54.14" from the kernel module's version line, "" without one. */
static void driver_version(char *out, size_t cap)
{
    out[0] = '\0';
    FILE *f = fopen("/proc/driver/nvidia/version", "r");
    char line[512];
    if (!f)
        return;
    if (fgets(line, sizeof line, f)) {
        const char *p = strstr(line, "Kernel Module");
        if (p) {
            p += strlen("Kernel Module");
            while (*p == ' ')
                p++;
            size_t n = strcspn(p, " \n");
            snprintf(out, cap, "%.*s", (int)(n < cap ? n : cap - 1), p);
        }
    }
    fclose(f);
}

static void version_str(int v, int cudnn, char *out, size_t cap)
{
    if (v <= 0)
        snprintf(out, cap, "none");
    else if (cudnn) /* 90100 -> 9.1.0; 8902 -> 8.9.2 */
        snprintf(out, cap, v >= 10000 ? "%d.%d.%d" : "%d.%d.%d", v >= 10000 ? v / 10000 : v / 1000,
                 v >= 10000 ? (v / 100) % 100 : (v / 100) % 10, v % 100);
    else /* 12080 -> 12.8 */
        snprintf(out, cap, "%d.%d", v / 1000, (v % 1000) / 10);
}

/* The environment block of submission.json. */
static json_t *environment(const json_t *config)
{
    struct ts_runtime_info info;
    memset(&info, 0, sizeof info);
    ts_runtime_info_get(&info);
    const char *device = lab_cfg_str(config, "device", "cpu");
    int index = strncmp(device, "cuda:", 5) == 0 ? atoi(device + 5) : -1;
    char driver[64], cuda[32], cudnn[32];
    driver_version(driver, sizeof driver);
    version_str(info.cuda_runtime_version, 0, cuda, sizeof cuda);
    version_str(info.cudnn_version, 1, cudnn, sizeof cudnn);
    const char *gpu = index >= 0 && index < info.device_count ? info.devices[index].name : "";
    json_t *env = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "device", device, "gpu_name", gpu, "driver",
                            driver, "cuda", cuda, "cudnn", cudnn, "libtorch", ts_libtorch_version(), "precision",
                            lab_cfg_str(config, "precision", "fp32"), "seed", (json_int_t)lab_cfg_int(config, "seed", 0));
    lab_store *store = NULL;
    char created[64], summary[512];
    int ok = 0, found = 0;
    if (env && lab_store_open_default(&store) == LAB_OK &&
        doctor_report_last(store, created, sizeof created, summary, sizeof summary, &ok, &found) == LAB_OK && found)
        json_object_set_new(env, "doctor", json_pack("{s:s, s:s, s:b}", "created", created, "summary", summary, "ok", ok));
    lab_store_close(store);
    lab_err_clear(); /* a missing store only means no doctor summary */
    return env;
}

enum { O_STUDENT = 1, O_OUT, O_WEIGHTS };

static const char *const weights_choices[] = {"q4", "exact", NULL};

const struct lab_opt lab_submit_options[] = {
    {O_STUDENT, "student", 0, LAB_OPT_STR, "ID", "your course login: 1-64 letters, digits or . _ @ + -", 0, 0, NULL},
    {O_OUT, "out", 'o', LAB_OPT_STR, "FILE", "the archive to write (default <student>-<lab>.tar.gz here;\na name ending in .zip writes a zip)", 0, 0, NULL},
    {O_WEIGHTS, "weights", 0, LAB_OPT_CHOICE, "ENC", "q4 (default): big tensors at 4 bits, about 1/7 of the size,\n"
     "re-evaluated within docs/grading.md's 4-bit tolerance; exact: as trained", 0, 0, weights_choices},
    {0},
};

int cmd_submit(int argc, char **argv)
{
    const char *student = NULL, *out = NULL;
    int c, q4 = 1;
    struct lab_opts p;
    lab_opts_init(&p, "submit", lab_submit_options, argc, argv);
    while ((c = lab_opts_next(&p)) > 0) {
        if (c == O_STUDENT)
            student = p.value;
        else if (c == O_OUT)
            out = p.value;
        else if (c == O_WEIGHTS)
            q4 = strcmp(p.value, "q4") == 0;
    }
    if (c < 0)
        return c;
    if (p.npos != 1)
        return lab_cli_usage("submit", "submit takes one run (directory, run id or last), e.g. `lab submit last --student ID`");
    if (!student)
        return lab_cli_usage("submit", "--student ID is required (your course login)");
    char run_dir[4096];
    int rc = lab_cli_run_dir("submit", p.pos[0], NULL, run_dir, sizeof run_dir);
    if (rc)
        return rc;
    char cfg_path[4200];
    snprintf(cfg_path, sizeof cfg_path, "%s/config.json", run_dir);
    json_t *config = NULL;
    if (lab_json_load(cfg_path, &config))
        return lab_err(LAB_EUSAGE, "give the run directory `lab run` printed last (run dir: ...)",
                       "%s is not a lab run directory: %s", run_dir, lab_err_message());
    char name[256];
    if (!out) {
        snprintf(name, sizeof name, "%.64s-%.32s.tar.gz", student, lab_cfg_str(config, "lab", "lab"));
        out = name;
    }
    json_t *env = environment(config);
    struct pack_result res;
    rc = pack_submission(run_dir, student, env, out, q4, &res);
    json_decref(env);
    json_decref(config);
    if (rc)
        return rc;
    printf("wrote %s: %zu files, %.1f MB\n", out, res.files, (double)res.bytes / 1e6);
    if (res.q4_models)
        printf("weights of %zu model(s) at 4 bits: %.1f MB as trained, %.1f MB packed (--weights exact keeps them as "
               "trained)\n", res.q4_models, (double)res.weight_bytes / 1e6, (double)res.q4_bytes / 1e6);
    printf("check it as the grader will: lab grade %s\n", out);
    return LAB_OK;
}
