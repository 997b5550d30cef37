#include "labs/2.2.3-yolo-detection/full.h"

#include "base/error.h"
#include "base/fsutil.h"
#include "datasets/loaders.h"
#include "datasets/manifest.h"
#include "labs/2.2.3-yolo-detection/assets.h"
#include "labs/2.2.3-yolo-detection/full_plots.h"
#include "labs/2.2.3-yolo-detection/infer.h"
#include "labs/2.2.3-yolo-detection/predict.h"
#include "labs/2.2.3-yolo-detection/study.h"
#include "labs/2.2.3-yolo-detection/trainer.h"
#include "labs/config.h"
#include "labs/models/nn.h"
#include "labs/models/yolov8.h"
#include "labs/tasks/detect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WEIGHTS "yolov8-weights"
#define MAX_LIST 16
#define MAX_IMAGES 64

struct yf_cfg {
    const char *model, *dataset;
    int imgsz, max_det, warmup, runs, classes;
    double conf, iou;
    double thr[MAX_LIST];
    int n_thr, sizes[MAX_LIST], n_sizes, batches[MAX_LIST], n_batches;
    uint64_t seed;
};

static int int_list(const json_t *c, const char *key, int *out, int cap, int *n)
{
    const json_t *a = lab_cfg_get(c, key), *v;
    size_t i;
    *n = 0;
    if (!json_is_array(a) || json_array_size(a) < 1 || json_array_size(a) > (size_t)cap)
        return lab_err(LAB_EUSAGE, "give 1 to 16 values, e.g. --set bench.sizes=320,640,1280", "%s is not a list", key);
    json_array_foreach(a, i, v) out[(*n)++] = (int)json_number_value(v);
    return LAB_OK;
}

static int cfg_of(const json_t *c, struct yf_cfg *s)
{
    memset(s, 0, sizeof *s);
    s->model = lab_cfg_str(c, "model", "yolov8s");
    s->dataset = lab_cfg_str(c, "data.dataset", "ultralytics-samples");
    const json_t *in = json_array_get(lab_cfg_get(c, "data.input_size"), 1);
    s->imgsz = in ? (int)json_integer_value(in) : 640;
    s->classes = (int)lab_cfg_int(c, "data.num_classes", 80);
    s->conf = lab_cfg_num(c, "detect.conf", 0.25);
    s->iou = lab_cfg_num(c, "detect.nms_iou", 0.7);
    s->max_det = (int)lab_cfg_int(c, "detect.max_det", 300);
    s->warmup = (int)lab_cfg_int(c, "bench.warmup", 5);
    s->runs = (int)lab_cfg_int(c, "bench.runs", 20);
    s->seed = (uint64_t)lab_cfg_int(c, "seed", 42);
    const json_t *t = lab_cfg_get(c, "detect.conf_thresholds"), *v;
    size_t i;
    if (!json_is_array(t) || json_array_size(t) < 1 || json_array_size(t) > MAX_LIST)
        return lab_err(LAB_EUSAGE, "give 1 to 16 thresholds, e.g. --set detect.conf_thresholds=0.1,0.25,0.5,0.75",
                       "detect.conf_thresholds is not a list");
    json_array_foreach(t, i, v) s->thr[s->n_thr++] = json_number_value(v);
    LAB_TRY(int_list(c, "bench.sizes", s->sizes, MAX_LIST, &s->n_sizes));
    return int_list(c, "bench.batch_sizes", s->batches, MAX_LIST, &s->n_batches);
}

static const char *base_name(const char *path)
{
    const char *b = strrchr(path, '/');
    return b ? b + 1 : path;
}

static int size_ok(int v) { return v >= 32 && v <= 2048 && v % 32 == 0; }

int yolo_full_validate(const json_t *config)
{
    struct yf_cfg s;
    LAB_TRY(cfg_of(config, &s));
    char scale = yolov8_scale_of(s.model);
    if (scale != 'n' && scale != 's' && scale != 'm')
        return lab_err(LAB_EUSAGE, "set model to yolov8n, yolov8s or yolov8m (the released weights the lab fetches)",
                       "the full run has no weights for model '%s'", s.model);
    if (!size_ok(s.imgsz))
        return lab_err(LAB_EUSAGE, "set data.input_size to [3, S, S] with S a multiple of 32 (the notebook's is 640)",
                       "input size %d is not a multiple of 32 in 32..2048", s.imgsz);
    for (int i = 0; i < s.n_sizes; i++)
        if (!size_ok(s.sizes[i]))
            return lab_err(LAB_EUSAGE, "use multiples of 32 in 32..2048 (the notebook's are 320, 640, 1280)",
                           "bench.sizes has %d", s.sizes[i]);
    for (int i = 0; i < s.n_batches; i++)
        if (s.batches[i] < 1 || s.batches[i] > 256)
            return lab_err(LAB_EUSAGE, "use batch sizes in 1..256", "bench.batch_sizes has %d", s.batches[i]);
    for (int i = 0; i < s.n_thr; i++)
        if (!(s.thr[i] >= 0 && s.thr[i] < 1))
            return lab_err(LAB_EUSAGE, "use thresholds in [0, 1)", "detect.conf_thresholds has %g", s.thr[i]);
    if (!(s.conf >= 0 && s.conf < 1) || !(s.iou > 0 && s.iou <= 1) || s.max_det < 1 || s.max_det > 30000)
        return lab_err(LAB_EUSAGE, "use detect.conf in [0, 1), detect.nms_iou in (0, 1], detect.max_det >= 1",
                       "detect.conf %g, nms_iou %g or max_det %d is out of range", s.conf, s.iou, s.max_det);
    if (s.runs < 1 || s.runs > 10000 || s.warmup < 0 || s.warmup > 10000)
        return lab_err(LAB_EUSAGE, "use bench.runs >= 1 and bench.warmup >= 0 (the notebook's: 20 and 5)",
                       "bench.runs %d or bench.warmup %d is out of range", s.runs, s.warmup);
    LAB_TRY(ds_registry_load());
    const json_t *e = ds_registry_find(s.dataset);
    if (!e || strcmp(json_string_value(json_object_get(e, "kind")), "dataset") != 0)
        return lab_err(LAB_EUSAGE, "keep data.dataset at ultralytics-samples (the sample images the lab fetches)",
                       "the full run detects on a registry entry of images; '%s' is not one", s.dataset);
    return LAB_OK;
}

/* Loads the released weights of `model` (fetched) onto the run's device. */
static int load_released(struct lab_run *r, const char *model, struct model **m, char *path, size_t cap)
{
    char file[64];
    snprintf(file, sizeof file, "%s.pt", model);
    LAB_TRY(yolo_asset_path(WEIGHTS, file, path, cap));
    LAB_TRY(yolov8_load(path, m));
    if (ts_params_to((*m)->params, r->dev.device, -1) != TS_OK)
        return nn_fail(TS_ETORCH, "moving the weights");
    char want = yolov8_scale_of(model), got = yolov8_scale_of((*m)->name);
    if (got && want != got)
        return lab_err(LAB_EUSAGE, "fetch the weights again (lab fetch " WEIGHTS "); a mirror may serve the wrong file",
                       "%s holds a %s, not a %s", path, (*m)->name, model);
    return LAB_OK;
}

struct det_result {
    char **paths;
    int n;
    struct ds_image *drawn; /* the written PNGs, for the grid */
    char **captions;
    struct detect_predictions p;
    struct yolo_study study;
    json_t *images;
};

static void det_result_free(struct det_result *d)
{
    for (int i = 0; i < d->n; i++) {
        free(d->paths ? d->paths[i] : NULL);
        free(d->drawn ? d->drawn[i].px : NULL);
        free(d->captions ? d->captions[i] : NULL);
    }
    free(d->paths), free(d->drawn), free(d->captions);
    detect_predictions_free(&d->p);
    yolo_study_free(&d->study);
    json_decref(d->images);
}

static int sample_paths(const char *dataset, struct det_result *d)
{
    LAB_TRY(ds_registry_load());
    const json_t *e = ds_registry_find(dataset), *files = json_object_get(e, "files"), *f;
    size_t n = json_array_size(files), i;
    if (n < 1 || n > MAX_IMAGES)
        return lab_err(LAB_EINTERNAL, NULL, "%s lists %zu images", dataset, n);
    d->paths = calloc(n, sizeof *d->paths);
    d->drawn = calloc(n, sizeof *d->drawn);
    d->captions = calloc(n, sizeof *d->captions);
    if (!d->paths || !d->drawn || !d->captions)
        return lab_err(LAB_EINTERNAL, "free some memory", "out of memory");
    json_array_foreach(files, i, f)
    {
        char path[4400];
        LAB_TRY(yolo_asset_path(dataset, json_string_value(json_object_get(f, "name")), path, sizeof path));
        if (!(d->paths[d->n++] = strdup(path)))
            return lab_err(LAB_EINTERNAL, "free some memory", "out of memory");
    }
    return LAB_OK;
}

static int append_predictions(struct detect_predictions *p, int image, const struct yolo_det *d, int n)
{
    size_t m = (size_t)p->m + (size_t)n;
    float *b = realloc(p->boxes, sizeof(float) * 4 * (m ? m : 1)), *sc = b ? realloc(p->scores, sizeof(float) * (m ? m : 1)) : NULL;
    if (b)
        p->boxes = b;
    if (sc)
        p->scores = sc;
    int64_t *c = sc ? realloc(p->classes, sizeof(int64_t) * (m ? m : 1)) : NULL;
    if (c)
        p->classes = c;
    int64_t *ii = c ? realloc(p->image_index, sizeof(int64_t) * (m ? m : 1)) : NULL;
    if (!ii)
        return lab_err(LAB_EINTERNAL, "free some memory", "out of memory");
    p->image_index = ii;
    for (int k = 0; k < n; k++, p->m++) {
        float *o = p->boxes + p->m * 4;
        o[0] = d[k].x1, o[1] = d[k].y1, o[2] = d[k].x2, o[3] = d[k].y2;
        p->scores[p->m] = d[k].conf;
        p->classes[p->m] = d[k].cls;
        p->image_index[p->m] = image;
    }
    return LAB_OK;
}

/* The notebook's detect_custom_image lines, into log.txt. */
static void log_detections(struct lab_run *r, const char *path, const struct yolo_det *d, int n)
{
    lab_log_line(r, "%s: Detection Results:", path);
    for (int k = 0; k < n; k++)
        lab_log_line(r, "%d. %s: %.2f%% at [%.0f, %.0f, %.0f, %.0f]", k + 1, yolo_coco_names[d[k].cls],
                     100.0 * d[k].conf, (double)d[k].x1, (double)d[k].y1, (double)d[k].x2, (double)d[k].y2);
}

/* One sample: one forward, one NMS at the lowest of the run's conf and
 * the study's thresholds (study.h says why that is NMS at each); the boxes
 * above the run's conf are drawn, saved and graded. */
static int detect_sample(struct lab_run *r, struct model *m, const struct yf_cfg *s, int i, const char *outdir,
                         struct yolo_det *dets, struct det_result *d)
{
    struct ds_image im = {0};
    struct yolo_letterbox lb;
    float *pred = NULL;
    int64_t a = 0;
    int all = 0, n = 0, nc = yolov8_num_classes(m);
    struct yolo_nms_opts no = {.conf = s->conf, .iou = s->iou, .max_det = s->max_det};
    for (int t = 0; t < s->n_thr; t++)
        no.conf = s->thr[t] < no.conf ? s->thr[t] : no.conf;
    int rc = ds_image_load(d->paths[i], 0, &im);
    if (!rc)
        rc = yolo_infer_pixels(m, r->dev.device, &im, s->imgsz, &lb, &pred, &a);
    if (!rc) {
        yolo_clip_pred(pred, nc, a, &lb);
        rc = yolo_nms(pred, nc, a, &no, dets, &all);
    }
    if (!rc)
        yolo_scale_boxes(&lb, dets, all);
    while (n < all && dets[n].conf > s->conf) /* by decreasing confidence */
        n++;
    for (int t = 0; !rc && t < s->n_thr; t++)
        rc = yolo_study_add(&d->study, t, i, dets, all);
    json_t *doc = NULL;
    if (!rc)
        rc = yolo_write_detections(outdir, d->paths[i], &im, dets, n, yolo_coco_names, &doc);
    if (!rc) {
        log_detections(r, d->paths[i], dets, n);
        json_object_set_new(doc, "file", json_string(base_name(d->paths[i])));
        json_array_append_new(d->images, doc);
        d->p.image_sizes[2 * i] = im.h, d->p.image_sizes[2 * i + 1] = im.w;
        d->p.indices[i] = i;
        rc = append_predictions(&d->p, i, dets, n);
    }
    if (!rc && asprintf(&d->captions[i], "%s\n%d detection%s at conf %g", base_name(d->paths[i]), n,
                        n == 1 ? "" : "s", s->conf) < 0)
        rc = lab_err(LAB_EINTERNAL, "free some memory", "out of memory");
    if (!rc)
        lab_say(r, "  %s (%dx%d): %d detection%s", base_name(d->paths[i]), im.w, im.h, n, n == 1 ? "" : "s");
    free(pred);
    free(im.px);
    return rc;
}

/* Every sample through the model; the threshold study alongside. */
static int detect_all(struct lab_run *r, struct model *m, const struct yf_cfg *s, struct det_result *d)
{
    LAB_TRY(sample_paths(s->dataset, d));
    char outdir[4200], png[4400];
    LAB_TRY(lab_run_path(r, "detections/.keep", outdir, sizeof outdir));
    *strrchr(outdir, '/') = 0;
    d->images = json_array();
    d->p.n = d->n;
    d->p.indices = calloc((size_t)d->n, sizeof(int64_t));
    d->p.image_sizes = calloc((size_t)d->n * 2, sizeof(int64_t));
    snprintf(d->p.eval_set, sizeof d->p.eval_set, "%s", s->dataset);
    struct yolo_det *dets = malloc(sizeof *dets * (size_t)s->max_det);
    int rc = dets && d->p.indices && d->p.image_sizes ? LAB_OK
                                                      : lab_err(LAB_EINTERNAL, "free some memory", "out of memory");
    if (!rc)
        rc = yolo_study_init(&d->study, s->thr, s->n_thr, d->n, yolov8_num_classes(m));
    lab_say(r, "detection: %s on %d sample image%s of %s at %d, conf %g, NMS IoU %g, max_det %d", m->name, d->n,
            d->n == 1 ? "" : "s", s->dataset, s->imgsz, s->conf, s->iou, s->max_det);
    int grad = ts_no_grad_push();
    for (int i = 0; !rc && i < d->n; i++) {
        rc = detect_sample(r, m, s, i, outdir, dets, d);
        if (!rc) { /* the drawn image back, for plots/detections.png */
            char stem[256];
            snprintf(stem, sizeof stem, "%s", base_name(d->paths[i]));
            char *dot = strrchr(stem, '.');
            if (dot)
                *dot = 0;
            snprintf(png, sizeof png, "%s/%s.png", outdir, stem);
            rc = ds_image_load(png, 0, &d->drawn[i]);
        }
    }
    ts_grad_mode_pop(grad);
    free(dets);
    return rc;
}

/* The notebook's detect_batch summary and the threshold study, printed. */
static void say_study(struct lab_run *r, const struct det_result *d, const char *outdir)
{
    lab_say(r, "\nBatch Processing Summary");
    lab_say(r, "==================================================");
    lab_say(r, "Images processed: %d", d->n);
    lab_say(r, "Total detections: %lld", (long long)d->p.m);
    lab_say(r, "\nClass distribution:");
    int64_t counts[80] = {0};
    for (int64_t k = 0; k < d->p.m; k++)
        if (d->p.classes[k] >= 0 && d->p.classes[k] < 80)
            counts[d->p.classes[k]]++;
    for (int shown = 0; shown < 80; shown++) {
        int best = -1;
        for (int c = 0; c < 80; c++)
            if (counts[c] > 0 && (best < 0 || counts[c] > counts[best]))
                best = c;
        if (best < 0)
            break;
        lab_say(r, "  %s: %lld", yolo_coco_names[best], (long long)counts[best]);
        counts[best] = 0;
    }
    lab_say(r, "\nResults saved to: %s", outdir);
    lab_say(r, "\nConfidence threshold study (detections per image):");
    char line[2048];
    int len = snprintf(line, sizeof line, "%-8s", "conf");
    for (int i = 0; i < d->n && len < (int)sizeof line - 40; i++)
        len += snprintf(line + len, sizeof line - (size_t)len, "%14.14s", base_name(d->paths[i]));
    snprintf(line + len, sizeof line - (size_t)len, "%10s", "total");
    lab_say(r, "%s", line);
    for (int t = 0; t < d->study.n_rows; t++) {
        const struct yolo_study_row *sr = &d->study.rows[t];
        len = snprintf(line, sizeof line, "%-8g", sr->conf);
        for (int i = 0; i < d->n && len < (int)sizeof line - 40; i++)
            len += snprintf(line + len, sizeof line - (size_t)len, "%14lld", (long long)sr->per_image[i]);
        snprintf(line + len, sizeof line - (size_t)len, "%10lld", (long long)sr->total);
        lab_say(r, "%s", line);
    }
}

static const json_t *manifest_model(const json_t *manifest, const char *name)
{
    size_t i;
    const json_t *v;
    json_array_foreach(json_object_get(manifest, "models"), i, v) if (!strcmp(
        json_string_value(json_object_get(v, "name")), name)) return v;
    return NULL;
}

static json_t *latency_json(const struct yolo_latency *l)
{
    return json_pack("{s:i, s:f, s:f, s:f, s:f, s:f, s:f}", "runs", l->runs, "mean_ms", l->mean_ms, "median_ms",
                     l->median_ms, "min_ms", l->min_ms, "max_ms", l->max_ms, "std_ms", l->std_ms, "fps", l->fps);
}

struct bench_out {
    struct yolo_latency size_lat[MAX_LIST]; /* the model at each of bench.sizes */
    struct yolo_summary_row rows[3];        /* n, s, m at the input size */
    int n_rows;
    struct yolo_latency batch_lat[MAX_LIST];
    double batch_ips[MAX_LIST];
};

static int bench_model(struct lab_run *r, struct model *m, const struct yf_cfg *s, const char *name,
                       struct yolo_summary_row *row, const struct yolo_latency *have)
{
    struct yolo_nms_opts no = {.conf = s->conf, .iou = s->iou, .max_det = s->max_det};
    const json_t *mm = manifest_model(r->manifest, name);
    *row = (struct yolo_summary_row){.model = name, .params = model_num_params(m),
                                     .map50_95 = mm ? json_number_value(json_object_get(mm, "coco_map50_95")) : -1};
    if (mm && !json_is_number(json_object_get(mm, "coco_map50_95")))
        row->map50_95 = -1;
    if (have) {
        row->lat = *have;
        return LAB_OK;
    }
    LAB_TRY(yolo_bench_latency(m, r->dev.device, s->imgsz, s->warmup, s->runs, s->seed, &no, &row->lat));
    lab_say(r, "  %s at %d: mean %.1f ms, median %.1f ms, %.1f FPS", name, s->imgsz, row->lat.mean_ms,
            row->lat.median_ms, row->lat.fps);
    return LAB_OK;
}

/* Latency of the run's model at each size and its batch throughput, then
 * the other released models at the input size (loaded one at a time). */
static int bench_all(struct lab_run *r, struct model *m, const struct yf_cfg *s, struct bench_out *b)
{
    struct yolo_nms_opts no = {.conf = s->conf, .iou = s->iou, .max_det = s->max_det};
    const struct yolo_latency *at_imgsz = NULL;
    lab_say(r, "\nlatency: %d warm-up + %d timed predict calls on a random image (%s, %s)", s->warmup, s->runs,
            r->dev.device_name, r->dev.precision);
    for (int i = 0; i < s->n_sizes; i++) {
        LAB_TRY(yolo_bench_latency(m, r->dev.device, s->sizes[i], s->warmup, s->runs, s->seed, &no, &b->size_lat[i]));
        lab_say(r, "  %s at %d: mean %.1f ms, median %.1f ms, %.1f FPS", s->model, s->sizes[i], b->size_lat[i].mean_ms,
                b->size_lat[i].median_ms, b->size_lat[i].fps);
        if (s->sizes[i] == s->imgsz)
            at_imgsz = &b->size_lat[i];
    }
    lab_say(r, "throughput: %s at %d, batches of random images", s->model, s->imgsz);
    for (int i = 0; i < s->n_batches; i++) {
        LAB_TRY(yolo_bench_batch(m, r->dev.device, s->imgsz, s->batches[i], s->warmup, s->runs, s->seed, &no,
                                 &b->batch_lat[i], &b->batch_ips[i]));
        lab_say(r, "  batch %d: %.1f ms per batch, %.1f images/s", s->batches[i], b->batch_lat[i].mean_ms,
                b->batch_ips[i]);
    }
    static const char *const names[3] = {"yolov8n", "yolov8s", "yolov8m"};
    lab_say(r, "models at %d:", s->imgsz);
    for (int k = 0; k < 3; k++) {
        struct yolo_summary_row *row = &b->rows[b->n_rows];
        if (!strcmp(names[k], s->model)) {
            LAB_TRY(bench_model(r, m, s, names[k], row, at_imgsz));
        } else {
            struct model *o = NULL;
            char path[4400];
            int rc = load_released(r, names[k], &o, path, sizeof path);
            if (!rc)
                rc = bench_model(r, o, s, names[k], row, NULL);
            model_free(o);
            if (rc)
                return rc;
        }
        if (row->lat.runs && !strcmp(names[k], s->model) && at_imgsz)
            lab_say(r, "  %s at %d: mean %.1f ms, median %.1f ms, %.1f FPS (measured above)", names[k], s->imgsz,
                    row->lat.mean_ms, row->lat.median_ms, row->lat.fps);
        b->n_rows++;
    }
    return LAB_OK;
}

static int write_text(struct lab_run *r, const char *rel, const char *text)
{
    char path[4200];
    LAB_TRY(lab_run_path(r, rel, path, sizeof path));
    return lab_write_atomic(path, text, strlen(text));
}

static json_t *int_array(const int *v, int n)
{
    json_t *a = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(a, json_integer(v[i]));
    return a;
}

static void fill_metrics(struct lab_run *r, const struct yf_cfg *s, struct model *m, const char *weights,
                         const struct det_result *d, const struct bench_out *b)
{
    json_t *mm = json_object();
    const json_t *man = manifest_model(r->manifest, s->model);
    json_object_set_new(mm, "status", json_string("done"));
    json_object_set_new(mm, "params", json_integer(model_num_params(m)));
    if (man && json_is_number(json_object_get(man, "coco_map50_95")))
        json_object_set(mm, "coco_map50_95_published", json_object_get(man, "coco_map50_95"));
    json_object_set_new(mm, "weights", json_string(weights));
    json_object_set_new(mm, "imgsz", json_integer(s->imgsz));
    json_object_set_new(mm, "conf", json_real(s->conf));
    json_object_set_new(mm, "nms_iou", json_real(s->iou));
    json_object_set_new(mm, "max_det", json_integer(s->max_det));
    json_object_set_new(mm, "detections", json_integer(d->p.m));
    json_object_set(mm, "images", d->images);
    json_object_set_new(mm, "threshold_study", yolo_study_json(&d->study, yolo_coco_names));
    json_object_set_new(mm, "eval_set", json_string(d->p.eval_set));
    json_t *models = json_object();
    json_object_set_new(models, s->model, mm);
    json_object_set_new(r->metrics, "models", models);

    json_t *lat = json_array(), *thr = json_array(), *cmp = json_array();
    for (int i = 0; i < s->n_sizes; i++) {
        json_t *e = latency_json(&b->size_lat[i]);
        json_object_set_new(e, "model", json_string(s->model));
        json_object_set_new(e, "size", json_integer(s->sizes[i]));
        json_array_append_new(lat, e);
    }
    for (int i = 0; i < s->n_batches; i++) {
        json_t *e = latency_json(&b->batch_lat[i]);
        json_object_set_new(e, "model", json_string(s->model));
        json_object_set_new(e, "size", json_integer(s->imgsz));
        json_object_set_new(e, "batch", json_integer(s->batches[i]));
        json_object_set_new(e, "images_per_s", json_real(b->batch_ips[i]));
        json_array_append_new(thr, e);
    }
    for (int i = 0; i < b->n_rows; i++) {
        json_t *e = latency_json(&b->rows[i].lat);
        json_object_set_new(e, "model", json_string(b->rows[i].model));
        json_object_set_new(e, "size", json_integer(s->imgsz));
        json_object_set_new(e, "params", json_integer(b->rows[i].params));
        json_object_set_new(e, "coco_map50_95_published",
                            b->rows[i].map50_95 >= 0 ? json_real(b->rows[i].map50_95) : json_null());
        json_array_append_new(cmp, e);
    }
    json_object_set_new(r->metrics, "benchmark",
                        json_pack("{s:i, s:i, s:o, s:o, s:o, s:o, s:o, s:o}", "warmup", s->warmup, "runs", s->runs,
                                  "sizes", int_array(s->sizes, s->n_sizes), "batch_sizes",
                                  int_array(s->batches, s->n_batches), "latency_vs_size", lat, "throughput", thr,
                                  "models", cmp, "timing",
                                  json_string("one full predict call each: letterbox, forward, output to the host, "
                                              "NMS, scale_boxes; random uint8 images")));
    json_object_set_new(r->metrics, "environment",
                        json_pack("{s:s, s:s, s:s, s:i}", "device", r->dev.device_name, "gpu", r->dev.gpu_name,
                                  "precision", r->dev.precision, "threads", r->dev.threads));
}

int yolo_full_run(struct lab_run *r)
{
    struct yf_cfg s;
    LAB_TRY(yolo_full_validate(r->config));
    LAB_TRY(cfg_of(r->config, &s));
    LAB_TRY(yolo_assets_ensure(WEIGHTS));
    LAB_TRY(yolo_assets_ensure(s.dataset));
    struct model *m = NULL;
    struct det_result d = {0};
    struct bench_out b = {0};
    char weights[4400], outdir[4200];
    int rc = load_released(r, s.model, &m, weights, sizeof weights);
    if (!rc && yolov8_num_classes(m) != s.classes)
        rc = lab_err(LAB_EUSAGE, "use the released COCO weights (lab fetch " WEIGHTS "), or set data.num_classes",
                     "%s has %d classes, the run expects %d", weights, yolov8_num_classes(m), s.classes);
    if (!rc) {
        lab_say(r, "%s: %lld parameters (%s)", s.model, (long long)model_num_params(m), weights);
        rc = detect_all(r, m, &s, &d);
    }
    if (!rc) {
        snprintf(outdir, sizeof outdir, "%s/detections", r->dir);
        say_study(r, &d, outdir);
        rc = yolo_write_outputs(r, m, s.model, weights, &d.p);
    }
    if (!rc)
        rc = bench_all(r, m, &s, &b);
    char note[400];
    snprintf(note, sizeof note, "%s%s%s, %s, %d thread%s, input %d", r->dev.device_name, r->dev.gpu_name[0] ? " " : "",
             r->dev.gpu_name, r->dev.precision, r->dev.threads, r->dev.threads == 1 ? "" : "s", s.imgsz);
    if (!rc) {
        char *table = yolo_summary_table(b.rows, b.n_rows, note), *md = yolo_summary_markdown(b.rows, b.n_rows, note);
        rc = table && md ? LAB_OK : lab_err(LAB_EINTERNAL, "free some memory", "out of memory");
        if (!rc) {
            fputs(table, r->say);
            if (r->log)
                fputs(table, r->log);
            rc = write_text(r, "summary.md", md);
        }
        free(table), free(md);
    }
    if (!rc) {
        struct yolo_full_plots pl = {.model = s.model, .drawn = d.drawn, .captions = (const char *const *)d.captions,
                                     .n_images = d.n, .study = &d.study, .sizes = s.sizes, .size_lat = b.size_lat,
                                     .n_sizes = s.n_sizes, .batches = s.batches, .batch_ips = b.batch_ips,
                                     .n_batches = s.n_batches, .rows = b.rows, .n_rows = b.n_rows, .imgsz = s.imgsz};
        rc = yolo_full_plots_write(r, &pl);
    }
    if (!rc) {
        json_object_set_new(r->metrics, "lab", json_string("2.2.3"));
        json_object_set_new(r->metrics, "mode", json_string("full"));
        json_object_set_new(r->metrics, "dataset", json_string(s.dataset));
        fill_metrics(r, &s, m, weights, &d, &b);
        rc = lab_run_save_metrics(r);
    }
    det_result_free(&d);
    model_free(m);
    return rc;
}
