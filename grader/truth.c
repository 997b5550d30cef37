#include "grader/truth.h"

#include "base/error.h"
#include "datasets/loaders.h"
#include "datasets/mosaic_set.h"
#include "datasets/mosaic.h"
#include "datasets/registry.h"
#include "labs/tasks/segment.h"

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
    return rc ? rc : truth_mosaic_render(&cfg, train, data_dir, 0, out);
}

int truth_mosaic_render(const struct ds_mosaic_config *cfg, int train, const char *data_dir, int canvases,
                        struct truth_boxes *out)
{
    memset(out, 0, sizeof *out);
    if (cfg->size < 16 || cfg->size > 1024 || cfg->n < 1 || cfg->n > 100000)
        return lab_err(LAB_EUSAGE, "name a set of 1..100000 canvases of 16..1024 pixels",
                       "a mosaic set of %zu canvases of %d pixels", cfg->n, cfg->size);
    struct ds_dataset *items = NULL;
    int rc = ds_fashion_mnist_open(data_dir, train, &items);
    if (rc)
        return rc;
    size_t cap = cfg->n * DS_MAX_OBJECTS, px = (size_t)cfg->size * (size_t)cfg->size;
    out->boxes = malloc(sizeof(float) * 4 * cap);
    out->classes = malloc(sizeof(int64_t) * cap);
    out->image = malloc(sizeof(int64_t) * cap);
    out->canvases = canvases ? malloc(px * cfg->n) : NULL;
    rc = out->boxes && out->classes && out->image && (!canvases || out->canvases)
             ? LAB_OK
             : lab_err(LAB_EINTERNAL, "free some memory", "out of memory");
    for (size_t i = 0; !rc && i < cfg->n; i++) {
        struct ds_sample s;
        memset(&s, 0, sizeof s);
        rc = ds_mosaic_render(items, cfg, i, &s);
        if (!rc && canvases && (s.image.w != cfg->size || s.image.h != cfg->size || s.image.c != 1))
            rc = lab_err(LAB_EINTERNAL, NULL, "mosaic %zu is not a %dx%d gray canvas", i, cfg->size, cfg->size);
        if (!rc && canvases)
            memcpy(out->canvases + i * px, s.image.px, px);
        for (int b = 0; !rc && b < s.nobj && b < DS_MAX_OBJECTS; b++) {
            memcpy(out->boxes + out->g * 4, s.boxes[b], sizeof(float) * 4);
            out->classes[out->g] = s.box_labels[b];
            out->image[out->g] = (int64_t)i;
            out->g++;
        }
        ds_sample_free(&s);
    }
    ds_dataset_free(items);
    out->n_images = cfg->n;
    out->size = cfg->size;
    if (rc)
        truth_boxes_free(out);
    return rc;
}

void truth_boxes_free(struct truth_boxes *t)
{
    free(t->boxes);
    free(t->classes);
    free(t->image);
    free(t->canvases);
    memset(t, 0, sizeof *t);
}

int truth_mosaic_masks(const char *data_dir, const struct truth_mosaic *spec, uint8_t **masks, uint8_t **images)
{
    *masks = NULL;
    if (images)
        *images = NULL;
    if (spec->size < 16 || spec->size > 512 || spec->n < 1 || spec->n > 100000)
        return lab_err(LAB_EINTERNAL, "fix the lab's quick data block", "mosaic truth of %zu canvases of %d pixels",
                       spec->n, spec->size);
    struct ds_dataset *items = NULL, *mos = NULL;
    int rc = ds_fashion_mnist_open(data_dir, 0, &items);
    struct ds_mosaic_config cfg = {.size = spec->size, .n = spec->n, .seed = spec->seed};
    if (!rc)
        rc = ds_mosaic_open(items, &cfg, &mos);
    size_t px = (size_t)spec->size * (size_t)spec->size;
    uint8_t *m = rc ? NULL : malloc(px * spec->n), *im = rc || !images ? NULL : malloc(px * spec->n);
    if (!rc && (!m || (images && !im)))
        rc = lab_err(LAB_EINTERNAL, "free some memory", "out of memory");
    for (size_t i = 0; !rc && i < spec->n; i++) {
        struct ds_sample smp;
        memset(&smp, 0, sizeof smp);
        rc = ds_dataset_get(mos, i, &smp);
        if (!rc && (smp.image.w != spec->size || smp.image.h != spec->size || smp.image.c != 1 || !smp.mask.px))
            rc = lab_err(LAB_EINTERNAL, NULL, "mosaic %zu is not a %dx%d gray canvas with a mask", i, spec->size,
                         spec->size);
        if (!rc) {
            memcpy(m + i * px, smp.mask.px, px);
            if (im)
                memcpy(im + i * px, smp.image.px, px);
            rc = segment_mark_borders(m + i * px, spec->size, spec->size, spec->ignore);
        }
        ds_sample_free(&smp);
    }
    ds_dataset_free(mos);
    ds_dataset_free(items);
    if (rc) {
        free(m);
        free(im);
        return rc;
    }
    *masks = m;
    if (images)
        *images = im;
    return LAB_OK;
}

int truth_voc_count(const char *root, size_t *n)
{
    struct ds_dataset *d = NULL;
    int rc = ds_voc_open(root, 0, &d);
    *n = rc ? 0 : d->n;
    ds_dataset_free(d);
    return rc;
}

int truth_voc_masks(const char *root, int size, size_t n, uint8_t **masks, uint8_t **images, size_t *n_out)
{
    *masks = NULL;
    if (images)
        *images = NULL;
    *n_out = 0;
    if (size < 16 || size > 512)
        return lab_err(LAB_EINTERNAL, "fix the lab's data block", "VOC truth at %d pixels", size);
    struct ds_dataset *d = NULL;
    int rc = ds_voc_open(root, 0, &d);
    if (rc)
        return rc;
    if (n == 0 || n > d->n)
        n = d->n;
    size_t px = (size_t)size * (size_t)size;
    uint8_t *m = malloc(px * n), *im = images ? malloc(px * 3 * n) : NULL;
    if (!m || (images && !im))
        rc = lab_err(LAB_EINTERNAL, "free some memory", "out of memory for %zu VOC masks", n);
    for (size_t i = 0; !rc && i < n; i++) {
        struct ds_sample smp;
        memset(&smp, 0, sizeof smp);
        rc = ds_dataset_get(d, i, &smp);
        if (!rc)
            rc = ds_voc_resize(&smp, size);
        if (!rc && smp.image.c != 3)
            rc = lab_err(LAB_EINTERNAL, NULL, "VOC image %zu is not RGB", i);
        if (!rc) {
            memcpy(m + i * px, smp.mask.px, px);
            if (im)
                memcpy(im + i * px * 3, smp.image.px, px * 3);
        }
        ds_sample_free(&smp);
    }
    ds_dataset_free(d);
    if (rc) {
        free(m);
        free(im);
        return rc;
    }
    *masks = m;
    if (images)
        *images = im;
    *n_out = n;
    return LAB_OK;
}

int truth_mosaic_instances(const char *data_dir, int size, size_t n, uint64_t seed, struct truth_instances *out)
{
    memset(out, 0, sizeof *out);
    if (size < 16 || size > 512 || n < 1 || n > 100000)
        return lab_err(LAB_EINTERNAL, "fix the lab's quick data block", "instance truth of %zu canvases of %d pixels",
                       n, size);
    struct ds_dataset *items = NULL, *mos = NULL;
    int rc = ds_fashion_mnist_open(data_dir, 0, &items);
    struct ds_mosaic_config cfg = {.size = size, .n = n, .seed = seed};
    if (!rc)
        rc = ds_mosaic_open(items, &cfg, &mos);
    size_t px = (size_t)size * (size_t)size, cap = n * DS_MAX_OBJECTS;
    if (!rc) {
        out->masks = malloc(px * cap);
        out->boxes = malloc(sizeof(float) * 4 * cap);
        out->image = malloc(sizeof(int64_t) * cap);
        out->canvases = malloc(px * n);
        if (!out->masks || !out->boxes || !out->image || !out->canvases)
            rc = lab_err(LAB_EINTERNAL, "free some memory", "out of memory");
    }
    for (size_t i = 0; !rc && i < n; i++) {
        struct ds_sample smp;
        memset(&smp, 0, sizeof smp);
        rc = ds_dataset_get(mos, i, &smp);
        if (!rc && (smp.image.w != size || smp.image.h != size || smp.nobj < 0 || smp.nobj > DS_MAX_OBJECTS))
            rc = lab_err(LAB_EINTERNAL, NULL, "mosaic %zu is not a %dx%d canvas with instances", i, size, size);
        if (!rc && smp.image.c != 1)
            rc = lab_err(LAB_EINTERNAL, NULL, "mosaic %zu is not a gray canvas", i);
        if (!rc)
            memcpy(out->canvases + i * px, smp.image.px, px);
        for (int j = 0; !rc && j < smp.nobj; j++) {
            if (!smp.inst[j].px || smp.inst[j].w != size || smp.inst[j].h != size) {
                rc = lab_err(LAB_EINTERNAL, NULL, "mosaic %zu has no instance mask %d", i, j);
                break;
            }
            memcpy(out->masks + out->g * px, smp.inst[j].px, px);
            memcpy(out->boxes + out->g * 4, smp.boxes[j], sizeof(float) * 4);
            out->image[out->g] = (int64_t)i;
            out->g++;
        }
        ds_sample_free(&smp);
    }
    ds_dataset_free(mos);
    ds_dataset_free(items);
    out->size = size;
    out->n_images = n;
    if (rc)
        truth_instances_free(out);
    return rc;
}

void truth_instances_free(struct truth_instances *t)
{
    free(t->masks);
    free(t->boxes);
    free(t->image);
    free(t->canvases);
    memset(t, 0, sizeof *t);
}
