/* YOLOv8 eval forward through labs/models/yolov8.h, and decode-free NMS on
 * its output (labs/2.2.3-yolo-detection/infer.h).
 * Usage: yolo_bench SCALE IMGSZ BATCH RUNS THREADS
 * prints "<forward ms median> <nms ms median per image>". */
#include "labs/2.2.3-yolo-detection/infer.h"
#include "labs/models/yolov8.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: yolo_bench SCALE IMGSZ BATCH RUNS THREADS\n");
        return 2;
    }
    int imgsz = atoi(argv[2]), batch = atoi(argv[3]), runs = atoi(argv[4]);
    struct model *m;
    if (ts_set_num_threads(atoi(argv[5])) || ts_manual_seed(0) || yolov8_create(argv[1][0], 80, &m)) {
        fprintf(stderr, "setup failed: %s\n", ts_last_error());
        return 1;
    }
    int prev = ts_no_grad_push();
    int64_t shape[4] = {batch, 3, imgsz, imgsz};
    double *fw = calloc((size_t)runs, sizeof *fw), *nm = calloc((size_t)runs, sizeof *nm);
    struct yolo_det *dets = malloc(sizeof *dets * 300);
    for (int r = -1; r < runs; r++) { /* r = -1 warms up */
        ts_scope_begin();
        ts_tensor *x, *y;
        if (ts_rand(&x, 4, shape, TS_F32, TS_CPU))
            return 1;
        double t0 = now();
        if (yolov8_forward(m, x, 0, &y, NULL, NULL))
            return 1;
        double t1 = now();
        int64_t a = ts_size(y, 2);
        float *pred = malloc(sizeof *pred * 84 * (size_t)a);
        ts_tensor *y0;
        if (ts_narrow(&y0, y, 0, 0, 1) || ts_to_host(y0, TS_F32, pred, sizeof *pred * 84 * (size_t)a))
            return 1;
        /* a low threshold so NMS has work: the random init scores about 1e-5 */
        struct yolo_nms_opts o = {.conf = 1e-6, .iou = 0.7, .max_det = 300};
        int n;
        double t2 = now();
        if (yolo_nms(pred, 80, a, &o, dets, &n))
            return 1;
        double t3 = now();
        free(pred);
        ts_scope_end();
        if (r >= 0) {
            fw[r] = (t1 - t0) * 1e3;
            nm[r] = (t3 - t2) * 1e3;
        }
    }
    qsort(fw, (size_t)runs, sizeof *fw, cmp);
    qsort(nm, (size_t)runs, sizeof *nm, cmp);
    printf("%.2f %.3f\n", fw[runs / 2], nm[runs / 2]);
    ts_grad_mode_pop(prev);
    model_free(m);
    return 0;
}
