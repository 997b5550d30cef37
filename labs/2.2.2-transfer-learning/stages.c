#include "labs/2.2.2-transfer-learning/stages.h"

#include "base/error.h"
#include "labs/config.h"

#include <string.h>

const char *const tl_backbone[TL_NBACKBONE] = {"conv_stem", "bn1",      "blocks.0", "blocks.1",  "blocks.2", "blocks.3",
                                               "blocks.4",  "blocks.5", "blocks.6", "conv_head", "bn2"};

static int names_child(const char *entry, const char *child)
{
    size_t n = strlen(entry);
    return !strcmp(entry, "*") || !strcmp(entry, child) || (n && !strncmp(entry, child, n) && child[n] == '.');
}

json_t *tl_frozen_children(const json_t *unfreeze, int all)
{
    json_t *out = json_array();
    for (int i = 0; i < TL_NBACKBONE; i++) {
        int open = 0;
        size_t k;
        const json_t *u;
        json_array_foreach(unfreeze, k, u) open |= names_child(json_string_value(u) ? json_string_value(u) : "", tl_backbone[i]);
        if (all || !open)
            json_array_append_new(out, json_string(tl_backbone[i]));
    }
    return out;
}

/* The solution's candidate list: model.children() but the last (timm's
 * EfficientNet has no `features`). global_pool has no parameters. */
static const char *const candidates[] = {"conv_stem", "bn1", "blocks", "conv_head", "bn2", "global_pool"};
#define NCANDIDATES ((int)(sizeof candidates / sizeof candidates[0]))

static int solution_stages(const json_t *sol, json_t **out)
{
    int total = (int)lab_cfg_int(sol, "epochs", 10), n = (int)lab_cfg_int(sol, "num_stages", 4);
    double lr = lab_cfg_num(sol, "lr", 1e-4);
    if (n < 1 || n > NCANDIDATES)
        return lab_err(LAB_EUSAGE, "use 1 to 6 stages (--set train.gradual.solution.num_stages=4)",
                       "train.gradual.solution.num_stages is %d", n);
    /* The solution divides by epochs // stages: fewer epochs than stages
     * would divide by zero there. */
    if (total < n || lr <= 0)
        return lab_err(LAB_EUSAGE, "give at least one epoch per stage and a positive lr (--set train.gradual.solution.epochs=10)",
                       "train.gradual.solution has %d epoch(s) for %d stages at lr %g", total, n, lr);
    int per = total / n, step = NCANDIDATES / n;
    json_t *stages = json_array();
    for (int s = 0; s < n; s++) {
        json_t *unfreeze = json_array();
        for (int c = NCANDIDATES - (s + 1) * step; c < NCANDIDATES; c++)
            json_array_append_new(unfreeze, json_string(candidates[c]));
        json_array_append_new(stages, json_pack("{s:i, s:o, s:{s:f, s:f}}", "epochs", s < n - 1 ? per : total - per * (n - 1),
                                                "unfreeze", unfreeze, "lr", "head", lr, "backbone", lr));
    }
    *out = stages;
    return LAB_OK;
}

int tl_gradual_stages(const json_t *gradual, json_t **out)
{
    const char *rule = lab_cfg_str(gradual, "rule", "stages");
    *out = NULL;
    if (!strcmp(rule, "solution"))
        return solution_stages(json_object_get(gradual, "solution"), out);
    if (strcmp(rule, "stages"))
        return lab_err(LAB_EUSAGE, "use --set train.gradual.rule=stages (the course's) or =solution (the solution's 4 stages)",
                       "unknown train.gradual.rule '%s'", rule);
    const json_t *stages = json_object_get(gradual, "stages"), *st;
    size_t i;
    json_array_foreach(stages, i, st)
    {
        size_t k;
        const json_t *u;
        json_array_foreach(json_object_get(st, "unfreeze"), k, u)
        {
            const char *name = json_string_value(u);
            int known = name && !strcmp(name, "global_pool");
            for (int c = 0; name && !known && c < TL_NBACKBONE; c++)
                known = names_child(name, tl_backbone[c]);
            if (!known)
                return lab_err(LAB_EUSAGE, "name children of the backbone: conv_stem, bn1, blocks or blocks.0-6, conv_head, bn2, or \"*\"",
                               "train.gradual.stages[%zu].unfreeze[%zu] is '%s', which is no part of efficientnet_b0", i, k,
                               name ? name : "not a string");
        }
    }
    *out = json_incref((json_t *)stages);
    return LAB_OK;
}
