#include "labs/2.2.3-yolo-detection/bench.h"

#include "base/error.h"
#include "base/progress.h"
#include "datasets/rng.h"
#include "labs/2.2.3-yolo-detection/predict.h"
#include "labs/models/nn.h"
#include "labs/models/yolov8.h"
#include "labs/run.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int yolo_latency_stats(const double *ms, int n, struct yolo_latency *out)
{
    memset(out, 0, sizeof *out);
    if (n < 1)
        return lab_err(LAB_EUSAGE, "time at least one run (bench.runs >= 1)", "no timings");
    double *s = malloc(sizeof *s * (size_t)n);
    if (!s)
        return lab_err(LAB_EINTERNAL, "free some memory", "out of memory");
    memcpy(s, ms, sizeof *s * (size_t)n);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    double sum = 0, sq = 0;
    for (int i = 0; i < n; i++)
        sum += s[i];
    double mean = sum / n;
    for (int i = 0; i < n; i++)
        sq += (s[i] - mean) * (s[i] - mean);
    *out = (struct yolo_latency){.runs = n, .mean_ms = mean, .min_ms = s[0], .max_ms = s[n - 1],
                                 .median_ms = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2,
                                 .std_ms = sqrt(sq / n), .fps = mean > 0 ? 1000.0 / mean : 0};
    free(s);
    return LAB_OK;
}

static int random_image(int size, uint64_t seed, struct ds_image *im)
{
    im->w = im->h = size, im->c = 3;
    im->px = malloc((size_t)size * size * 3);
    if (!im->px)
        return lab_err(LAB_EINTERNAL, "free some memory", "out of memory for a %dx%d image", size, size);
    struct ds_rng r;
    ds_rng_seed(&r, seed, (uint64_t)size, 223);
    for (size_t i = 0; i < (size_t)size * size * 3; i++)
        im->px[i] = (uint8_t)(ds_rng_next(&r) >> 56);
    return LAB_OK;
}

int yolo_bench_latency(struct model *m, ts_device dev, int size, int warmup, int runs, uint64_t seed,
                       const struct yolo_nms_opts *nms, struct yolo_latency *out)
{
    struct ds_image im = {0};
    struct yolo_det *dets = malloc(sizeof *dets * (size_t)nms->max_det);
    double *ms = malloc(sizeof *ms * (size_t)(runs > 0 ? runs : 1));
    int rc = dets && ms ? random_image(size, seed, &im) : lab_err(LAB_EINTERNAL, "free some memory", "out of memory");
    int grad = ts_no_grad_push();
    for (int i = 0; !rc && i < warmup + runs; i++) {
        if (lab_interrupted) {
            rc = lab_err(LAB_EINTERRUPTED, "run it again", "interrupted");
            break;
        }
        int n = 0;
        double t0 = lab_monotonic_s();
        rc = yolo_detect_pixels(m, dev, &im, size, nms, dets, &n);
        if (i >= warmup)
            ms[i - warmup] = (lab_monotonic_s() - t0) * 1000.0;
    }
    ts_grad_mode_pop(grad);
    if (!rc)
        rc = yolo_latency_stats(ms, runs, out);
    free(im.px), free(dets), free(ms);
    return rc;
}

/* One batched predict: letterbox each image into x, forward, NMS each. */
static int batch_call(struct model *m, ts_device dev, const struct ds_image *im, int batch, int size, float *x,
                      float *y, const struct yolo_nms_opts *nms, struct yolo_det *dets)
{
    struct yolo_letterbox lb;
    LAB_TRY(yolo_letterbox_plan(size, size, size, 0, &lb));
    size_t per = (size_t)3 * size * size;
    for (int b = 0; b < batch; b++)
        LAB_TRY(yolo_letterbox_apply(im[b].px, 3, &lb, x + per * (size_t)b));
    int nc = yolov8_num_classes(m), rc = LAB_OK;
    int64_t shape[4] = {batch, 3, size, size}, a = 0;
    for (int l = 0; l < 3; l++)
        a += (int64_t)(size >> (3 + l)) * (size >> (3 + l));
    size_t out = (size_t)(4 + nc) * (size_t)a;
    ts_scope_begin();
    ts_tensor *in = NULL, *yt = NULL;
    if (ts_from_host(&in, x, TS_F32, 4, shape, dev) != TS_OK)
        rc = nn_fail(TS_ETORCH, "uploading a batch");
    if (!rc)
        rc = yolov8_forward(m, in, 0, &yt, NULL, NULL);
    if (!rc && ts_to_host(yt, TS_F32, y, sizeof *y * out * (size_t)batch) != TS_OK)
        rc = nn_fail(TS_ETORCH, "reading the batch's detections");
    ts_scope_end();
    for (int b = 0; !rc && b < batch; b++) {
        int n = 0;
        rc = yolo_nms(y + out * (size_t)b, nc, a, nms, dets, &n);
        if (!rc)
            yolo_scale_boxes(&lb, dets, n);
    }
    return rc;
}

int yolo_bench_batch(struct model *m, ts_device dev, int size, int batch, int warmup, int runs, uint64_t seed,
                     const struct yolo_nms_opts *nms, struct yolo_latency *out, double *images_per_s)
{
    *images_per_s = 0;
    if (batch < 1 || size < 32 || size % 32)
        return lab_err(LAB_EUSAGE, "use batch sizes >= 1 and an input size that is a multiple of 32",
                       "batch %d at %d", batch, size);
    int64_t a = 0;
    for (int l = 0; l < 3; l++)
        a += (int64_t)(size >> (3 + l)) * (size >> (3 + l));
    struct ds_image *im = calloc((size_t)batch, sizeof *im);
    float *x = malloc(sizeof *x * (size_t)batch * 3 * (size_t)size * size);
    float *y = malloc(sizeof *y * (size_t)batch * (size_t)(4 + yolov8_num_classes(m)) * (size_t)a);
    struct yolo_det *dets = malloc(sizeof *dets * (size_t)nms->max_det);
    double *ms = malloc(sizeof *ms * (size_t)(runs > 0 ? runs : 1));
    int rc = im && x && y && dets && ms ? LAB_OK : lab_err(LAB_EINTERNAL, "free some memory", "out of memory");
    for (int b = 0; !rc && b < batch; b++)
        rc = random_image(size, seed + (uint64_t)b, &im[b]);
    int grad = ts_no_grad_push();
    for (int i = 0; !rc && i < warmup + runs; i++) {
        if (lab_interrupted) {
            rc = lab_err(LAB_EINTERRUPTED, "run it again", "interrupted");
            break;
        }
        double t0 = lab_monotonic_s();
        rc = batch_call(m, dev, im, batch, size, x, y, nms, dets);
        if (i >= warmup)
            ms[i - warmup] = (lab_monotonic_s() - t0) * 1000.0;
    }
    ts_grad_mode_pop(grad);
    if (!rc)
        rc = yolo_latency_stats(ms, runs, out);
    if (!rc)
        *images_per_s = out->mean_ms > 0 ? batch * 1000.0 / out->mean_ms : 0;
    for (int b = 0; im && b < batch; b++)
        free(im[b].px);
    free(im), free(x), free(y), free(dets), free(ms);
    return rc;
}
