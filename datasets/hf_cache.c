#include "datasets/hf.h"

#include "base/env.h"
#include "base/error.h"
#include "base/fsutil.h"
#include "base/paths.h"
#include "base/userconfig.h"
#include "datasets/hash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

int ds_hf_cache_root(char *out, size_t cap)
{
    char from[96], configured[4096], cache[4096];
    int rc = lab_userconfig_get("hf_cache", configured, sizeof configured, NULL, 0);
    if (rc < 0)
        return rc;
    if (lab_hf_cache_chosen()) {
        lab_hf_hub_cache(out, cap, from, sizeof from);
    } else if (rc == 1) {
        snprintf(out, cap, "%s", configured);
    } else {
        if ((rc = lab_dir_resolve(LAB_DIR_CACHE, cache, sizeof cache)))
            return rc;
        snprintf(out, cap, "%s/huggingface/hub", cache);
    }
    if (strlen(out) + 1 >= cap)
        return lab_err(LAB_EUSAGE, "use a shorter HF_HUB_CACHE/HF_HOME", "Hugging Face cache path too long");
    return LAB_OK;
}

int ds_hf_repo_dir(const char *repo, char *out, size_t cap)
{
    if (!repo || !*repo || strstr(repo, "..") || repo[0] == '/')
        return lab_err(LAB_EUSAGE, "use org/name", "bad Hugging Face repo id '%s'", repo ? repo : "");
    char root[4096], folder[512];
    int rc = ds_hf_cache_root(root, sizeof root);
    if (rc)
        return rc;
    size_t k = (size_t)snprintf(folder, sizeof folder, "models--");
    for (const char *p = repo; *p && k + 3 < sizeof folder; p++) {
        if (*p == '/') {
            folder[k++] = '-';
            folder[k++] = '-';
        } else {
            folder[k++] = *p;
        }
    }
    folder[k] = 0;
    if (snprintf(out, cap, "%s/%s", root, folder) >= (int)cap)
        return lab_err(LAB_EUSAGE, "use a shorter HF_HUB_CACHE", "Hugging Face cache path too long");
    return LAB_OK;
}

int ds_hf_cached_path(const char *repo, const char *revision, const char *file, char *out, size_t cap, int *found)
{
    *found = 0;
    char dir[4096], commit[128] = "";
    int rc = ds_hf_repo_dir(repo, dir, sizeof dir);
    if (rc)
        return rc;
    if (strchr(revision, '/') || strstr(revision, ".."))
        return lab_err(LAB_EUSAGE, NULL, "bad revision '%s'", revision);
    if (ds_is_hex(revision, 40)) {
        snprintf(commit, sizeof commit, "%s", revision);
    } else {
        char ref[4300], *text = NULL;
        size_t len;
        snprintf(ref, sizeof ref, "%s/refs/%s", dir, revision);
        if (lab_read_file(ref, 256, &text, &len) != LAB_OK) {
            lab_err_clear();
            snprintf(out, cap, "%s/snapshots/<commit>/%s", dir, file);
            return LAB_OK;
        }
        text[strcspn(text, " \r\n")] = 0;
        snprintf(commit, sizeof commit, "%s", text);
        free(text);
        if (!ds_is_hex(commit, 40)) {
            snprintf(out, cap, "%s/snapshots/<commit>/%s", dir, file);
            return LAB_OK;
        }
    }
    if (snprintf(out, cap, "%s/snapshots/%s/%s", dir, commit, file) >= (int)cap)
        return lab_err(LAB_EUSAGE, "use a shorter HF_HUB_CACHE", "Hugging Face cache path too long");
    struct stat st;
    *found = stat(out, &st) == 0 && S_ISREG(st.st_mode);
    return LAB_OK;
}

const char *ds_hf_endpoint(void) { return env("HF_ENDPOINT") ? env("HF_ENDPOINT") : "https://huggingface.co"; }

char *ds_hf_token(void)
{
    if (env("HF_TOKEN"))
        return strdup(env("HF_TOKEN"));
    if (env("HUGGING_FACE_HUB_TOKEN"))
        return strdup(env("HUGGING_FACE_HUB_TOKEN"));
    char path[4200], *text = NULL;
    size_t len;
    if (env("HF_TOKEN_PATH")) {
        snprintf(path, sizeof path, "%s", env("HF_TOKEN_PATH"));
    } else {
        char home[4000], from[96];
        lab_hf_home(home, sizeof home, from, sizeof from);
        snprintf(path, sizeof path, "%s/token", home);
    }
    if (lab_read_file(path, 4096, &text, &len) != LAB_OK) {
        lab_err_clear();
        return NULL;
    }
    text[strcspn(text, " \r\n")] = 0;
    if (!*text) {
        free(text);
        return NULL;
    }
    return text;
}
