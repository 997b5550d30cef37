/* The automatic masks as files: DIR/STEM.json (SamAutomaticMaskGenerator's
 * records, segmentation as column-major RLE) and DIR/STEM.png (the masks
 * coloured over the image); `lab predict 2.2.6 --auto` and the full mode
 * write the same. */
#ifndef LAB_SAM_AUTO_OUT_H
#define LAB_SAM_AUTO_OUT_H

#include "datasets/image.h"
#include "labs/2.2.6-segment-anything/generator.h"

int sam_auto_write(const char *dir, const char *stem, const char *source, const struct ds_image *im,
                   const struct sam_amg_result *r);

#endif
