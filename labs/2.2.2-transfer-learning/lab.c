/* Lab 2.2.2: transfer learning with timm's EfficientNet-B0 on the classify
 * task. The pretrained backbone comes from the Hugging Face cache
 * (labs/pretrained.h); the course head Dropout(0.3) -> Linear(1280, K) is
 * new. Strategies: (a) frozen backbone (its BatchNorm in eval mode), (b) full
 * fine-tuning with discriminative learning rates, (c) gradual unfreezing,
 * and the same network from scratch as the baseline. Quick mode makes its
 * own source task offline: Fashion-MNIST classes 0-4 pretrain a backbone that
 * is saved in the HF layout, cached, and loaded back like timm's weights to
 * transfer to classes 5-9 from a few hundred labelled images. */
#include "base/error.h"
#include "base/options.h"
#include "base/fsutil.h"
#include "datasets/hash.h"
#include "datasets/hf.h"
#include "datasets/registry.h"
#include "labs/2.2.2-transfer-learning/channels.h"
#include "labs/2.2.2-transfer-learning/classes.h"
#include "labs/2.2.2-transfer-learning/stages.h"
#include "labs/config.h"
#include "labs/lab.h"
#include "labs/models/efficientnet.h"
#include "labs/models/nn.h"
#include "labs/models/weights.h"
#include "labs/plots.h"
#include "labs/pretrained.h"
#include "labs/run.h"
#include "labs/tasks/classify.h"
#include "labs/train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const strategies[] = {"frozen", "finetune", "gradual", "scratch", NULL};

static int validate(const json_t *config)
{
    const char *model = lab_cfg_str(config, "model", "efficientnet_b0");
    if (strcmp(model, "efficientnet_b0"))
        return lab_opts_bad_value("--model", model, (const char *const[]){"efficientnet_b0", NULL});
    const char *s = lab_cfg_str(config, "strategy", "all");
    const char *choices[] = {"all", "frozen", "finetune", "gradual", "scratch", NULL};
    for (const char *const *c = choices; *c; c++)
        if (!strcmp(*c, s))
            return LAB_OK;
    return lab_opts_bad_value("--set strategy", s, choices);
}

static int create_model_cfg(const json_t *config, const char *name, int num_classes, struct model **out)
{
    int known = !strcmp(name, "efficientnet_b0");
    for (const char *const *s = strategies; *s; s++)
        known |= !strcmp(*s, name);
    if (!known)
        return lab_err(LAB_EUSAGE, "models: frozen, finetune, gradual, scratch (each an efficientnet_b0)",
                       "unknown model '%s'", name);
    struct effnet_config c;
    effnet_config_course(&c);
    /* A run's configuration knows its class count (5 in quick mode, 100 for
     * CIFAR-100); the caller's count is the fallback. */
    c.num_classes = (int)lab_cfg_int(config, "data.num_classes", num_classes > 0 ? num_classes : 100);
    c.head_dropout = lab_cfg_num(config, "model.head_dropout", c.head_dropout);
    c.drop_rate = lab_cfg_num(config, "model.drop_rate", 0);
    c.drop_path_rate = lab_cfg_num(config, "model.drop_path_rate", 0);
    return effnet_b0_new(&c, out);
}

static int create_model(const char *name, int num_classes, struct model **out)
{
    return create_model_cfg(NULL, name, num_classes, out);
}

struct tl_data {
    struct ds_dataset *train_full, *eval_full, *train, *eval;
    struct ds_dataset *train_classes; /* the classes' training samples the seeded subset is drawn from, or NULL */
    struct classify_data cd;
    const char *const *class_names;
    int channels; /* the dataset's, as stored */
};

static void tl_data_free(struct tl_data *d)
{
    ds_dataset_free(d->train);
    ds_dataset_free(d->train_classes);
    ds_dataset_free(d->eval);
    ds_dataset_free(d->train_full);
    ds_dataset_free(d->eval_full);
}

static void class_range(const json_t *config, const char *key, int all, int *lo, int *hi)
{
    const json_t *c = lab_cfg_get(config, key);
    *lo = 0;
    *hi = all;
    if (json_array_size(c) == 2) {
        *lo = (int)json_integer_value(json_array_get(c, 0));
        *hi = (int)json_integer_value(json_array_get(c, 1));
    }
}

static int open_data(const json_t *config, struct tl_data *d)
{
    const struct ds_info *info;
    int rc = ds_info_get(lab_cfg_str(config, "data.dataset", ""), "lab 2.2.2", &info);
    if (rc || (rc = ds_info_open(info, NULL, 1, &d->train_full)) || (rc = ds_info_open(info, NULL, 0, &d->eval_full)))
        return rc;
    int lo, hi;
    class_range(config, "data.classes", d->train_full->num_classes, &lo, &hi);
    size_t subset = (size_t)lab_cfg_int(config, "data.train_subset", 0);
    rc = transfer_class_view(d->train_full, lo, hi, (size_t)lab_cfg_int(config, "data.train_per_class", 0), 0,
                             subset ? &d->train_classes : &d->train);
    if (!rc && subset) /* the course's subset, drawn at random: from the run's seed, so a rerun draws the same */
        rc = transfer_seeded_subset(d->train_classes, subset, (uint64_t)lab_cfg_int(config, "seed", 42), &d->train);
    if (!rc)
        rc = transfer_class_view(d->eval_full, lo, hi, 0, (size_t)lab_cfg_int(config, "data.eval_subset", 0), &d->eval);
    if (rc)
        return rc;
    if (lab_cfg_int(config, "data.num_classes", 0) != d->train->num_classes)
        return lab_err(LAB_EUSAGE, "set data.num_classes to the number of classes in data.classes",
                       "data.num_classes is %lld, but %s has %d classes", (long long)lab_cfg_int(config, "data.num_classes", 0),
                       d->train->name, d->train->num_classes);
    d->class_names = info->class_names ? info->class_names + lo : NULL;
    d->channels = info->channels;
    const json_t *data = lab_cfg_get(config, "data");
    if ((rc = ds_augment_from_json(data, &d->cd.train_aug)) || (rc = ds_eval_augment(data, &d->cd.eval_aug)))
        return rc;
    d->cd.train = d->train;
    d->cd.eval = d->eval;
    return LAB_OK;
}

/* ---- The pretrained backbone ---- */

struct source {
    char repo[160], revision[64], weights[4400], config[4400];
    struct pretrained_cfg cfg;
};

/* The source network starts from another random init than the strategies'
 * (seed + 1): with the same seed, scratch would begin where the source
 * began, and its weights would resemble the pretrained ones. */
#define SOURCE_INIT "seed+1"
#define SOURCE_SEED_OFFSET 1

/* The revision of the quick source checkpoint: a digest of everything that
 * shapes it, so a changed recipe trains a new one and an unchanged one reuses it. */
/* The train keys the source's training reads (the strategies' own groups,
 * mixup and warm-up do not shape it: source_config). */
static json_t *source_train_keys(const json_t *config)
{
    json_t *t = json_object();
    static const char *const keys[] = {"batch_size", "optimizer", "weight_decay", "schedule", "label_smoothing", NULL};
    for (const char *const *k = keys; *k; k++) {
        char path[64];
        snprintf(path, sizeof path, "train.%s", *k);
        const json_t *v = lab_cfg_get(config, path);
        if (v)
            json_object_set_new(t, *k, json_deep_copy(v));
    }
    return t;
}

static void source_revision(const json_t *config, char *out, size_t cap)
{
    json_t *key = json_pack("{s:O?, s:O?, s:O?, s:O?, s:I, s:s, s:o}", "source", lab_cfg_get(config, "source"),
                            "input_size", lab_cfg_get(config, "data.input_size"), "normalize",
                            lab_cfg_get(config, "data.normalize"), "dataset", lab_cfg_get(config, "data.dataset"), "seed",
                            (json_int_t)lab_cfg_int(config, "seed", 42), "init", SOURCE_INIT, "train",
                            source_train_keys(config));
    char *text = key ? json_dumps(key, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
    char hex[65] = "0";
    if (text)
        ds_hash_buffer(text, strlen(text), "sha256", hex, sizeof hex);
    snprintf(out, cap, "quick-%.12s", hex);
    free(text);
    json_decref(key);
}

/* A config copy with train.* overridden for one training phase. */
static int phase_config(const json_t *base, int epochs, double lr, int batch, json_t *freeze, json_t *groups,
                        json_t **out)
{
    json_t *c = json_deep_copy(base), *train = json_object_get(c, "train");
    if (!c || !json_is_object(train)) {
        json_decref(c);
        json_decref(freeze);
        json_decref(groups);
        return lab_err(LAB_EINTERNAL, NULL, "the configuration has no train group");
    }
    json_object_set_new(train, "epochs", json_integer(epochs));
    json_object_set_new(train, "lr", json_real(lr));
    if (batch > 0)
        json_object_set_new(train, "batch_size", json_integer(batch));
    json_object_set_new(train, "freeze", freeze ? freeze : json_array());
    json_object_set_new(train, "param_groups", groups ? groups : json_array());
    *out = c;
    return LAB_OK;
}

static int all_trainable(struct model *m)
{
    for (size_t i = 0; i < ts_params_count(m->params); i++) {
        const char *name;
        ts_tensor *t;
        int kind, group;
        NN_TRY(ts_params_at(m->params, i, &name, &t, &kind, &group));
        if (kind == TS_PARAM)
            NN_TRY(ts_set_requires_grad(t, 1));
    }
    return LAB_OK;
}

static int64_t trainable_params(const struct model *m)
{
    int64_t n = 0;
    for (size_t i = 0; i < ts_params_count(m->params); i++) {
        const char *name;
        ts_tensor *t;
        int kind, group;
        ts_params_at(m->params, i, &name, &t, &kind, &group);
        if (kind == TS_PARAM && ts_requires_grad(t))
            n += ts_numel(t);
    }
    return n;
}

/* Quick mode: pretrain on the source classes and save the backbone in the
 * HF layout, unless that exact recipe is already cached. */
static int make_source(struct lab_run *r, const struct tl_data *d, struct source *s)
{
    const json_t *cfg = r->config;
    snprintf(s->repo, sizeof s->repo, "%s", lab_cfg_str(cfg, "source.repo", "lab-quick/efficientnet_b0.src"));
    source_revision(cfg, s->revision, sizeof s->revision);
    int found = 0;
    char path[4400];
    LAB_TRY(ds_hf_cached_path(s->repo, s->revision, "model.safetensors", path, sizeof path, &found));
    if (found) {
        lab_say(r, "source: cached %s@%s (%s)", s->repo, s->revision, path);
        return LAB_OK;
    }
    int lo, hi;
    class_range(cfg, "source.classes", d->train_full->num_classes, &lo, &hi);
    struct ds_dataset *train = NULL, *eval = NULL;
    int rc = transfer_class_view(d->train_full, lo, hi, 0, (size_t)lab_cfg_int(cfg, "source.train_images", 0), &train);
    if (!rc)
        rc = transfer_class_view(d->eval_full, lo, hi, 0, (size_t)lab_cfg_int(cfg, "source.eval_images", 1000), &eval);
    json_t *pc = NULL;
    if (!rc)
        rc = phase_config(cfg, (int)lab_cfg_int(cfg, "source.epochs", 1), lab_cfg_num(cfg, "source.lr", 3e-3),
                          (int)lab_cfg_int(cfg, "source.batch_size", 0), NULL, NULL, &pc);
    if (!rc) { /* mixup and warm-up are the transfer's techniques, not the source's (it stands in for ImageNet) */
        json_t *train = json_object_get(pc, "train");
        json_object_set_new(train, "mixup", json_real(0));
        json_object_set_new(train, "warmup_epochs", json_integer(0));
    }
    struct train_config tc;
    struct model *m = NULL;
    if (!rc)
        rc = train_config_read(pc, &r->dev, &tc);
    struct effnet_config ec = {.num_classes = hi - lo, .head = EFFNET_HEAD_IMAGENET};
    if (!rc && (rc = ts_manual_seed(tc.seed + SOURCE_SEED_OFFSET)) != 0)
        rc = nn_fail(rc, "ts_manual_seed");
    if (!rc)
        rc = effnet_b0_new(&ec, &m);
    lab_say(r, "source: pretraining efficientnet_b0 on %s (%zu images, %d classes), %d epoch(s), lr %g", train ? train->name : "?",
            train ? train->n : 0, hi - lo, tc.epochs, tc.lr);
    struct classify_data cd = d->cd;
    cd.train = train;
    cd.eval = eval;
    json_t *mm = json_object();
    struct eval_result e = {0};
    char ckpt[4200];
    if (!rc)
        rc = lab_run_path(r, "models/source/checkpoint.safetensors", ckpt, sizeof ckpt);
    if (!rc)
        rc = classifier_train(r, m, &cd, &tc, ckpt, mm, &e);
    if (!rc) {
        struct pretrained_cfg c = {.num_classes = hi - lo, .crop_pct = 1.0, .channels = 3};
        snprintf(c.architecture, sizeof c.architecture, "efficientnet_b0");
        snprintf(c.interpolation, sizeof c.interpolation, "bilinear");
        for (int i = 0; i < 3; i++) {
            c.input_size[i] = (int)json_integer_value(json_array_get(lab_cfg_get(cfg, "data.input_size"), (size_t)i));
            c.mean[i] = d->cd.eval_aug.mean[i];
            c.std[i] = d->cd.eval_aug.std[i];
        }
        rc = pretrained_save_hf(m, &c, s->repo, s->revision, NULL, 0);
    }
    if (!rc) {
        lab_say(r, "source: %.2f%% on the source classes' test images; saved as %s@%s", 100 * e.accuracy, s->repo,
                s->revision);
        json_object_set_new(r->metrics, "source", json_pack("{s:s, s:s, s:f, s:f, s:I}", "repo", s->repo, "revision",
                                                            s->revision, "test_accuracy", e.accuracy, "train_time_s",
                                                            json_number_value(json_object_get(mm, "train_time_s")),
                                                            "train_images", (json_int_t)train->n));
        unlink(ckpt);
    }
    eval_result_free(&e);
    json_decref(mm);
    json_decref(pc);
    model_free(m);
    ds_dataset_free(train);
    ds_dataset_free(eval);
    return rc;
}

static int open_source(struct lab_run *r, struct tl_data *d, struct source *s)
{
    const json_t *cfg = r->config;
    if (json_is_object(lab_cfg_get(cfg, "source"))) {
        LAB_TRY(make_source(r, d, s));
    } else {
        snprintf(s->repo, sizeof s->repo, "%s", lab_cfg_str(cfg, "weights.repo", "timm/efficientnet_b0.ra_in1k"));
        snprintf(s->revision, sizeof s->revision, "%s", lab_cfg_str(cfg, "weights.revision", "main"));
    }
    LAB_TRY(pretrained_resolve(s->repo, s->revision, s->weights, s->config, sizeof s->weights));
    LAB_TRY(pretrained_cfg_read(s->config, &s->cfg));
    lab_say(r, "pretrained: %s@%s (%s, input %dx%d, %s, crop %.3f, mean %.3f %.3f %.3f)", s->repo, s->revision,
            s->cfg.architecture, s->cfg.input_size[1], s->cfg.input_size[2], s->cfg.interpolation, s->cfg.crop_pct,
            s->cfg.mean[0], s->cfg.mean[1], s->cfg.mean[2]);
    int grey = transfer_match_channels(d->channels, s->cfg.input_size[0], &d->cd.train_aug, &d->cd.eval_aug);
    if (grey < 0)
        return grey;
    if (grey)
        lab_say(r, "data: %s is greyscale; its channel is repeated three times for the RGB backbone", d->train->name);
    /* Evaluation preprocesses as the weights expect (resize, crop,
     * interpolation, their mean/std: ImageNet's for timm's); training keeps
     * its own augmentation but normalizes with the same constants. */
    char what[300];
    snprintf(what, sizeof what, "%s@%s", s->repo, s->revision);
    struct ds_augment *ev = &d->cd.eval_aug;
    LAB_TRY(pretrained_eval_augment(&s->cfg, what, ev));
    int differs = 0;
    for (int i = 0; i < 3; i++) {
        differs |= fabsf(ev->mean[i] - d->cd.train_aug.mean[i]) > 1e-4f || fabsf(ev->std[i] - d->cd.train_aug.std[i]) > 1e-4f;
        d->cd.train_aug.mean[i] = ev->mean[i];
        d->cd.train_aug.std[i] = ev->std[i];
    }
    if (differs)
        lab_say(r, "warning: data.normalize differs from the pretrained config's mean/std; using the pretrained "
                   "constants (lab explain TS-NORM-MISMATCH)");
    d->cd.train_aug.normalize = 1;
    return LAB_OK;
}

/* ---- Strategies ---- */

struct phase {
    json_t *config; /* owned */
    json_t *frozen; /* borrowed from config: train.freeze */
};

/* The phases of a strategy from train.<strategy>. */
static int strategy_phases(const json_t *cfg, const char *name, struct phase *ph, int cap, int *n)
{
    char key[64];
    *n = 0;
    snprintf(key, sizeof key, "train.%s", name);
    const json_t *s = lab_cfg_get(cfg, key);
    int rc = LAB_OK;
    if (!strcmp(name, "frozen")) {
        rc = phase_config(cfg, (int)lab_cfg_int(s, "epochs", 5), lab_cfg_num(s, "lr", 0.01), 0, tl_frozen_children(NULL, 1),
                          NULL, &ph[0].config);
        *n = !rc;
    } else if (!strcmp(name, "finetune")) {
        json_t *groups = json_pack("[{s:s, s:f}]", "prefix", "classifier", "lr", lab_cfg_num(s, "head_lr", 1e-3));
        rc = phase_config(cfg, (int)lab_cfg_int(s, "epochs", 10), lab_cfg_num(s, "backbone_lr", 1e-4), 0, NULL, groups,
                          &ph[0].config);
        *n = !rc;
    } else if (!strcmp(name, "scratch")) {
        rc = phase_config(cfg, (int)lab_cfg_int(s, "epochs", 10), lab_cfg_num(s, "lr", 1e-3), 0, NULL, NULL,
                          &ph[0].config);
        *n = !rc;
    } else {
        json_t *stages;
        const json_t *st;
        size_t i;
        LAB_TRY(tl_gradual_stages(s, &stages));
        size_t nst = json_array_size(stages);
        if (!nst || nst > (size_t)cap) {
            json_decref(stages);
            return lab_err(LAB_EUSAGE, "give train.gradual.stages as a list of {epochs, unfreeze, lr}",
                           "train.gradual.stages has %zu stages (1 to %d)", nst, cap);
        }
        json_array_foreach(stages, i, st)
        {
            const json_t *unf = json_object_get(st, "unfreeze");
            double head = lab_cfg_num(st, "lr.head", 1e-3), bb = lab_cfg_num(st, "lr.backbone", head);
            json_t *frozen = tl_frozen_children(unf, 0);
            json_t *groups = json_pack("[{s:s, s:f}]", "prefix", "classifier", "lr", head);
            if ((rc = phase_config(cfg, (int)lab_cfg_int(st, "epochs", 1), bb, 0, frozen, groups, &ph[i].config)))
                break;
            (*n)++;
        }
        json_decref(stages);
    }
    for (int i = 0; i < *n; i++)
        ph[i].frozen = json_object_get(json_object_get(ph[i].config, "train"), "freeze");
    return rc;
}

static int run_strategy(struct lab_run *r, const char *name, const struct tl_data *d, const struct source *src,
                        json_t *models)
{
    struct phase ph[8];
    int nph = 0, rc = strategy_phases(r->config, name, ph, 8, &nph);
    struct model *m = NULL;
    uint64_t seed = (uint64_t)lab_cfg_int(r->config, "seed", 42);
    if (!rc && (rc = ts_manual_seed(seed)) != 0)
        rc = nn_fail(rc, "ts_manual_seed");
    if (!rc)
        rc = create_model_cfg(r->config, name, d->train->num_classes, &m);
    size_t loaded = 0;
    char fp_ckpt[65] = "";
    int pretrained = strcmp(name, "scratch") != 0;
    if (!rc && pretrained) {
        rc = pretrained_load_backbone(m, src->weights, "classifier", &loaded);
        if (!rc)
            rc = pretrained_fingerprint_file(src->weights, "classifier", fp_ckpt, sizeof fp_ckpt);
    }
    json_t *mm = json_object(), *curve = json_array();
    json_object_set_new(mm, "strategy", json_string(name));
    json_object_set_new(mm, "train_images", json_integer((json_int_t)d->train->n));
    if (pretrained)
        json_object_set_new(mm, "pretrained", json_pack("{s:s, s:s, s:s, s:I}", "repo", src->repo, "revision",
                                                        src->revision, "backbone_sha256", fp_ckpt, "tensors",
                                                        (json_int_t)loaded));
    lab_say(r, "%s: efficientnet_b0, %s backbone, %d phase(s), %zu training images", name,
            pretrained ? "pretrained" : "random", nph, d->train->n);
    struct eval_result e = {0};
    double secs = 0, best = 0;
    int bn_eval = lab_cfg_bool(r->config, "train.frozen_bn_eval", 1);
    for (int p = 0; !rc && p < nph; p++) {
        struct train_config tc;
        if ((rc = train_config_read(ph[p].config, &r->dev, &tc)) || (rc = all_trainable(m)))
            break;
        /* A frozen backbone keeps its pretrained BatchNorm statistics: in
         * train mode they would drift to the new data (and normalise with
         * batch statistics), changing the features it was frozen to keep. */
        const char *fz[TL_NBACKBONE];
        size_t nf = 0;
        for (size_t k = 0; k < json_array_size(ph[p].frozen) && nf < TL_NBACKBONE; k++)
            fz[nf++] = json_string_value(json_array_get(ph[p].frozen, k));
        effnet_bn_eval(m, fz, bn_eval ? nf : 0);
        char rel[160], ckpt[4200];
        snprintf(rel, sizeof rel, "models/%s/checkpoint-%d.safetensors", name, p + 1);
        if ((rc = lab_run_path(r, rel, ckpt, sizeof ckpt)))
            break;
        json_t *pm = json_object();
        ts_optim *probe = NULL;
        if (!(rc = train_optimizer(m, &tc, &probe))) /* applies the freeze, to count what trains */
            lab_say(r, "  %s phase %d/%d: %d epoch(s), lr %g%s, %lld of %lld parameters trainable", name, p + 1, nph,
                    tc.epochs, tc.lr, tc.groups ? " (head: its group's)" : "", (long long)trainable_params(m),
                    (long long)model_num_params(m));
        ts_optim_free(probe);
        if (p == 0)
            json_object_set_new(mm, "trainable_params", json_integer(trainable_params(m)));
        if (!rc)
            rc = classifier_train(r, m, &d->cd, &tc, ckpt, pm, &e);
        if (!rc) {
            secs += json_number_value(json_object_get(pm, "train_time_s"));
            size_t k;
            json_t *ep;
            json_array_foreach(json_object_get(pm, "epochs"), k, ep)
            {
                json_t *c = json_deep_copy(ep);
                json_object_set_new(c, "epoch", json_integer((json_int_t)json_array_size(curve) + 1));
                json_object_set_new(c, "phase", json_integer(p + 1));
                double acc = json_number_value(json_object_get(c, "test_accuracy"));
                best = acc > best ? acc : best;
                json_array_append_new(curve, c);
            }
            json_object_update(mm, pm);
            unlink(ckpt);
        }
        json_decref(pm);
    }
    effnet_bn_eval(m, NULL, 0);
    if (!rc) {
        json_object_set(mm, "epochs", curve);
        json_object_set_new(mm, "train_time_s", json_real(secs));
        json_object_set_new(mm, "best_accuracy", json_real(best));
        json_object_set_new(mm, "params", json_integer(model_num_params(m)));
        char fp[65];
        if (pretrained && !(rc = pretrained_fingerprint_params(m->params, "classifier", fp, sizeof fp)))
            json_object_set_new(mm, "backbone_sha256_after", json_string(fp));
    }
    char rel[160], path[4200];
    json_t *meta = json_pack("{s:s, s:s, s:s, s:s}", "format", "pt", "lab", "2.2.2", "model", name, "architecture",
                             "efficientnet_b0");
    snprintf(rel, sizeof rel, "models/%s/model.safetensors", name);
    if (!rc && !(rc = lab_run_path(r, rel, path, sizeof path)))
        rc = weights_save(m->params, path, meta, NULL, 0);
    json_decref(meta);
    snprintf(rel, sizeof rel, "models/%s/predictions.safetensors", name);
    if (!rc && !(rc = lab_run_path(r, rel, path, sizeof path)))
        rc = classify_save_predictions(path, &e);
    if (!rc)
        rc = classify_plots(r, name, mm, d->eval, d->class_names, &e);
    if (!rc) {
        json_object_set_new(mm, "status", json_string("done"));
        json_object_set(models, name, mm);
        rc = lab_run_save_metrics(r);
    }
    json_decref(curve);
    json_decref(mm);
    eval_result_free(&e);
    model_free(m);
    for (int p = 0; p < nph; p++)
        json_decref(ph[p].config);
    return rc;
}

/* The notebook's table (strategy, final and best accuracy, time) and the
 * test-accuracy curves of every strategy. */
static int compare(struct lab_run *r, const json_t *models)
{
    lab_say(r, "%s", "");
    lab_say(r, "============================================================");
    lab_say(r, "TRANSFER LEARNING COMPARISON");
    lab_say(r, "============================================================");
    lab_say(r, "%-12s %12s %12s %10s", "Strategy", "Final Acc", "Best Acc", "Time");
    struct plot_series series[4];
    double xs[4][64], ys[4][64];
    int ns = 0;
    for (const char *const *s = strategies; *s; s++) {
        const json_t *mm = json_object_get(models, *s);
        if (!mm)
            continue;
        lab_say(r, "%-12s %11.2f%% %11.2f%% %9.1fs", *s, 100 * json_number_value(json_object_get(mm, "test_accuracy")),
                100 * json_number_value(json_object_get(mm, "best_accuracy")),
                json_number_value(json_object_get(mm, "train_time_s")));
        const json_t *ep = json_object_get(mm, "epochs");
        int n = 0;
        for (size_t i = 0; i < json_array_size(ep) && n < 64; i++, n++) {
            xs[ns][n] = (double)(i + 1);
            ys[ns][n] = 100 * json_number_value(json_object_get(json_array_get(ep, i), "test_accuracy"));
        }
        series[ns] = (struct plot_series){.label = *s, .x = xs[ns], .y = ys[ns], .n = n};
        ns++;
    }
    char path[4200];
    LAB_TRY(lab_run_path(r, "plots/transfer-curves.png", path, sizeof path));
    return plot_lines(path, "Transfer learning: test accuracy per epoch", "epoch", "test accuracy (%)", series, ns);
}

static int run(struct lab_run *r)
{
    struct tl_data d = {0};
    struct source src;
    memset(&src, 0, sizeof src);
    int rc = open_data(r->config, &d);
    if (!rc)
        lab_say(r, "data %s: %zu training images, %zu test images, %d classes", d.train->name, d.train->n, d.eval->n,
                d.train->num_classes);
    if (!rc && d.train_classes) {
        long long seed = (long long)lab_cfg_int(r->config, "seed", 42);
        lab_say(r, "data: the training subset is %zu of the %zu images, drawn at random with seed %lld (--seed)",
                d.train->n, d.train_classes->n, seed);
        json_object_set_new(r->metrics, "train_subset",
                            json_pack("{s:I, s:I, s:I}", "images", (json_int_t)d.train->n, "of",
                                      (json_int_t)d.train_classes->n, "seed", (json_int_t)seed));
    }
    json_t *models = json_object_get(r->metrics, "models");
    if (!models) {
        json_object_set_new(r->metrics, "lab", json_string("2.2.2"));
        json_object_set_new(r->metrics, "dataset", json_string(d.train ? d.train->name : ""));
        json_object_set_new(r->metrics, "models", json_object());
        models = json_object_get(r->metrics, "models");
    }
    const char *choice = lab_cfg_str(r->config, "strategy", "all");
    int needs_source = strcmp(choice, "scratch") != 0;
    if (!rc && needs_source)
        rc = open_source(r, &d, &src);
    if (!rc)
        rc = classify_save_inputs(r, d.eval, &d.cd.eval_aug);
    for (const char *const *s = strategies; !rc && *s; s++) {
        if (strcmp(choice, "all") && strcmp(choice, *s))
            continue;
        const json_t *prev = json_object_get(models, *s);
        if (prev && !strcmp(json_string_value(json_object_get(prev, "status")) ? json_string_value(json_object_get(prev, "status")) : "", "done")) {
            lab_say(r, "%s: done in the interrupted run, kept", *s);
            continue;
        }
        rc = lab_interrupted ? LAB_EINTERRUPTED : run_strategy(r, *s, &d, &src, models);
    }
    if (!rc)
        rc = compare(r, models);
    if (!rc) {
        const json_t *thr = lab_cfg_get(r->manifest, lab_cfg_bool(r->config, "quick", 0) ? "thresholds.quick.test_accuracy"
                                                                                           : "thresholds.full.test_accuracy");
        rc = classify_write_comparison(r, models, thr);
    }
    if (rc == LAB_EINTERRUPTED)
        lab_run_save_metrics(r);
    tl_data_free(&d);
    return rc;
}

const struct lab_impl lab_transfer_learning = {.id = "2.2.2",
                                               .validate = validate,
                                               .run = run,
                                               .create_model = create_model,
                                               .create_model_cfg = create_model_cfg};
