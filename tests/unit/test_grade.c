/* The grader on synthetic submissions: the generic checks on hand-made
 * tensors, the manifest parser, whole submissions graded (full marks, and
 * variants that each fail exactly one check with its troubleshooting id),
 * not-gradable inputs, the JSON round trip and the per-check time budget. */
#include "base/error.h"
#include "base/fsutil.h"
#include "base/utf8.h"
#include "datasets/hash.h"
#include "grader/checks.h"
#include "grader/grade.h"
#include "grader/kb.h"
#include "grader/pack.h"
#include "grader/reeval.h"
#include "grader/report_format.h"
#include "grader/rubric.h"
#include "grader/submission.h"
#include "grader/tensors.h"
#include "labs/lab.h"
#include "shim/safetensors.h"
#include "tests/unit/testutil.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- generic checks ---- */

START_TEST(test_logits_shape)
{
    struct check_out o;
    int64_t ok[2] = {100, 10}, tr[2] = {10, 100}, flat[1] = {1000}, few[2] = {50, 10};
    ck_assert_int_eq(check_logits_shape(1, "F32", ok, 2, 100, 10, &o), CHECK_PASS);
    ck_assert_ptr_null(o.kb);
    ck_assert_int_eq(check_logits_shape(1, "F32", tr, 2, 100, 10, &o), CHECK_FAIL);
    ck_assert_str_eq(o.kb, "TS-LOGITS-SHAPE");
    ck_assert_ptr_nonnull(strstr(o.message, "transposed"));
    ck_assert_int_eq(check_logits_shape(1, "F32", flat, 1, 100, 10, &o), CHECK_FAIL);
    ck_assert_ptr_nonnull(strstr(o.message, "flattened"));
    ck_assert_int_eq(check_logits_shape(1, "F32", few, 2, 100, 10, &o), CHECK_FAIL);
    ck_assert_ptr_nonnull(strstr(o.message, "50 images"));
    ck_assert_int_eq(check_logits_shape(0, "I64", ok, 2, 100, 10, &o), CHECK_FAIL);
    ck_assert_ptr_nonnull(strstr(o.message, "I64"));
    ck_assert_int_eq(check_logits_shape(1, "F32", tr, 2, -1, 10, &o), CHECK_FAIL);
}
END_TEST

START_TEST(test_values_checks)
{
    struct check_out o;
    int64_t labels[4] = {0, 9, 3, 10};
    ck_assert_int_eq(check_labels_range(labels, 3, 10, &o), CHECK_PASS);
    ck_assert_int_eq(check_labels_range(labels, 4, 10, &o), CHECK_FAIL);
    ck_assert_str_eq(o.kb, "TS-DEVICE-ASSERT-LABELS");
    ck_assert_ptr_nonnull(strstr(o.message, "label 10 at position 3"));

    float v[40];
    for (int i = 0; i < 40; i++)
        v[i] = (float)((i * 7) % 11);
    ck_assert_int_eq(check_finite(v, 40, &o), CHECK_PASS);
    ck_assert_int_eq(check_not_constant(v, 4, 10, &o), CHECK_PASS);
    v[13] = NAN;
    ck_assert_int_eq(check_finite(v, 40, &o), CHECK_FAIL);
    ck_assert_str_eq(o.kb, "TS-NAN-LOGITS");
    ck_assert_ptr_nonnull(strstr(o.message, "index 13"));
    v[13] = INFINITY;
    ck_assert_int_eq(check_finite(v, 40, &o), CHECK_FAIL);

    float same[30];
    for (int i = 0; i < 30; i++)
        same[i] = (float)(i % 3);
    ck_assert_int_eq(check_not_constant(same, 10, 3, &o), CHECK_FAIL);
    ck_assert_str_eq(o.kb, "TS-CONSTANT-LOGITS");
    /* Rows that differ but always pick class 1 (n >= 2 * classes). */
    for (int i = 0; i < 10; i++)
        same[i * 3] = (float)i * 0.01f, same[i * 3 + 1] = 5, same[i * 3 + 2] = 0;
    ck_assert_int_eq(check_not_constant(same, 10, 3, &o), CHECK_FAIL);
    ck_assert_ptr_nonnull(strstr(o.message, "class 1"));
}
END_TEST

START_TEST(test_masks_and_boxes)
{
    struct check_out o;
    int64_t ok[3] = {4, 48, 64}, swapped[3] = {4, 64, 48}, other[3] = {4, 44, 60};
    ck_assert_int_eq(check_masks_shape(ok, 3, 4, 48, 64, &o), CHECK_PASS);
    ck_assert_int_eq(check_masks_shape(swapped, 3, 4, 48, 64, &o), CHECK_FAIL);
    ck_assert_str_eq(o.kb, "TS-WIDTH-HEIGHT-SWAP");
    ck_assert_int_eq(check_masks_shape(other, 3, 4, 48, 64, &o), CHECK_FAIL);
    ck_assert_str_eq(o.kb, "TS-UNET-SHAPE");
    /* square inputs: [n, w, h] is [n, h, w], nothing to tell apart */
    int64_t sq[3] = {4, 32, 32};
    ck_assert_int_eq(check_masks_shape(sq, 3, 4, 32, 32, &o), CHECK_PASS);

    float good[8] = {0, 0, 10, 10, 5, 6, 64, 48};
    ck_assert_int_eq(check_boxes_xyxy(good, 2, 64, 48, &o), CHECK_PASS);
    float xywh[8] = {40, 30, 20, 10, 5, 6, 10, 10}; /* x2 < x1: widths, not corners */
    ck_assert_int_eq(check_boxes_xyxy(xywh, 2, 64, 48, &o), CHECK_FAIL);
    ck_assert_str_eq(o.kb, "TS-CONVERT-OUTPUT-FORMAT");
    ck_assert_ptr_nonnull(strstr(o.message, "[x, y, width, height]"));
    float outside[4] = {0, 0, 100, 10};
    ck_assert_int_eq(check_boxes_xyxy(outside, 1, 64, 48, &o), CHECK_FAIL);
}
END_TEST

static void fill_batch(float *px, int n, float scale, float shift)
{
    for (int i = 0; i < n; i++)
        px[i] = (float)((i * 37) % 256) / 255.0f * scale + shift;
}

START_TEST(test_input_stats)
{
    enum { B = 2, C = 3, H = 8, W = 8, N = B * C * H * W };
    float px[N];
    struct input_stats s;
    struct check_out o;
    fill_batch(px, N, 255, 0); /* raw bytes */
    input_stats_compute(px, B, C, H, W, &s);
    ck_assert_int_eq(check_input_stats(&s, &o), CHECK_FAIL);
    ck_assert_str_eq(o.kb, "TS-RAW-PIXELS");
    fill_batch(px, N, 1, 0); /* ToTensor only */
    input_stats_compute(px, B, C, H, W, &s);
    ck_assert_int_eq(check_input_stats(&s, &o), CHECK_FAIL);
    ck_assert_str_eq(o.kb, "TS-NORMALIZE-MISSING");
    fill_batch(px, N, 1 / 0.29f, -0.5f / 0.29f); /* normalized: mean ~0, std ~1 */
    input_stats_compute(px, B, C, H, W, &s);
    ck_assert_int_eq(check_input_stats(&s, &o), CHECK_PASS);
    ck_assert_double_lt(fabs(s.mean[0]), 0.2);
    fill_batch(px, N, 1 / 0.1f, -0.1f / 0.1f); /* the wrong constants: mean ~4 */
    input_stats_compute(px, B, C, H, W, &s);
    ck_assert_int_eq(check_input_stats(&s, &o), CHECK_FAIL);
    ck_assert_str_eq(o.kb, "TS-NORM-MISMATCH");
}
END_TEST

START_TEST(test_norm_constants)
{
    struct check_out o;
    const double mean[3] = {0.286, 0.286, 0.286}, std[3] = {0.353, 0.353, 0.353};
    json_t *ok = json_pack("{s:[f,f,f], s:[f,f,f]}", "mean", 0.286, 0.286, 0.286, "std", 0.353, 0.353, 0.353);
    json_t *bad = json_pack("{s:[f,f,f], s:[f,f,f]}", "mean", 0.5, 0.5, 0.5, "std", 0.5, 0.5, 0.5);
    json_t *short_ = json_pack("{s:[f], s:[f]}", "mean", 0.286, "std", 0.353);
    ck_assert_int_eq(check_norm_constants(ok, mean, std, 3, "fashion-mnist", &o), CHECK_PASS);
    ck_assert_int_eq(check_norm_constants(bad, mean, std, 3, "fashion-mnist", &o), CHECK_FAIL);
    ck_assert_str_eq(o.kb, "TS-NORM-MISMATCH");
    ck_assert_ptr_nonnull(strstr(o.message, "0.5000"));
    ck_assert_ptr_nonnull(strstr(o.message, "0.2860"));
    ck_assert_int_eq(check_norm_constants(short_, mean, std, 3, "fashion-mnist", &o), CHECK_FAIL);
    ck_assert_int_eq(check_norm_constants(NULL, mean, std, 3, "fashion-mnist", &o), CHECK_FAIL);
    json_decref(ok), json_decref(bad), json_decref(short_);
}
END_TEST

START_TEST(test_accuracy_and_rel)
{
    float logits[6] = {1, 2, 3, 3, 2, 1};
    int64_t labels[2] = {2, 1};
    ck_assert_double_eq(logits_accuracy(logits, labels, 2, 3), 0.5);
    float tie[3] = {1, 1, 0};
    ck_assert_int_eq(logits_argmax(tie, 3), 0); /* first maximum, as torch.argmax */
    float a[3] = {1, 2, 4}, b[3] = {1, 2, 4.01f};
    ck_assert_double_lt(rel_max_diff(a, b, 3), 5e-3);
    b[2] = 5;
    ck_assert_double_gt(rel_max_diff(a, b, 3), 5e-3);
    b[0] = NAN;
    ck_assert(isinf(rel_max_diff(a, b, 3)));
}
END_TEST

START_TEST(test_prefix_hint)
{
    char *unexpected[2] = {"module.conv1.weight", "module.fc.bias"}, *missing[2] = {"conv1.weight", "fc.bias"};
    char hint[300];
    ck_assert_int_eq(reeval_prefix_hint(unexpected, 2, missing, 2, hint, sizeof hint), 1);
    ck_assert_ptr_nonnull(strstr(hint, "'module.'"));
    ck_assert_ptr_nonnull(strstr(hint, "DataParallel"));
    char *nested[2] = {"model.backbone.conv1.weight", "model.backbone.fc.bias"};
    ck_assert_int_eq(reeval_prefix_hint(nested, 2, missing, 2, hint, sizeof hint), 1);
    ck_assert_ptr_nonnull(strstr(hint, "'model.backbone.'"));
    ck_assert_int_eq(reeval_prefix_hint(missing, 2, nested, 2, hint, sizeof hint), 1); /* the reverse */
    ck_assert_ptr_nonnull(strstr(hint, "whole model"));
    char *other[1] = {"head.weight"};
    ck_assert_int_eq(reeval_prefix_hint(other, 1, missing, 2, hint, sizeof hint), 0);
}
END_TEST

/* ---- the manifest ---- */

START_TEST(test_manifest_parse)
{
    const char *hex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789ABCDEF";
    char text[1024];
    struct sub_entry *e;
    size_t n;
    snprintf(text, sizeof text, "%s  config.json\r\n\n%s *./models/a/model.safetensors\n", hex, hex);
    ck_assert_int_eq(sub_manifest_parse(text, strlen(text), &e, &n), LAB_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(e[0].path, "config.json");
    ck_assert_str_eq(e[1].path, "models/a/model.safetensors");
    ck_assert_str_eq(e[1].sha256 + 58, "abcdef"); /* lower-cased */
    sub_manifest_free(e, n);
    const char *bad[] = {"nothex  x\n", "%s  /etc/passwd\n", "%s  a/../../b\n", "%s  a//b\n", "%s  x\n%s  x\n",
                         "%s\tx\n", "", "%s  a\\b\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(text, sizeof text, bad[i], hex, hex);
        ck_assert_msg(sub_manifest_parse(text, strlen(text), &e, &n) == LAB_EENV, "accepted case %zu", i);
        ck_assert_str_ne(lab_err_message(), "");
    }
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "MANIFEST.sha256"));
}
END_TEST

/* ---- synthetic submissions ---- */

#define EVAL_N 2000

struct synth {
    double claimed;     /* metrics.json test_accuracy */
    double mean;        /* config normalize mean (all channels) */
    float input_scale;  /* pixel_values = normalized * scale + shift */
    float input_shift;
    int transposed, nan_logits, no_manifest, broken_json, truncate_pred, absurd_shape, extra_file;
    int tamper_after_manifest;
    const char *model;  /* the model's name (lenet5) */
    int wrong;          /* rows in 10 predicted wrong (1) */
    int repeat_right;   /* the wrong rows replaced by copies of right ones, indices included */
    int quick_false;    /* config.json claims "quick": false */
    int huge_tensor;    /* a valid predictions file with a tensor over GT_MAX_ELEMS */
    int latin1_name;    /* a file named in Latin-1 (not UTF-8) added after the manifest */
    int params;         /* parameters in model.safetensors (LeNet-5's 62006) */
    int only_lenet5;    /* the rubric's other models missing */
};

static void write_json(const char *dir, const char *rel, json_t *j)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    char *text = json_dumps(j, JSON_INDENT(1));
    tu_write_file(path, text, strlen(text));
    free(text);
    json_decref(j);
}

/* Fake eval labels: IDX (zlib reads a plain file under the .gz name). */
static void write_truth(const char *dir)
{
    enum { N = 10000 };
    static unsigned char buf[8 + N];
    buf[0] = buf[1] = 0, buf[2] = 8, buf[3] = 1;
    buf[4] = 0, buf[5] = 0, buf[6] = N >> 8, buf[7] = N & 0xff;
    for (int i = 0; i < N; i++)
        buf[8 + i] = (unsigned char)(i % 10);
    char path[4200];
    snprintf(path, sizeof path, "%s/t10k-labels-idx1-ubyte.gz", dir);
    tu_write_file(path, buf, sizeof buf);
}

static void write_manifest(const char *dir)
{
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "cd '%s' && find . -type f ! -name MANIFEST.sha256 | sed 's|^\\./||' | sort | "
             "xargs sha256sum > MANIFEST.sha256", dir);
    ck_assert_int_eq(tu_run(cmd, NULL), 0);
}

/* The rubric's models beside lenet5 and their parameter counts (lab.json). */
static const struct {
    const char *name;
    int64_t params;
} other_models[] = {{"alexnet", 35857482}, {"vgg11", 28149514}, {"resnet18", 11173962}};
#define N_OTHER (sizeof other_models / sizeof other_models[0])

/* The model the variants alter (synth.model, lenet5 by default). */
static const char *altered = "lenet5";

/* One of the rubric's other models, right as lenet5 is unaltered (90%).
 * Its weights are one U8 tensor of the model's parameter count:
 * weights.params counts elements, and bytes keep the files small. */
static void write_clean_model(const char *dir, const char *name, int64_t params, json_t *metrics)
{
    static float logits[EVAL_N * 10];
    static int64_t labels[EVAL_N], indices[EVAL_N];
    for (int i = 0; i < EVAL_N; i++) {
        labels[i] = i % 10, indices[i] = i;
        int pred = i % 10 == 0 ? 1 : (int)labels[i];
        for (int k = 0; k < 10; k++)
            logits[i * 10 + k] = k == pred ? 3.0f : (float)(k * 0.1 + i * 0.001);
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/models/%s", dir, name);
    ck_assert_int_eq(lab_mkdir_p(path), LAB_OK);
    st_writer *w;
    int64_t ls[2] = {EVAL_N, 10}, n1[1] = {EVAL_N}, ws[1] = {params};
    ck_assert_int_eq(st_writer_new(&w), LAB_OK);
    st_writer_add(w, "logits", ST_F32, 2, ls, logits, sizeof logits);
    st_writer_add(w, "labels", ST_I64, 1, n1, labels, sizeof labels);
    st_writer_add(w, "indices", ST_I64, 1, n1, indices, sizeof indices);
    snprintf(path, sizeof path, "%s/models/%s/predictions.safetensors", dir, name);
    ck_assert_int_eq(st_writer_write(w, path), LAB_OK);
    st_writer_free(w);
    /* noise, as trained weights are: zeros would unpack past the archive
     * limit's compression ratio */
    static unsigned char *weight;
    static size_t filled;
    if (filled < (size_t)params) {
        ck_assert_ptr_nonnull(weight = realloc(weight, (size_t)params));
        uint32_t x = 12345;
        for (size_t i = 0; i < (size_t)params; i++)
            weight[i] = (unsigned char)((x = x * 1664525u + 1013904223u) >> 24);
        filled = (size_t)params;
    }
    ck_assert_int_eq(st_writer_new(&w), LAB_OK);
    st_writer_add(w, "fc.weight", ST_U8, 1, ws, weight, (size_t)params);
    snprintf(path, sizeof path, "%s/models/%s/model.safetensors", dir, name);
    ck_assert_int_eq(st_writer_write(w, path), LAB_OK);
    st_writer_free(w);
    json_object_set_new(json_object_get(metrics, "models"), name,
                        json_pack("{s:f, s:s}", "test_accuracy", 0.9, "status", "done"));
}

static void make_submission(const char *dir, const struct synth *o)
{
    char path[4200];
    const char *model = o->model ? o->model : "lenet5";
    int wrong = o->wrong ? o->wrong : 1;
    snprintf(path, sizeof path, "%s/models/%s", dir, model);
    ck_assert_int_eq(lab_mkdir_p(path), LAB_OK);
    const char *lab = "2.2.1";
    write_json(dir, "submission.json",
               json_pack("{s:i, s:s, s:s, s:s, s:s, s:{s:s, s:s}}", "format_version", 1, "lab", lab, "student", "alice",
                         "created", "2026-01-01T00:00:00Z", "lab_version", "0.1.0", "environment", "device", "cpu",
                         "precision", "fp32"));
    double m = o->mean ? o->mean : 0.286;
    write_json(dir, "config.json",
               json_pack("{s:s, s:s, s:b, s:s, s:{s:s, s:[i,i,i], s:i, s:i, s:{s:[f,f,f], s:[f,f,f]}}}", "lab", lab,
                         "model", model, "quick", !o->quick_false, "precision", "fp32", "data", "dataset", "fashion-mnist",
                         "input_size", 3, 32, 32, "num_classes", 10, "eval_subset", EVAL_N, "normalize", "mean", m, m,
                         m, "std", 0.353, 0.353, 0.353));
    json_t *metrics = json_pack("{s:s, s:{s:{s:f, s:s}}}", "lab", lab, "models", model, "test_accuracy",
                                o->claimed ? o->claimed : 1 - wrong / 10.0, "status", "done");
    for (size_t i = 0; !o->only_lenet5 && i < N_OTHER; i++)
        if (strcmp(other_models[i].name, model) != 0)
            write_clean_model(dir, other_models[i].name, other_models[i].params, metrics);
    write_json(dir, "metrics.json", metrics);
    if (o->broken_json) {
        snprintf(path, sizeof path, "%s/metrics.json", dir);
        tu_write_file(path, "{\"lab\": \"2.2.1\", \"models\": {", 27);
    }

    static float logits[EVAL_N * 10];
    static int64_t labels[EVAL_N], indices[EVAL_N];
    for (int i = 0; i < EVAL_N; i++) {
        labels[i] = i % 10, indices[i] = i;
        int pred = i % 10 < wrong ? (int)(labels[i] + 1) % 10 : (int)labels[i];
        for (int k = 0; k < 10; k++)
            logits[o->transposed ? k * EVAL_N + i : i * 10 + k] = k == pred ? 3.0f : (float)(k * 0.1 + i * 0.001);
    }
    for (int i = 0; o->repeat_right && i < EVAL_N; i++)
        if (i % 10 < wrong) { /* row i becomes a copy of the right row i + wrong */
            int from = i - i % 10 + wrong;
            memcpy(&logits[i * 10], &logits[from * 10], 10 * sizeof *logits);
            labels[i] = labels[from], indices[i] = indices[from];
        }
    if (o->nan_logits)
        logits[55] = NAN;
    st_writer *w;
    ck_assert_int_eq(st_writer_new(&w), LAB_OK);
    int64_t ls[2] = {EVAL_N, 10}, ts[2] = {10, EVAL_N}, n1[1] = {EVAL_N};
    st_writer_add(w, "logits", ST_F32, 2, o->transposed ? ts : ls, logits, sizeof logits);
    st_writer_add(w, "labels", ST_I64, 1, n1, labels, sizeof labels);
    st_writer_add(w, "indices", ST_I64, 1, n1, indices, sizeof indices);
    if (o->huge_tensor) { /* valid, and one byte over the cap */
        size_t big = GT_MAX_ELEMS + 1;
        unsigned char *zeros = calloc(big, 1);
        int64_t bs[1] = {(int64_t)big};
        st_writer_add(w, "oversized_mask", ST_U8, 1, bs, zeros, big);
        snprintf(path, sizeof path, "%s/models/%s/predictions.safetensors", dir, model);
        ck_assert_int_eq(st_writer_write(w, path), LAB_OK);
        free(zeros);
    }
    snprintf(path, sizeof path, "%s/models/%s/predictions.safetensors", dir, model);
    if (!o->huge_tensor)
        ck_assert_int_eq(st_writer_write(w, path), LAB_OK);
    st_writer_free(w);
    if (o->truncate_pred)
        ck_assert_int_eq(truncate(path, 100), 0);

    /* LeNet-5's parameter count (lab.json), and a batch-norm buffer that is not a parameter */
    static float weight[62006];
    float stats[4] = {0};
    int64_t ws[1] = {o->params ? o->params : 62006}, bs[1] = {4};
    ck_assert_int_eq(st_writer_new(&w), LAB_OK);
    st_writer_add(w, "fc.weight", ST_F32, 1, ws, weight, (size_t)ws[0] * sizeof(float));
    st_writer_add(w, "bn.running_mean", ST_F32, 1, bs, stats, sizeof stats);
    snprintf(path, sizeof path, "%s/models/%s/model.safetensors", dir, model);
    ck_assert_int_eq(st_writer_write(w, path), LAB_OK);
    st_writer_free(w);

    enum { PB = 4, PN = PB * 3 * 32 * 32 };
    static float px[PN];
    fill_batch(px, PN, 1 / 0.29f, -0.5f / 0.29f);
    for (int i = 0; o->input_scale && i < PN; i++)
        px[i] = px[i] * o->input_scale + o->input_shift;
    int64_t ps[4] = {PB, 3, 32, 32};
    ck_assert_int_eq(st_writer_new(&w), LAB_OK);
    st_writer_add(w, "pixel_values", ST_F32, 4, ps, px, sizeof px);
    snprintf(path, sizeof path, "%s/inputs.safetensors", dir);
    ck_assert_int_eq(st_writer_write(w, path), LAB_OK);
    st_writer_free(w);
    if (o->absurd_shape) {
        /* a valid-looking header claiming 2^40 floats */
        const char *hdr = "{\"logits\":{\"dtype\":\"F32\",\"shape\":[1099511627776,10],\"data_offsets\":[0,16]}}";
        unsigned char buf[256] = {0};
        size_t hl = strlen(hdr);
        buf[0] = (unsigned char)hl;
        memcpy(buf + 8, hdr, hl);
        snprintf(path, sizeof path, "%s/models/lenet5/predictions.safetensors", dir);
        tu_write_file(path, buf, 8 + hl + 16);
    }
    if (o->extra_file) {
        snprintf(path, sizeof path, "%s/notes.txt", dir);
        tu_write_file(path, "hi", 2);
    }
    if (!o->no_manifest)
        write_manifest(dir);
    if (o->extra_file) { /* added after the manifest was made */
        snprintf(path, sizeof path, "%s/later.txt", dir);
        tu_write_file(path, "later", 5);
    }
    if (o->latin1_name) {
        snprintf(path, sizeof path, "%s/caf\xe9.txt", dir);
        tu_write_file(path, "x", 1);
    }
    if (o->tamper_after_manifest) {
        snprintf(path, sizeof path, "%s/models/lenet5/model.safetensors", dir);
        FILE *f = fopen(path, "r+b");
        fseek(f, -1, SEEK_END);
        fputc(0x7f, f);
        fclose(f);
    }
}

static struct grade_report *grade_synth(const struct synth *o, const char *lab, double timeout)
{
    char *tmp = tu_tempdir(), sub[4200];
    snprintf(sub, sizeof sub, "%s/sub", tmp);
    write_truth(tmp);
    altered = o->model ? o->model : "lenet5";
    make_submission(sub, o);
    struct grade_opts opts = {.lab = lab, .device = "cpu", .data_dir = tmp, .check_timeout_s = timeout};
    struct grade_report *r = NULL;
    ck_assert_int_eq(grade_submission(sub, &opts, &r), LAB_OK);
    ck_assert_ptr_nonnull(r);
    tu_rmtree(tmp);
    free(tmp);
    return r;
}

/* A row of a model other than the altered one. */
static int of_model(const struct check_result *c, const char *m)
{
    return strncmp(c->name, m, strlen(m)) == 0 && c->name[strlen(m)] == ':';
}

static int of_other_model(const struct check_result *c)
{
    if (of_model(c, "lenet5") && strcmp(altered, "lenet5") != 0)
        return 1;
    for (size_t k = 0; k < N_OTHER; k++)
        if (of_model(c, other_models[k].name) && strcmp(altered, other_models[k].name) != 0)
            return 1;
    return 0;
}

/* The check `id` of model `m`. */
static const struct check_result *find_model_check(const struct grade_report *r, const char *id, const char *m)
{
    for (size_t i = 0; i < r->n_checks; i++)
        if (strcmp(r->checks[i].id, id) == 0 && of_model(&r->checks[i], m))
            return &r->checks[i];
    return NULL;
}

/* The check `id`, lenet5's for a per-model one (the model the variants alter). */
static const struct check_result *find_check(const struct grade_report *r, const char *id)
{
    for (size_t i = 0; i < r->n_checks; i++)
        if (strcmp(r->checks[i].id, id) == 0 && !of_other_model(&r->checks[i]))
            return &r->checks[i];
    return NULL;
}

/* Exactly one check (`id`) failed, with `kb`; the rest passed or were skipped. */
static void assert_only_failure(const struct grade_report *r, const char *id, const char *kb)
{
    ck_assert_int_eq(r->status, GRADE_GRADED);
    for (size_t i = 0; i < r->n_checks; i++) {
        const struct check_result *c = &r->checks[i];
        if (strcmp(c->id, id) == 0 && !of_other_model(c)) {
            ck_assert_msg(c->status == CHECK_FAIL, "%s is %s: %s", id, check_status_name(c->status), c->message);
            ck_assert_str_eq(c->kb, kb);
            ck_assert_double_eq(c->points, 0);
        } else {
            ck_assert_msg(c->status == CHECK_PASS || c->status == CHECK_SKIPPED, "%s is %s: %s", c->id,
                          check_status_name(c->status), c->message);
        }
    }
    ck_assert_int_eq(grade_exit_status(r), LAB_EFAIL);
}

START_TEST(test_full_marks)
{
    struct synth o = {0};
    struct grade_report *r = grade_synth(&o, "2.2.1", 0);
    ck_assert_int_eq(r->status, GRADE_GRADED);
    ck_assert_str_eq(r->lab, "2.2.1");
    ck_assert_str_eq(r->student, "alice");
    for (size_t i = 0; i < r->n_checks; i++)
        ck_assert_msg(r->checks[i].status == CHECK_PASS ||
                          (r->checks[i].status == CHECK_SKIPPED && r->checks[i].max_points == 0),
                      "%s: %s %s", r->checks[i].id, check_status_name(r->checks[i].status), r->checks[i].message);
    ck_assert_double_gt(r->max_score, 20);
    ck_assert_double_eq(r->score, r->max_score);
    ck_assert_int_eq(grade_exit_status(r), LAB_OK);
    ck_assert_ptr_nonnull(find_check(r, "honesty.accuracy"));
    ck_assert_ptr_nonnull(strstr(find_check(r, "honesty.accuracy")->message, "90.00%"));
    ck_assert_str_eq(find_check(r, "reeval.logits")->name, "lenet5: the weights reproduce the submitted logits");
    ck_assert_int_eq(find_check(r, "reeval.logits")->status, CHECK_SKIPPED);
    ck_assert_str_eq(json_string_value(json_object_get(r->fingerprint, "device")), "cpu");
    grade_report_free(r);
}
END_TEST

START_TEST(test_variants_fail_one_check)
{
    struct {
        struct synth o;
        const char *id, *kb;
    } cases[] = {
        {{.claimed = 0.99}, "honesty.accuracy", "TS-METRICS-MISMATCH"},
        {{.nan_logits = 1}, "values.finite", "TS-NAN-LOGITS"},
        {{.transposed = 1}, "shape.logits", "TS-LOGITS-SHAPE"},
        {{.mean = 0.5}, "norm.config", "TS-NORM-MISMATCH"},
        {{.input_scale = 0.29f * 255, .input_shift = 0.5f * 255}, "norm.inputs", "TS-RAW-PIXELS"},
        {{.input_scale = 0.29f, .input_shift = 0.5f}, "norm.inputs", "TS-NORMALIZE-MISSING"},
        {{.tamper_after_manifest = 1}, "integrity.checksums", "TS-SUBMISSION-INTEGRITY"},
        {{.extra_file = 1}, "integrity.manifest", "TS-SUBMISSION-INTEGRITY"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct grade_report *r = grade_synth(&cases[i].o, NULL, 0);
        assert_only_failure(r, cases[i].id, cases[i].kb);
        grade_report_free(r);
    }
}
END_TEST

static double share(const struct grade_report *r) { return r->score / r->max_score; }

/* Rows repeated to fill the count: the LeNet-5 at 70% that keeps its right
 * rows, repeats them with their indices and claims 100% earns nothing for
 * its results. */
START_TEST(test_repeated_rows_earn_nothing)
{
    struct grade_report *honest = grade_synth(&(struct synth){.wrong = 3}, NULL, 0);
    struct grade_report *r = grade_synth(&(struct synth){.wrong = 3, .repeat_right = 1, .claimed = 1.0}, NULL, 0);
    const struct check_result *c = find_check(r, "predictions.coverage");
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(c->status, CHECK_FAIL);
    ck_assert_str_eq(c->kb, "TS-PREDICTIONS-COVERAGE");
    ck_assert_msg(strstr(c->message, "600 row(s) repeat an image"), "%s", c->message);
    const char *scored[] = {"honesty.accuracy", "results.threshold", "results.chance"};
    for (size_t i = 0; i < 3; i++) {
        const struct check_result *x = find_check(r, scored[i]);
        ck_assert_msg(x->status != CHECK_PASS && x->points == 0 && x->max_points > 0, "%s: %s %s", scored[i],
                      check_status_name(x->status), x->message);
    }
    ck_assert_double_lt(r->score, honest->score);
    ck_assert_int_eq(find_check(honest, "predictions.coverage")->status, CHECK_PASS);
    grade_report_free(honest);
    grade_report_free(r);
}
END_TEST

/* "quick": false on a quick run does not bring the full mode's lower target. */
START_TEST(test_mode_follows_the_data)
{
    struct grade_report *honest = grade_synth(&(struct synth){.wrong = 3}, NULL, 0);
    struct grade_report *r = grade_synth(&(struct synth){.wrong = 3, .quick_false = 1}, NULL, 0);
    ck_assert_int_eq(find_check(honest, "integrity.mode")->status, CHECK_PASS);
    ck_assert_int_eq(find_check(honest, "results.threshold")->status, CHECK_FAIL);
    const struct check_result *m = find_check(r, "integrity.mode");
    ck_assert_int_eq(m->status, CHECK_FAIL);
    ck_assert_msg(strstr(m->message, "\"quick\": false") && strstr(m->message, "quick mode"), "%s", m->message);
    const struct check_result *t = find_check(r, "results.threshold");
    ck_assert_int_eq(t->status, CHECK_FAIL);
    ck_assert_msg(strstr(t->message, "quick-mode target 80%"), "%s", t->message);
    ck_assert_double_lt(r->score, honest->score);
    grade_report_free(honest);
    grade_report_free(r);
}
END_TEST

/* A renamed model earns nothing and never raises the share of points: its
 * row is worth 0 and its checks do not run, while the real model it stands
 * for is missing and costs its points. */
START_TEST(test_renamed_models_earn_nothing)
{
    struct grade_report *honest = grade_synth(&(struct synth){.wrong = 3}, NULL, 0);
    struct grade_report *r = grade_synth(&(struct synth){.wrong = 3, .model = "mynet"}, NULL, 0);
    const struct check_result *c = find_check(r, "integrity.model");
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(c->status, CHECK_FAIL);
    ck_assert_str_eq(c->kb, "TS-SUBMISSION-INTEGRITY");
    ck_assert_double_eq(c->points, 0);
    ck_assert_double_eq(c->max_points, 0);
    ck_assert_msg(strstr(c->message, "'mynet' is not a model of lab 2.2.1"), "%s", c->message);
    ck_assert_ptr_null(find_check(r, "results.threshold"));
    for (size_t i = 0; i < r->n_checks; i++)
        ck_assert_msg(!of_model(&r->checks[i], "mynet") || r->checks[i].max_points == 0, "%s is worth %g",
                      r->checks[i].id, r->checks[i].max_points);
    const struct check_result *gone = find_model_check(r, "integrity.models", "lenet5");
    ck_assert_ptr_nonnull(gone);
    ck_assert_int_eq(gone->status, CHECK_FAIL);
    ck_assert_double_eq(gone->points, 0);
    ck_assert_double_gt(gone->max_points, 0);
    ck_assert_ptr_null(find_model_check(honest, "integrity.models", "lenet5"));
    ck_assert_double_eq(r->max_score, honest->max_score);
    ck_assert_double_lt(share(r), share(honest));
    grade_report_free(r);
    /* an optional variant of the lab earns nothing either */
    r = grade_synth(&(struct synth){.wrong = 3, .model = "lenet5-maxpool"}, NULL, 0);
    for (size_t i = 0; i < r->n_checks; i++)
        ck_assert_msg(strncmp(r->checks[i].name, "lenet5-maxpool:", 15) || r->checks[i].points == 0, "%s earned %g",
                      r->checks[i].id, r->checks[i].points);
    ck_assert_int_eq(find_check(r, "integrity.model")->status, CHECK_SKIPPED);
    ck_assert_int_eq(find_model_check(r, "integrity.models", "lenet5")->status, CHECK_FAIL);
    ck_assert_double_eq(r->max_score, honest->max_score);
    grade_report_free(r);
    grade_report_free(honest);
}
END_TEST

/* One model's work under another's name: LeNet-5's predictions and weights
 * submitted as ResNet-18 (whose quick-mode target they reach) fail on the
 * parameter count, without --reeval. */
START_TEST(test_substituted_weights_fail)
{
    struct grade_report *r = grade_synth(&(struct synth){.model = "resnet18"}, NULL, 0);
    const struct check_result *c = find_check(r, "weights.params");
    ck_assert_int_eq(c->status, CHECK_FAIL);
    ck_assert_str_eq(c->kb, "TS-STATE-DICT-MISMATCH");
    ck_assert_msg(strstr(c->message, "holds 62006 parameters") && strstr(c->message, "has 11173962"), "%s",
                  c->message);
    grade_report_free(r);
    r = grade_synth(&(struct synth){.params = 1000}, NULL, 0);
    assert_only_failure(r, "weights.params", "TS-STATE-DICT-MISMATCH");
    grade_report_free(r);
}
END_TEST

/* A file name that is not UTF-8 reaches every output, escaped: the failing
 * check is never dropped while its points are deducted. */
START_TEST(test_text_not_utf8_is_escaped)
{
    ck_assert_int_eq(lab_utf8_seq("\xc3\xa9", 2), 2);
    ck_assert_int_eq(lab_utf8_seq("\xe9t", 2), 0);
    ck_assert_int_eq(lab_utf8_seq("\xed\xa0\x80", 3), 0); /* a surrogate */
    ck_assert_int_eq(lab_utf8_seq("\xc0\xaf", 2), 0);     /* overlong '/' */
    struct grade_report *r = grade_synth(&(struct synth){.latin1_name = 1}, NULL, 0);
    const struct check_result *c = find_check(r, "integrity.manifest");
    ck_assert_int_eq(c->status, CHECK_FAIL);
    enum report_format formats[] = {REPORT_JSON, REPORT_GRADESCOPE, REPORT_PRAIRIELEARN};
    for (size_t i = 0; i < 3; i++) {
        char *text = NULL;
        ck_assert_int_eq(report_render(r, formats[i], 0, &text), LAB_OK);
        json_error_t e;
        json_t *j = json_loads(text, 0, &e);
        ck_assert_msg(j, "format %zu: %s", i, e.text);
        ck_assert_uint_eq(json_array_size(json_object_get(j, formats[i] == REPORT_JSON ? "checks" : "tests")),
                          r->n_checks);
        ck_assert_msg(strstr(text, "caf\\\\xe9.txt"), "format %zu lacks the escaped name: %.300s", i, text);
        json_decref(j);
        free(text);
    }
    grade_report_free(r);
}
END_TEST

static void assert_not_gradable(const struct synth *o, const char *lab, const char *needle)
{
    struct grade_report *r = grade_synth(o, lab, 0);
    ck_assert_int_eq(r->status, GRADE_NOT_GRADABLE);
    ck_assert_int_eq(grade_exit_status(r), LAB_EENV);
    ck_assert_double_eq(r->score, 0);
    ck_assert_uint_eq(r->n_checks, 1);
    ck_assert_int_eq(r->checks[0].status, CHECK_NOT_GRADABLE);
    ck_assert_msg(strstr(r->status_detail, needle), "'%s' not in: %s", needle, r->status_detail);
    grade_report_free(r);
}

START_TEST(test_not_gradable)
{
    assert_not_gradable(&(struct synth){.no_manifest = 1}, NULL, "no MANIFEST.sha256");
    assert_not_gradable(&(struct synth){.broken_json = 1}, NULL, "metrics.json: invalid JSON");
    assert_not_gradable(&(struct synth){.truncate_pred = 1}, NULL, "predictions.safetensors is not a valid");
    assert_not_gradable(&(struct synth){.absurd_shape = 1}, NULL, "predictions.safetensors");
    /* the message names the tensor after the file was closed: once a use after free */
    assert_not_gradable(&(struct synth){.huge_tensor = 1}, NULL, "tensor 'oversized_mask' has shape [16777217]");
    assert_not_gradable(&(struct synth){0}, "2.2.3", "for lab 2.2.1, not lab 2.2.3");

    struct grade_report *r = NULL;
    struct grade_opts opts = {.device = "cpu"};
    ck_assert_int_eq(grade_submission("/nonexistent/sub.tar.gz", &opts, &r), LAB_OK);
    ck_assert_int_eq(r->status, GRADE_NOT_GRADABLE);
    ck_assert_ptr_nonnull(strstr(r->status_detail, "/nonexistent/sub.tar.gz"));
    json_t *gs = report_gradescope_json(r); /* the lab is unknown: said so, not left blank */
    ck_assert_msg(!strncmp(json_string_value(json_object_get(gs, "output")), "lab (unknown), graded by", 24), "%s",
                  json_string_value(json_object_get(gs, "output")));
    json_decref(gs);
    char *text = NULL;
    ck_assert_int_eq(report_render(r, REPORT_TEXT, 1, &text), LAB_OK);
    ck_assert_msg(strstr(text, "score 0 (the lab is unknown"), "%s", text);
    free(text);
    grade_report_free(r);
    opts.lab = "2.2.1"; /* the lab known: 0 out of its whole rubric */
    ck_assert_int_eq(grade_submission("/nonexistent/sub.tar.gz", &opts, &r), LAB_OK);
    ck_assert_double_eq(r->max_score, grade_max_score("2.2.1"));
    ck_assert_double_gt(r->max_score, 20);
    grade_report_free(r);
}
END_TEST

/* max_score is the rubric's, whatever the submission holds: one model of
 * four loses the other three models' points (once 100%), in quick mode as
 * in full mode. */
START_TEST(test_missing_models_lose_points)
{
    struct grade_report *full = grade_synth(&(struct synth){0}, "2.2.1", 0);
    struct grade_report *one = grade_synth(&(struct synth){.only_lenet5 = 1}, "2.2.1", 0);
    ck_assert_double_eq(one->max_score, full->max_score);
    /* a batch's not-gradable rows carry the same maximum as a graded quick
     * submission, though quick mode sets no target for alexnet and vgg11
     * (their results.threshold counts, with nothing to reach) */
    ck_assert_double_eq(grade_max_score("2.2.1"), full->max_score);
    const struct check_result *t = find_model_check(full, "results.threshold", "alexnet");
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(t->status, CHECK_PASS);
    ck_assert_double_gt(t->max_points, 0);
    ck_assert_msg(strstr(t->message, "no quick-mode target"), "%s", t->message);
    ck_assert_double_gt(grade_max_score("2.2.1"), one->score);
    /* the synthetic logits are 90% right: every quick-mode target is met */
    ck_assert_double_eq(full->score, full->max_score);
    double others = 0, missing_max = 0; /* the other models' points in the complete one */
    int missing = 0;
    for (size_t i = 0; i < full->n_checks; i++)
        if (of_other_model(&full->checks[i]))
            others += full->checks[i].max_points;
    for (size_t i = 0; i < one->n_checks; i++) {
        const struct check_result *c = &one->checks[i];
        if (strcmp(c->id, "integrity.models") == 0) {
            ck_assert_int_eq(c->status, CHECK_FAIL);
            ck_assert_str_eq(c->kb, "TS-SUBMISSION-INTEGRITY");
            ck_assert_double_eq(c->points, 0);
            ck_assert_msg(strstr(c->message, "--quick --model"), "%s", c->message);
            missing_max += c->max_points;
            missing++;
        } else { /* lenet5's own checks all pass */
            ck_assert_msg(c->status == CHECK_PASS || (c->status == CHECK_SKIPPED && c->max_points == 0), "%s: %s %s",
                          c->id, check_status_name(c->status), c->message);
        }
    }
    ck_assert_int_eq(missing, 3);
    ck_assert_double_gt(others, 0);
    ck_assert_double_eq(missing_max, others);
    ck_assert_double_eq(one->score, full->max_score - others);
    ck_assert_int_eq(grade_exit_status(one), LAB_EFAIL);
    grade_report_free(full);
    grade_report_free(one);
}
END_TEST

/* Every lab with a rubric table builds it (a bad id would be a build defect). */
START_TEST(test_rubric_tables_build)
{
    ck_assert_int_eq(lab_registry_load(), LAB_OK);
    int with_table = 0;
    for (size_t i = 0; i < lab_registry_count(); i++) {
        const json_t *m = lab_registry_at(i);
        if (!json_object_get(m, "rubric"))
            continue;
        with_table++;
        const struct rubric *rb = rubric_find(lab_manifest_id(m));
        ck_assert_msg(rb, "lab %s: %s", lab_manifest_id(m), lab_err_message());
        ck_assert_uint_eq(rb->n, (uintmax_t)json_array_size(json_object_get(json_object_get(m, "rubric"), "checks")));
    }
    ck_assert_int_ge(with_table, 1);
}
END_TEST

START_TEST(test_archives)
{
    char *tmp = tu_tempdir(), sub[4200], cmd[8800], archive[4300];
    snprintf(sub, sizeof sub, "%s/sub", tmp);
    write_truth(tmp);
    make_submission(sub, &(struct synth){0});
    struct grade_opts opts = {.device = "cpu", .data_dir = tmp};
    struct grade_report *r = NULL;
    /* tar.gz of the files, and a zip of the folder (one top-level directory) */
    snprintf(archive, sizeof archive, "%s/alice-2.2.1.tar.gz", tmp);
    snprintf(cmd, sizeof cmd, "cd '%s' && tar czf '%s' .", sub, archive);
    ck_assert_int_eq(tu_run(cmd, NULL), 0);
    ck_assert_int_eq(grade_submission(archive, &opts, &r), LAB_OK);
    ck_assert_int_eq(grade_exit_status(r), LAB_OK);
    grade_report_free(r);
    snprintf(archive, sizeof archive, "%s/folder.tar.gz", tmp);
    snprintf(cmd, sizeof cmd, "cd '%s' && tar czf '%s' sub", tmp, archive);
    ck_assert_int_eq(tu_run(cmd, NULL), 0);
    ck_assert_int_eq(grade_submission(archive, &opts, &r), LAB_OK);
    ck_assert_int_eq(grade_exit_status(r), LAB_OK);
    grade_report_free(r);
    /* damaged in transfer: a wrong CRC-32 in the gzip trailer, or cut short */
    snprintf(archive, sizeof archive, "%s/badcrc.tar.gz", tmp);
    snprintf(cmd, sizeof cmd, "cd '%s' && tar czf '%s' . && /usr/bin/python3 -c \"import sys; p=sys.argv[1]; "
             "b=bytearray(open(p,'rb').read()); b[-8]^=0xff; open(p,'wb').write(b)\" '%s'", sub, archive, archive);
    ck_assert_int_eq(tu_run(cmd, NULL), 0);
    ck_assert_int_eq(grade_submission(archive, &opts, &r), LAB_OK);
    ck_assert_int_eq(r->status, GRADE_NOT_GRADABLE);
    ck_assert_msg(strstr(r->status_detail, "damaged archive"), "%s", r->status_detail);
    grade_report_free(r);
    snprintf(archive, sizeof archive, "%s/cut.tar.gz", tmp);
    snprintf(cmd, sizeof cmd, "cd '%s' && tar czf '%s.full' . && head -c $(($(stat -c %%s '%s.full') / 2)) '%s.full' > '%s'", sub,
             archive, archive, archive, archive);
    ck_assert_int_eq(tu_run(cmd, NULL), 0);
    ck_assert_int_eq(grade_submission(archive, &opts, &r), LAB_OK);
    ck_assert_int_eq(r->status, GRADE_NOT_GRADABLE);
    ck_assert_msg(strstr(r->status_detail, "damaged archive"), "%s", r->status_detail);
    ck_assert_ptr_null(strstr(r->status_detail, "changed after"));
    grade_report_free(r);
    /* a hostile path */
    snprintf(archive, sizeof archive, "%s/evil.tar", tmp);
    snprintf(cmd, sizeof cmd, "cd '%s' && tar cf '%s' -P --transform 's|^|../../|' config.json 2>&1", sub, archive);
    ck_assert_int_eq(tu_run(cmd, NULL), 0);
    ck_assert_int_eq(grade_submission(archive, &opts, &r), LAB_OK);
    ck_assert_int_eq(r->status, GRADE_NOT_GRADABLE);
    ck_assert_msg(strstr(r->status_detail, "cannot be unpacked safely"), "%s", r->status_detail);
    grade_report_free(r);
    /* garbage that is not an archive */
    snprintf(archive, sizeof archive, "%s/junk.tar.gz", tmp);
    tu_write_file(archive, "not an archive at all", 21);
    ck_assert_int_eq(grade_submission(archive, &opts, &r), LAB_OK);
    ck_assert_int_eq(r->status, GRADE_NOT_GRADABLE);
    grade_report_free(r);
    tu_rmtree(tmp);
    free(tmp);
}
END_TEST

START_TEST(test_timeout_earns_nothing)
{
    struct grade_report *r = grade_synth(&(struct synth){0}, NULL, 1e-9);
    const struct check_result *c = find_check(r, "integrity.checksums");
    ck_assert_int_eq(c->status, CHECK_TIMEOUT);
    ck_assert_double_eq(c->points, 0);
    ck_assert_double_gt(c->max_points, 0);
    ck_assert_str_eq(c->kb, "TS-SUBMISSION-INTEGRITY");
    ck_assert_double_lt(r->score, r->max_score);
    ck_assert_int_eq(grade_exit_status(r), LAB_EFAIL);
    grade_report_free(r);
}
END_TEST

START_TEST(test_json_round_trip)
{
    struct grade_report *r = grade_synth(&(struct synth){.nan_logits = 1}, NULL, 0), *back = NULL;
    json_t *j = grade_report_to_json(r);
    ck_assert_ptr_nonnull(j);
    ck_assert_int_eq(grade_report_from_json(j, &back), LAB_OK);
    json_t *j2 = grade_report_to_json(back);
    ck_assert(json_equal(j, j2));
    ck_assert_uint_eq(back->n_checks, r->n_checks);
    ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "graded");
    json_t *c0 = json_array_get(json_object_get(j, "checks"), 0);
    const char *keys[] = {"id", "name", "status", "points", "max_points", "message", "kb"};
    for (size_t i = 0; i < 7; i++)
        ck_assert_msg(json_object_get(c0, keys[i]), "check lacks %s", keys[i]);
    json_decref(j2);
    grade_report_free(back);
    /* malformed: each named */
    json_object_set_new(json_array_get(json_object_get(j, "checks"), 1), "status", json_string("great"));
    ck_assert_int_eq(grade_report_from_json(j, &back), LAB_EUSAGE);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "checks[].status"));
    json_object_del(j, "score");
    ck_assert_int_eq(grade_report_from_json(j, &back), LAB_EUSAGE);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "'score'"));
    json_t *arr = json_array();
    ck_assert_int_eq(grade_report_from_json(arr, &back), LAB_EUSAGE);
    json_decref(arr);
    json_decref(j);
    grade_report_free(r);
    grade_report_free(NULL);
}
END_TEST

START_TEST(test_reports_and_student_ids)
{
    struct grade_report *r = grade_synth(&(struct synth){.claimed = 0.5}, NULL, 0);
    char *text = NULL;
    ck_assert_int_eq(report_render(r, REPORT_TEXT, 0, &text), LAB_OK);
    ck_assert_ptr_nonnull(strstr(text, "✓ integrity.checksums"));
    ck_assert_ptr_nonnull(strstr(text, "✗ honesty.accuracy"));
    ck_assert_ptr_nonnull(strstr(text, "TS-METRICS-MISMATCH: Reported accuracy"));
    free(text);
    ck_assert_int_eq(report_render(r, REPORT_TEXT, 1, &text), LAB_OK);
    ck_assert_ptr_nonnull(strstr(text, "[FAIL] honesty.accuracy"));
    ck_assert_ptr_null(strstr(text, "✓"));
    free(text);
    json_t *g = report_gradescope_json(r), *p = report_prairielearn_json(r);
    ck_assert_double_eq(json_number_value(json_object_get(g, "score")), r->score);
    ck_assert_uint_eq(json_array_size(json_object_get(g, "tests")), r->n_checks);
    double pl = json_number_value(json_object_get(p, "score"));
    ck_assert(pl > 0 && pl < 1);
    ck_assert(json_is_true(json_object_get(p, "gradable")));
    json_decref(g), json_decref(p);
    enum report_format f;
    ck_assert_int_eq(report_format_parse("gradescope", &f), LAB_OK);
    ck_assert_int_eq(f, REPORT_GRADESCOPE);
    ck_assert_int_eq(report_format_parse("pdf", &f), LAB_EUSAGE);
    grade_report_free(r);

    ck_assert(pack_student_ok("alice.b-2@uni+x"));
    ck_assert(!pack_student_ok(""));
    ck_assert(!pack_student_ok("../etc"));
    ck_assert(!pack_student_ok("a/b"));
    ck_assert(!pack_student_ok("-rf"));
    ck_assert(!pack_student_ok("x y"));
}
END_TEST

/* Every troubleshooting id a check can report exists, and the entry lists
 * the check among those pointing to it. */
START_TEST(test_checks_name_kb_entries)
{
    ck_assert_int_eq(kb_load(), LAB_OK);
    const struct rubric *rb = rubric_find("2.2.1");
    ck_assert_ptr_nonnull(rb);
    const char *extra[][2] = {{"integrity.readable", "TS-SUBMISSION-INTEGRITY"}, {"shape.masks", "TS-WIDTH-HEIGHT-SWAP"},
                              {"shape.masks", "TS-UNET-SHAPE"}, {"shape.boxes", "TS-CONVERT-OUTPUT-FORMAT"}};
    for (size_t i = 0; i < rb->n + 4; i++) {
        for (size_t k = 0; k < 4; k++) {
            const char *id = i < rb->n ? rb->checks[i].id : extra[i - rb->n][0];
            const char *kb = i < rb->n ? rb->checks[i].kb[k] : (k ? NULL : extra[i - rb->n][1]);
            if (!kb)
                continue;
            const struct kb_entry *e = kb_find(kb);
            ck_assert_msg(e, "%s names %s, which does not exist", id, kb);
            int listed = 0;
            for (size_t c = 0; c < e->n_checks; c++)
                listed |= strcmp(e->checks[c], id) == 0;
            ck_assert_msg(listed, "%s does not list check %s", kb, id);
        }
    }
    kb_free();
}
END_TEST

Suite *suite_grade(void)
{
    Suite *s = suite_create("grade");
    TCase *tc = tcase_create("checks");
    tcase_add_test(tc, test_logits_shape);
    tcase_add_test(tc, test_values_checks);
    tcase_add_test(tc, test_masks_and_boxes);
    tcase_add_test(tc, test_input_stats);
    tcase_add_test(tc, test_norm_constants);
    tcase_add_test(tc, test_accuracy_and_rel);
    tcase_add_test(tc, test_prefix_hint);
    tcase_add_test(tc, test_manifest_parse);
    tcase_add_test(tc, test_checks_name_kb_entries);
    suite_add_tcase(s, tc);
    TCase *sub = tcase_create("submissions");
    tcase_set_timeout(sub, 120);
    tcase_add_test(sub, test_full_marks);
    tcase_add_test(sub, test_missing_models_lose_points);
    tcase_add_test(tc, test_rubric_tables_build);
    tcase_add_test(sub, test_variants_fail_one_check);
    tcase_add_test(sub, test_not_gradable);
    tcase_add_test(sub, test_repeated_rows_earn_nothing);
    tcase_add_test(sub, test_mode_follows_the_data);
    tcase_add_test(sub, test_renamed_models_earn_nothing);
    tcase_add_test(sub, test_text_not_utf8_is_escaped);
    tcase_add_test(sub, test_substituted_weights_fail);
    tcase_add_test(sub, test_archives);
    tcase_add_test(sub, test_timeout_earns_nothing);
    tcase_add_test(sub, test_json_round_trip);
    tcase_add_test(sub, test_reports_and_student_ids);
    suite_add_tcase(s, sub);
    return s;
}
