/* Lab 2.2.5: the course's Vision Transformer trained with its recipe, on
 * the classify task; beyond the task's artifacts, the last block's attention
 * on a fixed set of eval images (attention.safetensors). */
#include "base/error.h"
#include "labs/2.2.5-vision-transformer/compare.h"
#include "datasets/registry.h"
#include "labs/config.h"
#include "labs/lab.h"
#include "labs/models/nn.h"
#include "labs/models/vit.h"
#include "labs/models/weights.h"
#include "labs/plots.h"
#include "labs/run.h"
#include "labs/tasks/classify.h"
#include "labs/teacher.h"
#include "labs/train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Images whose attention is kept: the first of the eval split. */
#define ATTN_IMAGES 16

static const struct {
    const char *name;
    int variant;
} variants[] = {{"vit", VIT_COURSE}, {"vit-solution", VIT_SOLUTION}, {"deit", VIT_DEIT}};

static int variant_of(const char *name)
{
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++)
        if (strcmp(variants[i].name, name) == 0)
            return variants[i].variant;
    return -1;
}

/* The architecture of a configuration: its "model" group over the course's
 * sizes, and the classes of its data. */
static void config_of(const json_t *config, int num_classes, struct vit_config *c)
{
    vit_config_course(c);
    c->img_size = (int)lab_cfg_int(config, "model.img_size", c->img_size);
    c->patch_size = (int)lab_cfg_int(config, "model.patch_size", c->patch_size);
    c->embed_dim = (int)lab_cfg_int(config, "model.embed_dim", c->embed_dim);
    c->depth = (int)lab_cfg_int(config, "model.depth", c->depth);
    c->num_heads = (int)lab_cfg_int(config, "model.num_heads", c->num_heads);
    c->mlp_ratio = lab_cfg_num(config, "model.mlp_ratio", c->mlp_ratio);
    c->dropout = lab_cfg_num(config, "model.dropout", c->dropout);
    c->num_classes = num_classes > 0 ? num_classes : (int)lab_cfg_int(config, "data.num_classes", 10);
    const char *pool = lab_cfg_str(config, "model.pool", "cls");
    c->mean_pool = !strcmp(pool, "mean") ? 1 : !strcmp(pool, "cls") ? 0 : -1;
}

static int validate(const json_t *config)
{
    const char *name = lab_cfg_str(config, "model.name", "vit");
    if (variant_of(name) < 0)
        return lab_err(LAB_EUSAGE, "models: vit, vit-solution, deit", "unknown model '%s'", name);
    struct vit_config c;
    config_of(config, 0, &c);
    if (c.mean_pool < 0)
        return lab_err(LAB_EUSAGE, "use --set model.pool=cls (the course's) or model.pool=mean",
                       "model.pool is '%s', not cls or mean", lab_cfg_str(config, "model.pool", ""));
    return vit_config_check(&c);
}

static int create_model_cfg(const json_t *config, const char *name, int num_classes, struct model **out)
{
    int v = variant_of(name);
    if (v < 0)
        return lab_err(LAB_EUSAGE, "models: vit, vit-solution, deit", "unknown model '%s'", name);
    struct vit_config c;
    config_of(config, num_classes, &c);
    LAB_TRY(vit_config_check(&c));
    return vit_new(&c, v, out);
}

static int create_model(const char *name, int num_classes, struct model **out)
{
    return create_model_cfg(NULL, name, num_classes, out);
}

/* The patch grid side and the first patch token (after CLS, and DeiT's
 * distillation token). */
static void grid_of(const struct model *m, int64_t tokens, int *g, int *first)
{
    const struct vit_config *c = vit_config_of(m);
    *g = c->img_size / c->patch_size;
    *first = (int)(tokens - (int64_t)*g * *g);
}

/* plots/vit-attention-heads.png (the CLS token's attention over the
 * patches, per head, first image), vit-cls-attention.png (averaged over
 * heads, laid over the images) and vit-pos-embed.png (cosine similarity of
 * each patch's positional embedding with every other's). */
static int attention_plots(struct lab_run *r, struct model *m, const float *attn, const int64_t shape[4],
                           const struct ds_dataset *eval, const int64_t *indices)
{
    int64_t n = shape[0], heads = shape[1], T = shape[2];
    int g, first;
    grid_of(m, T, &g, &first);
    int P = g * g, shown = n < 8 ? (int)n : 8;
    float *maps = malloc(sizeof(float) * (size_t)P * (size_t)(P > heads ? P : heads));
    char path[4200], caps[64][24];
    const char *capp[64];
    int rc = maps ? LAB_OK : lab_err(LAB_EINTERNAL, NULL, "out of memory");
    for (int h = 0; !rc && h < heads && h < 64; h++) {
        for (int j = 0; j < P; j++)
            maps[h * P + j] = attn[((size_t)h * T + 0) * T + first + j];
        snprintf(caps[h], sizeof caps[h], "head %d", h);
        capp[h] = caps[h];
    }
    if (!rc && !(rc = lab_run_path(r, "plots/vit-attention-heads.png", path, sizeof path)))
        rc = plot_heatmaps(path, "CLS attention over the patches, per head (first test image)", maps,
                           (int)(heads < 64 ? heads : 64), g, g, capp, 8, NULL);
    struct ds_sample s[8];
    struct ds_image ims[8];
    int loaded = 0;
    for (; !rc && loaded < shown; loaded++) {
        memset(&s[loaded], 0, sizeof s[loaded]);
        if ((rc = ds_dataset_get(eval, (size_t)indices[loaded], &s[loaded])))
            break;
        ims[loaded] = s[loaded].image;
        for (int j = 0; j < P; j++) {
            double sum = 0;
            for (int h = 0; h < heads; h++)
                sum += attn[(((size_t)loaded * heads + h) * T + 0) * T + first + j];
            maps[loaded * P + j] = (float)(sum / (double)heads);
        }
        snprintf(caps[loaded], sizeof caps[loaded], "test image %lld", (long long)indices[loaded]);
        capp[loaded] = caps[loaded];
    }
    if (!rc && !(rc = lab_run_path(r, "plots/vit-cls-attention.png", path, sizeof path)))
        rc = plot_heatmaps(path, "CLS attention (mean over heads) over the image", maps, shown, g, g, capp, 8, ims);
    for (int i = 0; i < loaded; i++)
        ds_sample_free(&s[i]);
    ts_tensor *pos = ts_params_get(m->params, "pos_embed");
    int64_t dim = pos ? ts_size(pos, 2) : 0;
    float *pe = !rc && pos ? malloc(sizeof(float) * (size_t)(T * dim)) : NULL;
    if (!rc && pos && (!pe || ts_to_host(pos, TS_F32, pe, sizeof(float) * (size_t)(T * dim))))
        rc = lab_err(LAB_EINTERNAL, NULL, "cannot read the positional embedding");
    if (!rc && pe) {
        float *big = realloc(maps, sizeof(float) * (size_t)P * (size_t)P);
        rc = big ? LAB_OK : lab_err(LAB_EINTERNAL, NULL, "out of memory");
        if (big)
            maps = big;
        for (int i = 0; !rc && i < P; i++)
            for (int j = 0; j < P; j++) {
                const float *a = pe + (size_t)(first + i) * dim, *b = pe + (size_t)(first + j) * dim;
                double ab = 0, aa = 0, bb = 0;
                for (int64_t k = 0; k < dim; k++)
                    ab += (double)a[k] * b[k], aa += (double)a[k] * a[k], bb += (double)b[k] * b[k];
                maps[i * P + j] = (float)(aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : 0);
            }
        if (!rc && !(rc = lab_run_path(r, "plots/vit-pos-embed.png", path, sizeof path)))
            rc = plot_heatmaps(path, "positional embeddings: cosine similarity of each patch with every other", maps,
                               P, g, g, NULL, g, NULL);
    }
    free(pe);
    free(maps);
    return rc;
}

/* attention.safetensors: attention [N, heads, T, T] of the last block and
 * the eval indices of its N images; and the attention plots. */
static int save_attention(struct lab_run *r, struct model *m, const struct ds_dataset *eval,
                          const struct ds_augment *aug, const struct train_config *tc)
{
    int n = eval->n < ATTN_IMAGES ? (int)eval->n : ATTN_IMAGES;
    struct ds_pipeline_config pc = {.batch_size = n, .threads = 0, .augment = *aug};
    struct ds_pipeline *p;
    struct ds_batch *b = NULL;
    LAB_TRY(ds_pipeline_open(eval, &pc, &p));
    int rc = ds_pipeline_next(p, &b);
    if (!rc && !b)
        rc = lab_err(LAB_EINTERNAL, NULL, "the eval split is empty");
    int grad = ts_no_grad_push();
    ts_scope_begin();
    ts_tensor *x = NULL;
    struct vit_outputs o = {0};
    int64_t xs[4] = {b ? b->n : 0, b ? b->c : 0, b ? b->h : 0, b ? b->w : 0};
    if (!rc && ts_from_host(&x, b->images, TS_F32, 4, xs, tc->device))
        rc = nn_fail(TS_ETORCH, "uploading the attention images");
    if (!rc)
        rc = vit_forward_ex(m, x, 0, 1, &o);
    float *attn = NULL;
    size_t count = 0;
    if (!rc) {
        count = (size_t)ts_numel(o.attn);
        attn = malloc(count * sizeof *attn);
        if (!attn || ts_to_host(o.attn, TS_F32, attn, count * sizeof *attn))
            rc = lab_err(LAB_EINTERNAL, NULL, "cannot read the attention maps");
    }
    if (!rc) {
        struct ts_host_tensor t[2] = {
            {.name = "attention", .dtype = TS_F32, .ndim = 4, .data = attn, .nbytes = count * sizeof *attn,
             .shape = {ts_size(o.attn, 0), ts_size(o.attn, 1), ts_size(o.attn, 2), ts_size(o.attn, 3)}},
            {.name = "indices", .dtype = TS_I64, .ndim = 1, .data = b->indices,
             .nbytes = (size_t)b->n * sizeof(int64_t), .shape = {b->n}},
        };
        char path[4200];
        json_t *meta = json_pack("{s:s, s:s}", "format", "lab-attention-v1", "model", m->name);
        if (!(rc = lab_run_path(r, "attention.safetensors", path, sizeof path)))
            rc = weights_save_host(t, 2, path, meta);
        json_decref(meta);
        if (!rc)
            rc = attention_plots(r, m, attn, t[0].shape, eval, b->indices);
    }
    free(attn);
    ts_scope_end();
    ts_grad_mode_pop(grad);
    ds_batch_free(b);
    ds_pipeline_close(p);
    return rc;
}

static void data_free(struct ds_dataset *train, struct ds_dataset *train_full, struct ds_dataset *eval,
                      struct ds_dataset *eval_full)
{
    if (train != train_full)
        ds_dataset_free(train);
    if (eval != eval_full)
        ds_dataset_free(eval);
    ds_dataset_free(train_full);
    ds_dataset_free(eval_full);
}

static int subset(struct ds_dataset *full, int64_t n, struct ds_dataset **out)
{
    if (n <= 0 || (size_t)n >= full->n) {
        *out = full;
        return LAB_OK;
    }
    return ds_subset_dataset(full, (size_t)n, out);
}

static int run(struct lab_run *r)
{
    const struct ds_info *info;
    struct ds_dataset *train_full = NULL, *eval_full = NULL, *train = NULL, *eval = NULL;
    struct classify_data cd = {0};
    struct train_config tc;
    const char *name = lab_cfg_str(r->config, "model.name", "vit");
    int rc = ds_info_get(lab_cfg_str(r->config, "data.dataset", ""), "lab 2.2.5", &info);
    if (!rc)
        rc = ds_info_open(info, NULL, 1, &train_full);
    if (!rc)
        rc = ds_info_open(info, NULL, 0, &eval_full);
    if (!rc)
        rc = subset(train_full, lab_cfg_int(r->config, "data.train_subset", 0), &train);
    if (!rc)
        rc = subset(eval_full, lab_cfg_int(r->config, "data.eval_subset", 0), &eval);
    const json_t *data = lab_cfg_get(r->config, "data");
    if (!rc)
        rc = ds_augment_from_json(data, &cd.train_aug);
    if (!rc)
        rc = ds_eval_augment(data, &cd.eval_aug);
    if (!rc)
        rc = train_config_read(r->config, &r->dev, &tc);
    if (rc) {
        data_free(train, train_full, eval, eval_full);
        return rc;
    }
    json_t *other = NULL;
    char other_lab[32] = "";
    const char *compare_with = lab_cfg_str(r->config, "compare_with", "");
    if (*compare_with && (rc = vit_compare_load(compare_with, train_full->name, &other, other_lab, sizeof other_lab))) {
        data_free(train, train_full, eval, eval_full);
        return rc;
    }
    cd.train = train;
    cd.eval = eval;
    struct vit_config vc;
    config_of(r->config, train_full->num_classes, &vc);
    lab_say(r, "data %s: %zu training images, %zu test images, %d classes, input 3x%dx%d", train_full->name, train->n,
            eval->n, train_full->num_classes, vc.img_size, vc.img_size);
    lab_say(r, "recipe: %s lr %g weight decay %g, label smoothing %g, %s schedule (%d warm-up epochs), clip %g, "
               "%d epoch(s), batch %d",
            tc.optimizer, tc.lr, tc.weight_decay, tc.label_smoothing, tc.schedule, tc.warmup_epochs, tc.grad_clip,
            tc.epochs, tc.batch_size);
    json_t *models = json_object_get(r->metrics, "models");
    if (!models) {
        json_object_set_new(r->metrics, "lab", json_string("2.2.5"));
        json_object_set_new(r->metrics, "dataset", json_string(train_full->name));
        json_object_set_new(r->metrics, "models", json_object());
        models = json_object_get(r->metrics, "models");
    }
    struct model *m = NULL;
    rc = classify_save_inputs(r, eval, &cd.eval_aug);
    if (!rc && ts_manual_seed(tc.seed) != TS_OK)
        rc = nn_fail(TS_ETORCH, "ts_manual_seed");
    if (!rc)
        rc = create_model_cfg(r->config, name, train_full->num_classes, &m);
    struct model *teacher = NULL;
    const char *teacher_dir = lab_cfg_str(r->config, "train.teacher", "");
    if (!rc && *teacher_dir) {
        char desc[4400];
        if (strcmp(name, "deit"))
            rc = lab_err(LAB_EUSAGE, "distil into --model deit (the model with a distillation token)",
                         "train.teacher is set, but %s has no distillation head", name);
        else if (tc.mixup > 0)
            rc = lab_err(LAB_EUSAGE, "use train.mixup 0 with a teacher", "mixup and distillation together are not supported");
        if (!rc)
            rc = lab_teacher_load(teacher_dir, lab_cfg_str(r->config, "train.teacher_model", "resnet18"), r->config,
                                  tc.device, &teacher, desc, sizeof desc);
        if (!rc) {
            tc.teacher = teacher;
            lab_say(r, "distillation: teacher %s, %lld parameters; temperature %g, alpha %g (alpha * CE(cls head) + "
                       "(1 - alpha) * T^2 * KL(teacher || distillation head))",
                    desc, (long long)model_num_params(teacher), tc.distill_temperature, tc.distill_alpha);
        }
    }
    json_t *mm = json_object();
    struct eval_result e = {0};
    char ckpt[4200], path[4200], rel[256];
    if (!rc) {
        lab_say(r, "%s: %lld parameters; patch %d -> %lld patches, %lld tokens of width %d, depth %d, %d heads", name,
                (long long)model_num_params(m), vc.patch_size, (long long)vit_num_patches(&vc),
                (long long)vit_num_tokens(&vc, variant_of(name)), vc.embed_dim, vc.depth, vc.num_heads);
        json_object_set_new(mm, "num_patches", json_integer(vit_num_patches(&vc)));
        json_object_set_new(mm, "patch_size", json_integer(vc.patch_size));
        json_object_set_new(mm, "depth", json_integer(vc.depth));
        json_object_set_new(mm, "train_images", json_integer((json_int_t)train->n));
        snprintf(rel, sizeof rel, "models/%s/checkpoint.safetensors", name);
        rc = lab_run_path(r, rel, ckpt, sizeof ckpt);
    }
    if (!rc)
        rc = classifier_train(r, m, &cd, &tc, ckpt, mm, &e);
    json_t *meta = json_pack("{s:s, s:s, s:s}", "format", "pt", "lab", "2.2.5", "model", name);
    snprintf(rel, sizeof rel, "models/%s/model.safetensors", name);
    if (!rc && !(rc = lab_run_path(r, rel, path, sizeof path)))
        rc = weights_save(m->params, path, meta, NULL, 0);
    json_decref(meta);
    snprintf(rel, sizeof rel, "models/%s/predictions.safetensors", name);
    if (!rc && !(rc = lab_run_path(r, rel, path, sizeof path)))
        rc = classify_save_predictions(path, &e);
    if (!rc)
        rc = save_attention(r, m, eval, &cd.eval_aug, &tc);
    if (!rc)
        rc = classify_plots(r, name, mm, eval, info->class_names, &e);
    if (!rc) {
        json_object_set_new(mm, "status", json_string("done"));
        json_object_set(models, name, mm);
        rc = lab_run_save_metrics(r);
        unlink(ckpt);
    }
    if (!rc) {
        const json_t *thr = lab_cfg_get(r->manifest, lab_cfg_bool(r->config, "quick", 0)
                                                         ? "thresholds.quick.test_accuracy"
                                                         : "thresholds.full.test_accuracy");
        json_t *all = other ? vit_compare_merge(models, other, other_lab) : json_incref(models);
        if (other)
            lab_say(r, "compared with %s (lab %s)", compare_with, other_lab);
        rc = classify_write_comparison(r, all, thr);
        json_decref(all);
    }
    json_decref(other);
    if (rc == LAB_EINTERRUPTED)
        lab_run_save_metrics(r);
    json_decref(mm);
    eval_result_free(&e);
    model_free(m);
    model_free(teacher);
    data_free(train, train_full, eval, eval_full);
    return rc;
}

const struct lab_impl lab_vision_transformer = {.id = "2.2.5",
                                                .validate = validate,
                                                .run = run,
                                                .create_model = create_model,
                                                .create_model_cfg = create_model_cfg};
