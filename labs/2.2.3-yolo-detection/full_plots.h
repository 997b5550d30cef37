/* The full run's figures in plots/: the detections drawn, the threshold
 * study, latency against input size, throughput against batch size, and
 * the models side by side (labs/plots.h). */
#ifndef LAB_YOLO_FULL_PLOTS_H
#define LAB_YOLO_FULL_PLOTS_H

#include "labs/2.2.3-yolo-detection/full.h"
#include "labs/2.2.3-yolo-detection/study.h"

struct yolo_full_plots {
    const char *model;
    const struct ds_image *drawn;
    const char *const *captions;
    int n_images;
    const struct yolo_study *study;
    const int *sizes;
    const struct yolo_latency *size_lat;
    int n_sizes;
    const int *batches;
    const double *batch_ips;
    int n_batches;
    const struct yolo_summary_row *rows;
    int n_rows, imgsz;
};

int yolo_full_plots_write(struct lab_run *r, const struct yolo_full_plots *p);

#endif
