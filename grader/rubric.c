/* Rubrics from their tables: lab.json's "rubric" names checks by id with
 * their points (and a threshold where the check has a bar); the functions
 * come from the generic tables of the lab's task. */
#include "grader/rubric.h"

#include "base/error.h"
#include "labs/lab.h"

#include <stdio.h>
#include <string.h>

#define MAX_RUBRICS 16

struct built {
    char lab[16];
    struct rubric rb;
    struct rubric_check checks[RUBRIC_MAX_CHECKS];
    char models[2][RUBRIC_MAX_MODELS][32];
};

static struct built built[MAX_RUBRICS];
static size_t n_built;

struct task {
    const char *name;
    const struct rubric_check *checks;
    int (*model_begin)(struct grade_ctx *g, const struct sub_model *sm);
};

static const struct task tasks[] = {{"classify", checks_classify, classify_model_begin},
                                    {"detect", checks_detect, detect_model_begin},
                                    {"segment", checks_segment, segment_model_begin},
                                    {"prompt", checks_prompt, prompt_model_begin}};

static const struct rubric_check *find_impl(const struct task *t, const char *id)
{
    const struct rubric_check *tables[] = {checks_common, t->checks, checks_vit, checks_transfer};
    for (size_t k = 0; k < sizeof tables / sizeof tables[0]; k++)
        for (const struct rubric_check *c = tables[k]; c->id; c++)
            if (strcmp(c->id, id) == 0)
                return c;
    return NULL;
}

static int build(const json_t *manifest, struct built *b)
{
    const char *lab = lab_manifest_id(manifest);
    const char *task_name = json_string_value(json_object_get(manifest, "task"));
    const json_t *table = json_object_get(manifest, "rubric");
    const json_t *checks = json_object_get(table, "checks"), *models = json_object_get(table, "models");
    const struct task *t = NULL;
    for (size_t i = 0; task_name && i < sizeof tasks / sizeof tasks[0]; i++)
        if (strcmp(tasks[i].name, task_name) == 0)
            t = &tasks[i];
    if (!t)
        return lab_err(LAB_EINTERNAL, NULL, "lab %s: rubric for unknown task '%s'", lab, task_name ? task_name : "");
    if (!json_is_array(checks) || json_array_size(checks) == 0 || json_array_size(checks) > RUBRIC_MAX_CHECKS)
        return lab_err(LAB_EINTERNAL, NULL, "lab %s: rubric.checks must list 1..%d checks", lab, RUBRIC_MAX_CHECKS);
    memset(b, 0, sizeof *b);
    snprintf(b->lab, sizeof b->lab, "%s", lab);
    size_t i;
    const json_t *e;
    json_array_foreach(checks, i, e)
    {
        const char *id = json_string_value(json_object_get(e, "id"));
        const json_t *points = json_object_get(e, "points"), *thr = json_object_get(e, "threshold");
        const struct rubric_check *impl = id ? find_impl(t, id) : NULL;
        if (!impl || !json_is_number(points) || json_number_value(points) < 0 || (thr && !json_is_number(thr)))
            return lab_err(LAB_EINTERNAL, NULL, "lab %s: rubric.checks[%zu] (%s) is not a known %s check with points",
                           lab, i, id ? id : "no id", t->name);
        b->checks[i] = *impl;
        b->checks[i].points = json_number_value(points);
        b->checks[i].threshold = thr ? json_number_value(thr) : 0;
    }
    /* "models": [...] for both modes, or {"full": [...], "quick": [...]}. */
    for (int mode = 0; mode < 2; mode++) {
        const json_t *list = json_is_object(models) ? json_object_get(models, mode ? "quick" : "full") : models;
        if (list && (!json_is_array(list) || json_array_size(list) > RUBRIC_MAX_MODELS))
            return lab_err(LAB_EINTERNAL, NULL, "lab %s: rubric.models must list at most %d models", lab,
                           RUBRIC_MAX_MODELS);
        json_array_foreach(list, i, e)
        {
            if (!json_is_string(e) || strlen(json_string_value(e)) >= sizeof b->models[mode][i])
                return lab_err(LAB_EINTERNAL, NULL, "lab %s: rubric.models[%zu] is not a model name", lab, i);
            snprintf(b->models[mode][i], sizeof b->models[mode][i], "%s", json_string_value(e));
            b->rb.models[mode].names[i] = b->models[mode][i];
        }
        b->rb.models[mode].n = json_array_size(list);
    }
    b->rb.lab = b->lab;
    b->rb.checks = b->checks;
    b->rb.n = json_array_size(checks);
    b->rb.model_begin = t->model_begin;
    return LAB_OK;
}

const struct rubric *rubric_find(const char *lab)
{
    for (size_t i = 0; lab && i < n_built; i++)
        if (strcmp(built[i].lab, lab) == 0)
            return &built[i].rb;
    const json_t *m = lab && lab_registry_load() == LAB_OK ? lab_registry_find(lab) : NULL;
    if (!m || !json_object_get(m, "rubric") || n_built == MAX_RUBRICS)
        return NULL;
    if (build(m, &built[n_built]))
        return NULL;
    return &built[n_built++].rb;
}

int rubric_counts_model(const struct rubric_models *rm, const char *model)
{
    if (!rm->n)
        return 1;
    for (size_t i = 0; i < rm->n; i++)
        if (strcmp(rm->names[i], model) == 0)
            return 1;
    return 0;
}

void rubric_describe(FILE *f, const char *lab)
{
    const struct rubric *rb = rubric_find(lab);
    fprintf(f, "\nrubric (what `lab grade` checks; docs/grading.md):\n");
    if (!rb) {
        fprintf(f, "  none yet: submissions of this lab are not gradable in this version\n");
        return;
    }
    for (size_t i = 0; i < rb->n; i++) {
        const struct rubric_check *c = &rb->checks[i];
        fprintf(f, "  %-22s %4g pt%s  %s%s%s", c->id, c->points, c->flags & RC_PER_MODEL ? "/model" : "      ",
                c->name, c->flags & RC_REEVAL ? " (--reeval)" : "", c->flags & RC_SUBMISSION ? " (submissions only)" : "");
        if (c->threshold > 0)
            fprintf(f, ", threshold %g", c->threshold);
        fprintf(f, "\n");
    }
    for (int mode = 0; mode < 2; mode++) {
        const struct rubric_models *rm = &rb->models[mode];
        fprintf(f, "  a complete %s-mode submission holds: ", mode ? "quick" : "full");
        if (!rm->n)
            fprintf(f, "any of the lab's models (each one counts)");
        for (size_t k = 0; k < rm->n; k++)
            fprintf(f, "%s%s", k ? ", " : "", rm->names[k]);
        fprintf(f, "\n");
    }
}
