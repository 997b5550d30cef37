#include "grader/detect_match.h"

#include "base/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static float iou_xyxy(const float *a, const float *b)
{
    float w = fminf(a[2], b[2]) - fmaxf(a[0], b[0]), h = fminf(a[3], b[3]) - fmaxf(a[1], b[1]);
    if (!(w > 0 && h > 0))
        return 0;
    float inter = w * h, u = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
    return u > 0 ? inter / u : 0;
}

/* Rows of one side grouped by image, each image's by decreasing score
 * (ties and NaN in row order). */
struct side {
    const struct detect_predictions *p;
    int64_t *rows, *start; /* [m]; [n + 1] */
};

static const struct detect_predictions *sort_p;
static int by_image_score(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    int64_t ia = sort_p->image_index[a], ib = sort_p->image_index[b];
    if (ia != ib)
        return ia < ib ? -1 : 1;
    float sa = sort_p->scores[a], sb = sort_p->scores[b];
    if (sa > sb || (sa == sa && sb != sb))
        return -1;
    if (sb > sa || (sb == sb && sa != sa))
        return 1;
    return (a > b) - (a < b);
}

static int side_open(const struct detect_predictions *p, struct side *s)
{
    s->p = p;
    s->rows = malloc(sizeof *s->rows * (size_t)(p->m ? p->m : 1));
    s->start = calloc((size_t)p->n + 1, sizeof *s->start);
    if (!s->rows || !s->start)
        return lab_err(LAB_EINTERNAL, "free some memory", "out of memory");
    for (int64_t i = 0; i < p->m; i++)
        s->rows[i] = i;
    sort_p = p;
    qsort(s->rows, (size_t)p->m, sizeof *s->rows, by_image_score);
    for (int64_t i = 0; i < p->m; i++)
        s->start[p->image_index[i] + 1]++;
    for (int64_t k = 0; k < p->n; k++)
        s->start[k + 1] += s->start[k];
    return LAB_OK;
}

static void side_close(struct side *s)
{
    free(s->rows);
    free(s->start);
}

/* Looks for image `im`'s top detections of a in b, each b row matched at
 * most once (used: scratch of b's rows). */
static void match_image(const struct side *a, const struct side *b, int64_t im, const struct det_match_tol *t,
                        int side, char *used, struct det_match_stats *st)
{
    int64_t a0 = a->start[im], a1 = a->start[im + 1], b0 = b->start[im], b1 = b->start[im + 1];
    if (a1 - a0 > t->top_k)
        a1 = a0 + t->top_k;
    memset(used, 0, (size_t)(b1 - b0));
    for (int64_t i = a0; i < a1; i++) {
        int64_t r = a->rows[i], best = -1;
        const float *box = a->p->boxes + r * 4;
        float near = 0, best_iou = 0;
        for (int64_t j = b0; j < b1; j++) {
            int64_t q = b->rows[j];
            if (b->p->classes[q] != a->p->classes[r])
                continue;
            float v = iou_xyxy(box, b->p->boxes + q * 4);
            near = fmaxf(near, v);
            if (used[j - b0] || !(v >= t->min_iou) ||
                !(fabs((double)a->p->scores[r] - (double)b->p->scores[q]) <= t->score_tol) || v <= best_iou)
                continue;
            best = j, best_iou = v;
        }
        st->looked[side]++;
        if (best >= 0) {
            used[best - b0] = 1;
            st->found[side]++;
        } else if (st->miss_image < 0) {
            st->miss_side = side, st->miss_image = im, st->miss_class = a->p->classes[r];
            st->miss_score = a->p->scores[r], st->near_iou = near;
            memcpy(st->miss_box, box, sizeof st->miss_box);
        }
    }
}

int det_match(const struct detect_predictions *ours, const struct detect_predictions *theirs,
              const struct det_match_tol *tol, struct det_match_stats *out)
{
    memset(out, 0, sizeof *out);
    out->miss_image = -1;
    if (ours->n != theirs->n)
        return lab_err(LAB_EUSAGE, NULL, "the detections cover %lld and %lld images", (long long)ours->n,
                       (long long)theirs->n);
    struct side a = {0}, b = {0};
    int rc = side_open(ours, &a);
    if (!rc)
        rc = side_open(theirs, &b);
    int64_t most = ours->m > theirs->m ? ours->m : theirs->m;
    char *used = rc ? NULL : malloc((size_t)(most ? most : 1));
    if (!rc && !used)
        rc = lab_err(LAB_EINTERNAL, "free some memory", "out of memory");
    for (int64_t im = 0; !rc && im < ours->n; im++) {
        match_image(&a, &b, im, tol, 0, used, out);
        match_image(&b, &a, im, tol, 1, used, out);
    }
    free(used);
    side_close(&a);
    side_close(&b);
    return rc;
}

double det_match_share(const struct det_match_stats *s)
{
    int64_t looked = s->looked[0] + s->looked[1];
    return looked ? (double)(s->found[0] + s->found[1]) / (double)looked : 1.0;
}
