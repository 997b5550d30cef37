#include "labs/2.2.5-vision-transformer/compare.h"

#include "base/error.h"
#include "base/jsonio.h"

#include <stdio.h>
#include <string.h>

int vit_compare_load(const char *run_dir, const char *dataset, json_t **models, char *lab, size_t cap)
{
    char path[4300];
    json_t *m = NULL;
    *models = NULL;
    snprintf(path, sizeof path, "%s/metrics.json", run_dir);
    if (lab_json_load(path, &m) || !json_is_object(json_object_get(m, "models"))) {
        json_decref(m);
        return lab_err(LAB_EUSAGE, "give compare_with a finished classify run (a 2.2.1 run directory)",
                       "%s has no metrics.json with models", run_dir);
    }
    const char *theirs = json_string_value(json_object_get(m, "dataset"));
    if (!theirs || strcmp(theirs, dataset)) {
        int rc = lab_err(LAB_EUSAGE, "compare with a run on the same data (a 2.2.1 run in the same mode)",
                         "%s evaluated on %s, this run on %s: their accuracies do not compare", run_dir,
                         theirs ? theirs : "(unknown)", dataset);
        json_decref(m);
        return rc;
    }
    snprintf(lab, cap, "%s", json_string_value(json_object_get(m, "lab")) ? json_string_value(json_object_get(m, "lab")) : "run");
    *models = json_incref(json_object_get(m, "models"));
    json_decref(m);
    return LAB_OK;
}

json_t *vit_compare_merge(const json_t *models, const json_t *other, const char *lab)
{
    json_t *out = json_deep_copy(models);
    const char *name;
    json_t *mm;
    json_object_foreach((json_t *)other, name, mm)
    {
        char key[160];
        snprintf(key, sizeof key, "%s (%s)", name, lab);
        json_object_set(out, key, mm);
    }
    return out;
}
