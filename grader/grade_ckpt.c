/* The checkpoint a lab's mode starts from (grader/grade_ckpt.h). */
#include "grader/grade_ckpt.h"

#include "base/error.h"
#include "datasets/hf.h"
#include "labs/config.h"
#include "labs/lab.h"
#include "labs/models/nn.h"

#include <stdio.h>
#include <string.h>

int grade_ckpt_find(struct grade_ctx *g, const char *model, struct grade_ckpt *c)
{
    memset(c, 0, sizeof *c);
    json_t *cfg = NULL;
    if (!grade_mode(g) || lab_config_resolve(g->lab, g->quick, &cfg))
        return lab_err(LAB_EUSAGE, NULL, "%s", g->mode_err[0] ? g->mode_err : "the lab's configuration is unusable");
    int quick_src = json_is_object(lab_cfg_get(cfg, "source"));
    snprintf(c->repo, sizeof c->repo, "%s", lab_cfg_str(cfg, quick_src ? "source.repo" : "weights.repo", ""));
    snprintf(c->revision, sizeof c->revision, "%s", lab_cfg_str(cfg, "weights.revision", "main"));
    json_decref(cfg);
    const json_t *models = json_object_get(g->sub->metrics, "models");
    const char *rev = NULL;
    if (model)
        rev = json_string_value(json_object_get(json_object_get(json_object_get(models, model), "pretrained"), "revision"));
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)models, k, v) if (!rev)
        rev = json_string_value(json_object_get(json_object_get(v, "pretrained"), "revision"));
    if (rev && *rev && strlen(rev) < sizeof c->revision && !strchr(rev, '/') && !strstr(rev, ".."))
        snprintf(c->revision, sizeof c->revision, "%s", rev);
    int found_cfg = 0;
    LAB_TRY(ds_hf_cached_path(c->repo, c->revision, "model.safetensors", c->weights, sizeof c->weights, &c->found));
    LAB_TRY(ds_hf_cached_path(c->repo, c->revision, "config.json", c->config, sizeof c->config, &found_cfg));
    if (!found_cfg)
        c->config[0] = '\0';
    return LAB_OK;
}


int grade_ckpt_applies(struct grade_ctx *g)
{
    json_t *cfg = NULL;
    if (!grade_mode(g) || lab_config_resolve(g->lab, g->quick, &cfg))
        return 0;
    int yes = json_is_object(lab_cfg_get(cfg, "source")) || lab_cfg_get(cfg, "weights.repo") != NULL;
    json_decref(cfg);
    return yes;
}
