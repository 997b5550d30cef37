/* The course's mask tools (labs/2.2.6-segment-anything/refine.h). */
#include "labs/2.2.6-segment-anything/refine.h"

#include "base/error.h"

#include <stdlib.h>
#include <string.h>

/* OpenCV's getStructuringElement(MORPH_ELLIPSE, (5, 5)) */
static const uint8_t ELLIPSE[5][5] = {
    {0, 0, 1, 0, 0}, {1, 1, 1, 1, 1}, {1, 1, 1, 1, 1}, {1, 1, 1, 1, 1}, {0, 0, 1, 0, 0}};

/* The 4-connected components of the pixels equal to `value`, each by a
 * flood fill: those under min_area pixels are flipped to !value; with
 * from_border, instead every such pixel the border cannot reach is. */
static int components(uint8_t *m, int h, int w, uint8_t value, long min_area, int from_border, int *stack,
                      uint8_t *seen)
{
    size_t px = (size_t)h * w;
    memset(seen, 0, px);
    if (from_border) { /* background reachable from the border stays background */
        size_t top = 0;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                if ((y == 0 || x == 0 || y == h - 1 || x == w - 1) && m[(size_t)y * w + x] == value &&
                    !seen[(size_t)y * w + x])
                    seen[(size_t)y * w + x] = 1, stack[top++] = y * w + x;
        while (top) {
            int p = stack[--top], y = p / w, x = p % w;
            int nb[4][2] = {{y - 1, x}, {y + 1, x}, {y, x - 1}, {y, x + 1}};
            for (int k = 0; k < 4; k++) {
                int ny = nb[k][0], nx = nb[k][1];
                if (ny < 0 || nx < 0 || ny >= h || nx >= w)
                    continue;
                size_t q = (size_t)ny * w + nx;
                if (!seen[q] && m[q] == value)
                    seen[q] = 1, stack[top++] = (int)q;
            }
        }
        for (size_t p = 0; p < px; p++)
            if (m[p] == value && !seen[p])
                m[p] = !value;
        return LAB_OK;
    }
    for (size_t s = 0; s < px; s++) {
        if (m[s] != value || seen[s])
            continue;
        size_t top = 0, n = 0;
        seen[s] = 1, stack[top++] = (int)s;
        /* the component's pixels end up in stack[0..n) */
        while (n < top) {
            int p = stack[n++], y = p / w, x = p % w;
            int nb[4][2] = {{y - 1, x}, {y + 1, x}, {y, x - 1}, {y, x + 1}};
            for (int k = 0; k < 4; k++) {
                int ny = nb[k][0], nx = nb[k][1];
                if (ny < 0 || nx < 0 || ny >= h || nx >= w)
                    continue;
                size_t q = (size_t)ny * w + nx;
                if (!seen[q] && m[q] == value)
                    seen[q] = 1, stack[top++] = (int)q;
            }
        }
        if ((long)n < min_area)
            for (size_t i = 0; i < n; i++)
                m[stack[i]] = !value;
    }
    return LAB_OK;
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
    components(mask, h, w, 1, min_area, 0, stack, seen);
    components(mask, h, w, 0, 0, 1, stack, seen);
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
