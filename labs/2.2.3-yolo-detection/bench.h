/* Lab 2.2.3's latency and throughput benchmark, timed as the notebook
 * times it: a random uint8 image, `warmup` untimed calls, then `runs` timed
 * full predict calls (letterbox, forward, the output back on the host, NMS,
 * scale_boxes); reading the output back waits for the device, so each time
 * includes the synchronisation the notebook adds around CUDA calls. */
#ifndef LAB_YOLO_BENCH_H
#define LAB_YOLO_BENCH_H

#include "labs/2.2.3-yolo-detection/infer.h"
#include "labs/models/model.h"

#include <stdint.h>

struct yolo_latency {
    int runs;
    double mean_ms, median_ms, min_ms, max_ms, std_ms; /* std: population */
    double fps;                                        /* 1000 / mean_ms, as the notebook's FPS */
};

/* Statistics of n > 0 timings in milliseconds (ms is not modified). */
int yolo_latency_stats(const double *ms, int n, struct yolo_latency *out);

/* One random size x size image (seeded), predicted at imgsz = size. */
int yolo_bench_latency(struct model *m, ts_device dev, int size, int warmup, int runs, uint64_t seed,
                       const struct yolo_nms_opts *nms, struct yolo_latency *out);
/* `batch` random size x size images as one [batch, 3, size, size] forward,
 * NMS per image; out is per call, *images_per_s = batch / mean. */
int yolo_bench_batch(struct model *m, ts_device dev, int size, int batch, int warmup, int runs, uint64_t seed,
                     const struct yolo_nms_opts *nms, struct yolo_latency *out, double *images_per_s);

#endif
