/* The grader's own labels of a lab's evaluation split: the honesty check
 * recomputes accuracy against these, never against the labels a student
 * submitted. Only the label file is read (not the images), so grading a
 * class of submissions stays fast. */
#ifndef GRADER_TRUTH_H
#define GRADER_TRUTH_H

#include <stddef.h>
#include <stdint.h>

/* dataset: a name in the dataset registry (datasets/registry.h), which
 * knows the label file. data_dir: the directory holding it, or NULL to find
 * it as the labs do (Debian's copy, then the cache). LAB_EENV naming the
 * file or `lab fetch` when it is missing; LAB_EUSAGE for a dataset the
 * registry does not know. */
int truth_eval_labels(const char *dataset, const char *data_dir, int64_t **labels, size_t *n);

/* The grader's ground truth of a set of detection mosaics, rendered again
 * from the set's name (datasets/mosaic_set.h) and the Fashion-MNIST split
 * it names, never read from a submission. Owned arrays, det_boxes layout. */
struct truth_boxes {
    size_t n_images, g; /* canvases, boxes */
    int size;           /* canvas side */
    float *boxes;       /* [g, 4] x1, y1, x2, y2 pixels */
    int64_t *classes, *image;
    uint8_t *canvases;  /* [n_images, size, size] gray, or NULL (truth_mosaic_render) */
};

int truth_mosaic_boxes(const char *eval_set, const char *data_dir, struct truth_boxes *out);
/* The same for a set given by its configuration (train: Fashion-MNIST's
 * training split, else t10k), with the gray canvases when `canvases`: the
 * re-evaluation runs the submitted weights on them (grader/reeval_detect.c),
 * also on a set of its own drawing. */
struct ds_mosaic_config;
int truth_mosaic_render(const struct ds_mosaic_config *cfg, int train, const char *data_dir, int canvases,
                        struct truth_boxes *out);
void truth_boxes_free(struct truth_boxes *t);

/* The held-out mosaics of a segment lab's quick mode, rendered again from
 * Fashion-MNIST's t10k items as the lab renders them (canvas i depends only
 * on seed and i; datasets/mosaic.h): class masks [n, size, size] with the
 * one-pixel `ignore` borders of segment_mark_borders and, when images is not
 * NULL, the gray canvases [n, size, size]. data_dir as above. */
struct truth_mosaic {
    int size;
    size_t n;
    uint64_t seed; /* the eval split's own seed (the lab's seed + 1) */
    uint8_t ignore;
};
int truth_mosaic_masks(const char *data_dir, const struct truth_mosaic *spec, uint8_t **masks, uint8_t **images);

/* The Pascal VOC val split as a segment lab's full mode evaluates it (lab
 * 2.2.4): the first n ids of ImageSets/Segmentation/val.txt (n 0: all of
 * them; *n_out says how many), each mask resized to size x size by
 * ds_voc_resize (255 kept) and, when images is not NULL, the RGB images
 * [n, size, size, 3] resized the same way. root: the VOC2012 directory, or
 * NULL for the grader's cache (LAB_EENV naming `lab fetch voc2012` when it
 * is not there). */
int truth_voc_count(const char *root, size_t *n);
int truth_voc_masks(const char *root, int size, size_t n, uint8_t **masks, uint8_t **images, size_t *n_out);

/* The held-out instances of a prompt lab's quick mode (2.2.6), rendered again
 * from Fashion-MNIST's t10k items as the lab renders its eval split (canvas i
 * depends only on seed and i): for each instance in canvas order, its 0/1
 * mask [g, size, size], its exact box x1, y1, x2, y2 and its canvas (the gray
 * canvases too). The
 * prompts a submission must have used are derived from these, never read
 * from it. data_dir as above. */
struct truth_instances {
    int size;
    size_t n_images, g;
    uint8_t *masks;
    float *boxes;
    int64_t *image;
    uint8_t *canvases; /* [n_images, size, size] gray, for re-evaluation */
};
int truth_mosaic_instances(const char *data_dir, int size, size_t n, uint64_t seed, struct truth_instances *out);
void truth_instances_free(struct truth_instances *t);

#endif
