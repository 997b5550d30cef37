#include "labs/predict.h"

#include "base/error.h"
#include "base/fsutil.h"
#include "base/jsonio.h"
#include "datasets/augment.h"
#include "datasets/loaders.h"
#include "datasets/registry.h"
#include "labs/config.h"
#include "labs/device.h"
#include "labs/lab.h"
#include "labs/models/model.h"
#include "labs/models/nn.h"
#include "labs/models/weights.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PREDICT_MAX_IMAGES 4096

static int is_image_name(const char *n)
{
    const char *dot = strrchr(n, '.');
    return dot && (!strcasecmp(dot, ".png") || !strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg"));
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int predict_list_images(const char *source, char ***out, size_t *n)
{
    struct stat st;
    *out = NULL;
    *n = 0;
    if (stat(source, &st) != 0)
        return lab_err(LAB_EUSAGE, "give an image file or a directory of PNG/JPEG images", "--source %s does not exist",
                       source);
    char **list = calloc(PREDICT_MAX_IMAGES, sizeof *list);
    if (!list)
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    if (!S_ISDIR(st.st_mode)) {
        list[(*n)++] = strdup(source);
    } else {
        DIR *d = opendir(source);
        struct dirent *e;
        while (d && (e = readdir(d)) && *n < PREDICT_MAX_IMAGES)
            if (e->d_name[0] != '.' && is_image_name(e->d_name)) {
                char path[4200];
                snprintf(path, sizeof path, "%s/%s", source, e->d_name);
                list[(*n)++] = strdup(path);
            }
        if (d)
            closedir(d);
        qsort(list, *n, sizeof *list, by_name);
    }
    *out = list;
    if (!*n)
        return lab_err(LAB_EUSAGE, "put .png or .jpg files there", "%s holds no PNG or JPEG image", source);
    return LAB_OK;
}

void predict_images_free(char **list, size_t n)
{
    for (size_t i = 0; list && i < n; i++)
        free(list[i]);
    free(list);
}

/* The configuration and weights file: a run directory's, or the lab's
 * defaults with a weights file. */
static int resolve(const struct predict_opts *o, const json_t *manifest, json_t **config, char *weights, size_t cap,
                   char *model, size_t mcap)
{
    struct stat st;
    if (stat(o->weights, &st) != 0)
        return lab_err(LAB_EUSAGE, "give a run directory or a .safetensors file", "--weights %s does not exist",
                       o->weights);
    if (S_ISDIR(st.st_mode)) {
        char path[4200];
        snprintf(path, sizeof path, "%s/config.json", o->weights);
        LAB_TRY(lab_json_load(path, config));
    } else {
        *config = json_deep_copy(json_object_get(manifest, "config"));
    }
    const json_t *m = json_object_get(*config, "model");
    const char *name = o->model ? o->model : json_is_string(m) ? json_string_value(m) : lab_cfg_str(*config, "model.name", "");
    if (!*name || !strcmp(name, "all"))
        return lab_err(LAB_EUSAGE, "add --model NAME", "the weights do not say which model they are for");
    snprintf(model, mcap, "%s", name);
    if (S_ISDIR(st.st_mode))
        snprintf(weights, cap, "%s/models/%s/model.safetensors", o->weights, name);
    else
        snprintf(weights, cap, "%s", o->weights);
    return LAB_OK;
}

/* One image as the model's input [c, h, w]: resized to the input minus the
 * transform's padding, then the lab's eval transform. */
static int prepare(const char *path, const struct ds_augment *aug, int c, int h, int w, float *dst)
{
    struct ds_sample s = {.label = -1};
    LAB_TRY(ds_image_load(path, 0, &s.image));
    int rc = ds_aug_resize(&s, w - 2 * aug->pad, h - 2 * aug->pad, DS_RESAMPLE_BILINEAR);
    struct ds_rng rng;
    ds_rng_seed(&rng, 0, 0, 0);
    if (!rc)
        rc = ds_augment_sample(aug, &s, &rng);
    if (!rc && (s.image.w != w || s.image.h != h || (s.image.c != c && !(s.image.c == 1 && c == 3))))
        rc = lab_err(LAB_EUSAGE, NULL, "%s becomes %dx%dx%d, not the model's %dx%dx%d", path, s.image.c, s.image.h,
                     s.image.w, c, h, w);
    if (!rc && s.image.c == 1 && c == 3) { /* a gray image for an RGB model */
        uint8_t *rgb = malloc((size_t)w * h * 3);
        if (!rgb)
            rc = lab_err(LAB_EINTERNAL, NULL, "out of memory");
        for (int i = 0; !rc && i < w * h; i++)
            rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = s.image.px[i];
        if (!rc) {
            free(s.image.px);
            s.image.px = rgb;
            s.image.c = 3;
        }
    }
    if (!rc)
        ds_augment_to_chw(aug, &s.image, dst, &rng);
    ds_sample_free(&s);
    return rc;
}

int lab_predict(const struct predict_opts *o, FILE *say)
{
    LAB_TRY(lab_registry_load());
    const json_t *manifest = lab_registry_find(o->lab);
    const struct lab_impl *impl = lab_impl_find(o->lab);
    if (manifest && impl && impl->predict)
        return impl->predict(o, say);
    if (!manifest || !impl || !impl->create_model)
        return lab_err(LAB_EUSAGE, "`lab list` shows the labs", "lab %s has no models in this version", o->lab);
    if (impl->predict)
        return impl->predict(o, say);
    const char *task = json_string_value(json_object_get(manifest, "task"));
    if (!task || strcmp(task, "classify"))
        return lab_err(LAB_EUSAGE, NULL, "lab predict handles the classify task in this version, not lab %s's %s",
                       o->lab, task ? task : "(none)");
    json_t *config = NULL;
    char weights[4300], model_name[64];
    char **sources = NULL;
    size_t n = 0;
    struct model *m = NULL;
    float *x = NULL, *logits = NULL;
    json_t *preds = json_array();
    int rc = resolve(o, manifest, &config, weights, sizeof weights, model_name, sizeof model_name);
    const struct ds_info *info = NULL;
    struct ds_augment aug;
    struct lab_device_choice dev;
    if (!rc)
        rc = ds_info_get(lab_cfg_str(config, "data.dataset", ""), "lab predict", &info);
    if (!rc)
        rc = ds_eval_augment(lab_cfg_get(config, "data"), &aug);
    const json_t *size = lab_cfg_get(config, "data.input_size");
    int c = (int)json_integer_value(json_array_get(size, 0)), h = (int)json_integer_value(json_array_get(size, 1)),
        w = (int)json_integer_value(json_array_get(size, 2)), k = info ? info->num_classes : 0;
    if (!rc && (c <= 0 || h <= 0 || w <= 0))
        rc = lab_err(LAB_EUSAGE, NULL, "the configuration has no data.input_size [C, H, W]");
    if (!rc)
        rc = predict_list_images(o->source, &sources, &n);
    if (!rc)
        rc = lab_choose_device(o->device ? o->device : "auto", "fp32", &dev);
    if (!rc)
        rc = impl->create_model_cfg ? impl->create_model_cfg(config, model_name, k, &m)
                                    : impl->create_model(model_name, k, &m);
    if (!rc)
        rc = weights_load_any(m->params, weights, 1, NULL, NULL);
    if (!rc && ts_params_to(m->params, dev.device, -1) != TS_OK)
        rc = nn_fail(TS_ETORCH, "moving the weights");
    size_t per = (size_t)c * h * w;
    if (!rc && (!(x = malloc(per * sizeof *x)) || !(logits = malloc(n * (size_t)k * sizeof *logits))))
        rc = lab_err(LAB_EINTERNAL, NULL, "out of memory");
    int grad = ts_no_grad_push();
    for (size_t i = 0; !rc && i < n; i++) {
        if ((rc = prepare(sources[i], &aug, c, h, w, x)))
            break;
        ts_scope_begin();
        int64_t xs[4] = {1, c, h, w};
        ts_tensor *in_t = NULL, *prob = NULL;
        struct model_tensors in = {0}, out;
        if (ts_from_host(&in_t, x, TS_F32, 4, xs, dev.device) != TS_OK)
            rc = nn_fail(TS_ETORCH, "uploading an image");
        if (!rc)
            rc = model_tensors_add(&in, "pixel_values", in_t);
        if (!rc)
            rc = model_run(m, &in, 0, &out);
        ts_tensor *y = rc ? NULL : model_tensors_get(&out, "logits");
        if (!rc && (!y || ts_numel(y) != k))
            rc = lab_err(LAB_EINTERNAL, NULL, "%s gave no logits [1, %d]", model_name, k);
        if (!rc && (ts_to_host(y, TS_F32, logits + i * k, (size_t)k * sizeof(float)) || ts_softmax(&prob, y, 1)))
            rc = nn_fail(TS_ETORCH, "reading the logits");
        float p[256];
        if (!rc && (k > 256 || ts_to_host(prob, TS_F32, p, (size_t)k * sizeof(float))))
            rc = nn_fail(TS_ETORCH, "reading the probabilities");
        ts_scope_end();
        if (rc)
            break;
        json_t *top = json_array();
        int used[256] = {0};
        for (int t = 0; t < 5 && t < k; t++) {
            int best = -1;
            for (int j = 0; j < k; j++)
                if (!used[j] && (best < 0 || p[j] > p[best]))
                    best = j;
            used[best] = 1;
            json_array_append_new(top, json_pack("{s:i, s:s, s:f}", "class", best, "name", info->class_names[best],
                                                 "probability", (double)p[best]));
        }
        json_array_append_new(preds, json_pack("{s:s, s:o}", "source", sources[i], "top5", top));
        if (say)
            fprintf(say, "%s: %s (%.1f%%)\n", sources[i],
                     json_string_value(json_object_get(json_array_get(top, 0), "name")),
                     100 * json_number_value(json_object_get(json_array_get(top, 0), "probability")));
    }
    ts_grad_mode_pop(grad);
    char path[4300];
    if (!rc)
        rc = lab_mkdir_p(o->out);
    if (!rc) {
        json_t *doc = json_pack("{s:s, s:s, s:s, s:O}", "lab", o->lab, "model", model_name, "weights", weights,
                                "images", preds);
        snprintf(path, sizeof path, "%s/predictions.json", o->out);
        rc = lab_json_save(path, doc);
        json_decref(doc);
    }
    if (!rc) {
        struct ts_host_tensor t = {.name = "logits", .dtype = TS_F32, .ndim = 2, .data = logits,
                                   .nbytes = n * (size_t)k * sizeof(float), .shape = {(int64_t)n, k}};
        json_t *meta = json_pack("{s:s, s:s}", "format", "lab-predict-outputs-v1", "model", model_name);
        snprintf(path, sizeof path, "%s/outputs.safetensors", o->out);
        rc = weights_save_host(&t, 1, path, meta);
        json_decref(meta);
    }
    json_decref(preds);
    free(x);
    free(logits);
    model_free(m);
    predict_images_free(sources, n);
    json_decref(config);
    if (!rc && say)
        fprintf(say, "wrote %s/predictions.json and %s/outputs.safetensors\n", o->out, o->out);
    return rc;
}
