/* Reads a dataset in the Ultralytics/YOLO layout (DIR/data.yaml naming
 * images/<split>, labels beside them under labels/): the samples carry the
 * image and its boxes in pixels; `data` gets the parsed data.yaml (class
 * names), freed with yolo_data_free. Images are sorted by file name. */
#ifndef DS_YOLO_READ_H
#define DS_YOLO_READ_H

#include "datasets/dataset.h"
#include "datasets/yolo_format.h"

int ds_yolo_open(const char *dir, const char *split, struct ds_dataset **out, struct yolo_data *data);

#endif
