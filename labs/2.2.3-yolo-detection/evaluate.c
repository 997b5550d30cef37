#include "labs/2.2.3-yolo-detection/evaluate.h"

#include "base/error.h"
#include "datasets/loaders.h"
#include "datasets/yolo_read.h"
#include "labs/models/nn.h"
#include "labs/models/yolov8.h"

#include <stdlib.h>
#include <string.h>

void yolo_truth_free(struct yolo_truth *t)
{
    free(t->boxes), free(t->classes), free(t->image);
    memset(t, 0, sizeof *t);
}

/* Grows the arrays of n-row tables to hold `need` rows: boxes (4 floats), then
 * scores (float, may be NULL), classes and image (int64). */
static int grow(float **boxes, float **scores, int64_t **classes, int64_t **image, size_t *cap, size_t need)
{
    if (need <= *cap)
        return LAB_OK;
    size_t c = *cap ? *cap * 2 : 4096;
    while (c < need)
        c *= 2;
    float *bx = realloc(*boxes, sizeof(float) * 4 * c);
    if (bx)
        *boxes = bx;
    float *sc = scores ? realloc(*scores, sizeof(float) * c) : NULL;
    if (sc)
        *scores = sc;
    int64_t *cl = realloc(*classes, sizeof(int64_t) * c);
    if (cl)
        *classes = cl;
    int64_t *ii = realloc(*image, sizeof(int64_t) * c);
    if (ii)
        *image = ii;
    if (!bx || (scores && !sc) || !cl || !ii)
        return lab_err(LAB_EINTERNAL, "free some memory", "out of memory");
    *cap = c;
    return LAB_OK;
}

/* Image i and its boxes in its pixels (*b malloc'd). */
static int load_item(const struct ds_dataset *d, size_t i, struct ds_image *im, struct yolo_box **b, size_t *n)
{
    const char *path = ds_yolo_image_path(d, i);
    *b = NULL;
    *n = 0;
    if (path) {
        LAB_TRY(ds_image_load(path, 0, im));
        int rc = ds_yolo_labels(d, i, im->w, im->h, b, n);
        if (rc) {
            free(im->px);
            im->px = NULL;
        }
        return rc;
    }
    struct ds_sample s;
    memset(&s, 0, sizeof s);
    LAB_TRY(ds_dataset_get(d, i, &s));
    *im = s.image;
    s.image.px = NULL;
    if (s.nobj && !(*b = malloc(sizeof **b * (size_t)s.nobj))) {
        ds_sample_free(&s);
        return lab_err(LAB_EINTERNAL, "free some memory", "out of memory");
    }
    for (int k = 0; k < s.nobj; k++)
        (*b)[k] = (struct yolo_box){s.box_labels[k], s.boxes[k][0], s.boxes[k][1], s.boxes[k][2], s.boxes[k][3]};
    *n = (size_t)s.nobj;
    ds_sample_free(&s);
    return LAB_OK;
}

int yolo_evaluate(struct model *m, ts_device dev, const struct ds_dataset *d, int imgsz, int batch,
                  const struct yolo_nms_opts *nms, struct detect_predictions *p, struct yolo_truth *t, FILE *say)
{
    memset(t, 0, sizeof *t);
    size_t B = (size_t)batch, n = d->n, px = (size_t)imgsz * imgsz, pcap = 0, tcap = 0;
    int64_t k = yolov8_num_classes(m), a = 0;
    for (int l = 0; l < 3; l++)
        a += (int64_t)(imgsz >> (3 + l)) * (imgsz >> (3 + l));
    p->n = (int64_t)n;
    p->indices = malloc(sizeof(int64_t) * (n ? n : 1));
    p->image_sizes = malloc(sizeof(int64_t) * 2 * (n ? n : 1));
    float *x = malloc(sizeof *x * B * 3 * px), *y = malloc(sizeof *y * B * (size_t)((4 + k) * a));
    struct yolo_letterbox *lb = malloc(sizeof *lb * B);
    struct yolo_det *det = malloc(sizeof *det * (size_t)nms->max_det);
    int rc = x && y && lb && det && p->indices && p->image_sizes
                 ? LAB_OK
                 : lab_err(LAB_EINTERNAL, "free some memory", "out of memory");
    int grad = ts_no_grad_push();
    for (size_t b0 = 0; !rc && b0 < n; b0 += B) {
        size_t bn = n - b0 < B ? n - b0 : B;
        for (size_t i = 0; !rc && i < bn; i++) {
            struct ds_image im = {0};
            struct yolo_box *gt = NULL;
            size_t ng = 0;
            rc = load_item(d, b0 + i, &im, &gt, &ng);
            if (!rc)
                rc = yolo_letterbox_plan(im.w, im.h, imgsz, 0, &lb[i]);
            if (!rc)
                rc = yolo_letterbox_apply(im.px, im.c, &lb[i], x + i * 3 * px);
            if (!rc)
                rc = grow(&t->boxes, NULL, &t->classes, &t->image, &tcap, t->g + ng);
            for (size_t j = 0; !rc && j < ng; j++, t->g++) {
                float c[4] = {gt[j].x1, gt[j].y1, gt[j].x2, gt[j].y2};
                memcpy(t->boxes + t->g * 4, c, sizeof c);
                t->classes[t->g] = gt[j].cls;
                t->image[t->g] = (int64_t)(b0 + i);
            }
            p->indices[b0 + i] = (int64_t)(b0 + i);
            p->image_sizes[2 * (b0 + i)] = im.h, p->image_sizes[2 * (b0 + i) + 1] = im.w;
            free(gt);
            free(im.px);
        }
        ts_scope_begin();
        int64_t xs[4] = {(int64_t)bn, 3, imgsz, imgsz};
        ts_tensor *xt, *yt = NULL;
        if (!rc && ts_from_host(&xt, x, TS_F32, 4, xs, dev))
            rc = nn_fail(TS_ETORCH, "uploading an eval batch");
        if (!rc)
            rc = yolov8_forward(m, xt, 0, &yt, NULL, NULL);
        if (!rc && ts_to_host(yt, TS_F32, y, sizeof *y * bn * (size_t)((4 + k) * a)))
            rc = nn_fail(TS_ETORCH, "reading the eval output");
        ts_scope_end();
        for (size_t i = 0; !rc && i < bn; i++) {
            float *yi = y + i * (size_t)((4 + k) * a);
            int nd = 0;
            yolo_clip_pred(yi, (int)k, a, &lb[i]); /* before NMS, as the quick run and full mode */
            rc = yolo_nms(yi, (int)k, a, nms, det, &nd);
            if (!rc) {
                yolo_scale_boxes(&lb[i], det, nd);
                size_t cap = (size_t)pcap;
                rc = grow(&p->boxes, &p->scores, &p->classes, &p->image_index, &cap, (size_t)p->m + (size_t)nd);
                pcap = cap;
            }
            for (int j = 0; !rc && j < nd; j++, p->m++) {
                float c[4] = {det[j].x1, det[j].y1, det[j].x2, det[j].y2};
                memcpy(p->boxes + p->m * 4, c, sizeof c);
                p->scores[p->m] = det[j].conf;
                p->classes[p->m] = det[j].cls;
                p->image_index[p->m] = (int64_t)(b0 + i);
            }
        }
        if (!rc && say && (b0 / B + 1) % 50 == 0)
            fprintf(say, "  %zu of %zu images\n", b0 + bn, n);
    }
    ts_grad_mode_pop(grad);
    free(x), free(y), free(lb), free(det);
    return rc;
}
