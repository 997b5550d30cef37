/* Lab 2.2.6's full mode: the course notebook with an official checkpoint
 * (`lab fetch sam-vit-b`): its prompt study on the sample images (the
 * notebook's placeholder when there are none), the automatic masks with the
 * course's settings, and its benchmark (full_bench.h). */
#ifndef LAB_SAM_FULL_H
#define LAB_SAM_FULL_H

#include "labs/run.h"

#include <stddef.h>
#include <stdint.h>

/* The prompt study's rows, every image's in the order of
 * sam_study_prompts, one row a mask. */
struct sam_full_rows {
    uint8_t *masks; /* [n, h, w] 0/1 */
    float *iou, *prompts; /* [n], [n, 4] */
    int64_t *image_index, *kind; /* [n] */
    size_t n, cap;
    int h, w;
};

int sam_full_run(struct lab_run *r);

/* full_plots.c: plots/prompts.png (every study mask over its image, the
 * prompt drawn) and plots/benchmark.png (mean ms per operation). */
struct ds_image;
int sam_full_plot_prompts(struct lab_run *r, const struct ds_image *images, size_t n_images,
                          const struct sam_full_rows *rows);
int sam_full_plot_auto(struct lab_run *r, const struct ds_image *tiles, const char *const *captions, size_t n);
int sam_full_plot_bench(struct lab_run *r, const char *model, const double mean_ms[3], const double std_ms[3]);

#endif
