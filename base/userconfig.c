#include "base/userconfig.h"

#include "base/error.h"
#include "base/fsutil.h"
#include "base/jsonio.h"
#include "base/paths.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static const char *const known_keys[] = {"engine", "image", "hf_cache", NULL};

static int known(const char *key)
{
    for (size_t i = 0; known_keys[i]; i++)
        if (strcmp(known_keys[i], key) == 0)
            return 1;
    return 0;
}

int lab_userconfig_get(const char *key, char *out, size_t cap, char *path, size_t path_cap)
{
    char home[4096], file[4200];
    int rc = lab_dir_resolve(LAB_DIR_HOME, home, sizeof home);
    if (rc)
        return rc;
    snprintf(file, sizeof file, "%s/config.json", home);
    if (path)
        snprintf(path, path_cap, "%s", file);
    if (!lab_path_exists(file))
        return 0;
    json_t *root = NULL;
    if ((rc = lab_json_load(file, &root)))
        return rc;
    char fix[4300];
    snprintf(fix, sizeof fix, "edit %s: a JSON object with the keys engine and image (docs/containers.md)", file);
    if (!json_is_object(root)) {
        json_decref(root);
        return lab_err(LAB_EUSAGE, fix, "%s is not a JSON object", file);
    }
    const char *k;
    json_t *v;
    json_object_foreach(root, k, v)
    {
        if (!known(k) || !json_is_string(v)) {
            rc = lab_err(LAB_EUSAGE, fix, "%s: %s '%s'", file, known(k) ? "not a string:" : "unknown key", k);
            json_decref(root);
            return rc;
        }
    }
    const char *value = json_string_value(json_object_get(root, key));
    int found = value != NULL;
    if (found)
        snprintf(out, cap, "%s", value);
    json_decref(root);
    return found;
}
