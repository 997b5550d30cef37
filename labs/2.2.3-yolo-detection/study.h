/* The confidence-threshold study of lab 2.2.3's full run: at each
 * threshold, how many detections each image and each class get, as the
 * notebook counts them by predicting again with conf=t. One NMS at the
 * lowest threshold serves every row: greedy NMS decides a box by the boxes
 * scored above it only, and the candidate and max_det caps keep the best
 * scores, so NMS at t keeps exactly the boxes of NMS at a lower threshold
 * that score above t (tests/unit/test_yolo_full.c checks it against NMS
 * run at each t). The grader relies on the same to recount the rows at or
 * above the saved predictions' threshold. */
#ifndef LAB_YOLO_STUDY_H
#define LAB_YOLO_STUDY_H

#include "labs/2.2.3-yolo-detection/infer.h"

#include <jansson.h>
#include <stdint.h>

struct yolo_study_row {
    double conf;
    int64_t total;
    int64_t *per_image; /* [n_images] */
    int64_t *per_class; /* [nc] */
};

struct yolo_study {
    int n_rows, n_images, nc;
    struct yolo_study_row *rows;
};

int yolo_study_init(struct yolo_study *s, const double *confs, int n_rows, int n_images, int nc);
void yolo_study_free(struct yolo_study *s);
/* Counts into row `row` those of one image's detections (NMS at a
 * threshold at most the row's) that score above the row's threshold. */
int yolo_study_add(struct yolo_study *s, int row, int image, const struct yolo_det *d, int n);
/* [{"conf", "detections", "per_image": [...], "per_class": [{"class", "name", "count"}]}], classes with a
 * count only, most frequent first (ties by id); names may be NULL. */
json_t *yolo_study_json(const struct yolo_study *s, const char *const *names);

#endif
