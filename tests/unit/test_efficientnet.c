/* EfficientNet-B0 (labs/models/efficientnet.h) against timm 1.0.28 itself:
 * the key sets and shapes of ../shared/reference/2.2.2-efficientnet_b0*.tsv
 * and the outputs stored in 2.2.2-efficientnet_b0.parity.safetensors (eval
 * logits and per-stage activations, the train-mode loss, gradients and the
 * BatchNorm running statistics after one train forward). */
#include "base/error.h"
#include "datasets/augment.h"
#include "labs/models/efficientnet.h"
#include "labs/models/resnet.h"
#include "labs/models/weights.h"
#include "labs/pretrained.h"
#include "labs/train.h"
#include "shim/safetensors.h"
#include "tests/unit/testutil.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RTOL 1e-4 /* fp32, relative to the largest reference value */

static void ref_path(char *buf, size_t cap, const char *file)
{
    snprintf(buf, cap, "%s/../shared/reference/%s", tu_src_dir(), file);
}

/* The shared reference lives beside the checkout; a clone elsewhere skips. */
static int have_reference(void)
{
    char path[4200];
    ref_path(path, sizeof path, "2.2.2-efficientnet_b0.parity.safetensors");
    if (access(path, R_OK) == 0)
        return 1;
    fprintf(stderr, "efficientnet: skipped: no %s\n", path);
    return 0;
}

static struct model *build(int head, int classes)
{
    struct effnet_config c;
    effnet_config_course(&c);
    c.head = head;
    c.num_classes = classes;
    struct model *m = NULL;
    ck_assert_msg(effnet_b0_new(&c, &m) == 0, "%s", lab_err_message());
    return m;
}

static void expect_keys(const struct model *m, const char *file)
{
    char path[4200];
    ref_path(path, sizeof path, file);
    tu_expect_state_keys(m, path);
}

START_TEST(test_state_dicts_are_timms)
{
    if (!have_reference())
        return;
    struct model *m = build(EFFNET_HEAD_IMAGENET, 1000);
    expect_keys(m, "2.2.2-efficientnet_b0-imagenet.tsv");
    ck_assert_int_eq(model_num_params(m), 5288548);
    ck_assert(effnet_is(m));
    model_free(m);
    m = build(EFFNET_HEAD_COURSE, 100);
    expect_keys(m, "2.2.2-efficientnet_b0.tsv");
    ck_assert_int_eq(model_num_params(m), 4135648);
    ck_assert_int_eq(ts_size(ts_params_get(m->params, "blocks.3.0.se.conv_reduce.weight"), 0), 10);
    model_free(m);
}
END_TEST

static st_file *parity;

static ts_tensor *ref(const char *name)
{
    const struct st_tensor *t = st_find(parity, name);
    ck_assert_msg(t != NULL, "the parity file has no %s", name);
    ts_tensor *out = NULL;
    ck_assert_int_eq(ts_from_host(&out, t->data, weights_ts_dtype(t->dtype), t->ndim, t->shape, TS_CPU), TS_OK);
    return out;
}

/* max|got - ref| <= rtol * max|ref| + atol, shapes equal. */
static void expect_close(const char *name, const ts_tensor *got, double rtol, double atol)
{
    ts_tensor *want = ref(name), *d, *a, *mx, *ra, *rmx;
    ck_assert_int_eq(ts_dim(got), ts_dim(want));
    for (int i = 0; i < ts_dim(got); i++)
        ck_assert_msg(ts_size(got, i) == ts_size(want, i), "%s: dim %d is %lld, timm's %lld", name, i,
                      (long long)ts_size(got, i), (long long)ts_size(want, i));
    double err, scale;
    ck_assert_int_eq(ts_sub(&d, got, want), TS_OK);
    ck_assert_int_eq(ts_abs(&a, d), TS_OK);
    ck_assert_int_eq(ts_max(&mx, a, TS_ALL, 0), TS_OK);
    ck_assert_int_eq(ts_item_f64(mx, &err), TS_OK);
    ck_assert_int_eq(ts_abs(&ra, want), TS_OK);
    ck_assert_int_eq(ts_max(&rmx, ra, TS_ALL, 0), TS_OK);
    ck_assert_int_eq(ts_item_f64(rmx, &scale), TS_OK);
    ck_assert_msg(err <= rtol * scale + atol, "%s: max error %g against max |timm| %g", name, err, scale);
}

static struct model *build_loaded(void)
{
    char path[4200];
    ref_path(path, sizeof path, "2.2.2-efficientnet_b0.parity.safetensors");
    ck_assert_msg(st_open(path, &parity) == 0, "%s", lab_err_message());
    struct effnet_config c;
    effnet_config_course(&c);
    c.head_dropout = 0; /* the reference ran its head Dropout in eval */
    struct model *m = NULL;
    ck_assert_int_eq(effnet_b0_new(&c, &m), 0);
    struct ts_host_tensor items[400];
    size_t n = 0;
    for (size_t i = 0; i < st_count(parity); i++) {
        const struct st_tensor *t = st_at(parity, i);
        if (strncmp(t->name, "sd.", 3))
            continue;
        ck_assert(n < 400);
        items[n] = (struct ts_host_tensor){.name = t->name + 3, .dtype = weights_ts_dtype(t->dtype),
                                           .ndim = t->ndim, .data = t->data, .nbytes = t->nbytes};
        memcpy(items[n].shape, t->shape, sizeof(int64_t) * (size_t)t->ndim);
        n++;
    }
    ck_assert_int_eq(n, 360);
    ck_assert_msg(ts_params_load_host(m->params, items, n, 1, NULL) == TS_OK, "%s", ts_last_error());
    return m;
}

START_TEST(test_eval_matches_timm)
{
    if (!have_reference())
        return;
    struct model *m = build_loaded();
    ck_assert_int_eq(ts_scope_begin(), TS_OK);
    ts_tensor *x = ref("input"), *logits;
    struct effnet_trace tr;
    ck_assert_msg(effnet_forward_ex(m, x, 0, &tr, &logits) == 0, "%s", lab_err_message());
    /* logits are small (std 0.07): an absolute floor on top of the relative bound */
    expect_close("out.logits", logits, RTOL, 1e-5);
    expect_close("out.pooled", tr.out[11], RTOL, 0);
    for (int s = 0; s < 11; s++) {
        char name[64];
        ts_tensor *m2, *mhw, *mc;
        ck_assert_int_eq(ts_mean(&m2, tr.out[s], 3, 0), TS_OK);
        ck_assert_int_eq(ts_mean(&mhw, m2, 2, 0), TS_OK);
        snprintf(name, sizeof name, "out.%s.mean_hw", effnet_stage_names[s]);
        expect_close(name, mhw, RTOL, 1e-6);
        ck_assert_int_eq(ts_mean(&mc, tr.out[s], 1, 0), TS_OK);
        snprintf(name, sizeof name, "out.%s.mean_c", effnet_stage_names[s]);
        expect_close(name, mc, RTOL, 1e-6);
    }
    ts_scope_end();
    model_free(m);
    st_close(parity);
}
END_TEST

START_TEST(test_train_step_matches_timm)
{
    if (!have_reference())
        return;
    struct model *m = build_loaded();
    ck_assert_int_eq(ts_scope_begin(), TS_OK);
    ts_tensor *x = ref("input"), *logits, *sq, *loss;
    ck_assert_msg(effnet_forward_ex(m, x, 1, NULL, &logits) == 0, "%s", lab_err_message());
    expect_close("train.logits", logits, RTOL, 1e-5);
    ck_assert_int_eq(ts_mul(&sq, logits, logits), TS_OK);
    ck_assert_int_eq(ts_mean(&loss, sq, TS_ALL, 0), TS_OK);
    expect_close("train.loss", loss, RTOL, 0);
    ck_assert_int_eq(ts_backward(loss, NULL), TS_OK);
    static const char *const full[] = {"conv_stem.weight", "blocks.0.0.conv_dw.weight",
                                       "blocks.3.0.se.conv_reduce.weight"};
    static const char *const sliced[] = {"blocks.6.0.conv_pwl.weight", "conv_head.weight", "classifier.1.weight"};
    for (int i = 0; i < 6; i++) {
        const char *pname = i < 3 ? full[i] : sliced[i - 3];
        ts_tensor *g = NULL, *part;
        ck_assert_int_eq(ts_grad(&g, ts_params_get(m->params, pname)), TS_OK);
        ck_assert_msg(g != NULL, "%s has no gradient", pname);
        char name[128];
        if (i < 3) {
            snprintf(name, sizeof name, "grad.%s", pname);
            part = g;
        } else {
            snprintf(name, sizeof name, "grad.%s[0:32]", pname);
            ck_assert_int_eq(ts_narrow(&part, g, 0, 0, 32), TS_OK);
        }
        expect_close(name, part, RTOL, 0);
    }
    /* running stats: 0.9 old + 0.1 batch, the unbiased batch variance */
    static const char *const bns[] = {"bn1", "blocks.6.0.bn3", "bn2"};
    for (int i = 0; i < 3; i++) {
        char key[128], name[160];
        for (int v = 0; v < 2; v++) {
            snprintf(key, sizeof key, "%s.running_%s", bns[i], v ? "var" : "mean");
            snprintf(name, sizeof name, "train.after.%s", key);
            expect_close(name, ts_params_get(m->params, key), RTOL, 0);
        }
    }
    double count;
    ck_assert_int_eq(ts_item_f64(ts_params_get(m->params, "bn1.num_batches_tracked"), &count), TS_OK);
    ck_assert(count == 1.0);
    ts_scope_end();
    model_free(m);
    st_close(parity);
}
END_TEST

/* A frozen backbone's BN stays in eval mode: its running stats do not move,
 * while the others' do. */
START_TEST(test_bn_eval_keeps_running_stats)
{
    if (!have_reference())
        return;
    struct model *m = build(EFFNET_HEAD_COURSE, 10);
    const char *frozen[] = {"blocks"};
    effnet_bn_eval(m, frozen, 1);
    ck_assert_int_eq(ts_scope_begin(), TS_OK);
    int64_t shape[4] = {2, 3, 64, 64};
    ts_tensor *x, *y, *v;
    ck_assert_int_eq(ts_randn(&x, 4, shape, TS_F32, TS_CPU), TS_OK);
    ck_assert_int_eq(m->forward(m, x, 1, &y), 0);
    double a, b;
    ck_assert_int_eq(ts_sum(&v, ts_params_get(m->params, "blocks.2.1.bn2.running_var"), TS_ALL, 0), TS_OK);
    ck_assert_int_eq(ts_item_f64(v, &a), TS_OK);
    ck_assert(fabs(a - 240.0) < 1e-9); /* still all ones */
    ck_assert_int_eq(ts_sum(&v, ts_params_get(m->params, "bn2.running_var"), TS_ALL, 0), TS_OK);
    ck_assert_int_eq(ts_item_f64(v, &b), TS_OK);
    ck_assert(fabs(b - 1280.0) > 1e-3);
    ts_scope_end();
    /* bad configurations are refused with a fix */
    struct effnet_config c;
    effnet_config_course(&c);
    c.drop_path_rate = 1.5;
    struct model *bad = NULL;
    ck_assert_int_eq(effnet_b0_new(&c, &bad), LAB_EUSAGE);
    effnet_config_course(&c);
    c.num_classes = 0;
    ck_assert_int_eq(effnet_b0_new(&c, &bad), LAB_EUSAGE);
    model_free(m);
}
END_TEST

/* A checkpoint in timm's Hub layout (ImageNet head, random weights) loads
 * through the HF cache: the backbone is the checkpoint's, the head is new,
 * the pretrained config drives preprocessing; offline without the files and
 * a different architecture fail with their fixes. */
/* The run's eval transform and the grader's re-evaluation both come from
 * the checkpoint's pretrained_cfg through one function. */
START_TEST(test_pretrained_eval_transform)
{
    struct pretrained_cfg cfg = {.architecture = "efficientnet_b0", .num_classes = 1000,
                                 .input_size = {3, 224, 224}, .interpolation = "bicubic", .crop_pct = 0.875,
                                 .mean = {0.485, 0.456, 0.406}, .std = {0.229, 0.224, 0.225}, .channels = 3};
    struct ds_augment a;
    memset(&a, 0, sizeof a);
    a.pad = 2, a.mean[0] = 0.5f; /* what the data group set: kept unless the checkpoint says otherwise */
    ck_assert_int_eq(pretrained_eval_augment(&cfg, "timm/x@main", &a), LAB_OK);
    ck_assert_int_eq(a.resize_short, 256);
    ck_assert_int_eq(a.center_crop, 224);
    ck_assert_int_eq(a.resample, DS_RESAMPLE_BICUBIC);
    ck_assert(a.normalize && a.pad == 2);
    ck_assert(fabsf(a.mean[0] - 0.485f) < 1e-7f && fabsf(a.std[2] - 0.225f) < 1e-7f);
    /* crop_pct 1: no resize or crop; one-channel constants spread over three */
    struct pretrained_cfg gray = cfg;
    gray.crop_pct = 1.0, gray.channels = 1, gray.mean[0] = 0.2860, gray.std[0] = 0.3530;
    snprintf(gray.interpolation, sizeof gray.interpolation, "bilinear");
    memset(&a, 0, sizeof a);
    ck_assert_int_eq(pretrained_eval_augment(&gray, "quick@src", &a), LAB_OK);
    ck_assert(a.resize_short == 0 && a.center_crop == 0 && a.resample == DS_RESAMPLE_BILINEAR);
    ck_assert(fabsf(a.mean[2] - 0.2860f) < 1e-7f && fabsf(a.std[1] - 0.3530f) < 1e-7f);
    snprintf(gray.interpolation, sizeof gray.interpolation, "lanczos");
    ck_assert_int_eq(pretrained_eval_augment(&gray, "quick@src", &a), LAB_EUSAGE);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "quick@src: interpolation 'lanczos'"));
}
END_TEST

START_TEST(test_pretrained_from_the_hf_cache)
{
    if (!have_reference())
        return;
    char *tmp = tu_tempdir(), hub[4200];
    snprintf(hub, sizeof hub, "%s/hub", tmp);
    setenv("HF_HUB_CACHE", hub, 1);
    setenv("HF_HUB_OFFLINE", "1", 1);
    char weights[4400], config[4400], commit[64];
    ck_assert_int_eq(pretrained_resolve("timm/efficientnet_b0.ra_in1k", "main", weights, config, sizeof weights),
                     LAB_EENV);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "offline"));
    /* it names the snapshot it looked for, so a wrong HF_HUB_CACHE shows */
    char looked[4400];
    snprintf(looked, sizeof looked, "no %s/models--timm--efficientnet_b0.ra_in1k/snapshots/<commit>/model.safetensors", hub);
    ck_assert_msg(strstr(lab_err_message(), looked), "%s", lab_err_message());
    struct model *src = build(EFFNET_HEAD_IMAGENET, 1000);
    struct pretrained_cfg cfg = {.architecture = "efficientnet_b0", .num_classes = 1000,
                                 .input_size = {3, 224, 224}, .interpolation = "bicubic", .crop_pct = 0.875,
                                 .mean = {0.485, 0.456, 0.406}, .std = {0.229, 0.224, 0.225}, .channels = 3};
    ck_assert_msg(pretrained_save_hf(src, &cfg, "timm/efficientnet_b0.ra_in1k", "main", commit, sizeof commit) == 0,
                  "%s", lab_err_message());
    ck_assert_msg(pretrained_resolve("timm/efficientnet_b0.ra_in1k", "main", weights, config, sizeof weights) == 0,
                  "%s", lab_err_message());
    char want[4400];
    snprintf(want, sizeof want, "%s/models--timm--efficientnet_b0.ra_in1k/snapshots/%s/model.safetensors", hub,
             commit);
    ck_assert_str_eq(weights, want);
    struct pretrained_cfg got;
    ck_assert_msg(pretrained_cfg_read(config, &got) == 0, "%s", lab_err_message());
    ck_assert_str_eq(got.interpolation, "bicubic");
    ck_assert_int_eq(pretrained_resize_of(&got), 256);
    ck_assert_int_eq(got.input_size[2], 224);
    ck_assert(fabs(got.std[2] - 0.225) < 1e-9 && got.channels == 3 && got.num_classes == 1000);
    struct model *dst = build(EFFNET_HEAD_COURSE, 100);
    size_t loaded = 0;
    ck_assert_msg(pretrained_load_backbone(dst, weights, "classifier", &loaded) == 0, "%s", lab_err_message());
    ck_assert_int_eq(loaded, 358);
    char a[65], b[65], c[65];
    ck_assert_int_eq(pretrained_fingerprint_params(src->params, "classifier", a, sizeof a), 0);
    ck_assert_int_eq(pretrained_fingerprint_params(dst->params, "classifier", b, sizeof b), 0);
    ck_assert_int_eq(pretrained_fingerprint_file(weights, "classifier", c, sizeof c), 0);
    ck_assert_str_eq(a, b);
    ck_assert_str_eq(a, c);
    ck_assert_int_eq(ts_size(ts_params_get(dst->params, "classifier.1.weight"), 0), 100);
    /* a changed backbone tensor changes the fingerprint */
    ck_assert_int_eq(ts_fill_(ts_params_get(dst->params, "blocks.6.0.bn3.bias"), 0.5), TS_OK);
    ck_assert_int_eq(pretrained_fingerprint_params(dst->params, "classifier", b, sizeof b), 0);
    ck_assert_str_ne(a, b);
    /* another architecture's weights: refused, naming keys */
    struct model *rn = NULL;
    ck_assert_int_eq(resnet18_create(10, 0, &rn), 0);
    char rpath[4400];
    snprintf(rpath, sizeof rpath, "%s/resnet.safetensors", tmp);
    ck_assert_int_eq(weights_save(rn->params, rpath, NULL, NULL, 0), 0);
    ck_assert_int_eq(pretrained_load_backbone(dst, rpath, "classifier", NULL), LAB_EUSAGE);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "conv_stem.weight"));
    ck_assert_ptr_nonnull(strstr(lab_err_fix(), "TS-STATE-DICT"));
    /* a broken config.json names its field */
    const char bad[] = "{\"architecture\": \"efficientnet_b0\", \"pretrained_cfg\": {\"input_size\": [3, 224, 224], "
                       "\"mean\": [0.5, 0.5], \"std\": [0.2, 0.2, 0.2]}}";
    ck_assert_int_eq(pretrained_cfg_parse(bad, strlen(bad), "config.json", &got), LAB_EUSAGE);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "mean"));
    /* freezing all but the head leaves the course's 128,100 trainable */
    json_t *tcfg = json_pack("{s:{s:[s], s:s}}", "train", "freeze", "", "optimizer", "adamw");
    json_array_clear(json_object_get(json_object_get(tcfg, "train"), "freeze"));
    const char *prefixes[] = {"conv_stem", "bn1", "blocks", "conv_head", "bn2"};
    for (int i = 0; i < 5; i++)
        json_array_append_new(json_object_get(json_object_get(tcfg, "train"), "freeze"), json_string(prefixes[i]));
    struct train_config tc;
    ck_assert_msg(train_config_read(tcfg, &(struct lab_device_choice){.device = TS_CPU}, &tc) == 0, "%s", lab_err_message());
    ts_optim *opt = NULL;
    ck_assert_int_eq(train_optimizer(dst, &tc, &opt), 0);
    int64_t trainable = 0;
    for (size_t i = 0; i < ts_params_count(dst->params); i++) {
        const char *pname;
        ts_tensor *h;
        int kind, group;
        ts_params_at(dst->params, i, &pname, &h, &kind, &group);
        if (kind == TS_PARAM && ts_requires_grad(h))
            trainable += ts_numel(h);
    }
    ck_assert_int_eq(trainable, 128100);
    ts_optim_free(opt);
    json_decref(tcfg);
    unsetenv("HF_HUB_OFFLINE");
    unsetenv("HF_HUB_CACHE");
    model_free(rn);
    model_free(src);
    model_free(dst);
    tu_rmtree(tmp);
    free(tmp);
}
END_TEST

Suite *suite_efficientnet(void)
{
    Suite *s = suite_create("efficientnet");
    TCase *tc = tcase_create("timm");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_state_dicts_are_timms);
    tcase_add_test(tc, test_eval_matches_timm);
    tcase_add_test(tc, test_train_step_matches_timm);
    tcase_add_test(tc, test_bn_eval_keeps_running_stats);
    tcase_add_test(tc, test_pretrained_eval_transform);
    tcase_add_test(tc, test_pretrained_from_the_hf_cache);
    suite_add_tcase(s, tc);
    return s;
}
