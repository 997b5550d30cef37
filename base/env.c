#include "base/env.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

int lab_env_truthy(const char *value)
{
    if (!value)
        return 0;
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"", "0", "false", "no", "off"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        if (strcasecmp(value, yes[i]) == 0)
            return 1;
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        if (strcasecmp(value, no[i]) == 0)
            return 0;
    return -1;
}

const char *const lab_offline_vars[LAB_N_OFFLINE_VARS] = {"LAB_OFFLINE", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"};

int lab_offline(const char **var)
{
    for (size_t i = 0; i < LAB_N_OFFLINE_VARS; i++)
        if (lab_env_truthy(getenv(lab_offline_vars[i])) == 1) {
            if (var)
                *var = lab_offline_vars[i];
            return 1;
        }
    return 0;
}

const char *lab_home_dir(void)
{
    const char *h = getenv("HOME");
    if (h && *h)
        return h;
    struct passwd *pw = getpwuid(getuid());
    return pw ? pw->pw_dir : "/";
}

static const char *set(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

void lab_hf_home(char *out, size_t cap, char *from, size_t from_cap)
{
    if (set("HF_HOME")) {
        snprintf(out, cap, "%s", set("HF_HOME"));
        snprintf(from, from_cap, "HF_HOME");
    } else if (set("XDG_CACHE_HOME")) {
        snprintf(out, cap, "%s/huggingface", set("XDG_CACHE_HOME"));
        snprintf(from, from_cap, "XDG_CACHE_HOME");
    } else {
        snprintf(out, cap, "%s/.cache/huggingface", lab_home_dir());
        snprintf(from, from_cap, "default ~/.cache/huggingface");
    }
}

void lab_hf_hub_cache(char *out, size_t cap, char *from, size_t from_cap)
{
    /* huggingface_hub still honours the older HUGGINGFACE_HUB_CACHE. */
    static const char *const vars[] = {"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (set(vars[i])) {
            snprintf(out, cap, "%s", set(vars[i]));
            snprintf(from, from_cap, "%s", vars[i]);
            return;
        }
    char home[3072], hfrom[64];
    lab_hf_home(home, sizeof home, hfrom, sizeof hfrom);
    snprintf(out, cap, "%s/hub", home);
    snprintf(from, from_cap, "%s + /hub", hfrom);
}
