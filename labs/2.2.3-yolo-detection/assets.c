#include "labs/2.2.3-yolo-detection/assets.h"

#include "base/env.h"
#include "base/error.h"
#include "datasets/fetch.h"
#include "datasets/manifest.h"
#include "labs/models/nn.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int entry_of(const char *name, const json_t **e)
{
    LAB_TRY(ds_registry_load());
    *e = ds_registry_find(name);
    if (!*e)
        return lab_err(LAB_EUSAGE, "see `lab datasets` for the registered names", "no registry entry '%s'", name);
    return LAB_OK;
}

/* The first file of the entry that is not on this machine, or NULL. */
static const json_t *first_missing(const json_t *e, char *path, size_t cap, int *rc)
{
    size_t i;
    const json_t *f;
    *rc = LAB_OK;
    json_array_foreach(json_object_get(e, "files"), i, f)
    {
        int found = 0;
        if ((*rc = ds_file_locate(e, f, path, cap, &found)))
            return NULL;
        if (!found)
            return f;
    }
    return NULL;
}

int yolo_assets_ensure(const char *name)
{
    const json_t *e;
    LAB_TRY(entry_of(name, &e));
    char path[4400];
    int rc;
    const json_t *f = first_missing(e, path, sizeof path, &rc);
    if (rc || !f)
        return rc;
    const char *var = NULL;
    if (lab_offline(&var)) {
        char dir[4096] = "";
        ds_entry_cache_dir(e, dir, sizeof dir);
        lab_err_clear();
        char fix[1400];
        snprintf(fix, sizeof fix,
                 "run `lab fetch %s` once while online (or on another machine and copy %s here), or unset %s and "
                 "set LAB_MIRROR to a course mirror that serves %s/<file>; see lab explain TS-OFFLINE",
                 name, dir, var, name);
        return lab_err(LAB_EENV, fix, "offline (%s): %s of %s is not in the cache", var,
                       json_string_value(json_object_get(f, "name")), name);
    }
    /* ds_fetch_entry reports each file on stdout (lab fetch's output); here
     * that belongs with the other progress, on stderr. */
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    if (saved >= 0)
        dup2(STDERR_FILENO, STDOUT_FILENO);
    struct ds_fetch_opts o = {0};
    rc = ds_fetch_entry(e, &o);
    fflush(stdout);
    if (saved >= 0) {
        dup2(saved, STDOUT_FILENO);
        close(saved);
    }
    return rc;
}

int yolo_asset_path(const char *name, const char *file, char *out, size_t cap)
{
    const json_t *e;
    LAB_TRY(entry_of(name, &e));
    size_t i;
    const json_t *f;
    json_array_foreach(json_object_get(e, "files"), i, f)
    {
        if (strcmp(json_string_value(json_object_get(f, "name")), file) != 0)
            continue;
        int found = 0;
        LAB_TRY(ds_file_locate(e, f, out, cap, &found));
        if (!found)
            return lab_err(LAB_EENV, "run `lab fetch` for it", "%s of %s is not in the cache", file, name);
        return LAB_OK;
    }
    return lab_err(LAB_EINTERNAL, NULL, "%s has no file %s", name, file);
}
