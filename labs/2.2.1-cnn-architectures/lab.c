/* Lab 2.2.1: train the CNN families with one recipe and compare them. */
#include "base/error.h"
#include "base/options.h"
#include "base/fsutil.h"
#include "datasets/loaders.h"
#include "datasets/pipeline.h"
#include "labs/2.2.1-cnn-architectures/cnn_models.h"
#include "labs/config.h"
#include "labs/lab.h"
#include "labs/models/nn.h"
#include "labs/models/weights.h"
#include "labs/plots.h"
#include "labs/run.h"
#include "labs/train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const study_models[] = {"lenet5", "alexnet", "vgg11", "resnet18", NULL};
static const char *const cifar10_classes[10] = {"airplane", "automobile", "bird", "cat", "deer",
                                                "dog",      "frog",       "horse", "ship", "truck"};

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
    const char *name = lab_cfg_str(config, "data.dataset", "");
    int rc;
    if (strcmp(name, "fashion-mnist") == 0) {
        if ((rc = ds_fashion_mnist_open(NULL, 1, &d->train_full)) || (rc = ds_fashion_mnist_open(NULL, 0, &d->eval_full)))
            return rc;
        d->class_names = ds_fashion_mnist_classes;
    } else if (strcmp(name, "cifar-10") == 0) {
        if ((rc = ds_cifar_open(NULL, 0, 1, &d->train_full)) || (rc = ds_cifar_open(NULL, 0, 0, &d->eval_full)))
            return rc;
        d->class_names = cifar10_classes;
    } else {
        return lab_err(LAB_EUSAGE, "use cifar-10 or fashion-mnist", "lab 2.2.1 cannot train on '%s'", name);
    }
    if ((rc = subset(d->eval_full, lab_cfg_int(config, "data.eval_subset", 0), &d->eval)))
        return rc;
    const json_t *data = lab_cfg_get(config, "data");
    if ((rc = ds_augment_from_json(data, &d->cd.train_aug)))
        return rc;
    /* Evaluation sees the images as they are: no random crop or flip. */
    d->cd.eval_aug = d->cd.train_aug;
    d->cd.eval_aug.crop_size = 0;
    d->cd.eval_aug.crop_padding = 0;
    d->cd.eval_aug.hflip_p = 0;
    d->cd.eval = d->eval;
    return LAB_OK;
}

static int save_predictions(const char *path, const struct eval_result *e)
{
    int64_t ls[2] = {e->n, e->classes};
    struct ts_host_tensor t[3] = {
        {.name = "logits", .dtype = TS_F32, .ndim = 2, .data = e->logits,
         .nbytes = (size_t)(e->n * e->classes) * sizeof(float)},
        {.name = "labels", .dtype = TS_I64, .ndim = 1, .data = e->labels, .nbytes = (size_t)e->n * sizeof(int64_t)},
        {.name = "indices", .dtype = TS_I64, .ndim = 1, .data = e->indices, .nbytes = (size_t)e->n * sizeof(int64_t)},
    };
    memcpy(t[0].shape, ls, sizeof ls);
    t[1].shape[0] = t[2].shape[0] = e->n;
    json_t *meta = json_pack("{s:s}", "format", "lab-predictions-v1");
    int rc = weights_save_host(t, 3, path, meta);
    json_decref(meta);
    return rc;
}

/* One preprocessed eval batch as the model saw it (tensor pixel_values,
 * [B, 3, 32, 32] float): the grader's norm.inputs check reads its
 * statistics to tell raw pixels, missing Normalize and wrong constants apart. */
static int save_inputs(struct lab_run *r, const struct cnn_data *d)
{
    struct ds_pipeline_config pc = {.batch_size = d->eval->n < 64 ? (int)d->eval->n : 64, .threads = 0,
                                    .augment = d->cd.eval_aug};
    struct ds_pipeline *p;
    struct ds_batch *b = NULL;
    int rc = ds_pipeline_open(d->eval, &pc, &p);
    if (rc)
        return rc;
    if (!(rc = ds_pipeline_next(p, &b)) && b) {
        struct ts_host_tensor t = {.name = "pixel_values", .dtype = TS_F32, .ndim = 4, .data = b->images,
                                   .nbytes = (size_t)b->n * (size_t)(b->c * b->h * b->w) * sizeof(float),
                                   .shape = {b->n, b->c, b->h, b->w}};
        char path[4200];
        json_t *meta = json_pack("{s:s}", "format", "lab-inputs-v1");
        if (!(rc = lab_run_path(r, "inputs.safetensors", path, sizeof path)))
            rc = weights_save_host(&t, 1, path, meta);
        json_decref(meta);
        ds_batch_free(b);
    }
    ds_pipeline_close(p);
    return rc;
}

static int argmax_row(const float *row, int64_t k)
{
    int best = 0;
    for (int j = 1; j < k; j++)
        if (row[j] > row[best])
            best = j;
    return best;
}

static int draw_model_plots(struct lab_run *r, const char *name, const json_t *mm, const struct cnn_data *d,
                            const struct eval_result *e)
{
    char path[4200], rel[256], title[128];
    const json_t *epochs = json_object_get(mm, "epochs");
    int n = (int)json_array_size(epochs);
    double *x = calloc((size_t)n + 1, sizeof *x), *tl = calloc((size_t)n + 1, sizeof *x),
           *vl = calloc((size_t)n + 1, sizeof *x), *ta = calloc((size_t)n + 1, sizeof *x),
           *va = calloc((size_t)n + 1, sizeof *x);
    for (int i = 0; i < n; i++) {
        const json_t *ep = json_array_get(epochs, (size_t)i);
        x[i] = i + 1;
        tl[i] = json_number_value(json_object_get(ep, "train_loss"));
        vl[i] = json_number_value(json_object_get(ep, "test_loss"));
        ta[i] = json_number_value(json_object_get(ep, "train_accuracy"));
        va[i] = json_number_value(json_object_get(ep, "test_accuracy"));
    }
    struct plot_series loss[2] = {{"train", x, tl, n}, {"test", x, vl, n}}, acc[2] = {{"train", x, ta, n},
                                                                                       {"test", x, va, n}};
    snprintf(rel, sizeof rel, "plots/%s-loss.png", name);
    snprintf(title, sizeof title, "%s: loss", name);
    int rc = lab_run_path(r, rel, path, sizeof path);
    if (!rc)
        rc = plot_lines(path, title, "epoch", "cross-entropy", loss, 2);
    snprintf(rel, sizeof rel, "plots/%s-accuracy.png", name);
    snprintf(title, sizeof title, "%s: accuracy", name);
    if (!rc && !(rc = lab_run_path(r, rel, path, sizeof path)))
        rc = plot_lines(path, title, "epoch", "accuracy", acc, 2);
    free(x), free(tl), free(vl), free(ta), free(va);

    int64_t k = e->classes, *counts = calloc((size_t)(k * k), sizeof *counts);
    for (int64_t i = 0; i < e->n && counts; i++)
        counts[e->labels[i] * k + argmax_row(e->logits + i * k, k)]++;
    snprintf(rel, sizeof rel, "plots/%s-confusion.png", name);
    snprintf(title, sizeof title, "%s: confusion matrix (%lld test images)", name, (long long)e->n);
    if (!rc && !(rc = lab_run_path(r, rel, path, sizeof path)))
        rc = plot_confusion(path, title, counts, (int)k, d->class_names);
    free(counts);

    enum { GRID = 24 };
    struct ds_sample s[GRID];
    struct ds_image ims[GRID];
    char caps[GRID][64];
    const char *capp[GRID];
    int ok[GRID], shown = 0;
    for (; !rc && shown < GRID && shown < e->n; shown++) {
        memset(&s[shown], 0, sizeof s[shown]);
        if ((rc = ds_dataset_get(d->eval, (size_t)e->indices[shown], &s[shown])))
            break;
        ims[shown] = s[shown].image;
        int pred = argmax_row(e->logits + shown * k, k);
        ok[shown] = pred == e->labels[shown];
        /* the predicted class, and the true one under it when they differ
         * (class names may hold '/' themselves: "T-shirt/top") */
        if (ok[shown])
            snprintf(caps[shown], sizeof caps[shown], "%s", d->class_names[pred]);
        else
            snprintf(caps[shown], sizeof caps[shown], "%s\n(true: %s)", d->class_names[pred],
                     d->class_names[e->labels[shown]]);
        capp[shown] = caps[shown];
    }
    snprintf(rel, sizeof rel, "plots/%s-samples.png", name);
    snprintf(title, sizeof title, "%s: predicted class on test images (true class when wrong)", name);
    if (!rc && !(rc = lab_run_path(r, rel, path, sizeof path)))
        rc = plot_image_grid(path, title, ims, shown, capp, ok);
    for (int i = 0; i < shown; i++)
        ds_sample_free(&s[i]);
    return rc;
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
        rc = save_predictions(path, &e);
    if (!rc)
        rc = draw_model_plots(r, name, mm, d, &e);
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

static int write_comparison(struct lab_run *r, const json_t *models, const json_t *thresholds)
{
    char md[8192];
    size_t n = (size_t)snprintf(md, sizeof md,
                                "| model | parameters | test accuracy | train time (s) | images/s |\n"
                                "|---|---:|---:|---:|---:|\n");
    const char *labels[8];
    double accs[8], mparams[8], speed[8];
    int count = 0;
    const char *name;
    json_t *mm;
    lab_say(r, "%-16s %12s %14s %15s %10s", "model", "parameters", "test accuracy", "train time (s)", "images/s");
    json_object_foreach((json_t *)models, name, mm)
    {
        double acc = json_number_value(json_object_get(mm, "test_accuracy"));
        long long params = json_integer_value(json_object_get(mm, "params"));
        double secs = json_number_value(json_object_get(mm, "train_time_s"));
        double ips = json_number_value(json_object_get(mm, "images_per_s"));
        lab_say(r, "%-16s %12lld %13.2f%% %15.1f %10.1f", name, params, 100 * acc, secs, ips);
        if (n < sizeof md)
            n += (size_t)snprintf(md + n, sizeof md - n, "| %s | %lld | %.2f%% | %.1f | %.1f |\n", name, params,
                                  100 * acc, secs, ips);
        if (count < 8) {
            labels[count] = name;
            mparams[count] = params / 1e6;
            speed[count] = ips;
            accs[count++] = 100 * acc;
        }
        const json_t *want = json_object_get(thresholds, name);
        if (json_is_number(want))
            lab_say(r, "%-16s course target for this mode: %.0f%% (%s)", "", 100 * json_number_value(want),
                    acc >= json_number_value(want) ? "reached" : "not reached");
    }
    char path[4200];
    int rc = lab_run_path(r, "comparison.md", path, sizeof path);
    if (!rc)
        rc = lab_write_atomic(path, md, strlen(md));
    if (!rc && !(rc = lab_run_path(r, "plots/comparison.png", path, sizeof path)))
    {
        const struct plot_panel panels[] = {{"test accuracy", "%", "%.2f%%", accs, 100},
                                            {"parameters", "millions", "%.3gM", mparams, 0},
                                            {"training speed", "images/s", "%.0f", speed, 0}};
        rc = plot_bar_panels(path, "models compared: accuracy, size, speed", labels, count, panels, 3);
    }
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
    rc = save_inputs(r, &d);
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
        rc = write_comparison(r, models, thr);
    }
    if (rc == LAB_EINTERRUPTED)
        lab_run_save_metrics(r);
    cnn_data_free(&d);
    return rc;
}

const struct lab_impl lab_cnn_architectures = {
    .id = "2.2.1", .validate = validate, .run = run, .create_model = cnn_model_create};
