#include "labs/tasks/classify.h"

#include "base/error.h"
#include "base/fsutil.h"
#include "datasets/pipeline.h"
#include "labs/models/nn.h"
#include "labs/models/weights.h"
#include "labs/plots.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int classify_loss(const ts_tensor *logits, const ts_tensor *labels, double smoothing, ts_tensor **loss)
{
    NN_TRY(ts_cross_entropy(loss, logits, labels, NULL, TS_RED_MEAN, -100, smoothing));
    return LAB_OK;
}

int classify_loss_mixed(const ts_tensor *logits, const ts_tensor *labels_a, const ts_tensor *labels_b, double lambda,
                        double smoothing, ts_tensor **loss)
{
    ts_tensor *la, *lb, *wa, *wb;
    LAB_TRY(classify_loss(logits, labels_a, smoothing, &la));
    LAB_TRY(classify_loss(logits, labels_b, smoothing, &lb));
    NN_TRY(ts_mul_scalar(&wa, la, lambda));
    NN_TRY(ts_mul_scalar(&wb, lb, 1.0 - lambda));
    NN_TRY(ts_add(loss, wa, wb));
    return LAB_OK;
}

static int64_t argmax_row(const float *row, int64_t k)
{
    int64_t best = 0;
    for (int64_t j = 1; j < k; j++)
        if (row[j] > row[best])
            best = j;
    return best;
}

int classify_metrics_compute(const struct eval_result *e, struct classify_metrics *out)
{
    int64_t k = e->classes, n = e->n;
    *out = (struct classify_metrics){.n = n, .k = k};
    out->per_class = calloc((size_t)k, sizeof *out->per_class);
    out->confusion = calloc((size_t)(k * k), sizeof *out->confusion);
    int64_t *per_class_n = calloc((size_t)k, sizeof *per_class_n);
    if (!out->per_class || !out->confusion || !per_class_n) {
        free(per_class_n);
        classify_metrics_free(out);
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    }
    int64_t top1 = 0, top5 = 0, topk = k < 5 ? k : 5;
    for (int64_t i = 0; i < n; i++) {
        const float *row = e->logits + i * k;
        int64_t y = e->labels[i], pred = argmax_row(row, k), above = 0;
        if (y < 0 || y >= k)
            continue;
        for (int64_t j = 0; j < k; j++)
            above += row[j] > row[y];
        top1 += pred == y;
        top5 += above < topk;
        out->confusion[y * k + pred]++;
        per_class_n[y]++;
    }
    for (int64_t c = 0; c < k; c++)
        out->per_class[c] = per_class_n[c] ? (double)out->confusion[c * k + c] / (double)per_class_n[c] : 0;
    out->top1 = n ? (double)top1 / (double)n : 0;
    out->top5 = n ? (double)top5 / (double)n : 0;
    free(per_class_n);
    return LAB_OK;
}

void classify_metrics_free(struct classify_metrics *m)
{
    if (!m)
        return;
    free(m->per_class);
    free(m->confusion);
    m->per_class = NULL;
    m->confusion = NULL;
}

void classify_metrics_to_json(const struct classify_metrics *m, json_t *mm)
{
    json_t *pc = json_array(), *conf = json_array();
    for (int64_t c = 0; c < m->k; c++) {
        json_array_append_new(pc, json_real(m->per_class[c]));
        json_t *row = json_array();
        for (int64_t j = 0; j < m->k; j++)
            json_array_append_new(row, json_integer((json_int_t)m->confusion[c * m->k + j]));
        json_array_append_new(conf, row);
    }
    json_object_set_new(mm, "top5_accuracy", json_real(m->top5));
    json_object_set_new(mm, "per_class_accuracy", pc);
    json_object_set_new(mm, "confusion", conf);
}

int classify_save_predictions(const char *path, const struct eval_result *e)
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
    json_t *meta = json_pack("{s:s}", "format", CLASSIFY_PREDICTIONS_FORMAT);
    int rc = weights_save_host(t, 3, path, meta);
    json_decref(meta);
    return rc;
}

/* The grader's norm.inputs check reads this batch's statistics to tell raw
 * pixels, a missing Normalize and wrong constants apart. */
int classify_save_inputs(struct lab_run *r, const struct ds_dataset *eval, const struct ds_augment *eval_aug)
{
    struct ds_pipeline_config pc = {.batch_size = eval->n < 64 ? (int)eval->n : 64, .threads = 0,
                                    .augment = *eval_aug};
    struct ds_pipeline *p;
    struct ds_batch *b = NULL;
    int rc = ds_pipeline_open(eval, &pc, &p);
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

static int curves(struct lab_run *r, const char *name, const json_t *mm)
{
    char path[4200], rel[256], title[128];
    const json_t *epochs = json_object_get(mm, "epochs");
    int n = (int)json_array_size(epochs);
    double *x = calloc((size_t)n + 1, sizeof *x), *tl = calloc((size_t)n + 1, sizeof *x),
           *vl = calloc((size_t)n + 1, sizeof *x), *ta = calloc((size_t)n + 1, sizeof *x),
           *va = calloc((size_t)n + 1, sizeof *x);
    int rc = x && tl && vl && ta && va ? LAB_OK : lab_err(LAB_EINTERNAL, NULL, "out of memory");
    for (int i = 0; !rc && i < n; i++) {
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
    if (!rc && !(rc = lab_run_path(r, rel, path, sizeof path)))
        rc = plot_lines(path, title, "epoch", "cross-entropy", loss, 2);
    snprintf(rel, sizeof rel, "plots/%s-accuracy.png", name);
    snprintf(title, sizeof title, "%s: accuracy", name);
    if (!rc && !(rc = lab_run_path(r, rel, path, sizeof path)))
        rc = plot_lines(path, title, "epoch", "accuracy", acc, 2);
    free(x), free(tl), free(vl), free(ta), free(va);
    return rc;
}

static int samples(struct lab_run *r, const char *name, const struct ds_dataset *eval, const char *const *class_names,
                   const struct eval_result *e)
{
    enum { GRID = 24 };
    struct ds_sample s[GRID];
    struct ds_image ims[GRID];
    char caps[GRID][64], path[4200], rel[256], title[128];
    const char *capp[GRID];
    int ok[GRID], shown = 0, rc = LAB_OK;
    int64_t k = e->classes;
    for (; shown < GRID && shown < e->n; shown++) {
        memset(&s[shown], 0, sizeof s[shown]);
        if ((rc = ds_dataset_get(eval, (size_t)e->indices[shown], &s[shown])))
            break;
        ims[shown] = s[shown].image;
        int64_t pred = argmax_row(e->logits + shown * k, k);
        ok[shown] = pred == e->labels[shown];
        /* the predicted class, and the true one under it when they differ
         * (class names may hold '/' themselves: "T-shirt/top") */
        if (ok[shown])
            snprintf(caps[shown], sizeof caps[shown], "%s", class_names[pred]);
        else
            snprintf(caps[shown], sizeof caps[shown], "%s\n(true: %s)", class_names[pred],
                     class_names[e->labels[shown]]);
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

int classify_plots(struct lab_run *r, const char *name, const json_t *mm, const struct ds_dataset *eval,
                   const char *const *class_names, const struct eval_result *e)
{
    char path[4200], rel[256], title[128];
    struct classify_metrics cm;
    int rc = curves(r, name, mm);
    if (!rc && !(rc = classify_metrics_compute(e, &cm))) {
        snprintf(rel, sizeof rel, "plots/%s-confusion.png", name);
        snprintf(title, sizeof title, "%s: confusion matrix (%lld test images)", name, (long long)e->n);
        if (!(rc = lab_run_path(r, rel, path, sizeof path)))
            rc = plot_confusion(path, title, cm.confusion, (int)cm.k, class_names);
        classify_metrics_free(&cm);
    }
    if (!rc)
        rc = samples(r, name, eval, class_names, e);
    return rc;
}

int classify_write_comparison(struct lab_run *r, const json_t *models, const json_t *thresholds)
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
