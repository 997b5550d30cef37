#include "labs/tasks/prompt_study.h"

#include "base/error.h"
#include "labs/models/nn.h"

#include <string.h>

static void fill_rect(struct ds_image *im, int x1, int y1, int x2, int y2, const uint8_t c[3])
{
    for (int y = y1; y <= y2 && y < im->h; y++)
        for (int x = x1; x <= x2 && x < im->w; x++)
            memcpy(im->px + ((size_t)y * im->w + x) * 3, c, 3);
}

int sam_placeholder(struct ds_image *out)
{
    const int h = 600, w = 800;
    LAB_TRY(ds_image_alloc(out, w, h, 3));
    for (int i = 0; i < h; i++) {
        /* numpy: int(255 * i / h) and int(255 * (1 - i / h)) in doubles */
        uint8_t r = (uint8_t)(int)(255.0 * i / h), b = (uint8_t)(int)(255.0 * (1.0 - (double)i / h));
        for (int x = 0; x < w; x++) {
            uint8_t *p = out->px + ((size_t)i * w + x) * 3;
            p[0] = r, p[1] = 128, p[2] = b;
        }
    }
    static const uint8_t white[3] = {255, 255, 255}, green[3] = {0, 255, 0}, magenta[3] = {255, 0, 255};
    fill_rect(out, 100, 100, 300, 300, white);
    for (int y = 200; y <= 400; y++)
        for (int x = 400; x <= 600; x++)
            if ((x - 500) * (x - 500) + (y - 300) * (y - 300) <= 100 * 100)
                memcpy(out->px + ((size_t)y * w + x) * 3, green, 3);
    fill_rect(out, 400, 400, 700, 550, magenta);
    return LAB_OK;
}

void sam_study_prompts(int w, int h, struct sam_study_prompt out[SAM_STUDY_N])
{
    memset(out, 0, sizeof *out * SAM_STUDY_N);
    out[0] = (struct sam_study_prompt){.kind = SAM_STUDY_POINT, .name = "point", .n_points = 1,
                                       .points = {w / 2, h / 2}, .labels = {1}, .multimask = 1};
    out[1] = (struct sam_study_prompt){.kind = SAM_STUDY_BOX, .name = "box", .has_box = 1,
                                       .box = {w / 4, h / 4, 3 * w / 4, 3 * h / 4}};
    out[2] = (struct sam_study_prompt){.kind = SAM_STUDY_COMBO, .name = "combination", .n_points = 3,
                                       .points = {w / 2, h / 2, 50, 50, w - 50, h - 50}, .labels = {1, 0, 0}};
}

int sam_study_masks(const struct sam_study_prompt *p) { return p->multimask ? 3 : 1; }

void sam_study_row(const struct sam_study_prompt *p, float row[4])
{
    if (p->has_box && !p->n_points) {
        for (int k = 0; k < 4; k++)
            row[k] = (float)p->box[k];
        return;
    }
    row[0] = (float)p->points[0], row[1] = (float)p->points[1], row[2] = 1, row[3] = 0;
}
