/* The segment task's state for one model, shared by its rubric checks
 * (checks_segment.c) and its re-evaluation (reeval_segment.c). */
#ifndef GRADER_CHECKS_SEGMENT_H
#define GRADER_CHECKS_SEGMENT_H

#include "grader/checks.h"
#include "grader/rubric.h"

#include <stdint.h>

#define SEG_IGNORE 255

struct segment_state {
    int shape_ok; /* masks U8 [n, size, size] and indices integer [n] */
    char err[600];
    const uint8_t *masks; /* views the predictions file */
    int64_t n, size, classes, need, channels;
    double mean[3], std[3]; /* the lab's normalization (of the mode graded), not the submission's */
    uint64_t seed;
    int full;             /* the submission evaluated the full mode's dataset (VOC val), not mosaics */
    const char *voc_root; /* the VOC2012 directory the grader reads, NULL for its cache */
    char data_err[600];   /* full mode: why the grader has no val split (then nothing is recomputed) */
    int64_t *indices;
    int covered; /* indices are 0..n-1 in order and n >= need */
    char coverage[400];
    struct truth_once truth_once;
    uint8_t *truth, *canvases; /* class masks [n, size, size] with SEG_IGNORE; images [n, size, size, channels] */
    int has_miou; /* honesty.miou recomputed it */
    double miou;
    float *rerun; /* reeval.masks' logits of the first REEVAL_BATCH_SAMPLES canvases, for reeval.batch */
    int64_t rerun_n;
};

/* The state when the masks decoded, else NULL with o set to skipped. */
struct segment_state *segment_decoded(struct grade_ctx *g, struct check_out *o);
/* 1 when the grader's masks and canvases are rendered, else 0 with o set. */
int segment_truth(struct grade_ctx *g, struct segment_state *s, struct check_out *o);
/* 1 when every submitted id is below the class count. */
int segment_in_range(const struct segment_state *s);

/* reeval_segment.c: reeval.masks (TS-REEVAL-MISMATCH), reeval.batch (TS-BATCH-DEPENDENT). */
enum check_status segment_reeval_masks(struct grade_ctx *g, struct check_out *o);
enum check_status segment_reeval_batch(struct grade_ctx *g, struct check_out *o);

#endif
