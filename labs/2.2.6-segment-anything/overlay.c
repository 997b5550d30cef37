#include "labs/2.2.6-segment-anything/overlay.h"

#include <string.h>

static void paint(struct ds_image *t, int x, int y, const uint8_t *c)
{
    if (x >= 0 && y >= 0 && x < t->w && y < t->h)
        memcpy(t->px + ((size_t)y * t->w + x) * 3, c, 3);
}

void sam_overlay_tint(struct ds_image *t, const uint8_t *mask, const uint8_t c[3])
{
    size_t n = (size_t)t->w * t->h;
    for (size_t i = 0; i < n; i++)
        for (int k = 0; mask[i] && k < 3; k++)
            t->px[i * 3 + k] = (uint8_t)((t->px[i * 3 + k] + c[k]) / 2);
}

void sam_overlay_box(struct ds_image *t, int x1, int y1, int x2, int y2, const uint8_t c[3])
{
    x2--, y2--;
    for (int x = x1; x <= x2; x++)
        paint(t, x, y1, c), paint(t, x, y2, c);
    for (int y = y1; y <= y2; y++)
        paint(t, x1, y, c), paint(t, x2, y, c);
}

void sam_overlay_cross(struct ds_image *t, int x, int y, int arm, const uint8_t c[3])
{
    for (int d = -arm; d <= arm; d++) {
        paint(t, x + d, y, c);
        paint(t, x, y + d, c);
    }
}
