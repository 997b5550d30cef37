#include "labs/2.2.3-yolo-detection/predict.h"

#include "base/error.h"
#include "base/fsutil.h"
#include "base/jsonio.h"
#include "datasets/image.h"
#include "datasets/loaders.h"
#include "labs/2.2.3-yolo-detection/infer.h"
#include "labs/device.h"
#include "labs/draw.h"
#include "labs/models/nn.h"
#include "labs/models/yolov8.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>


int yolo_parse_classes(const char *spec, const char *const *names, int nc, int **ids, int *n)
{
    *ids = NULL;
    *n = 0;
    if (!spec || !*spec)
        return LAB_OK;
    int *out = calloc(strlen(spec) + 1, sizeof *out);
    if (!out)
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    const char *p = spec;
    while (*p) {
        size_t len = strcspn(p, ",");
        char word[128];
        snprintf(word, sizeof word, "%.*s", (int)(len < sizeof word - 1 ? len : sizeof word - 1), p);
        int id = -1;
        for (int k = 0; k < nc && id < 0; k++)
            if (names && names[k] && !strcasecmp(names[k], word))
                id = k;
        char *end;
        long v = strtol(word, &end, 10);
        if (id < 0 && *word && !*end && v >= 0 && v < nc)
            id = (int)v;
        if (id < 0) {
            free(out);
            return lab_err(LAB_EUSAGE, "give class names as the model lists them (person, car, bus, ...) or ids",
                           "--classes: '%s' is not one of the model's %d classes", word, nc);
        }
        out[(*n)++] = id;
        p += len;
        if (*p == ',')
            p++;
    }
    *ids = out;
    return LAB_OK;
}

/* The file name without directory and extension. */
static void stem_of(const char *path, char *stem, size_t cap)
{
    const char *b = strrchr(path, '/');
    snprintf(stem, cap, "%s", b ? b + 1 : path);
    char *dot = strrchr(stem, '.');
    if (dot)
        *dot = '\0';
}

/* The image with its boxes and "name 0.87" labels, as Ultralytics' plot. */
static int draw_boxes(const struct ds_image *im, const struct yolo_det *d, int n, const char *const *names,
                      const char *path)
{
    cairo_surface_t *s;
    cairo_t *cr = draw_image_canvas(im->px, im->w, im->h, im->c, &s);
    if (!cr)
        return lab_err(LAB_EINTERNAL, NULL, "cairo could not make a %dx%d canvas", im->w, im->h);
    double lw = fmax(2.0, (im->w + im->h) / 2.0 * 0.003);
    for (int i = 0; i < n; i++) {
        /* a colour per class, spread around the hue circle */
        double hue = fmod(d[i].cls * 0.618034, 1.0) * 6, f = hue - floor(hue);
        double rgb[6][3] = {{1, f, 0}, {1 - f, 1, 0}, {0, 1, f}, {0, 1 - f, 1}, {f, 0, 1}, {1, 0, 1 - f}};
        char label[160];
        snprintf(label, sizeof label, "%s %.2f", names ? names[d[i].cls] : "?", d[i].conf);
        const double box[4] = {d[i].x1, d[i].y1, d[i].x2, d[i].y2};
        draw_labelled_box(cr, box, rgb[(int)hue % 6], lw, 1, label);
    }
    return draw_write_png(cr, s, path);
}

int yolo_infer_pixels(struct model *m, ts_device dev, const struct ds_image *im, int imgsz,
                      struct yolo_letterbox *lb, float **pred, int64_t *anchors)
{
    *pred = NULL;
    *anchors = 0;
    LAB_TRY(yolo_letterbox_plan(im->w, im->h, imgsz, 1, lb));
    size_t plane = (size_t)lb->out_w * lb->out_h;
    float *x = malloc(sizeof *x * 3 * plane);
    if (!x)
        return lab_err(LAB_EINTERNAL, NULL, "out of memory for a %dx%d input", lb->out_w, lb->out_h);
    int rc = yolo_letterbox_apply(im->px, im->c, lb, x);
    int nc = yolov8_num_classes(m);
    ts_scope_begin();
    ts_tensor *in = NULL, *y = NULL;
    int64_t shape[4] = {1, 3, lb->out_h, lb->out_w};
    if (!rc && ts_from_host(&in, x, TS_F32, 4, shape, dev) != TS_OK)
        rc = nn_fail(TS_ETORCH, "uploading an image");
    if (!rc)
        rc = yolov8_forward(m, in, 0, &y, NULL, NULL);
    int64_t a = rc ? 0 : ts_size(y, 2);
    float *out = rc ? NULL : malloc(sizeof *out * (size_t)(4 + nc) * (size_t)a);
    if (!rc && !out)
        rc = lab_err(LAB_EINTERNAL, NULL, "out of memory");
    if (!rc && ts_to_host(y, TS_F32, out, sizeof *out * (size_t)(4 + nc) * (size_t)a) != TS_OK)
        rc = nn_fail(TS_ETORCH, "reading the detections");
    ts_scope_end();
    free(x);
    if (rc) {
        free(out);
        return rc;
    }
    *pred = out;
    *anchors = a;
    return LAB_OK;
}

int yolo_detect_pixels(struct model *m, ts_device dev, const struct ds_image *im, int imgsz,
                       const struct yolo_nms_opts *nms, struct yolo_det *dets, int *n)
{
    struct yolo_letterbox lb;
    float *pred = NULL;
    int64_t anchors = 0;
    int rc = yolo_infer_pixels(m, dev, im, imgsz, &lb, &pred, &anchors);
    if (!rc)
        rc = yolo_nms(pred, yolov8_num_classes(m), anchors, nms, dets, n);
    if (!rc)
        yolo_scale_boxes(&lb, dets, *n);
    free(pred);
    return rc;
}

int yolo_write_detections(const char *dir, const char *source, const struct ds_image *im,
                          const struct yolo_det *dets, int n, const char *const *names, json_t **doc_out)
{
    json_t *boxes = json_array();
    for (int k = 0; k < n; k++) {
        char cname[16];
        snprintf(cname, sizeof cname, "class%d", dets[k].cls);
        json_array_append_new(boxes, json_pack("{s:[f,f,f,f], s:f, s:i, s:s}", "xyxy", (double)dets[k].x1,
                                               (double)dets[k].y1, (double)dets[k].x2, (double)dets[k].y2,
                                               "confidence", (double)dets[k].conf, "class", dets[k].cls, "name",
                                               names ? names[dets[k].cls] : cname));
    }
    char stem[256], path[4600];
    stem_of(source, stem, sizeof stem);
    json_t *doc = json_pack("{s:s, s:i, s:i, s:o}", "source", source, "width", im->w, "height", im->h, "detections",
                            boxes);
    snprintf(path, sizeof path, "%s/%s.json", dir, stem);
    int rc = lab_json_save(path, doc);
    if (!rc) {
        snprintf(path, sizeof path, "%s/%s.png", dir, stem);
        rc = draw_boxes(im, dets, n, names, path);
    }
    if (!rc && doc_out)
        *doc_out = json_incref(doc);
    json_decref(doc);
    return rc;
}

int yolo_predict(const struct predict_opts *o, FILE *say)
{
    struct model *m = NULL;
    char **images = NULL;
    size_t count = 0;
    int *classes = NULL, ncls = 0;
    struct lab_device_choice dev;
    json_t *all = json_array();
    struct yolo_nms_opts nms = {.conf = o->conf >= 0 ? o->conf : 0.25, .iou = o->iou >= 0 ? o->iou : 0.7,
                                .max_det = o->max_det > 0 ? o->max_det : 300};
    int imgsz = o->imgsz > 0 ? o->imgsz : 640;
    struct yolo_det *dets = malloc(sizeof *dets * (size_t)nms.max_det);
    int rc = dets ? LAB_OK : lab_err(LAB_EINTERNAL, NULL, "out of memory");
    if (!rc && (imgsz % 32))
        rc = lab_err(LAB_EUSAGE, "use --imgsz 320, 640 or 1280 (a multiple of 32)", "--imgsz %d", imgsz);
    if (!rc)
        rc = yolov8_load(o->weights, &m);
    const char *const *names = NULL;
    if (!rc && yolov8_num_classes(m) == 80)
        names = yolo_coco_names;
    if (!rc)
        rc = yolo_parse_classes(o->classes, names, yolov8_num_classes(m), &classes, &ncls);
    nms.classes = classes;
    nms.nclasses = ncls;
    if (!rc)
        rc = predict_list_images(o->source, &images, &count);
    if (!rc)
        rc = lab_choose_device(o->device ? o->device : "auto", "fp32", &dev);
    if (!rc && ts_params_to(m->params, dev.device, -1) != TS_OK)
        rc = nn_fail(TS_ETORCH, "moving the weights");
    if (!rc)
        rc = lab_mkdir_p(o->out);
    int grad = ts_no_grad_push();
    for (size_t i = 0; !rc && i < count; i++) {
        struct ds_image im = {0};
        int n = 0;
        rc = ds_image_load(images[i], 0, &im);
        if (!rc)
            rc = yolo_detect_pixels(m, dev.device, &im, imgsz, &nms, dets, &n);
        json_t *doc = NULL;
        if (!rc)
            rc = yolo_write_detections(o->out, images[i], &im, dets, n, names, &doc);
        if (!rc)
            json_array_append_new(all, doc);
        if (!rc && say)
            fprintf(say, "%s: %d detection%s (%dx%d)\n", images[i], n, n == 1 ? "" : "s", im.w, im.h);
        free(im.px);
    }
    ts_grad_mode_pop(grad);
    if (!rc) {
        char path[4300];
        json_t *doc = json_pack("{s:s, s:s, s:s, s:f, s:f, s:i, s:i, s:O}", "lab", "2.2.3", "model", m->name,
                                "weights", o->weights, "conf", nms.conf, "iou", nms.iou, "imgsz", imgsz, "max_det",
                                nms.max_det, "images", all);
        snprintf(path, sizeof path, "%s/predictions.json", o->out);
        rc = lab_json_save(path, doc);
        json_decref(doc);
        if (!rc && say)
            fprintf(say, "wrote %s/predictions.json and one .json and .png per image\n", o->out);
    }
    json_decref(all);
    predict_images_free(images, count);
    free(classes);
    free(dets);
    model_free(m);
    return rc;
}
