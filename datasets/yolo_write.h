/* Writes a detection dataset (mosaics, or any dataset whose samples carry
 * boxes) in the Ultralytics/YOLO layout: DIR/images/<split>/NNNNNN.png,
 * DIR/labels/<split>/NNNNNN.txt (`class cx cy w h`, normalized) and
 * DIR/data.yaml. The layout `--set data.dataset=PATH` and `yolo train
 * data=DIR/data.yaml` both read. */
#ifndef DS_YOLO_WRITE_H
#define DS_YOLO_WRITE_H

#include "datasets/dataset.h"

/* Writes samples 0..d->n-1 of d under split ("train", "val"). */
int ds_yolo_write_split(const struct ds_dataset *d, const char *dir, const char *split);
/* data.yaml naming the train and val splits and the nc class names. */
int ds_yolo_write_yaml(const char *dir, const char *const *names, int nc);

#endif
