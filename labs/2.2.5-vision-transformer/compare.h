/* `--set compare_with=RUN`: the models of another classify run (the
 * course's: a 2.2.1 run's CNNs) beside the ViT in comparison.md and
 * plots/comparison.png (accuracy, parameters, images/s). */
#ifndef LAB_VIT_COMPARE_H
#define LAB_VIT_COMPARE_H

#include <jansson.h>

/* RUN/metrics.json's models (a new reference), when that run evaluated on
 * `dataset`; LAB_EUSAGE naming the run and the fix otherwise. *lab gets
 * its lab id. */
int vit_compare_load(const char *run_dir, const char *dataset, json_t **models, char *lab, size_t cap);
/* This run's models, then the other run's as "NAME (LAB)"; a new reference. */
json_t *vit_compare_merge(const json_t *models, const json_t *other, const char *lab);

#endif
