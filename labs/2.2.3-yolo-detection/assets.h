/* What lab 2.2.3's full run reads from the registry: the released weights
 * (yolov8-weights) and the sample images (ultralytics-samples), found in
 * the lab cache or downloaded through the fetch layer (mirror first,
 * verification, .part resume) the first time; offline, a missing file is
 * an error naming `lab fetch` and LAB_MIRROR. */
#ifndef LAB_YOLO_ASSETS_H
#define LAB_YOLO_ASSETS_H

#include <stddef.h>

/* Every file of registry entry `name` present, downloading what is missing.
 * Download messages go to stderr, so `lab run --json` keeps stdout clean. */
int yolo_assets_ensure(const char *name);
/* The local path of one file of the entry (yolo_assets_ensure ran). */
int yolo_asset_path(const char *name, const char *file, char *out, size_t cap);

#endif
