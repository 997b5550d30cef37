#include "labs/teacher.h"

#include "base/error.h"
#include "base/jsonio.h"
#include "datasets/registry.h"
#include "labs/config.h"
#include "labs/lab.h"
#include "labs/models/nn.h"
#include "labs/models/weights.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The teacher saw the student's pixels: the same data keys. */
static int same_inputs(const json_t *teacher, const json_t *student, const char *run_dir)
{
    static const char *const keys[] = {"data.dataset", "data.input_size", "data.normalize", "data.pad", "data.to_rgb",
                                       NULL};
    for (const char *const *k = keys; *k; k++) {
        const json_t *a = lab_cfg_get(teacher, *k), *b = lab_cfg_get(student, *k);
        if (!a && !b)
            continue;
        if (!a || !b || !json_equal(a, b)) {
            char *ta = a ? json_dumps(a, JSON_ENCODE_ANY | JSON_COMPACT) : NULL,
                 *tb = b ? json_dumps(b, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
            int rc = lab_err(LAB_EUSAGE, "distil from a run on the same data and preprocessing (a 2.2.1 run in the same mode)",
                             "the teacher %s has %s %s, this run %s", run_dir, *k, ta ? ta : "(none)", tb ? tb : "(none)");
            free(ta);
            free(tb);
            return rc;
        }
    }
    return LAB_OK;
}

int lab_teacher_load(const char *run_dir, const char *model_name, const json_t *student_config, ts_device dev,
                     struct model **out, char *desc, size_t cap)
{
    char path[4300];
    json_t *config = NULL;
    *out = NULL;
    snprintf(path, sizeof path, "%s/config.json", run_dir);
    if (lab_json_load(path, &config))
        return lab_err(LAB_EUSAGE, "give train.teacher a finished run directory (lab runs lists them)",
                       "the teacher %s has no readable config.json", run_dir);
    const char *lab = lab_cfg_str(config, "lab", "");
    const struct lab_impl *impl = lab_impl_find(lab);
    const struct ds_info *info = NULL;
    int rc = impl && (impl->create_model || impl->create_model_cfg)
                 ? LAB_OK
                 : lab_err(LAB_EUSAGE, "use a 2.2.1 run as the teacher (the course: its resnet18)",
                           "the teacher %s is a run of lab '%s', which has no classifier models", run_dir, lab);
    if (!rc)
        rc = same_inputs(config, student_config, run_dir);
    if (!rc)
        rc = ds_info_get(lab_cfg_str(config, "data.dataset", ""), "the teacher", &info);
    struct model *m = NULL;
    if (!rc)
        rc = impl->create_model_cfg ? impl->create_model_cfg(config, model_name, info->num_classes, &m)
                                    : impl->create_model(model_name, info->num_classes, &m);
    snprintf(path, sizeof path, "%s/models/%s/model.safetensors", run_dir, model_name);
    if (!rc && (rc = weights_load_any(m->params, path, 1, NULL, NULL)))
        rc = lab_err_context(rc, "the teacher's weights (train.teacher_model %s)", model_name);
    if (!rc && ts_params_to(m->params, dev, -1) != TS_OK)
        rc = nn_fail(TS_ETORCH, "moving the teacher");
    if (!rc)
        snprintf(desc, cap, "%s %s (%s)", lab, model_name, run_dir);
    json_decref(config);
    if (rc) {
        model_free(m);
        return rc;
    }
    *out = m;
    return LAB_OK;
}
