/* Reads a dataset in the Ultralytics/YOLO layout (data.yaml naming
 * images/<split>, labels beside them under labels/): the samples carry the
 * image and its boxes in pixels; `data` gets the parsed data.yaml (class
 * names), freed with yolo_data_free. Images are sorted by file name. */
#ifndef DS_YOLO_READ_H
#define DS_YOLO_READ_H

#include "datasets/dataset.h"
#include "datasets/yolo_format.h"

/* path: data.yaml itself or the folder holding it (relative paths in it
 * are relative to its folder); split "train", "val" (the train images when
 * data.yaml names no val) or "test" (an error when it names none). */
int ds_yolo_open(const char *path, const char *split, struct ds_dataset **out, struct yolo_data *data);

/* For evaluation, where an image may hold more boxes than a sample's
 * DS_MAX_OBJECTS: image i's file (NULL when d is no YOLO dataset or i out
 * of range) and every box of it, for an image of w x h pixels (*out
 * malloc'd, NULL when it has none). */
const char *ds_yolo_image_path(const struct ds_dataset *d, size_t i);
int ds_yolo_labels(const struct ds_dataset *d, size_t i, int w, int h, struct yolo_box **out, size_t *n);
/* The split's identity: sha256 over each image's name, its file's sha256
 * and its label file's (by name order), into hex (at least 65 bytes). */
int ds_yolo_digest(const struct ds_dataset *d, char *hex, size_t cap);

#endif
