/* Cache checks: the Hugging Face cache (resolved as huggingface_hub does),
 * offline settings, the token (where from, never its value), cached models,
 * and lab's own cache. */
#include "doctor/doctor.h"

#include "base/env.h"
#include "base/error.h"
#include "base/paths.h"
#include "datasets/manifest.h"
#include "doctor/hooks.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* lab's datasets and weights: how many are present, and with `full` whether
 * their checksums hold. Missing ones are normal (fetched on demand, and a
 * fresh machine has none), so they are only listed; a corrupt one fails. */
int doctor_lab_data_check(const char *cache_dir, int full, char *msg, size_t cap)
{
    (void)cache_dir; /* the registry resolves LAB_CACHE itself */
    if (ds_registry_load() != LAB_OK) {
        snprintf(msg, cap, "the dataset registry does not load: %s", lab_err_message());
        return -1;
    }
    size_t present = 0, total = ds_registry_count();
    char missing[512] = "", bad[512] = "";
    for (size_t i = 0; i < total; i++) {
        const json_t *entry = ds_registry_at(i), *file;
        const char *name = json_string_value(json_object_get(entry, "name"));
        size_t k;
        int all = 1, corrupt = 0;
        json_array_foreach(json_object_get(entry, "files"), k, file)
        {
            char path[4096];
            int found = 0;
            if (ds_file_locate(entry, file, path, sizeof path, &found) != LAB_OK || !found) {
                all = 0;
                continue;
            }
            enum ds_verdict v = DS_UNCHECKED;
            char detail[256];
            if (full && ds_file_verify(path, file, NULL, &v, detail, sizeof detail) == LAB_OK && v == DS_MISMATCH)
                corrupt = 1;
        }
        size_t n = strlen(corrupt ? bad : missing);
        if (corrupt)
            snprintf(bad + n, sizeof bad - n, "%s%s", n ? ", " : "", name);
        else if (!all)
            snprintf(missing + n, sizeof missing - n, "%s%s", n ? ", " : "", name);
        present += all && !corrupt;
    }
    if (bad[0]) {
        snprintf(msg, cap, "checksum mismatch: %s (delete and `lab fetch` it again)", bad);
        return -1;
    }
    snprintf(msg, cap, "%zu of %zu datasets/weights present%s%s%s", present, total, full ? " and verified" : "",
             missing[0] ? "; fetched when a lab needs them: " : "", missing);
    return 0;
}

/* Exists as a writable directory (1), absent but its nearest parent is a
 * writable directory (0), or unusable (-1, `why` says how). */
static int dir_usable(const char *path, char *why, size_t cap)
{
    struct stat st;
    if (stat(path, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            snprintf(why, cap, "%s exists but is not a directory", path);
            return -1;
        }
        if (access(path, W_OK) != 0) {
            snprintf(why, cap, "%s is not writable (%s)", path, strerror(errno));
            return -1;
        }
        return 1;
    }
    char p[4096];
    snprintf(p, sizeof p, "%s", path);
    for (char *slash = strrchr(p, '/'); slash && slash != p; slash = strrchr(p, '/')) {
        *slash = '\0';
        if (stat(p, &st) == 0) {
            if (!S_ISDIR(st.st_mode) || access(p, W_OK) != 0) {
                snprintf(why, cap, "%s cannot be created: %s is %s", path, p,
                         S_ISDIR(st.st_mode) ? "not writable" : "not a directory");
                return -1;
            }
            return 0;
        }
    }
    return 0;
}

static void check_hf_cache(const struct doctor_ctx *ctx, struct doctor_result *r)
{
    (void)ctx;
    char hub[4096], from[96], why[4400];
    lab_hf_hub_cache(hub, sizeof hub, from, sizeof from);
    int u = dir_usable(hub, why, sizeof why);
    if (u < 0)
        doctor_set(r, DOCTOR_FAIL, "TS-DISK-FULL",
                   "point HF_HOME (or HF_HUB_CACHE) at a writable directory, e.g. `export HF_HOME=$HOME/hf`",
                   "Hugging Face hub cache %s (from %s): %s", hub, from, why);
    else
        doctor_set(r, DOCTOR_PASS, NULL, NULL, "Hugging Face hub cache %s (from %s)%s", hub, from,
                   u == 0 ? ", not created yet" : ", writable");
}

static void check_offline(const struct doctor_ctx *ctx, struct doctor_result *r)
{
    (void)ctx;
    const char *const *vars = lab_offline_vars;
    const char *odd = NULL;
    char shown[512] = "";
    for (size_t i = 0; i < LAB_N_OFFLINE_VARS; i++) {
        const char *v = getenv(vars[i]);
        size_t len = strlen(shown);
        snprintf(shown + len, sizeof shown - len, "%s%s=%s%s%s", len ? ", " : "", vars[i], v ? "'" : "",
                 v ? v : "(unset)", v ? "'" : "");
        if (v && lab_env_truthy(v) < 0 && !odd)
            odd = vars[i];
    }
    int eff = lab_offline(NULL);
    if (odd)
        doctor_set(r, DOCTOR_WARN, "TS-OFFLINE", "use 1 to go offline or 0 (or unset it) to go online",
                   "%s has a value that is neither true nor false, so it is treated as off; %s; effective: %s", odd,
                   shown, eff ? "offline" : "online");
    else
        doctor_set(r, DOCTOR_PASS, NULL, NULL, "%s; effective: %s", shown,
                   eff ? "offline (downloads disabled, network checks skipped)" : "online");
}

static void check_token(const struct doctor_ctx *ctx, struct doctor_result *r)
{
    (void)ctx;
    static const char *const vars[] = {"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"};
    for (size_t i = 0; i < 2; i++) {
        const char *v = getenv(vars[i]);
        if (!v)
            continue;
        if (!*v || strchr(v, ' ') || strchr(v, '\n'))
            doctor_set(r, DOCTOR_WARN, "TS-HF-TOKEN", "set a token from https://huggingface.co/settings/tokens, or unset it",
                       "%s is set but %s", vars[i], *v ? "contains whitespace" : "empty");
        else
            doctor_set(r, DOCTOR_PASS, NULL, NULL, "token from %s (%zu characters%s)", vars[i], strlen(v),
                       strncmp(v, "hf_", 3) == 0 ? ", hf_ prefix" : "");
        return;
    }
    char home[4096], from[96], path[4200];
    lab_hf_home(home, sizeof home, from, sizeof from);
    const char *tp = getenv("HF_TOKEN_PATH");
    snprintf(path, sizeof path, "%s", tp && *tp ? tp : "");
    if (!path[0])
        snprintf(path, sizeof path, "%s/token", home);
    FILE *f = fopen(path, "r");
    if (!f) {
        doctor_set(r, DOCTOR_PASS, NULL, NULL, "no Hugging Face token (HF_TOKEN unset, no %s): fine for public models",
                   path);
        return;
    }
    char buf[512] = "";
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    if (!buf[0])
        doctor_set(r, DOCTOR_WARN, "TS-HF-TOKEN", "log in again: `huggingface-cli login`, or delete the empty file",
                   "token file %s is empty", path);
    else
        doctor_set(r, DOCTOR_PASS, NULL, NULL, "token from %s (%zu characters)", path, strlen(buf));
    /* The value itself is never copied into the result. */
    memset(buf, 0, sizeof buf);
}

static void check_hf_models(const struct doctor_ctx *ctx, struct doctor_result *r)
{
    char hub[4096], from[96];
    lab_hf_hub_cache(hub, sizeof hub, from, sizeof from);
    DIR *d = opendir(hub);
    if (!d) {
        if (ctx->offline)
            doctor_set(r, DOCTOR_WARN, "TS-OFFLINE",
                       "go online once (unset HF_HUB_OFFLINE/LAB_OFFLINE) so the course's models download, or copy a "
                       "filled cache into HF_HOME",
                       "offline, and the hub cache %s does not exist: no pretrained model can load", hub);
        else
            doctor_set(r, DOCTOR_SKIP, NULL, NULL, "no hub cache yet at %s", hub);
        return;
    }
    int count = 0;
    char list[900] = "";
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, "models--", 8) != 0)
            continue;
        count++;
        /* models--org--name -> org/name */
        char id[256];
        snprintf(id, sizeof id, "%s", e->d_name + 8);
        char *sep = strstr(id, "--");
        if (sep) {
            *sep = '/';
            memmove(sep + 1, sep + 2, strlen(sep + 2) + 1);
        }
        size_t len = strlen(list);
        if (len + strlen(id) + 3 < sizeof list)
            snprintf(list + len, sizeof list - len, "%s%s", len ? ", " : "", id);
    }
    closedir(d);
    if (count == 0 && ctx->offline)
        doctor_set(r, DOCTOR_WARN, "TS-OFFLINE",
                   "go online once (unset HF_HUB_OFFLINE/LAB_OFFLINE) so the course's models download",
                   "offline, and no model is cached in %s", hub);
    else
        doctor_set(r, DOCTOR_PASS, NULL, NULL, "%d cached model%s in %s%s%s", count, count == 1 ? "" : "s", hub,
                   count ? ": " : "", list);
}

static void check_lab_cache(const struct doctor_ctx *ctx, struct doctor_result *r)
{
    char cache[4096], why[4400];
    if (lab_dir_resolve(LAB_DIR_CACHE, cache, sizeof cache) != 0) {
        doctor_set(r, DOCTOR_FAIL, "TS-DISK-FULL", "set LAB_CACHE to a writable directory",
                   "cannot resolve lab's cache directory (HOME unset?)");
        return;
    }
    const char *from = getenv("LAB_CACHE") && *getenv("LAB_CACHE") ? "LAB_CACHE" : "default";
    int u = dir_usable(cache, why, sizeof why);
    if (u < 0) {
        doctor_set(r, DOCTOR_FAIL, "TS-DISK-FULL", "set LAB_CACHE to a writable directory, e.g. `export LAB_CACHE=$HOME/lab-cache`",
                   "lab cache %s (from %s): %s", cache, from, why);
        return;
    }
    char data[600] = "";
    int rc = doctor_lab_data_check(cache, ctx->full, data, sizeof data);
    if (rc < 0)
        doctor_set(r, DOCTOR_FAIL, "TS-DISK-FULL", "fetch the data again: `lab fetch <lab-id>`",
                   "lab cache %s (from %s): %s", cache, from, data);
    else if (rc > 0)
        doctor_set(r, DOCTOR_WARN, "TS-OFFLINE", "fetch what is missing: `lab fetch <lab-id>`",
                   "lab cache %s (from %s): %s", cache, from, data);
    else
        doctor_set(r, DOCTOR_PASS, NULL, NULL, "lab cache %s (from %s)%s; %s", cache, from,
                   u == 0 ? ", not created yet" : ", writable", data);
}

const struct doctor_check doctor_cache_checks[] = {
    {"cache.hf_cache", "cache", "Hugging Face hub cache resolved and writable", check_hf_cache, 0, "TS-DISK-FULL"},
    {"cache.offline", "cache", "offline variables, raw and effective", check_offline, 0, "TS-OFFLINE"},
    {"cache.hf_token", "cache", "Hugging Face token present and where from (never shown)", check_token, 0,
     "TS-HF-TOKEN"},
    {"cache.hf_models", "cache", "models in the Hugging Face cache", check_hf_models, 0, "TS-OFFLINE"},
    {"cache.lab", "cache", "lab's cache (datasets, weights) resolved and writable", check_lab_cache, 0,
     "TS-DISK-FULL TS-OFFLINE"},
    {NULL, NULL, NULL, NULL, 0, NULL},
};
