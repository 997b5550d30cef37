#include "grader/truth.h"

#include "base/error.h"
#include "datasets/loaders.h"
#include "datasets/mosaic_set.h"
#include "datasets/registry.h"

#include <stdlib.h>
#include <string.h>

int truth_eval_labels(const char *dataset, const char *data_dir, int64_t **labels, size_t *n)
{
    *labels = NULL;
    *n = 0;
    const struct ds_info *d;
    int rc = ds_info_get(dataset, "the grader", &d);
    return rc ? rc : d->eval_labels(data_dir, labels, n);
}

int truth_mosaic_boxes(const char *eval_set, const char *data_dir, struct truth_boxes *out)
{
    memset(out, 0, sizeof *out);
    struct ds_mosaic_config cfg;
    int train;
    int rc = ds_mosaic_set_parse(eval_set, &train, &cfg);
    struct ds_dataset *items = NULL;
    if (!rc)
        rc = ds_fashion_mnist_open(data_dir, train, &items);
    if (rc)
        return rc;
    size_t cap = cfg.n * DS_MAX_OBJECTS;
    out->boxes = malloc(sizeof(float) * 4 * cap);
    out->classes = malloc(sizeof(int64_t) * cap);
    out->image = malloc(sizeof(int64_t) * cap);
    rc = out->boxes && out->classes && out->image ? LAB_OK : lab_err(LAB_EINTERNAL, "free some memory", "out of memory");
    for (size_t i = 0; !rc && i < cfg.n; i++) {
        struct ds_sample s;
        memset(&s, 0, sizeof s);
        rc = ds_mosaic_render(items, &cfg, i, &s);
        for (int b = 0; !rc && b < s.nobj && b < DS_MAX_OBJECTS; b++) {
            memcpy(out->boxes + out->g * 4, s.boxes[b], sizeof(float) * 4);
            out->classes[out->g] = s.box_labels[b];
            out->image[out->g] = (int64_t)i;
            out->g++;
        }
        ds_sample_free(&s);
    }
    ds_dataset_free(items);
    out->n_images = cfg.n;
    out->size = cfg.size;
    if (rc)
        truth_boxes_free(out);
    return rc;
}

void truth_boxes_free(struct truth_boxes *t)
{
    free(t->boxes);
    free(t->classes);
    free(t->image);
    memset(t, 0, sizeof *t);
}
