#include "labs/2.2.6-segment-anything/amg.h"

#include "base/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int sam_amg_crop_boxes(int h, int w, int n_layers, double overlap_ratio, int (*boxes)[4], int *layers, int *n)
{
    if (h < 1 || w < 1 || n_layers < 0 || n_layers > 4 || !(overlap_ratio >= 0 && overlap_ratio < 1))
        return lab_err(LAB_EUSAGE, "use crop_n_layers 0..4 and a crop overlap ratio in [0, 1)",
                       "crop boxes for a %dx%d image with %d layers, overlap %g", h, w, n_layers, overlap_ratio);
    int k = 0, short_side = h < w ? h : w;
    boxes[k][0] = 0, boxes[k][1] = 0, boxes[k][2] = w, boxes[k][3] = h;
    layers[k++] = 0;
    for (int l = 0; l < n_layers; l++) {
        int per = 1 << (l + 1);
        int overlap = (int)(overlap_ratio * short_side * (2.0 / per));
        int cw = (int)ceil((double)(overlap * (per - 1) + w) / per), ch = (int)ceil((double)(overlap * (per - 1) + h) / per);
        for (int i = 0; i < per; i++)     /* x0-major, as itertools.product(x0s, y0s) */
            for (int j = 0; j < per; j++) {
                int x0 = (cw - overlap) * i, y0 = (ch - overlap) * j;
                boxes[k][0] = x0;
                boxes[k][1] = y0;
                boxes[k][2] = x0 + cw < w ? x0 + cw : w;
                boxes[k][3] = y0 + ch < h ? y0 + ch : h;
                layers[k++] = l + 1;
            }
    }
    *n = k;
    return LAB_OK;
}

int sam_amg_point_grid(int n, double *pts)
{
    if (n < 1)
        return lab_err(LAB_EUSAGE, "use points_per_side >= 1", "a point grid of side %d", n);
    double offset = 1.0 / (2 * n), start = offset, stop = 1 - offset;
    double *side = malloc(sizeof *side * (size_t)n);
    if (!side)
        return lab_err(LAB_EINTERNAL, NULL, "out of memory for a point grid");
    /* np.linspace: i * step + start, the last one exactly stop */
    double step = n > 1 ? (stop - start) / (n - 1) : 0;
    for (int i = 0; i < n; i++)
        side[i] = n > 1 && i == n - 1 ? stop : (double)i * step + start;
    for (int k = 0; k < n * n; k++) {
        pts[2 * k] = side[k % n];
        pts[2 * k + 1] = side[k / n];
    }
    free(side);
    return LAB_OK;
}

int sam_amg_layer_side(int n_per_side, int layer, int scale_per_layer)
{
    double s = 1;
    for (int i = 0; i < layer; i++)
        s *= scale_per_layer;
    return (int)(n_per_side / s);
}

float sam_amg_stability(const float *logits, size_t n, float threshold, float offset)
{
    long inner = 0, outer = 0;
    for (size_t i = 0; i < n; i++) {
        inner += logits[i] > threshold + offset;
        outer += logits[i] > threshold - offset;
    }
    return (float)inner / (float)outer; /* NaN for 0 / 0, as upstream */
}

void sam_amg_mask_box(const uint8_t *mask, int h, int w, int64_t box[4])
{
    int x0 = w, y0 = h, x1 = -1, y1 = -1;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            if (mask[(size_t)y * w + x]) {
                x0 = x < x0 ? x : x0;
                y0 = y < y0 ? y : y0;
                x1 = x > x1 ? x : x1;
                y1 = y > y1 ? y : y1;
            }
    if (x1 < 0)
        x0 = y0 = x1 = y1 = 0;
    box[0] = x0, box[1] = y0, box[2] = x1, box[3] = y1;
}

int sam_amg_rle_encode(const uint8_t *mask, int h, int w, int64_t **counts, size_t *n)
{
    size_t total = (size_t)h * w, cap = 16, k = 0;
    int64_t *c = malloc(sizeof *c * cap);
    if (!c)
        return lab_err(LAB_EINTERNAL, NULL, "out of memory for an RLE");
    int cur = 0;
    int64_t run = 0;
    for (size_t i = 0; i < total; i++) {
        size_t x = i / (size_t)h, y = i % (size_t)h; /* column-major */
        int v = mask[y * (size_t)w + x] != 0;
        if (v != cur) {
            if (k + 1 >= cap) {
                int64_t *d = realloc(c, sizeof *c * (cap *= 2));
                if (!d) {
                    free(c);
                    return lab_err(LAB_EINTERNAL, NULL, "out of memory for an RLE");
                }
                c = d;
            }
            c[k++] = run;
            run = 0;
            cur = v;
        }
        run++;
    }
    c[k++] = run;
    *counts = c;
    *n = k;
    return LAB_OK;
}

int sam_amg_rle_decode(const int64_t *counts, size_t n, int h, int w, uint8_t *mask)
{
    size_t total = (size_t)h * w, pos = 0;
    for (size_t i = 0; i < n; i++) {
        if (counts[i] < 0 || (size_t)counts[i] > total - pos)
            return lab_err(LAB_EUSAGE, NULL, "RLE runs overrun a %dx%d mask", h, w);
        for (int64_t j = 0; j < counts[i]; j++, pos++) {
            size_t x = pos / (size_t)h, y = pos % (size_t)h;
            mask[y * (size_t)w + x] = (uint8_t)(i % 2);
        }
    }
    if (pos != total)
        return lab_err(LAB_EUSAGE, NULL, "RLE runs cover %zu of %zu pixels", pos, total);
    return LAB_OK;
}

static const float *nms_scores;
static int by_score(const void *a, const void *b)
{
    float sa = nms_scores[*(const size_t *)a], sb = nms_scores[*(const size_t *)b];
    if (sa != sb)
        return sa < sb ? 1 : -1;
    return *(const size_t *)a < *(const size_t *)b ? -1 : *(const size_t *)a > *(const size_t *)b;
}

int sam_amg_box_nms(const float (*boxes)[4], const float *scores, size_t n, float iou_thr, size_t *keep,
                    size_t *n_keep)
{
    size_t *order = malloc(sizeof *order * (n ? n : 1));
    uint8_t *gone = calloc(n ? n : 1, 1);
    if (!order || !gone) {
        free(order);
        free(gone);
        return lab_err(LAB_EINTERNAL, NULL, "out of memory for NMS");
    }
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    nms_scores = scores;
    qsort(order, n, sizeof *order, by_score);
    size_t k = 0;
    for (size_t a = 0; a < n; a++) {
        size_t i = order[a];
        if (gone[i])
            continue;
        keep[k++] = i;
        float ai = (boxes[i][2] - boxes[i][0]) * (boxes[i][3] - boxes[i][1]);
        for (size_t b = a + 1; b < n; b++) {
            size_t j = order[b];
            if (gone[j])
                continue;
            float xx1 = fmaxf(boxes[i][0], boxes[j][0]), yy1 = fmaxf(boxes[i][1], boxes[j][1]);
            float xx2 = fminf(boxes[i][2], boxes[j][2]), yy2 = fminf(boxes[i][3], boxes[j][3]);
            float inter = fmaxf(0, xx2 - xx1) * fmaxf(0, yy2 - yy1);
            float aj = (boxes[j][2] - boxes[j][0]) * (boxes[j][3] - boxes[j][1]);
            if (inter / (ai + aj - inter) > iou_thr)
                gone[j] = 1;
        }
    }
    *n_keep = k;
    free(order);
    free(gone);
    return LAB_OK;
}

/* 8-connected labels of the set pixels of `work` (1..count), 0 elsewhere */
static int label8(const uint8_t *work, int h, int w, int32_t *lab, long **sizes, int *count)
{
    size_t total = (size_t)h * w, cap = 16;
    size_t *stack = malloc(sizeof *stack * (total ? total : 1));
    long *sz = malloc(sizeof *sz * cap);
    if (!stack || !sz) {
        free(stack);
        free(sz);
        return lab_err(LAB_EINTERNAL, NULL, "out of memory for connected components");
    }
    memset(lab, 0, sizeof *lab * total);
    int n = 0;
    for (size_t s = 0; s < total; s++) {
        if (!work[s] || lab[s])
            continue;
        if ((size_t)n + 2 >= cap) {
            long *d = realloc(sz, sizeof *sz * (cap *= 2));
            if (!d) {
                free(stack);
                free(sz);
                return lab_err(LAB_EINTERNAL, NULL, "out of memory for connected components");
            }
            sz = d;
        }
        n++;
        sz[n] = 0;
        size_t top = 0;
        stack[top++] = s;
        lab[s] = n;
        while (top) {
            size_t p = stack[--top];
            sz[n]++;
            int y = (int)(p / (size_t)w), x = (int)(p % (size_t)w);
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    int yy = y + dy, xx = x + dx;
                    if (yy < 0 || yy >= h || xx < 0 || xx >= w)
                        continue;
                    size_t q = (size_t)yy * w + xx;
                    if (work[q] && !lab[q]) {
                        lab[q] = n;
                        stack[top++] = q;
                    }
                }
        }
    }
    free(stack);
    *sizes = sz;
    *count = n;
    return LAB_OK;
}

int sam_amg_remove_small_regions(uint8_t *mask, int h, int w, long area_thresh, int mode, int *changed)
{
    size_t total = (size_t)h * w;
    *changed = 0;
    uint8_t *work = malloc(total ? total : 1);
    int32_t *lab = malloc(sizeof *lab * (total ? total : 1));
    if (!work || !lab) {
        free(work);
        free(lab);
        return lab_err(LAB_EINTERNAL, NULL, "out of memory for connected components");
    }
    for (size_t i = 0; i < total; i++)
        work[i] = (uint8_t)((mode == SAM_AMG_HOLES) ^ (mask[i] != 0));
    long *sizes = NULL;
    int n = 0, rc = label8(work, h, w, lab, &sizes, &n);
    if (!rc) {
        uint8_t *fill = calloc((size_t)n + 1, 1); /* labels that end up in the mask */
        int small = 0, largest = 0;
        for (int i = 1; i <= n; i++) {
            small += sizes[i] < area_thresh;
            if (!largest || sizes[i] > sizes[largest])
                largest = i;
        }
        if (!fill)
            rc = lab_err(LAB_EINTERNAL, NULL, "out of memory for connected components");
        else if (small) {
            if (mode == SAM_AMG_HOLES) {
                fill[0] = 1;
                for (int i = 1; i <= n; i++)
                    fill[i] = sizes[i] < area_thresh;
            } else {
                int any = 0;
                for (int i = 1; i <= n; i++)
                    any |= fill[i] = sizes[i] >= area_thresh;
                if (!any)
                    fill[largest] = 1;
            }
            for (size_t i = 0; i < total; i++)
                mask[i] = fill[lab[i]];
            *changed = 1;
        }
        free(fill);
    }
    free(sizes);
    free(work);
    free(lab);
    return rc;
}
