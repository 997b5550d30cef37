#include "labs/2.2.6-segment-anything/full.h"

#include "base/error.h"
#include "base/fsutil.h"
#include "base/progress.h"
#include "datasets/loaders.h"
#include "datasets/manifest.h"
#include "labs/2.2.6-segment-anything/auto_out.h"
#include "labs/2.2.6-segment-anything/checkpoint.h"
#include "labs/2.2.6-segment-anything/full_bench.h"
#include "labs/2.2.6-segment-anything/generator.h"
#include "labs/2.2.6-segment-anything/predictor.h"
#include "labs/tasks/prompt_study.h"
#include "labs/config.h"
#include "labs/models/nn.h"
#include "labs/models/weights.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The configured model's checkpoint in the cache `lab fetch` fills. */
static int checkpoint_path(struct lab_run *r, const char *model, char *out, size_t cap, char ds[32])
{
    const json_t *models = json_object_get(r->manifest, "models"), *e;
    const char *file = NULL;
    size_t i;
    json_array_foreach(models, i, e)
    {
        if (!strcmp(json_string_value(json_object_get(e, "name")) ?: "", model))
            file = json_string_value(json_object_get(e, "checkpoint"));
    }
    if (!file)
        return lab_err(LAB_EUSAGE, "set model to vit_b, vit_l or vit_h (the official checkpoints)",
                       "lab 2.2.6's full mode has no checkpoint for model '%s'", model);
    snprintf(ds, 32, "sam-%s", model);
    for (char *c = ds; *c; c++)
        *c = *c == '_' ? '-' : *c;
    char dir[4096] = "";
    if (ds_data_dir(ds, dir, sizeof dir)) {
        const json_t *entry = ds_registry_find(ds);
        if (!entry || ds_entry_cache_dir(entry, dir, sizeof dir))
            snprintf(dir, sizeof dir, "lab's cache");
        char fix[300];
        snprintf(fix, sizeof fix, "download it with `lab fetch %s` (or, offline, copy %s into %s); lab explain "
                 "TS-SAM-CHECKPOINT", ds, file, dir);
        lab_err_clear();
        return lab_err(LAB_EENV, fix, "the SAM checkpoint %s is not in the cache (the notebook's FileNotFoundError)",
                       file);
    }
    if (snprintf(out, cap, "%s/%s", dir, file) >= (int)cap)
        return lab_err(LAB_EUSAGE, "use a shorter LAB_CACHE", "checkpoint path too long");
    return LAB_OK;
}

static int rows_add(struct sam_full_rows *rows, const uint8_t *m, float iou, const float prompt[4], int64_t img,
                    int64_t kind)
{
    size_t hw = (size_t)rows->h * rows->w;
    if (rows->n == rows->cap) {
        size_t cap = rows->cap ? rows->cap * 2 : 16;
        uint8_t *nm = realloc(rows->masks, cap * hw);
        if (nm)
            rows->masks = nm;
        float *ni = nm ? realloc(rows->iou, cap * sizeof *ni) : NULL;
        if (ni)
            rows->iou = ni;
        float *np = ni ? realloc(rows->prompts, cap * 4 * sizeof *np) : NULL;
        if (np)
            rows->prompts = np;
        int64_t *nx = np ? realloc(rows->image_index, cap * sizeof *nx) : NULL;
        if (nx)
            rows->image_index = nx;
        int64_t *nk = nx ? realloc(rows->kind, cap * sizeof *nk) : NULL;
        if (!nk)
            return lab_err(LAB_EINTERNAL, NULL, "out of memory for the prompt study's masks");
        rows->kind = nk;
        rows->cap = cap;
    }
    memcpy(rows->masks + rows->n * hw, m, hw);
    rows->iou[rows->n] = iou;
    memcpy(rows->prompts + rows->n * 4, prompt, 4 * sizeof *prompt);
    rows->image_index[rows->n] = img;
    rows->kind[rows->n] = kind;
    rows->n++;
    return LAB_OK;
}

/* The notebook's three prompts on one encoded image: rows, the log, and a
 * predictions.json record. */
static int study(struct lab_run *r, struct sam_predictor *p, int64_t img, struct sam_full_rows *rows, json_t *rec,
                 double sum[3], int cnt[3])
{
    struct sam_study_prompt sp[SAM_STUDY_N];
    sam_study_prompts(rows->w, rows->h, sp);
    size_t hw = (size_t)rows->h * rows->w;
    uint8_t *host = malloc(3 * hw);
    if (!host)
        return lab_err(LAB_EINTERNAL, NULL, "out of memory for the masks");
    int rc = LAB_OK;
    for (int k = 0; k < SAM_STUDY_N && !rc; k++) {
        struct sam_query q = {.n_points = sp[k].n_points, .points = sp[k].points, .labels = sp[k].labels,
                              .box = sp[k].has_box ? sp[k].box : NULL, .multimask = sp[k].multimask};
        int K = sam_study_masks(&sp[k]);
        float iou[3];
        double t0 = lab_monotonic_s();
        ts_scope_begin();
        ts_tensor *mt, *it, *lt;
        rc = sam_predictor_predict(p, &q, &mt, &it, &lt);
        if (!rc && (ts_size(it, 1) != K || ts_to_host(mt, TS_U8, host, (size_t)K * hw) != TS_OK ||
                    ts_to_host(it, TS_F32, iou, sizeof *iou * (size_t)K) != TS_OK))
            rc = nn_fail(TS_ETORCH, "reading the masks");
        ts_scope_end();
        double ms = (lab_monotonic_s() - t0) * 1000.0;
        float row[4];
        sam_study_row(&sp[k], row);
        json_t *scores = json_array(), *areas = json_array(), *pts = json_array();
        char line[400];
        int len = snprintf(line, sizeof line, "  %s:", sp[k].name);
        for (int j = 0; !rc && j < K; j++) {
            long long area = 0;
            for (size_t i = 0; i < hw; i++)
                area += host[(size_t)j * hw + i] != 0;
            rc = rows_add(rows, host + (size_t)j * hw, iou[j], row, img, sp[k].kind);
            sum[sp[k].kind] += iou[j];
            cnt[sp[k].kind]++;
            json_array_append_new(scores, json_real(iou[j]));
            json_array_append_new(areas, json_integer(area));
            if (len < (int)sizeof line)
                len += snprintf(line + len, sizeof line - (size_t)len, " mask %d score %.2f area %lld px;", j,
                                (double)iou[j], area);
        }
        for (int j = 0; j < sp[k].n_points; j++)
            json_array_append_new(pts, json_pack("[f, f, i]", sp[k].points[2 * j], sp[k].points[2 * j + 1],
                                                 sp[k].labels[j]));
        json_array_append_new(
            json_object_get(rec, "prompts"),
            json_pack("{s:s, s:o, s:o, s:b, s:o, s:o, s:f}", "kind", sp[k].name, "points", pts, "box",
                      sp[k].has_box ? json_pack("[f, f, f, f]", sp[k].box[0], sp[k].box[1], sp[k].box[2], sp[k].box[3])
                                    : json_null(),
                      "multimask", sp[k].multimask, "scores", scores, "areas", areas, "ms", ms));
        if (!rc)
            lab_say(r, "%s (%.1f ms)", line, ms);
    }
    free(host);
    return rc;
}

static int auto_masks(struct lab_run *r, struct sam_predictor *p, const struct ds_image *im, size_t i, json_t *mm,
                      struct ds_image *tile, char *caption, size_t cap)
{
    struct sam_amg_opts ao;
    sam_amg_defaults(&ao);
    const json_t *c = r->config;
    ao.points_per_side = (int)lab_cfg_int(c, "auto.points_per_side", ao.points_per_side);
    ao.pred_iou_thresh = lab_cfg_num(c, "auto.pred_iou_thresh", ao.pred_iou_thresh);
    ao.stability_score_thresh = lab_cfg_num(c, "auto.stability_score_thresh", ao.stability_score_thresh);
    ao.stability_score_offset = lab_cfg_num(c, "auto.stability_score_offset", ao.stability_score_offset);
    ao.crop_n_layers = (int)lab_cfg_int(c, "auto.crop_n_layers", ao.crop_n_layers);
    ao.crop_n_points_downscale_factor =
        (int)lab_cfg_int(c, "auto.crop_n_points_downscale_factor", ao.crop_n_points_downscale_factor);
    ao.min_mask_region_area = (long)lab_cfg_int(c, "auto.min_mask_region_area", ao.min_mask_region_area);
    if (ao.points_per_side < 1 || ao.points_per_side > 128 || ao.crop_n_layers < 0 || ao.crop_n_layers > 3 ||
        ao.crop_n_points_downscale_factor < 1)
        return lab_err(LAB_EUSAGE, "use auto.points_per_side 1..128, auto.crop_n_layers 0..3, "
                       "auto.crop_n_points_downscale_factor >= 1", "the automatic mask settings are out of range");
    double t0 = lab_monotonic_s();
    struct sam_amg_result res;
    LAB_TRY(sam_amg_generate(p, im, &ao, &res));
    double s = lab_monotonic_s() - t0;
    char rel[64], dir[4200];
    snprintf(rel, sizeof rel, "auto/image%zu.json", i);
    int rc = lab_run_path(r, rel, dir, sizeof dir);
    if (!rc) {
        *strrchr(dir, '/') = '\0';
        char stem[32];
        snprintf(stem, sizeof stem, "image%zu", i);
        rc = sam_auto_write(dir, stem, stem, im, &res);
    }
    long lo = 0, hi = 0;
    double mean = 0;
    for (size_t k = 0; k < res.n; k++) {
        long a = res.masks[k].area;
        lo = k == 0 || a < lo ? a : lo;
        hi = a > hi ? a : hi;
        mean += (double)a / (double)res.n;
    }
    if (!rc) {
        lab_say(r, "image %zu: generated %zu masks in %.1fs (%d points a side, %d crop layer(s), min region %ld px)", i,
                res.n, s, ao.points_per_side, ao.crop_n_layers, ao.min_mask_region_area);
        if (res.n)
            lab_say(r, "   Area range: %ld - %ld pixels; average area: %.0f pixels", lo, hi, mean);
        json_array_append_new(json_object_get(mm, "images"),
                              json_pack("{s:I, s:I, s:f, s:f, s:s}", "image", (json_int_t)i, "masks", (json_int_t)res.n,
                                        "seconds", s, "mean_area", mean, "file", rel));
        snprintf(caption, cap, "image %zu: %zu automatic masks", i, res.n);
        char png[4200];
        snprintf(png, sizeof png, "%s/image%zu.png", dir, i);
        rc = ds_image_load(png, 0, tile);
    }
    sam_amg_result_free(&res);
    return rc;
}

static int save_rows(struct lab_run *r, const char *model, const struct sam_full_rows *rows, size_t n_images)
{
    int64_t *idx = malloc(sizeof *idx * (n_images ? n_images : 1));
    if (!idx)
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    for (size_t i = 0; i < n_images; i++)
        idx[i] = (int64_t)i;
    int64_t P = (int64_t)rows->n;
    struct ts_host_tensor t[6] = {
        {.name = "masks", .dtype = TS_U8, .ndim = 3, .shape = {P, rows->h, rows->w}, .data = rows->masks,
         .nbytes = rows->n * (size_t)rows->h * rows->w},
        {.name = "iou_predictions", .dtype = TS_F32, .ndim = 1, .shape = {P}, .data = rows->iou,
         .nbytes = rows->n * sizeof(float)},
        {.name = "prompts", .dtype = TS_F32, .ndim = 2, .shape = {P, 4}, .data = rows->prompts,
         .nbytes = rows->n * 4 * sizeof(float)},
        {.name = "prompt_kind", .dtype = TS_I64, .ndim = 1, .shape = {P}, .data = rows->kind,
         .nbytes = rows->n * sizeof(int64_t)},
        {.name = "image_index", .dtype = TS_I64, .ndim = 1, .shape = {P}, .data = rows->image_index,
         .nbytes = rows->n * sizeof(int64_t)},
        {.name = "indices", .dtype = TS_I64, .ndim = 1, .shape = {(int64_t)n_images}, .data = idx,
         .nbytes = n_images * sizeof(int64_t)}};
    char rel[200], path[4200];
    snprintf(rel, sizeof rel, "models/%s/predictions.safetensors", model);
    int rc = lab_run_path(r, rel, path, sizeof path);
    if (!rc)
        rc = weights_save_host(t, 6, path, NULL);
    free(idx);
    return rc;
}

static int write_json(struct lab_run *r, const char *rel, const json_t *j)
{
    char path[4200];
    LAB_TRY(lab_run_path(r, rel, path, sizeof path));
    char *text = json_dumps(j, JSON_INDENT(2));
    int rc = text ? lab_write_atomic(path, text, strlen(text)) : lab_err(LAB_EINTERNAL, NULL, "cannot encode JSON");
    free(text);
    return rc;
}

int sam_full_run(struct lab_run *r)
{
    const char *model = lab_cfg_str(r->config, "model", "vit_b");
    int runs = (int)lab_cfg_int(r->config, "bench.runs", 10), warmup = (int)lab_cfg_int(r->config, "bench.warmup", 1);
    int do_auto = lab_cfg_bool(r->config, "auto.enabled", 1);
    int64_t auto_images = lab_cfg_int(r->config, "auto.images", 0);
    if (runs < 0 || runs > 1000 || warmup < 0 || warmup > 100)
        return lab_err(LAB_EUSAGE, "use bench.runs 0..1000 (0: no benchmark) and bench.warmup 0..100",
                       "the benchmark settings are out of range");
    char ckpt[4300], ds[32];
    LAB_TRY(checkpoint_path(r, model, ckpt, sizeof ckpt, ds));
    /* The manifests list no sample images (the notebook downloads three from
     * the web and draws its placeholder for each one that fails). */
    struct ds_image img = {0};
    LAB_TRY(sam_placeholder(&img));
    lab_say(r, "images: the %s manifest lists no sample images, so this is the notebook's placeholder (%dx%d: "
               "a gradient, a white square, a green disc, a magenta rectangle), as the notebook draws when its "
               "downloads fail", ds, img.w, img.h);
    size_t n_images = 1;
    struct model *m = NULL;
    double t0 = lab_monotonic_s();
    int rc = sam_checkpoint_load(ckpt, &m);
    if (!rc && ts_params_to(m->params, r->dev.device, -1) != TS_OK)
        rc = nn_fail(TS_ETORCH, "moving the weights");
    if (!rc)
        lab_say(r, "model: SAM %s from %s, %lld parameters, loaded in %.1fs", model, ckpt,
                (long long)model_num_params(m), lab_monotonic_s() - t0);
    struct sam_predictor p = {0};
    if (!rc)
        rc = sam_predictor_init(&p, m, ckpt, NULL); /* no disk cache: every encode is measured */
    struct sam_full_rows rows = {.h = img.h, .w = img.w};
    json_t *mm = json_object(), *recs = json_array(), *am = json_pack("{s:[]}", "images");
    double sum[3] = {0, 0, 0};
    int cnt[3] = {0, 0, 0};
    struct ds_image tiles[8] = {{0}};
    char capt[8][96];
    const char *captions[8];
    size_t n_tiles = 0;
    for (size_t i = 0; i < n_images && !rc; i++) {
        rc = sam_predictor_set_image(&p, &img);
        if (rc)
            break;
        lab_say(r, "image %zu: (%d, %d, 3) encoded in %.1fs; the prompt study:", i, img.h, img.w, p.encode_ms / 1000);
        json_t *rec = json_pack("{s:I, s:s, s:i, s:i, s:f, s:[]}", "image", (json_int_t)i, "source", "placeholder",
                                "width", img.w, "height", img.h, "encode_ms", p.encode_ms, "prompts");
        rc = study(r, &p, (int64_t)i, &rows, rec, sum, cnt);
        json_array_append_new(recs, rec);
    }
    for (size_t i = 0; do_auto && i < n_images && !rc && (auto_images <= 0 || (int64_t)i < auto_images); i++) {
        rc = auto_masks(r, &p, &img, i, am, &tiles[n_tiles], capt[n_tiles], sizeof capt[n_tiles]);
        if (!rc)
            captions[n_tiles] = capt[n_tiles], n_tiles++;
    }
    struct sam_bench_result b = {0};
    if (!rc && runs > 0)
        rc = sam_full_bench(r, &p, &img, model, runs, warmup, &b);
    if (!rc)
        rc = save_rows(r, model, &rows, n_images);
    char rel[200];
    if (!rc) {
        json_t *pj = json_pack("{s:s, s:s, s:o}", "lab", "2.2.6", "model", model, "images", recs);
        recs = NULL;
        snprintf(rel, sizeof rel, "models/%s/predictions.json", model);
        rc = write_json(r, rel, pj);
        json_decref(pj);
    }
    if (!rc) {
        char path[4200];
        json_t *meta = json_pack("{s:s, s:s, s:s}", "format", "pt", "lab", "2.2.6", "model", model);
        snprintf(rel, sizeof rel, "models/%s/model.safetensors", model);
        if (!(rc = lab_run_path(r, rel, path, sizeof path)))
            rc = weights_save(m->params, path, meta, NULL, 0);
        json_decref(meta);
    }
    if (!rc)
        rc = sam_full_plot_prompts(r, &img, n_images, &rows);
    if (!rc && n_tiles)
        rc = sam_full_plot_auto(r, tiles, captions, n_tiles);
    if (!rc && runs > 0)
        rc = sam_full_plot_bench(r, model, b.mean_ms, b.std_ms);
    if (!rc) {
        static const char *const keys[3] = {"pred_iou_box", "pred_iou_point", "pred_iou_combination"};
        for (int k = 0; k < 3; k++)
            json_object_set_new(mm, keys[k], json_real(cnt[k] ? sum[k] / cnt[k] : 0));
        json_object_set_new(mm, "params", json_integer(model_num_params(m)));
        json_object_set_new(mm, "checkpoint", json_string(strrchr(ckpt, '/') + 1));
        json_object_set_new(mm, "images", json_integer((json_int_t)n_images));
        json_object_set_new(mm, "image_source", json_string("placeholder"));
        json_object_set_new(mm, "prompts", json_integer((json_int_t)rows.n));
        if (do_auto)
            json_object_set(mm, "auto", am);
        if (runs > 0) {
            json_t *bj = json_pack("{s:i, s:i, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:s}", "runs", runs, "warmup", warmup,
                                   "encode_ms", b.mean_ms[0], "encode_std_ms", b.std_ms[0], "point_ms", b.mean_ms[1],
                                   "point_std_ms", b.std_ms[1], "box_ms", b.mean_ms[2], "box_std_ms", b.std_ms[2],
                                   "peak_rss_mb", b.peak_rss_mb, "device", r->dev.device_name);
            json_object_set_new(mm, "bench", bj);
        }
        json_object_set_new(mm, "status", json_string("done"));
        json_object_set_new(r->metrics, "lab", json_string("2.2.6"));
        json_object_set_new(r->metrics, "dataset", json_string("sample-images"));
        json_t *models = json_object();
        json_object_set(models, model, mm);
        json_object_set_new(r->metrics, "models", models);
        rc = lab_run_save_metrics(r);
    }
    for (size_t i = 0; i < n_tiles; i++)
        ds_image_free(&tiles[i]);
    json_decref(mm);
    json_decref(recs);
    json_decref(am);
    free(rows.masks), free(rows.iou), free(rows.prompts), free(rows.image_index), free(rows.kind);
    sam_predictor_free(&p);
    model_free(m);
    ds_image_free(&img);
    return rc;
}
