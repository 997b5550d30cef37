/* Generic checks on submitted tensors and configurations, shared by every
 * lab's rubric. Each fills a check_out: a status, a message with the
 * evidence (expected vs found) and, unless it passed, the troubleshooting id
 * (docs/troubleshooting/TS-*.md) that explains the failure. They read plain
 * arrays, so tests call them on synthetic tensors. */
#ifndef GRADER_CHECKS_H
#define GRADER_CHECKS_H

#include "grader/grade.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct check_out {
    enum check_status status;
    char message[1024];
    const char *kb; /* static string, or NULL */
    int uncounted;  /* skipped and left out of max_score (not asked for, optional) */
};

enum check_status check_set(struct check_out *o, enum check_status s, const char *kb, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* shape.logits: a floating [n, classes] tensor (n < 0: any n). [classes, n]
 * is reported as transposed, [n*classes] as flattened (TS-LOGITS-SHAPE). */
enum check_status check_logits_shape(int is_float, const char *dtype, const int64_t *shape, int ndim, int64_t n,
                        int64_t classes, struct check_out *o);

/* labels.range: n labels, each in [0, classes) (TS-DEVICE-ASSERT-LABELS). */
enum check_status check_labels_range(const int64_t *labels, size_t n, int64_t classes, struct check_out *o);

/* values.finite: no NaN or Inf (TS-NAN-LOGITS). */
enum check_status check_finite(const float *v, size_t n, struct check_out *o);

/* values.constant: the rows of [n, classes] logits differ, and more than one
 * class is predicted when n >= 2 * classes (TS-CONSTANT-LOGITS). */
enum check_status check_not_constant(const float *logits, size_t n, size_t classes, struct check_out *o);

/* shape.masks: predicted masks [n, h, w] for inputs of h x w. [n, w, h] on a
 * non-square input is a width/height swap (TS-WIDTH-HEIGHT-SWAP); any other
 * shape is TS-UNET-SHAPE. */
enum check_status check_masks_shape(const int64_t *shape, int ndim, int64_t n, int64_t h, int64_t w, struct check_out *o);

/* shape.boxes: n boxes [x1, y1, x2, y2] in pixels inside a w x h image with
 * x1 <= x2 and y1 <= y2 (tolerance 1 pixel); boxes that fit as
 * [x, y, w, h] but not as corners are reported as such
 * (TS-CONVERT-OUTPUT-FORMAT). */
enum check_status check_boxes_xyxy(const float *boxes, size_t n, double w, double h, struct check_out *o);

/* Per-channel statistics of an [b, c, h, w] float batch. */
struct input_stats {
    double min, max;
    int channels;
    double mean[4], std[4];
};
void input_stats_compute(const float *px, int64_t b, int64_t c, int64_t h, int64_t w, struct input_stats *s);

/* norm.inputs: a preprocessed batch looks normalized: values up to 255 are
 * raw pixels (TS-RAW-PIXELS), values within [0, 1] were never normalized
 * (TS-NORMALIZE-MISSING), a channel mean beyond +-0.6 or a std outside
 * [0.5, 2] means other constants than the data's (TS-NORM-MISMATCH). */
enum check_status check_input_stats(const struct input_stats *s, struct check_out *o);

/* norm.config: a {"mean": [..], "std": [..]} object against the expected
 * constants (within 0.005 each); `what` names the constants ("Fashion-MNIST"). */
enum check_status check_norm_constants(const json_t *normalize, const double *mean, const double *std, int channels,
                          const char *what, struct check_out *o);

/* Top-1 accuracy of [n, classes] logits against labels (first maximum wins,
 * as torch.argmax). */
double logits_accuracy(const float *logits, const int64_t *labels, size_t n, size_t classes);
int64_t logits_argmax(const float *row, size_t classes);

/* max |a - b| / max |b| (0 when both are all zero); +Inf when any is not
 * finite. The measure the PyTorch parity tests use. */
double rel_max_diff(const float *a, const float *b, size_t n);

/* A ground truth a task renders once per model and its checks share:
 * state 0 not tried, 1 rendered, -1 failed (err says why, with the fix). */
struct truth_once {
    int state;
    char err[600];
};
/* Records the status of the one render call. */
void truth_once_record(struct truth_once *t, int rc);
/* 1 when rendered, else 0 with o an error naming why. */
int truth_once_ready(const struct truth_once *t, struct check_out *o);

#endif
