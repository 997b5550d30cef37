#include "labs/2.2.3-yolo-detection/study.h"

#include "base/error.h"

#include <stdio.h>
#include <stdlib.h>

int yolo_study_init(struct yolo_study *s, const double *confs, int n_rows, int n_images, int nc)
{
    *s = (struct yolo_study){.n_rows = n_rows, .n_images = n_images, .nc = nc};
    if (n_rows < 1 || n_images < 1 || nc < 1)
        return lab_err(LAB_EUSAGE, "give at least one threshold, one image and one class",
                       "a threshold study of %d thresholds, %d images, %d classes", n_rows, n_images, nc);
    s->rows = calloc((size_t)n_rows, sizeof *s->rows);
    if (!s->rows)
        return lab_err(LAB_EINTERNAL, "free some memory", "out of memory");
    for (int i = 0; i < n_rows; i++) {
        s->rows[i].conf = confs[i];
        s->rows[i].per_image = calloc((size_t)n_images, sizeof(int64_t));
        s->rows[i].per_class = calloc((size_t)nc, sizeof(int64_t));
        if (!s->rows[i].per_image || !s->rows[i].per_class) {
            yolo_study_free(s);
            return lab_err(LAB_EINTERNAL, "free some memory", "out of memory");
        }
    }
    return LAB_OK;
}

void yolo_study_free(struct yolo_study *s)
{
    for (int i = 0; s->rows && i < s->n_rows; i++) {
        free(s->rows[i].per_image);
        free(s->rows[i].per_class);
    }
    free(s->rows);
    s->rows = NULL;
}

int yolo_study_add(struct yolo_study *s, int row, int image, const struct yolo_det *d, int n)
{
    if (row < 0 || row >= s->n_rows || image < 0 || image >= s->n_images || n < 0)
        return lab_err(LAB_EINTERNAL, NULL, "threshold study: row %d image %d out of range", row, image);
    for (int i = 0; i < n; i++)
        if (d[i].cls < 0 || d[i].cls >= s->nc)
            return lab_err(LAB_EINTERNAL, NULL, "threshold study: class %d of %d", d[i].cls, s->nc);
    struct yolo_study_row *r = &s->rows[row];
    for (int i = 0; i < n; i++)
        if (d[i].conf > r->conf) { /* as yolo_nms keeps a box: score > conf */
            r->per_class[d[i].cls]++;
            r->per_image[image]++;
            r->total++;
        }
    return LAB_OK;
}

json_t *yolo_study_json(const struct yolo_study *s, const char *const *names)
{
    json_t *rows = json_array();
    for (int i = 0; i < s->n_rows; i++) {
        const struct yolo_study_row *r = &s->rows[i];
        json_t *img = json_array(), *cls = json_array();
        for (int k = 0; k < s->n_images; k++)
            json_array_append_new(img, json_integer(r->per_image[k]));
        /* most frequent first, as the notebook's class distribution; O(nc^2) over 80 classes */
        char *used = calloc((size_t)s->nc, 1);
        for (int done = 0; used && done < s->nc; done++) {
            int best = -1;
            for (int c = 0; c < s->nc; c++)
                if (!used[c] && r->per_class[c] > 0 && (best < 0 || r->per_class[c] > r->per_class[best]))
                    best = c;
            if (best < 0)
                break;
            used[best] = 1;
            char fallback[16];
            snprintf(fallback, sizeof fallback, "class%d", best);
            json_array_append_new(cls, json_pack("{s:i, s:s, s:I}", "class", best, "name",
                                                 names ? names[best] : fallback, "count", (json_int_t)r->per_class[best]));
        }
        free(used);
        json_array_append_new(rows, json_pack("{s:f, s:I, s:o, s:o}", "conf", r->conf, "detections",
                                              (json_int_t)r->total, "per_image", img, "per_class", cls));
    }
    return rows;
}
