/* Detection checks: each looks for one mistake and reports the first box
 * that shows it, so the student can find it in their own output. */
#include "grader/checks_detect.h"

#include "base/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PX_TOL 1.0
#define MAP_TOL 0.001
#define MAP_MAX_PER_IMAGE 3000
#define DUP_MAX_BUCKET 4096 /* boxes per image and class compared pairwise */

static void size_of(const struct detect_predictions *p, int64_t i, double *w, double *h)
{
    int64_t im = p->image_index[i];
    *h = (double)p->image_sizes[im * 2];
    *w = (double)p->image_sizes[im * 2 + 1];
}

enum check_status det_check_box_format(const struct detect_predictions *p, struct check_out *o)
{
    int64_t bad = 0, first = -1, as_xywh = 0, as_cxcywh = 0;
    for (int64_t i = 0; i < p->m; i++) {
        const float *b = p->boxes + i * 4;
        if (b[0] <= b[2] && b[1] <= b[3])
            continue;
        if (first < 0)
            first = i;
        bad++;
        double w, h;
        size_of(p, i, &w, &h);
        as_xywh += b[0] >= -PX_TOL && b[1] >= -PX_TOL && b[2] >= 0 && b[3] >= 0 && b[0] + b[2] <= w + PX_TOL &&
                   b[1] + b[3] <= h + PX_TOL;
        as_cxcywh += b[2] >= 0 && b[3] >= 0 && b[0] - b[2] / 2 >= -PX_TOL && b[1] - b[3] / 2 >= -PX_TOL &&
                     b[0] + b[2] / 2 <= w + PX_TOL && b[1] + b[3] / 2 <= h + PX_TOL;
    }
    if (!bad)
        return check_set(o, CHECK_PASS, NULL, "%lld boxes have x1 <= x2 and y1 <= y2", (long long)p->m);
    const float *b = p->boxes + first * 4;
    const char *hint = as_cxcywh == bad && as_xywh < bad ? "; they fit the images as [cx, cy, w, h] (YOLO's xywh): "
                                                           "convert with x1 = cx - w/2, x2 = cx + w/2"
                       : as_xywh == bad ? "; they fit the images as [x, y, w, h] (COCO json's bbox): convert with "
                                          "x2 = x + w, y2 = y + h"
                                        : "";
    return check_set(o, CHECK_FAIL, KB_DET_FORMAT,
                     "%lld of %lld boxes are not [x1, y1, x2, y2] (box %lld on image %lld: [%g, %g, %g, %g] has "
                     "x2 < x1 or y2 < y1)%s",
                     (long long)bad, (long long)p->m, (long long)first, (long long)p->image_index[first], (double)b[0],
                     (double)b[1], (double)b[2], (double)b[3], hint);
}

enum check_status det_check_pixels(const struct detect_predictions *p, struct check_out *o)
{
    if (!p->m)
        return check_set(o, CHECK_SKIPPED, NULL, "skipped: no detections");
    double maxv = 0;
    int small = 0;
    for (int64_t i = 0; i < p->m; i++) {
        double w, h;
        size_of(p, i, &w, &h);
        small |= w <= 2 || h <= 2;
        for (int c = 0; c < 4; c++)
            maxv = fmax(maxv, fabs((double)p->boxes[i * 4 + c]));
    }
    if (maxv <= 1.0 + 1e-6 && !small)
        return check_set(o, CHECK_FAIL, KB_DET_NORMALIZED,
                         "every coordinate of the %lld boxes is within [0, 1] (largest %g) on images of %lldx%lld "
                         "pixels and more: these are normalized boxes (boxes.xyxyn); write pixels (boxes.xyxy), or "
                         "multiply x by the width and y by the height",
                         (long long)p->m, maxv, (long long)p->image_sizes[1], (long long)p->image_sizes[0]);
    return check_set(o, CHECK_PASS, NULL, "boxes are in pixels (largest coordinate %g)", maxv);
}

enum check_status det_check_inside(const struct detect_predictions *p, struct check_out *o)
{
    int64_t bad = 0, first = -1;
    for (int64_t i = 0; i < p->m; i++) {
        const float *b = p->boxes + i * 4;
        double w, h;
        size_of(p, i, &w, &h);
        if (!(b[0] >= -PX_TOL && b[1] >= -PX_TOL && b[2] <= w + PX_TOL && b[3] <= h + PX_TOL) && !bad++)
            first = i;
    }
    if (!bad)
        return check_set(o, CHECK_PASS, NULL, "%lld boxes lie inside their images", (long long)p->m);
    const float *b = p->boxes + first * 4;
    double w, h;
    size_of(p, first, &w, &h);
    return check_set(o, CHECK_FAIL, KB_DET_OUTSIDE,
                     "%lld of %lld boxes reach outside their image (box %lld: [%g, %g, %g, %g] on a %gx%g image): "
                     "map boxes back from the letterboxed input (remove the padding, divide by the scale) and clip "
                     "to the original image",
                     (long long)bad, (long long)p->m, (long long)first, (double)b[0], (double)b[1], (double)b[2],
                     (double)b[3], w, h);
}

enum check_status det_check_scores(const struct detect_predictions *p, struct check_out *o)
{
    int64_t bad = 0, first = -1;
    for (int64_t i = 0; i < p->m; i++)
        if (!(p->scores[i] >= 0.0f && p->scores[i] <= 1.0f) && !bad++)
            first = i;
    if (!bad)
        return check_set(o, CHECK_PASS, NULL, "%lld scores within [0, 1]", (long long)p->m);
    return check_set(o, CHECK_FAIL, KB_DET_SCORES,
                     "%lld of %lld scores are outside [0, 1] (score %lld = %g): these look like raw class logits; "
                     "apply sigmoid (YOLOv8 has no objectness, the score is the class probability)",
                     (long long)bad, (long long)p->m, (long long)first, (double)p->scores[first]);
}

static float iou_xyxy(const float *a, const float *b)
{
    float w = fminf(a[2], b[2]) - fmaxf(a[0], b[0]), h = fminf(a[3], b[3]) - fmaxf(a[1], b[1]);
    if (w <= 0 || h <= 0)
        return 0;
    float inter = w * h, u = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
    return u > 0 ? inter / u : 0;
}

static const struct detect_predictions *sort_p;
static int by_image_class(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    int64_t ka = sort_p->image_index[a], kb = sort_p->image_index[b];
    if (ka == kb)
        ka = sort_p->classes[a], kb = sort_p->classes[b];
    if (ka == kb)
        return (a > b) - (a < b);
    return ka < kb ? -1 : 1;
}

enum check_status det_check_duplicates(const struct detect_predictions *p, double iou, struct check_out *o)
{
    int64_t *idx = malloc((size_t)(p->m ? p->m : 1) * sizeof *idx);
    if (!idx)
        return check_set(o, CHECK_ERROR, NULL, "out of memory");
    for (int64_t i = 0; i < p->m; i++)
        idx[i] = i;
    sort_p = p;
    qsort(idx, (size_t)p->m, sizeof *idx, by_image_class);
    int64_t pairs = 0, fa = -1, fb = -1;
    float fiou = 0;
    for (int64_t s = 0; s < p->m;) {
        int64_t e = s;
        while (e < p->m && p->image_index[idx[e]] == p->image_index[idx[s]] && p->classes[idx[e]] == p->classes[idx[s]])
            e++;
        int64_t end = e - s > DUP_MAX_BUCKET ? s + DUP_MAX_BUCKET : e;
        for (int64_t i = s; i < end; i++)
            for (int64_t j = i + 1; j < end; j++) {
                float v = iou_xyxy(p->boxes + idx[i] * 4, p->boxes + idx[j] * 4);
                if (v > iou && !pairs++)
                    fa = idx[i], fb = idx[j], fiou = v;
            }
        s = e;
    }
    free(idx);
    if (!pairs)
        return check_set(o, CHECK_PASS, NULL, "no two boxes of one class on one image overlap above IoU %g", iou);
    return check_set(o, CHECK_FAIL, KB_DET_DUPLICATES,
                     "%lld pairs of same-class boxes on one image overlap above IoU %g (boxes %lld and %lld on image "
                     "%lld, class %lld: IoU %.3f): non-maximum suppression was skipped or run across classes "
                     "wrongly; run class-aware NMS at IoU %g",
                     (long long)pairs, iou, (long long)fa, (long long)fb, (long long)p->image_index[fa],
                     (long long)p->classes[fa], (double)fiou, iou);
}

enum check_status det_check_conf(const struct detect_predictions *p, double conf, struct check_out *o)
{
    int64_t below = 0, first = -1;
    for (int64_t i = 0; i < p->m; i++)
        if ((double)p->scores[i] < conf - 1e-6 && !below++)
            first = i;
    if (!below)
        return check_set(o, CHECK_PASS, NULL, "every score is at least the confidence threshold %g", conf);
    return check_set(o, CHECK_FAIL, KB_DET_CONF,
                     "%lld of %lld detections score below the confidence threshold %g the run says it used "
                     "(detection %lld: %g): filter with scores >= conf after NMS, or report the threshold you used",
                     (long long)below, (long long)p->m, conf, (long long)first, (double)p->scores[first]);
}

static int claimed(const json_t *mm, const char *who, const char *key, double *out)
{
    const json_t *v = json_object_get(json_object_get(mm, who), key);
    if (!json_is_number(v))
        return 0;
    *out = json_number_value(v);
    return 1;
}

enum check_status det_check_map(const struct detect_predictions *p, const struct det_boxes *truth, int64_t k,
                                const json_t *model_metrics, struct check_out *o)
{
    return det_check_map_ex(p, truth, k, model_metrics, o, NULL);
}

enum check_status det_check_map_ex(const struct detect_predictions *p, const struct det_boxes *truth, int64_t k,
                                   const json_t *model_metrics, struct check_out *o, double *map50)
{
    double c_ap, u_map;
    if (!claimed(model_metrics, "coco", "AP", &c_ap) || !claimed(model_metrics, "ultralytics", "mAP50-95", &u_map))
        return check_set(o, CHECK_FAIL, KB_DET_METRICS,
                         "metrics.json has no numeric coco.AP and ultralytics.mAP50-95 for this model: write both "
                         "(lab writes them; docs/submission-format.md, \"detect\")");
    /* Ultralytics keeps at most max_det 300 per image; far more would make
     * the per-image IoU matrices of an untrusted file large */
    int64_t *per = calloc((size_t)(p->n ? p->n : 1), sizeof *per), worst = 0, at = 0;
    if (!per)
        return check_set(o, CHECK_ERROR, NULL, "out of memory");
    for (int64_t i = 0; i < p->m; i++)
        if (++per[p->image_index[i]] > worst)
            worst = per[p->image_index[i]], at = p->image_index[i];
    free(per);
    if (worst > MAP_MAX_PER_IMAGE)
        return check_set(o, CHECK_FAIL, KB_DET_DUPLICATES,
                         "image %lld has %lld detections (at most %d are evaluated): run NMS and keep max_det 300",
                         (long long)at, (long long)worst, MAP_MAX_PER_IMAGE);
    struct det_boxes pred = detect_predictions_boxes(p);
    struct coco_result c;
    struct ultra_result u;
    if (coco_evaluate(truth, &pred, p->n, k, &c) != LAB_OK)
        return check_set(o, CHECK_FAIL, KB_DET_METRICS, "the predictions cannot be evaluated: %s", lab_err_message());
    if (ultra_evaluate(truth, &pred, p->n, k, &u) != LAB_OK) {
        coco_result_free(&c);
        return check_set(o, CHECK_FAIL, KB_DET_METRICS, "the predictions cannot be evaluated: %s", lab_err_message());
    }
    double ca = c.ap, um = u.map;
    if (map50)
        *map50 = u.map50;
    coco_result_free(&c);
    ultra_result_free(&u);
    if (fabs(ca - c_ap) > MAP_TOL || fabs(um - u_map) > MAP_TOL)
        return check_set(o, CHECK_FAIL, KB_DET_METRICS,
                         "metrics.json reports COCO AP %.4f and Ultralytics mAP50-95 %.4f; recomputed mAP from the "
                         "predictions against the grader's ground truth: %.4f and %.4f (tolerance %g)",
                         c_ap, u_map, ca, um, MAP_TOL);
    return check_set(o, CHECK_PASS, NULL,
                     "recomputed mAP agrees with metrics.json: COCO AP %.4f, Ultralytics mAP50-95 %.4f", ca, um);
}
