/* Lab 2.2.6: Segment Anything. The model (labs/models/sam.h), the official
 * checkpoints, `lab predict 2.2.6` with point and box prompts, several boxes
 * (boxes.c), a 2.2.3 detector's boxes (detect.c) and automatic masks; `lab
 * run 2.2.6` runs the notebook with an official checkpoint (full.c) or
 * trains a small SAM on mosaics (--quick, quick.c). */
#include "base/error.h"
#include "base/fsutil.h"
#include "base/paths.h"
#include "datasets/image.h"
#include "datasets/loaders.h"
#include "labs/2.2.6-segment-anything/amg.h"
#include "labs/2.2.6-segment-anything/auto_out.h"
#include "labs/2.2.6-segment-anything/boxes.h"
#include "labs/2.2.6-segment-anything/checkpoint.h"
#include "labs/2.2.6-segment-anything/detect.h"
#include "labs/2.2.6-segment-anything/full.h"
#include "labs/2.2.6-segment-anything/generator.h"
#include "labs/2.2.6-segment-anything/png_out.h"
#include "labs/2.2.6-segment-anything/predictor.h"
#include "labs/2.2.6-segment-anything/quick.h"
#include "labs/2.2.6-segment-anything/refine.h"
#include "labs/config.h"
#include "labs/device.h"
#include "labs/lab.h"
#include "labs/models/nn.h"
#include "labs/models/sam.h"
#include "labs/models/weights.h"
#include "labs/predict.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static int create_model(const char *name, int num_classes, struct model **out)
{
    (void)num_classes;
    struct sam_config c;
    LAB_TRY(sam_config_named(name, &c));
    return sam_new(&c, out);
}

/* "a,b,c[,d]" -> up to `cap` numbers; the count */
static int parse_nums(const char *s, double *v, int cap)
{
    int n = 0;
    const char *p = s;
    while (*p && n < cap) {
        char *end;
        v[n] = strtod(p, &end);
        if (end == p)
            return -1;
        n++;
        p = end;
        if (*p == ',')
            p++;
        else if (*p)
            return -1;
    }
    return *p ? -1 : n;
}

/* Which prompts go together, before anything is read or written. */
static int check_modes(const struct predict_opts *o)
{
    if (o->detect && (o->n_points || o->n_boxes || o->auto_masks))
        return lab_err(LAB_EUSAGE, "drop --point, --box and --auto: with --detect the detector's boxes are the prompts "
                       "(run those on their own in another `lab predict 2.2.6`)",
                       "--detect does not combine with --%s", o->n_points ? "point" : o->n_boxes ? "box" : "auto");
    if (o->n_points && o->n_boxes > 1)
        return lab_err(LAB_EUSAGE, "give the points with one --box, or drop the points to prompt each box on its own",
                       "--point with %zu boxes: each box is prompted alone, so the points have no box to join",
                       o->n_boxes);
    const char *det_only = o->conf >= 0 ? "conf" : o->iou >= 0 ? "iou" : o->classes ? "classes"
                         : o->imgsz ? "imgsz" : o->max_det ? "max-det" : NULL;
    if (!o->detect && det_only)
        return lab_err(LAB_EUSAGE, "add --detect YOLO-WEIGHTS (a 2.2.3 checkpoint) or drop the option",
                       "--%s is the detector's setting, and there is no --detect", det_only);
    return LAB_OK;
}

static int parse_box(const char *s, double *box)
{
    if (parse_nums(s, box, 4) != 4 || box[2] <= box[0] || box[3] <= box[1])
        return lab_err(LAB_EUSAGE, "write the box as X1,Y1,X2,Y2 (top-left, then bottom-right, in pixels)",
                       "--box '%s' is not an x1,y1,x2,y2 box", s);
    return LAB_OK;
}

/* boxes gets every --box (o->n_boxes of them); box and has_box the one box
 * that joins the points in a single prompt. */
static int parse_prompts(const struct predict_opts *o, double *pts, int *labels, int *np, double *box, int *has_box,
                         double (*boxes)[4])
{
    *np = 0;
    *has_box = 0;
    for (size_t i = 0; i < o->n_points && i < PREDICT_MAX_POINTS; i++) {
        double v[3];
        int n = parse_nums(o->points[i], v, 3);
        if (n < 2 || (n == 3 && v[2] != 0 && v[2] != 1))
            return lab_err(LAB_EUSAGE, "write a point as X,Y or X,Y,LABEL with LABEL 1 (foreground) or 0 (background)",
                           "--point '%s' is not X,Y[,LABEL]", o->points[i]);
        pts[*np * 2] = v[0];
        pts[*np * 2 + 1] = v[1];
        labels[*np] = n == 3 ? (int)v[2] : 1;
        (*np)++;
    }
    if (o->n_boxes > PREDICT_MAX_BOXES)
        return lab_err(LAB_EUSAGE, "prompt fewer boxes per call", "%zu --box prompts, at most %d", o->n_boxes,
                       PREDICT_MAX_BOXES);
    for (size_t i = 0; i < o->n_boxes; i++)
        LAB_TRY(parse_box(o->boxes[i], boxes[i]));
    if (o->n_boxes == 1) {
        memcpy(box, boxes[0], sizeof boxes[0]);
        *has_box = 1;
    }
    if (!*np && !o->n_boxes)
        return lab_err(LAB_EUSAGE, "prompt SAM with --point X,Y[,LABEL] (repeatable) and/or --box X1,Y1,X2,Y2 "
                       "(repeatable), or use --auto or --detect YOLO-WEIGHTS",
                       "lab predict 2.2.6 needs a prompt (or --auto)");
    return LAB_OK;
}

static int write_outputs(const struct predict_opts *o, const struct ds_image *im, const uint8_t *masks, const float *iou,
                         int K, const float *low, const struct sam_predictor *p, const double *pts, const int *labels,
                         int np, const double *box)
{
    size_t hw = (size_t)im->w * im->h;
    json_t *root = json_object(), *arr = json_array(), *jp = json_array();
    int rc = LAB_OK;
    int best = sam_current_mask(masks, iou, K, hw, o->grow, o->shrink);
    for (int k = 0; k < K && !rc; k++) {
        char name[64], oname[64];
        long long area = 0;
        snprintf(name, sizeof name, "mask_%d.png", k);
        snprintf(oname, sizeof oname, "overlay_%d.png", k);
        rc = sam_png_mask_pair(o->out, name, oname, im, masks + (size_t)k * hw, k, &area);
        json_array_append_new(arr, json_pack("{s:i, s:s, s:s, s:f, s:I}", "index", k, "mask", name, "overlay", oname,
                                             "score", (double)iou[k], "area", (json_int_t)area));
    }
    if (!rc && o->cutout)
        rc = sam_png_cutout(o->out, im, masks + (size_t)best * hw);
    for (int i = 0; i < np; i++)
        json_array_append_new(jp, json_pack("[f, f, i]", pts[i * 2], pts[i * 2 + 1], labels[i]));
    json_object_set_new(root, "lab", json_string("2.2.6"));
    json_object_set_new(root, "source", json_string(o->source));
    json_object_set_new(root, "width", json_integer(im->w));
    json_object_set_new(root, "height", json_integer(im->h));
    json_object_set_new(root, "points", jp);
    json_object_set_new(root, "box", box ? json_pack("[f, f, f, f]", box[0], box[1], box[2], box[3]) : json_null());
    json_object_set_new(root, "multimask", json_boolean(o->multimask));
    json_object_set_new(root, "best", json_integer(best));
    json_object_set_new(root, "best_by", json_string(o->grow ? "largest" : o->shrink ? "smallest" : "predicted IoU"));
    json_object_set_new(root, "refine_min_area", o->refine ? json_integer(o->refine) : json_null());
    json_object_set_new(root, "masks", arr);
    json_object_set_new(root, "embedding_from_cache", json_boolean(p->from_cache));
    json_object_set_new(root, "encode_ms", json_real(p->encode_ms));
    if (!rc) {
        char *text = json_dumps(root, JSON_INDENT(2)), path[4200];
        snprintf(path, sizeof path, "%s/predictions.json", o->out);
        rc = text ? lab_write_atomic(path, text, strlen(text)) : lab_err(LAB_EINTERNAL, NULL, "cannot encode JSON");
        free(text);
    }
    if (!rc) {
        struct ts_host_tensor t[3] = {
            {.name = "masks", .dtype = TS_U8, .ndim = 4, .shape = {1, K, im->h, im->w}, .data = masks,
             .nbytes = (size_t)K * hw},
            {.name = "iou_predictions", .dtype = TS_F32, .ndim = 2, .shape = {1, K}, .data = iou,
             .nbytes = (size_t)K * sizeof(float)},
            {.name = "low_res_masks", .dtype = TS_F32, .ndim = 4, .shape = {1, K, sam_predictor_lowres(p), sam_predictor_lowres(p)},
             .data = low, .nbytes = (size_t)K * sam_predictor_lowres(p) * sam_predictor_lowres(p) * sizeof(float)}};
        char path[4200];
        snprintf(path, sizeof path, "%s/outputs.safetensors", o->out);
        rc = weights_save_host(t, 3, path, NULL);
    }
    json_decref(root);
    return rc;
}

static int predict_prompts(const struct predict_opts *o, FILE *say)
{
    if (o->grow && o->shrink)
        return lab_err(LAB_EUSAGE, "give --grow or --shrink, not both", "--grow and --shrink pick opposite masks");
    if ((o->grow || o->shrink) && !o->multimask)
        return lab_err(LAB_EUSAGE, "add --multimask: --grow and --shrink choose among its three masks",
                       "--%s with one mask has nothing to choose from", o->grow ? "grow" : "shrink");
    LAB_TRY(check_modes(o));
    double pts[PREDICT_MAX_POINTS * 2], box[4], boxes[PREDICT_MAX_BOXES][4];
    int labels[PREDICT_MAX_POINTS], np = 0, has_box = 0;
    if (!o->detect && (!o->auto_masks || o->n_points || o->n_boxes))
        LAB_TRY(parse_prompts(o, pts, labels, &np, box, &has_box, boxes));
    if (lab_is_dir(o->source))
        return lab_err(LAB_EUSAGE, "pass one image to --source", "%s is a folder; SAM is prompted per image", o->source);
    struct lab_device_choice dev;
    LAB_TRY(lab_choose_device(o->device ? o->device : "auto", "fp32", &dev));
    char cache[4200];
    LAB_TRY(lab_dir_ensure(LAB_DIR_CACHE, "sam-embeddings", cache, sizeof cache));
    LAB_TRY(lab_mkdir_p(o->out));
    struct ds_image im = {0};
    LAB_TRY(ds_image_load(o->source, 0, &im));
    int rc = ds_image_to_rgb(&im);
    struct model *m = NULL;
    if (!rc)
        rc = sam_checkpoint_load(o->weights, &m);
    if (!rc && ts_params_to(m->params, dev.device, -1) != TS_OK)
        rc = nn_fail(TS_ETORCH, "moving the weights");
    struct sam_predictor p = {0};
    if (!rc)
        rc = sam_predictor_init(&p, m, o->weights, cache);
    uint8_t *masks = NULL;
    float *iou = NULL, *low = NULL;
    if (o->detect) {
        if (!rc)
            rc = sam_detect_and_segment(o, &p, &im, say);
        goto done;
    }
    if (!rc)
        rc = sam_predictor_set_image(&p, &im);
    if (!rc && say)
        fprintf(say, "image %dx%d, embedding %s\n", im.w, im.h, p.from_cache ? "from the cache" : "computed");
    if (!rc && o->auto_masks) {
        struct sam_amg_opts ao;
        sam_amg_defaults(&ao);
        /* the course's settings */
        ao.crop_n_layers = 1;
        ao.crop_n_points_downscale_factor = 2;
        ao.min_mask_region_area = 100;
        if (o->points_per_side > 0)
            ao.points_per_side = o->points_per_side;
        if (o->pred_iou_thresh >= 0)
            ao.pred_iou_thresh = o->pred_iou_thresh;
        if (o->stability_thresh >= 0)
            ao.stability_score_thresh = o->stability_thresh;
        struct sam_amg_result res;
        rc = sam_amg_generate(&p, &im, &ao, &res);
        if (!rc) {
            rc = sam_auto_write(o->out, "auto", o->source, &im, &res);
            if (!rc && say)
                fprintf(say, "%zu automatic masks\n", res.n);
            sam_amg_result_free(&res);
        }
        if (rc || (!np && !o->n_boxes))
            goto done;
        if (!rc)
            rc = sam_predictor_set_image(&p, &im); /* the generator left the last crop */
    }
    if (o->n_boxes > 1) {
        struct sam_boxes b = {.n = (int)o->n_boxes, .box = (const double(*)[4])boxes};
        if (!rc)
            rc = sam_predict_boxes(o, &p, &im, &b);
        if (!rc && say)
            fprintf(say, "%d boxes, each prompted on its own: wrote %s/predictions.json, %s/overlay.png, "
                    "box_I_mask_K.png and outputs.safetensors\n", b.n, o->out, o->out);
        goto done;
    }
    if (!rc) {
        int K = o->multimask ? 3 : 1;
        size_t hw = (size_t)im.w * im.h, ll = (size_t)sam_predictor_lowres(&p) * sam_predictor_lowres(&p);
        masks = malloc((size_t)K * hw);
        iou = malloc(sizeof *iou * (size_t)K);
        low = malloc(sizeof *low * (size_t)K * ll);
        if (!masks || !iou || !low)
            rc = lab_err(LAB_EINTERNAL, NULL, "out of memory for the masks");
        struct sam_query q = {.n_points = np, .points = pts, .labels = labels, .box = has_box ? box : NULL,
                              .multimask = o->multimask};
        if (!rc)
            rc = sam_predictor_predict_host(&p, &q, masks, iou, low);
        for (int k = 0; !rc && o->refine && k < K; k++)
            rc = sam_refine_mask(masks + (size_t)k * hw, im.h, im.w, o->refine);
        if (!rc)
            rc = write_outputs(o, &im, masks, iou, K, low, &p, pts, labels, np, has_box ? box : NULL);
    }
done:
    free(masks);
    free(iou);
    free(low);
    sam_predictor_free(&p);
    model_free(m);
    ds_image_free(&im);
    return rc;
}

static int predict(const struct predict_opts *o, FILE *say)
{
    int rc = predict_prompts(o, say);
    if (rc || o->detect || o->n_boxes > 1)
        return rc; /* those said what they wrote */
    if (say && o->auto_masks && !o->n_points && !o->n_boxes)
        fprintf(say, "wrote %s/auto.json and %s/auto.png\n", o->out, o->out);
    else if (say)
        fprintf(say, "wrote %s/predictions.json and %s/outputs.safetensors\n", o->out, o->out);
    return rc;
}

static int validate(const json_t *config)
{
    const char *ds = lab_cfg_str(config, "data.dataset", "");
    if (!strcmp(ds, "sample-images"))
        return LAB_OK; /* the full mode: the checkpoint is checked when the run opens it */
    if (strcmp(ds, "fashion-mnist-mosaic") != 0)
        return lab_err(LAB_EUSAGE, "use data.dataset sample-images (the notebook, an official checkpoint) or the "
                       "quick mode (--quick)", "lab run 2.2.6 has no dataset '%s'", ds);
    struct sam_config c;
    return sam_quick_config(config, &c);
}

static int run(struct lab_run *r)
{
    if (!strcmp(lab_cfg_str(r->config, "data.dataset", ""), "sample-images"))
        return sam_full_run(r);
    return sam_quick_run(r);
}

/* a run's quick SAM, for the grader: its configuration is the run's */
static int create_model_cfg(const json_t *config, const char *name, int num_classes, struct model **out)
{
    (void)num_classes;
    if (strcmp(name, "sam") != 0)
        return create_model(name, 0, out);
    struct sam_config c;
    LAB_TRY(sam_quick_config(config, &c));
    return sam_new(&c, out);
}

const struct lab_impl lab_segment_anything = {
    .id = "2.2.6",
    .validate = validate,
    .run = run,
    .create_model = create_model,
    .create_model_cfg = create_model_cfg,
    .predict = predict,
    .fp32_only = 1,
};
