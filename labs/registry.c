#include "base/embedded.h"
#include "base/error.h"
#include "base/jsonio.h"
#include "labs/lab.h"

#include <stdlib.h>
#include <string.h>

#define MAX_LABS 32

static json_t *manifests[MAX_LABS];
static const char *ids[MAX_LABS + 1];
static size_t n_labs;
static int loaded;

static int has_suffix(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lf = strlen(suffix);
    return ls >= lf && strcmp(s + ls - lf, suffix) == 0;
}

static int by_id(const void *a, const void *b)
{
    return strcmp(lab_manifest_id(*(json_t *const *)a), lab_manifest_id(*(json_t *const *)b));
}

int lab_registry_load(void)
{
    if (loaded)
        return LAB_OK;
    for (const struct lab_embedded_file *f = lab_embedded; f->name; f++) {
        if (strncmp(f->name, "labs/", 5) != 0 || !has_suffix(f->name, "/lab.json"))
            continue;
        json_t *m;
        if (n_labs == MAX_LABS)
            return lab_err(LAB_EINTERNAL, NULL, "more than %d lab manifests", MAX_LABS);
        if (lab_json_parse((const char *)f->data, f->size, f->name, &m))
            return lab_err_context(LAB_EINTERNAL, "embedded lab manifest");
        if (!json_is_string(json_object_get(m, "id")) || !json_is_string(json_object_get(m, "title"))) {
            json_decref(m);
            return lab_err(LAB_EINTERNAL, NULL, "%s lacks a string id or title", f->name);
        }
        manifests[n_labs++] = m;
    }
    qsort(manifests, n_labs, sizeof manifests[0], by_id);
    for (size_t i = 0; i < n_labs; i++)
        ids[i] = lab_manifest_id(manifests[i]);
    ids[n_labs] = NULL;
    loaded = 1;
    return LAB_OK;
}

size_t lab_registry_count(void) { return n_labs; }
const json_t *lab_registry_at(size_t i) { return i < n_labs ? manifests[i] : NULL; }

const json_t *lab_registry_find(const char *id)
{
    for (size_t i = 0; i < n_labs; i++)
        if (strcmp(ids[i], id) == 0)
            return manifests[i];
    return NULL;
}

const char *lab_manifest_id(const json_t *m) { return json_string_value(json_object_get(m, "id")); }
const char *lab_manifest_title(const json_t *m) { return json_string_value(json_object_get(m, "title")); }
const char *const *lab_registry_ids(void) { return ids; }

void lab_registry_free(void)
{
    for (size_t i = 0; i < n_labs; i++)
        json_decref(manifests[i]);
    n_labs = 0;
    ids[0] = NULL;
    loaded = 0;
}
