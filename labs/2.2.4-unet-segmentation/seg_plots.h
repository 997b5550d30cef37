/* Lab 2.2.4's figures in the run's plots/: the loss and mIoU curves, the
 * per-class IoU bars and the course's four-panel validation view (image,
 * ground truth, prediction, overlay) in the Pascal VOC colours. */
#ifndef LAB_224_SEG_PLOTS_H
#define LAB_224_SEG_PLOTS_H

#include "labs/run.h"

#include <jansson.h>
#include <stdint.h>

/* Pascal VOC's colour map for class id c (0..255): the bits of c spread
 * over the high bits of red, green and blue; 255 gives VOC's border colour
 * (224, 224, 192). */
void seg_voc_colour(int c, uint8_t rgb[3]);

/* plots/loss.png and plots/miou.png from metrics' epochs [{train_loss,
 * test_miou}]. */
int seg_plot_curves(struct lab_run *r, const json_t *epochs);
/* plots/per-class-iou.png: iou[k] (NaN: class absent, drawn as 0), bars
 * named by class_names[k] (NULL: the mosaics' background + Fashion-MNIST);
 * split names the data in the title ("test mosaics"). */
int seg_plot_iou_bars(struct lab_run *r, const double *iou, int k, const char *const *class_names, const char *split);
/* plots/validation.png: the first `shown` of n images (img [n,s,s,channels]
 * u8, gray or RGB) with their ground truth and predicted masks [n,s,s];
 * item captions each image ("test mosaic", "val image"). */
int seg_plot_validation(struct lab_run *r, const uint8_t *img, int channels, const uint8_t *truth, const uint8_t *pred,
                        size_t n, int s, int shown, const char *item, const char *split);

#endif
