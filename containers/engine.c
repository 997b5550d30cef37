/* Which engine and image a run uses, and the `lab run` options that say so. */
#include "containers/engine.h"

#include "base/error.h"
#include "base/host.h"
#include "base/userconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const names[] = {"native", "docker", "podman", "auto"};

const char *lab_engine_name(enum lab_engine e)
{
    return e <= LAB_ENGINE_AUTO ? names[e] : "?";
}

int lab_engine_parse(const char *name, const char *source, enum lab_engine *out)
{
    for (int i = 0; i <= LAB_ENGINE_AUTO; i++) {
        if (strcmp(name, names[i]) == 0) {
            *out = (enum lab_engine)i;
            return LAB_OK;
        }
    }
    return lab_err(LAB_EUSAGE, "use native, docker, podman or auto", "%s: unknown engine '%s'", source, name);
}

/* Where the engine's binary is; 0 when it is not in PATH. */
static int find_program(enum lab_engine e, char *out, size_t cap)
{
    return lab_host_in_path("", lab_engine_name(e), out, cap);
}

static int choose_engine(const char *flag, struct lab_engine_choice *c)
{
    char value[64] = "", cfg_path[4300] = "";
    const char *env = getenv("LAB_ENGINE");
    int rc;
    if (flag) {
        snprintf(value, sizeof value, "%s", flag);
        snprintf(c->engine_from, sizeof c->engine_from, "--engine");
    } else if (env && *env) {
        snprintf(value, sizeof value, "%s", env);
        snprintf(c->engine_from, sizeof c->engine_from, "LAB_ENGINE");
    } else if ((rc = lab_userconfig_get("engine", value, sizeof value, cfg_path, sizeof cfg_path)) != 0) {
        if (rc < 0)
            return rc;
        snprintf(c->engine_from, sizeof c->engine_from, "config.json");
    } else {
        snprintf(value, sizeof value, "native");
        snprintf(c->engine_from, sizeof c->engine_from, "default");
    }
    if ((rc = lab_engine_parse(value, c->engine_from, &c->engine)))
        return rc;
    if (c->engine == LAB_ENGINE_AUTO) {
        if (find_program(LAB_ENGINE_PODMAN, c->program, sizeof c->program))
            c->engine = LAB_ENGINE_PODMAN;
        else if (find_program(LAB_ENGINE_DOCKER, c->program, sizeof c->program))
            c->engine = LAB_ENGINE_DOCKER;
        else
            c->engine = LAB_ENGINE_NATIVE;
        snprintf(c->engine_from, sizeof c->engine_from, "auto");
        return LAB_OK;
    }
    if (c->engine == LAB_ENGINE_NATIVE)
        return LAB_OK;
    if (!find_program(c->engine, c->program, sizeof c->program)) {
        char fix[256];
        snprintf(fix, sizeof fix,
                 "install it (`sudo apt install %s`), choose another with --engine, or run natively "
                 "(--engine native); see `lab explain TS-CONTAINER-TOOLKIT`",
                 c->engine == LAB_ENGINE_PODMAN ? "podman" : "docker.io");
        return lab_err(LAB_EENV, fix, "engine %s (from %s) is not installed: no `%s` in PATH",
                       lab_engine_name(c->engine), c->engine_from, lab_engine_name(c->engine));
    }
    return LAB_OK;
}

static int choose_image(const char *flag, struct lab_engine_choice *c)
{
    const char *env = getenv("LAB_IMAGE");
    int rc;
    if (flag) {
        snprintf(c->image, sizeof c->image, "%s", flag);
        snprintf(c->image_from, sizeof c->image_from, "--image");
    } else if (env && *env) {
        snprintf(c->image, sizeof c->image, "%s", env);
        snprintf(c->image_from, sizeof c->image_from, "LAB_IMAGE");
    } else if ((rc = lab_userconfig_get("image", c->image, sizeof c->image, NULL, 0)) != 0) {
        if (rc < 0)
            return rc;
        snprintf(c->image_from, sizeof c->image_from, "config.json");
    } else {
        snprintf(c->image, sizeof c->image, "%s", LAB_COURSE_IMAGE);
        snprintf(c->image_from, sizeof c->image_from, "default");
    }
    /* An image name is one word of [a-z0-9._/:@-]: anything else would be
     * read by the engine as an option or several words. */
    if (!c->image[0] || c->image[0] == '-' || strspn(c->image, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                                "0123456789._/:@-") != strlen(c->image))
        return lab_err(LAB_EUSAGE, "give an image name such as lab-course:" LAB_VERSION,
                       "%s: '%s' is not an image name", c->image_from, c->image);
    return LAB_OK;
}

int lab_engine_choose(const char *flag_engine, const char *flag_image, struct lab_engine_choice *c)
{
    memset(c, 0, sizeof *c);
    int rc = choose_engine(flag_engine, c);
    if (!rc)
        rc = choose_image(flag_image, c);
    return rc;
}

static int missing_value(const char *option)
{
    return lab_err(LAB_EUSAGE, "see `lab run --help`", "option '%s' needs a value", option);
}

/* Matches --name or --name=value at argv[i]; the value (next word or after
 * '=') in *value, and how many words it took. 0 when not this option. */
static int take_option(int argc, char **argv, int i, const char *name, int has_value, const char **value,
                       int *words)
{
    size_t len = strlen(name);
    if (strncmp(argv[i], name, len) != 0)
        return 0;
    if (argv[i][len] == '\0') {
        if (!has_value) {
            *words = 1;
            return 1;
        }
        if (i + 1 >= argc)
            return missing_value(name);
        *value = argv[i + 1];
        *words = 2;
        return 1;
    }
    if (argv[i][len] == '=' && has_value) {
        *value = argv[i] + len + 1;
        *words = 1;
        return 1;
    }
    return 0;
}

int lab_engine_take_args(int *argc, char **argv, struct lab_engine_args *ea)
{
    memset(ea, 0, sizeof *ea);
    int out = 1;
    for (int i = 1; i < *argc;) {
        const char *value = NULL;
        int words = 0, hit = 0;
        if (strcmp(argv[i], "--") == 0) {
            while (i < *argc)
                argv[out++] = argv[i++];
            break;
        }
        if ((hit = take_option(*argc, argv, i, "--engine", 1, &value, &words)) > 0)
            ea->engine = value;
        else if (hit == 0 && (hit = take_option(*argc, argv, i, "--image", 1, &value, &words)) > 0)
            ea->image = value;
        else if (hit == 0 && (hit = take_option(*argc, argv, i, "--dry-run", 0, &value, &words)) > 0)
            ea->dry_run = 1;
        else if (hit == 0 && (hit = take_option(*argc, argv, i, "--partition", 1, &value, &words)) > 0)
            ea->partition = value;
        else if (hit == 0 && (hit = take_option(*argc, argv, i, "--gres", 1, &value, &words)) > 0)
            ea->gres = value;
        else if (hit == 0 && (hit = take_option(*argc, argv, i, "--time", 1, &value, &words)) > 0)
            ea->time_limit = value;
        else if (hit == 0 && (hit = take_option(*argc, argv, i, "--account", 1, &value, &words)) > 0)
            ea->account = value;
        if (hit < 0)
            return hit;
        if (hit) {
            i += words;
            continue;
        }
        argv[out++] = argv[i++];
    }
    *argc = out;
    argv[out] = NULL;
    return LAB_OK;
}

static const char *const passed_names[] = {"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE",
                                           "TRANSFORMERS_OFFLINE", "NO_COLOR", NULL};
/* Set by lab itself (with the in-container value) or meaningful only here. */
static const char *const own_names[] = {"LAB_HOME", "LAB_CACHE", "LAB_ENGINE", "LAB_IMAGE", "LAB_DOCTOR_ROOT", NULL};

static int listed(const char *const *list, const char *name)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(list[i], name) == 0)
            return 1;
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

size_t lab_engine_env_names(char *const *envp, char names_out[][128], size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; envp && envp[i] && n < cap; i++) {
        const char *eq = strchr(envp[i], '=');
        size_t len = eq ? (size_t)(eq - envp[i]) : strlen(envp[i]);
        if (len == 0 || len >= 128)
            continue;
        char name[128];
        memcpy(name, envp[i], len);
        name[len] = '\0';
        int wanted = listed(passed_names, name) || (strncmp(name, "LAB_", 4) == 0 && !listed(own_names, name));
        int dup = 0;
        for (size_t k = 0; k < n && !dup; k++)
            dup = strcmp(names_out[k], name) == 0;
        if (wanted && !dup)
            memcpy(names_out[n++], name, len + 1);
    }
    qsort(names_out, n, sizeof names_out[0], cmp_names);
    return n;
}
