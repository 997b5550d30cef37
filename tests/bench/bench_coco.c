/* The grader's COCO evaluation at COCO val size: 5,000 images, 100
 * detections each over 80 classes, about 7 ground-truth boxes per image,
 * detections jittered copies of the ground truth plus clutter. Prints the
 * median wall time of N runs of coco_evaluate and of ultra_evaluate.
 * usage: bench_coco [N] */
#include "labs/tasks/coco_eval.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { IMAGES = 5000, DETS = 100, CLASSES = 80 };

static uint64_t state = 0x9E3779B97F4A7C15ull;
static double uniform(void)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return (double)(state >> 11) / 9007199254740992.0;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 5;
    if (runs < 1 || runs > 100)
        runs = 5;
    size_t ng = 0, np = (size_t)IMAGES * DETS, cap = (size_t)IMAGES * 16;
    float *gb = malloc(cap * 4 * sizeof *gb), *pb = malloc(np * 4 * sizeof *pb), *ps = malloc(np * sizeof *ps);
    int64_t *gc = malloc(cap * sizeof *gc), *gi = malloc(cap * sizeof *gi);
    int64_t *pc = malloc(np * sizeof *pc), *pi = malloc(np * sizeof *pi);
    if (!gb || !pb || !ps || !gc || !gi || !pc || !pi)
        return 1;
    size_t p = 0;
    for (int im = 0; im < IMAGES; im++) {
        size_t first = ng, n = 1 + (size_t)(uniform() * 13);
        for (size_t j = 0; j < n; j++, ng++) {
            float x = (float)(uniform() * 560), y = (float)(uniform() * 560);
            float w = (float)(8 + uniform() * 200), h = (float)(8 + uniform() * 200);
            gb[ng * 4 + 0] = x, gb[ng * 4 + 1] = y, gb[ng * 4 + 2] = x + w, gb[ng * 4 + 3] = y + h;
            gc[ng] = (int64_t)(uniform() * CLASSES);
            gi[ng] = im;
        }
        for (int d = 0; d < DETS; d++, p++) {
            int copy = d < 3 * (int)n;
            size_t g = first + (size_t)d % n;
            for (int c = 0; c < 4; c++)
                pb[p * 4 + c] = copy ? gb[g * 4 + c] + (float)((uniform() - 0.5) * 12)
                                     : (float)(uniform() * 600) + (c >= 2 ? 20.0f : 0.0f);
            if (pb[p * 4 + 2] <= pb[p * 4 + 0])
                pb[p * 4 + 2] = pb[p * 4 + 0] + 1;
            if (pb[p * 4 + 3] <= pb[p * 4 + 1])
                pb[p * 4 + 3] = pb[p * 4 + 1] + 1;
            pc[p] = copy && uniform() < 0.9 ? gc[g] : (int64_t)(uniform() * CLASSES);
            ps[p] = (float)(copy ? 0.3 + 0.7 * uniform() : 0.001 + 0.5 * uniform());
            pi[p] = im;
        }
    }
    struct det_boxes gt = {ng, gb, NULL, gc, gi}, pred = {np, pb, ps, pc, pi};
    double tc[100], tu[100];
    struct coco_result cr;
    struct ultra_result ur;
    for (int r = 0; r < runs; r++) {
        double t0 = now();
        if (coco_evaluate(&gt, &pred, IMAGES, CLASSES, &cr) != 0)
            return 1;
        double t1 = now();
        if (ultra_evaluate(&gt, &pred, IMAGES, CLASSES, &ur) != 0)
            return 1;
        double t2 = now();
        tc[r] = t1 - t0;
        tu[r] = t2 - t1;
        if (r + 1 < runs) {
            coco_result_free(&cr);
            ultra_result_free(&ur);
        }
    }
    qsort(tc, (size_t)runs, sizeof *tc, cmp);
    qsort(tu, (size_t)runs, sizeof *tu, cmp);
    printf("%d images, %zu detections, %zu ground-truth boxes, %d classes; median of %d runs\n", IMAGES, np, ng,
           CLASSES, runs);
    printf("coco_evaluate (pycocotools' AP): %.3f s  (AP %.4f, AP50 %.4f)\n", tc[runs / 2], cr.ap, cr.ap50);
    printf("ultra_evaluate (Ultralytics' mAP, confusion matrix): %.3f s  (mAP50 %.4f, mAP50-95 %.4f)\n",
           tu[runs / 2], ur.map50, ur.map);
    coco_result_free(&cr);
    ultra_result_free(&ur);
    return 0;
}
