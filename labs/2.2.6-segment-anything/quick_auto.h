/* The quick mode's last step: SAM's automatic mask generator (generator.h)
 * with the trained small SAM on held-out mosaics, scored against the
 * mosaics' instances, and drawn in plots/auto-masks.png. */
#ifndef LAB_SAM_QUICK_AUTO_H
#define LAB_SAM_QUICK_AUTO_H

#include "datasets/dataset.h"
#include "labs/models/model.h"
#include "labs/run.h"

#include <jansson.h>

/* The generator's settings from config "auto.*" (the library's defaults
 * for what it leaves out); LAB_EUSAGE naming a bad value. */
struct sam_amg_opts;
int sam_quick_auto_opts(const json_t *config, struct sam_amg_opts *o);

/* Runs the generator on the first auto.images mosaics of `ev` and adds
 * "auto" to mm: images, masks, instances, recall50 (the share of
 * instances some automatic mask covers with IoU >= 0.5), mean_best_iou and
 * ms_per_image. */
int sam_quick_auto(struct lab_run *r, struct model *m, const struct ds_dataset *ev, json_t *mm);

#endif
