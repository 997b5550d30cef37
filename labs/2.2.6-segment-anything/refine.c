/* The course's mask tools (labs/2.2.6-segment-anything/refine.h). */
#include "labs/2.2.6-segment-anything/refine.h"

#include "base/error.h"

#include <stdlib.h>
#include <string.h>

/* OpenCV's getStructuringElement(MORPH_ELLIPSE, (5, 5)) */
static const uint8_t ELLIPSE[5][5] = {
    {0, 0, 1, 0, 0}, {1, 1, 1, 1, 1}, {1, 1, 1, 1, 1}, {1, 1, 1, 1, 1}, {0, 0, 1, 0, 0}};

/* Breadth-first over the 4-connected pixels equal to `value` from the
 * seeds queue[0..top): every pixel reached is marked in seen and appended;
 * returns the queue's new length (queue[0..n) are the pixels reached). */
static size_t flood(const uint8_t *m, int h, int w, uint8_t value, uint8_t *seen, int *queue, size_t top)
{
    for (size_t n = 0; n < top; n++) {
        int p = queue[n], y = p / w, x = p % w;
        int nb[4][2] = {{y - 1, x}, {y + 1, x}, {y, x - 1}, {y, x + 1}};
        for (int k = 0; k < 4; k++) {
            int ny = nb[k][0], nx = nb[k][1];
            if (ny < 0 || nx < 0 || ny >= h || nx >= w)
                continue;
            size_t q = (size_t)ny * w + nx;
            if (!seen[q] && m[q] == value)
                seen[q] = 1, queue[top++] = (int)q;
        }
    }
    return top;
}

/* Object components under min_area pixels erased. */
static void erase_small(uint8_t *m, int h, int w, long min_area, int *queue, uint8_t *seen)
{
    size_t px = (size_t)h * w;
    memset(seen, 0, px);
    for (size_t s = 0; s < px; s++) {
        if (!m[s] || seen[s])
            continue;
        seen[s] = 1, queue[0] = (int)s;
        size_t n = flood(m, h, w, 1, seen, queue, 1);
        if ((long)n < min_area)
            for (size_t i = 0; i < n; i++)
                m[queue[i]] = 0;
    }
}

/* Background the border cannot reach (4-connected) becomes object. */
static void fill_holes(uint8_t *m, int h, int w, int *queue, uint8_t *seen)
{
    size_t px = (size_t)h * w, top = 0;
    memset(seen, 0, px);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t p = (size_t)y * w + x;
            if ((y == 0 || x == 0 || y == h - 1 || x == w - 1) && !m[p] && !seen[p])
                seen[p] = 1, queue[top++] = (int)p;
        }
    flood(m, h, w, 0, seen, queue, top);
    for (size_t p = 0; p < px; p++)
        if (!m[p] && !seen[p])
            m[p] = 1;
}

/* dilate (max) or erode (min) with the ellipse; outside pixels are left out */
static void morph(const uint8_t *in, uint8_t *out, int h, int w, int dilate)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int v = dilate ? 0 : 1;
            for (int dy = -2; dy <= 2; dy++)
                for (int dx = -2; dx <= 2; dx++) {
                    int ny = y + dy, nx = x + dx;
                    if (!ELLIPSE[dy + 2][dx + 2] || ny < 0 || nx < 0 || ny >= h || nx >= w)
                        continue;
                    int m = in[(size_t)ny * w + nx] != 0;
                    v = dilate ? (v | m) : (v & m);
                }
            out[(size_t)y * w + x] = (uint8_t)v;
        }
}

int sam_refine_mask(uint8_t *mask, int h, int w, long min_area)
{
    size_t px = (size_t)h * w;
    int *stack = malloc(sizeof(int) * px);
    uint8_t *seen = malloc(px), *tmp = malloc(px);
    if (!stack || !seen || !tmp) {
        free(stack), free(seen), free(tmp);
        return lab_err(LAB_EINTERNAL, NULL, "out of memory refining a %dx%d mask", w, h);
    }
    for (size_t p = 0; p < px; p++)
        mask[p] = mask[p] != 0;
    erase_small(mask, h, w, min_area, stack, seen);
    fill_holes(mask, h, w, stack, seen);
    morph(mask, tmp, h, w, 1);
    morph(tmp, mask, h, w, 0);
    free(stack), free(seen), free(tmp);
    return LAB_OK;
}

int sam_mask_by_area(const uint8_t *masks, int k, size_t px, int largest)
{
    int best = 0;
    size_t best_area = 0;
    for (int i = 0; i < k; i++) {
        size_t a = 0;
        for (size_t p = 0; p < px; p++)
            a += masks[(size_t)i * px + p] != 0;
        if (i == 0 || (largest ? a > best_area : a < best_area))
            best = i, best_area = a;
    }
    return best;
}

int sam_current_mask(const uint8_t *masks, const float *iou, int k, size_t px, int grow, int shrink)
{
    if (grow || shrink)
        return sam_mask_by_area(masks, k, px, grow);
    int best = 0;
    for (int i = 1; i < k; i++)
        if (iou[i] > iou[best])
            best = i;
    return best;
}
