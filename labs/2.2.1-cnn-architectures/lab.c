/* Lab 2.2.1: train the CNN families with one recipe and compare them. */
#include "base/error.h"
#include "base/options.h"
#include "base/fsutil.h"
#include "datasets/registry.h"
#include "datasets/pipeline.h"
#include "labs/2.2.1-cnn-architectures/cnn_models.h"
#include "labs/config.h"
#include "labs/lab.h"
#include "labs/models/nn.h"
#include "labs/models/weights.h"
#include "labs/run.h"
#include "labs/tasks/classify.h"
#include "labs/train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const study_models[] = {"lenet5", "alexnet", "vgg11", "resnet18", NULL};

static int validate(const json_t *config)
{
    const char *model = lab_cfg_str(config, "model", "all");
    if (*lab_cfg_str(config, "weights", "") && strcmp(model, "all") == 0)
        return lab_err(LAB_EUSAGE, "add --model NAME for the architecture the weights belong to",
                       "--set weights=... needs one model, not all");
    const char *choices[16] = {"all"};
    size_t n = 1;
    for (const char *const *c = cnn_model_names; *c && n < 15; c++)
        choices[n++] = *c;
    for (size_t i = 0; i < n; i++)
        if (strcmp(choices[i], model) == 0)
            return LAB_OK;
    return lab_opts_bad_value("--model", model, choices);
}

/* The training subset is per model (quick mode sizes it to the model's
 * speed); every model is evaluated on the same images. */
struct cnn_data {
    struct ds_dataset *train_full, *eval_full, *eval;
    struct classify_data cd;
    const char *const *class_names;
};

static void cnn_data_free(struct cnn_data *d)
{
    if (d->eval != d->eval_full)
        ds_dataset_free(d->eval);
    ds_dataset_free(d->train_full);
    ds_dataset_free(d->eval_full);
}

static int subset(struct ds_dataset *full, int64_t n, struct ds_dataset **out)
{
    if (n <= 0 || (size_t)n >= full->n) {
        *out = full;
        return LAB_OK;
    }
    return ds_subset_dataset(full, (size_t)n, out);
}

static int open_data(const json_t *config, struct cnn_data *d)
{
    const struct ds_info *info;
    int rc = ds_info_get(lab_cfg_str(config, "data.dataset", ""), "lab 2.2.1", &info);
    if (rc || (rc = ds_info_open(info, NULL, 1, &d->train_full)) || (rc = ds_info_open(info, NULL, 0, &d->eval_full)))
        return rc;
    d->class_names = info->class_names;
    if ((rc = subset(d->eval_full, lab_cfg_int(config, "data.eval_subset", 0), &d->eval)))
        return rc;
    const json_t *data = lab_cfg_get(config, "data");
    if ((rc = ds_augment_from_json(data, &d->cd.train_aug)))
        return rc;
    /* Evaluation sees the images as they are: no random step. */
    if ((rc = ds_eval_augment(data, &d->cd.eval_aug)))
        return rc;
    d->cd.eval = d->eval;
    return LAB_OK;
}

/* The model's own recipe: the run's config with its per_model values. */
struct model_recipe {
    json_t *config;
    struct train_config tc;
    struct ds_dataset *train; /* the model's training subset (owned unless it is the whole split) */
    struct classify_data cd;  /* cd.train borrows it */
};

static void model_recipe_free(struct model_recipe *mr, const struct cnn_data *d)
{
    if (mr->train != d->train_full)
        ds_dataset_free(mr->train);
    json_decref(mr->config);
}

static int model_recipe_make(struct lab_run *r, const char *name, const struct cnn_data *d, struct model_recipe *mr)
{
    *mr = (struct model_recipe){.cd = d->cd};
    mr->train = d->train_full;
    int rc = lab_config_for_model(r->config, name, &mr->config);
    if (!rc)
        rc = train_config_read(mr->config, &r->dev, &mr->tc);
    if (!rc)
        rc = subset(d->train_full, lab_cfg_int(mr->config, "data.train_subset", 0), &mr->train);
    mr->cd.train = mr->train;
    return rc;
}

static int train_one(struct lab_run *r, const char *name, const struct cnn_data *d, json_t *models)
{
    struct model_recipe mr;
    const struct train_config *tc = &mr.tc;
    struct model *m;
    int rc = model_recipe_make(r, name, d, &mr);
    /* Every model starts from the run's seed, so its initial weights do not
     * depend on which models ran before it. */
    if (!rc && (rc = ts_manual_seed(tc->seed)) != 0)
        rc = nn_fail(rc, "ts_manual_seed");
    if (!rc)
        rc = cnn_model_create(name, d->train_full->num_classes, &m);
    if (rc) {
        model_recipe_free(&mr, d);
        return rc;
    }
    char dir[256], ckpt[4200], path[4200];
    snprintf(dir, sizeof dir, "models/%s/checkpoint.safetensors", name);
    rc = lab_run_path(r, dir, ckpt, sizeof ckpt);
    lab_say(r, "%s: %lld parameters; %zu training images, batch %d, lr %g", name, (long long)model_num_params(m),
            mr.cd.train->n, tc->batch_size, tc->lr);
    json_t *mm = json_object();
    json_object_set_new(mm, "train_images", json_integer((json_int_t)mr.cd.train->n));
    json_object_set_new(mm, "batch_size", json_integer(tc->batch_size));
    json_object_set_new(mm, "base_lr", json_real(tc->lr));
    struct eval_result e = {0};
    /* Starting weights, e.g. a model trained in the course notebook; with
     * --epochs 0 the run only evaluates them. */
    const char *init = lab_cfg_str(r->config, "weights", "");
    if (!rc && *init) {
        rc = weights_load(m->params, init, 1, NULL, NULL);
        if (!rc)
            lab_say(r, "%s: weights from %s", name, init);
    }
    if (!rc)
        rc = classifier_train(r, m, &mr.cd, tc, ckpt, mm, &e);
    json_t *meta = json_pack("{s:s, s:s, s:s}", "format", "pt", "lab", "2.2.1", "model", name);
    snprintf(dir, sizeof dir, "models/%s/model.safetensors", name);
    if (!rc && !(rc = lab_run_path(r, dir, path, sizeof path)))
        rc = weights_save(m->params, path, meta, NULL, 0);
    json_decref(meta);
    snprintf(dir, sizeof dir, "models/%s/predictions.safetensors", name);
    if (!rc && !(rc = lab_run_path(r, dir, path, sizeof path)))
        rc = classify_save_predictions(path, &e);
    if (!rc)
        rc = classify_plots(r, name, mm, d->eval, d->class_names, &e);
    if (!rc) {
        json_object_set_new(mm, "status", json_string("done"));
        json_object_set(models, name, mm);
        rc = lab_run_save_metrics(r);
        unlink(ckpt); /* the model is complete: its weights are in model.safetensors */
    }
    json_decref(mm);
    eval_result_free(&e);
    model_free(m);
    model_recipe_free(&mr, d);
    return rc;
}

static int run(struct lab_run *r)
{
    struct cnn_data d = {0};
    struct train_config tc;
    int rc = open_data(r->config, &d);
    if (!rc)
        rc = train_config_read(r->config, &r->dev, &tc);
    if (rc) {
        cnn_data_free(&d);
        return rc;
    }
    lab_say(r, "data %s: %zu training images, %zu test images, %d classes, input %dx%d", d.train_full->name,
            d.train_full->n, d.eval->n, d.train_full->num_classes, 32, 32);
    lab_say(r, "recipe: %s momentum %g weight decay %g, %s schedule, %d epoch(s)", tc.optimizer, tc.momentum,
            tc.weight_decay, tc.schedule, tc.epochs);
    rc = classify_save_inputs(r, d.eval, &d.cd.eval_aug);
    json_t *models = json_object_get(r->metrics, "models");
    if (!models) {
        json_object_set_new(r->metrics, "lab", json_string("2.2.1"));
        json_object_set_new(r->metrics, "dataset", json_string(d.train_full->name));
        json_object_set_new(r->metrics, "models", json_object());
        models = json_object_get(r->metrics, "models");
    }
    const char *choice = lab_cfg_str(r->config, "model", "all");
    const char *one[2] = {choice, NULL};
    const char *const *list = strcmp(choice, "all") == 0 ? study_models : one;
    for (; !rc && *list; list++) {
        const json_t *prev = json_object_get(models, *list);
        if (prev && strcmp(json_string_value(json_object_get(prev, "status")), "done") == 0) {
            lab_say(r, "%s: done in the interrupted run, kept", *list);
            continue;
        }
        if (lab_interrupted)
            rc = LAB_EINTERRUPTED;
        else
            rc = train_one(r, *list, &d, models);
    }
    if (!rc) {
        const json_t *thr = lab_cfg_get(r->manifest, lab_cfg_bool(r->config, "quick", 0) ? "thresholds.quick.test_accuracy"
                                                                                           : "thresholds.full.test_accuracy");
        rc = classify_write_comparison(r, models, thr);
    }
    if (rc == LAB_EINTERRUPTED)
        lab_run_save_metrics(r);
    cnn_data_free(&d);
    return rc;
}

const struct lab_impl lab_cnn_architectures = {
    .id = "2.2.1", .validate = validate, .run = run, .create_model = cnn_model_create};
