/* Lab 2.2.3's full run, the notebook's study with the released weights:
 * detection with config `model` (yolov8s) on the sample images at
 * Ultralytics' predict settings, the confidence-threshold study, latency
 * of s at bench.sizes and of n/s/m at the input size, batch throughput,
 * and the notebook's summary table. There is no ground truth for the
 * sample images, so nothing here is an accuracy: the mAP50-95 figures are
 * the published COCO ones, labelled as such. */
#ifndef LAB_YOLO_FULL_H
#define LAB_YOLO_FULL_H

#include "labs/2.2.3-yolo-detection/bench.h"
#include "labs/run.h"

#include <jansson.h>

int yolo_full_validate(const json_t *config);
int yolo_full_run(struct lab_run *r);

/* One row of the notebook's summary: a model at the input size. */
struct yolo_summary_row {
    const char *model;
    int64_t params;
    double map50_95; /* published COCO val2017 mAP50-95 (lab.json), -1 when unknown */
    struct yolo_latency lat;
};

/* The notebook's "BENCHMARK SUMMARY" table, its mAP column named for what
 * it holds (mAP50-95), and the recommendations under it; `title_note` says
 * where it was measured. Returns malloc'd text. */
char *yolo_summary_table(const struct yolo_summary_row *rows, int n, const char *title_note);
/* The same as a Markdown table, with the median and the parameters exact. */
char *yolo_summary_markdown(const struct yolo_summary_row *rows, int n, const char *title_note);

#endif
