#include "labs/tasks/detect_nms.h"

#include "base/error.h"

#include <math.h>
#include <stdlib.h>

#define MAX_NMS 30000

struct cand {
    float box[4], conf;
    int cls;
};

static int by_conf(const void *a, const void *b)
{
    float x = ((const struct cand *)a)->conf, y = ((const struct cand *)b)->conf;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* torchvision's box_iou for two xyxy boxes. */
static float iou(const float *a, const float *b)
{
    float iw = fminf(a[2], b[2]) - fmaxf(a[0], b[0]), ih = fminf(a[3], b[3]) - fmaxf(a[1], b[1]);
    if (iw <= 0 || ih <= 0)
        return 0;
    float inter = iw * ih;
    float u = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
    return u > 0 ? inter / u : 0;
}

int yolo_nms(const float *pred, int nc, int64_t anchors, const struct yolo_nms_opts *o, struct yolo_det *out,
             int *n)
{
    *n = 0;
    if (nc < 1 || anchors < 0 || o->max_det < 1)
        return lab_err(LAB_EUSAGE, "--max-det must be at least 1", "NMS with %d classes, max_det %d", nc,
                       o->max_det);
    struct cand *c = malloc(sizeof *c * (size_t)(anchors ? anchors : 1));
    if (!c)
        return lab_err(LAB_EINTERNAL, NULL, "out of memory for NMS");
    int64_t nc_ = 0;
    for (int64_t a = 0; a < anchors; a++) {
        int best = 0;
        float conf = pred[(int64_t)4 * anchors + a];
        for (int k = 1; k < nc; k++) {
            float s = pred[(int64_t)(4 + k) * anchors + a];
            if (s > conf) {
                conf = s;
                best = k;
            }
        }
        if (!(conf > o->conf))
            continue;
        if (o->classes) {
            int keep = 0;
            for (int j = 0; j < o->nclasses; j++)
                keep |= o->classes[j] == best;
            if (!keep)
                continue;
        }
        float cx = pred[a], cy = pred[anchors + a], w = pred[2 * anchors + a], h = pred[3 * anchors + a];
        struct cand *k = &c[nc_++];
        k->box[0] = cx - w / 2;
        k->box[1] = cy - h / 2;
        k->box[2] = cx + w / 2;
        k->box[3] = cy + h / 2;
        k->conf = conf;
        k->cls = best;
    }
    qsort(c, (size_t)nc_, sizeof *c, by_conf);
    if (nc_ > MAX_NMS)
        nc_ = MAX_NMS;
    /* Greedy: a box survives unless a kept box of its class overlaps it by
     * more than iou (Ultralytics offsets boxes by class to get this from
     * one torchvision nms call). */
    char *dead = calloc((size_t)(nc_ ? nc_ : 1), 1);
    if (!dead) {
        free(c);
        return lab_err(LAB_EINTERNAL, NULL, "out of memory for NMS");
    }
    for (int64_t i = 0; i < nc_ && *n < o->max_det; i++) {
        if (dead[i])
            continue;
        out[(*n)++] = (struct yolo_det){c[i].box[0], c[i].box[1], c[i].box[2], c[i].box[3], c[i].conf, c[i].cls};
        for (int64_t j = i + 1; j < nc_; j++)
            if (!dead[j] && c[j].cls == c[i].cls && iou(c[i].box, c[j].box) > o->iou)
                dead[j] = 1;
    }
    free(dead);
    free(c);
    return LAB_OK;
}

void yolo_clip_rect(float *r, int64_t a, float lo_x, float lo_y, float hi_x, float hi_y)
{
    for (int64_t j = 0; j < a; j++) {
        float x1 = r[j] - r[2 * a + j] / 2, x2 = r[j] + r[2 * a + j] / 2;
        float y1 = r[a + j] - r[3 * a + j] / 2, y2 = r[a + j] + r[3 * a + j] / 2;
        x1 = fminf(fmaxf(x1, lo_x), hi_x), x2 = fminf(fmaxf(x2, lo_x), hi_x);
        y1 = fminf(fmaxf(y1, lo_y), hi_y), y2 = fminf(fmaxf(y2, lo_y), hi_y);
        r[j] = (x1 + x2) / 2, r[a + j] = (y1 + y2) / 2, r[2 * a + j] = x2 - x1, r[3 * a + j] = y2 - y1;
    }
}

void yolo_clip_cxcywh(float *y, size_t n, int64_t rows, int64_t a, float side)
{
    for (size_t i = 0; i < n; i++)
        yolo_clip_rect(y + i * (size_t)(rows * a), a, 0, 0, side, side);
}
