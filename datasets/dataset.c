#include "datasets/dataset.h"

#include "base/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ds_sample_free(struct ds_sample *s)
{
    if (!s)
        return;
    ds_image_free(&s->image);
    ds_image_free(&s->mask);
    for (int i = 0; i < DS_MAX_OBJECTS; i++)
        ds_image_free(&s->inst[i]);
    s->nobj = 0;
}

int ds_dataset_get(const struct ds_dataset *d, size_t i, struct ds_sample *out)
{
    memset(out, 0, sizeof *out);
    out->label = -1;
    if (i >= d->n)
        return lab_err(LAB_EINTERNAL, NULL, "sample %zu of %s is out of range (%zu samples)", i, d->name, d->n);
    int rc = d->get(d, i, out);
    if (rc)
        ds_sample_free(out);
    return rc;
}

void ds_dataset_free(struct ds_dataset *d)
{
    if (!d)
        return;
    if (d->destroy)
        d->destroy(d);
    free(d);
}

struct memory_ctx {
    int h, w, c;
    uint8_t *pixels;
    int64_t *labels;
};

static int memory_get(const struct ds_dataset *d, size_t i, struct ds_sample *out)
{
    const struct memory_ctx *m = d->ctx;
    int rc = ds_image_alloc(&out->image, m->w, m->h, m->c);
    if (rc)
        return rc;
    size_t sz = (size_t)m->w * m->h * m->c;
    memcpy(out->image.px, m->pixels + i * sz, sz);
    out->label = m->labels[i];
    return LAB_OK;
}

static void memory_destroy(struct ds_dataset *d)
{
    struct memory_ctx *m = d->ctx;
    if (!m)
        return;
    free(m->pixels);
    free(m->labels);
    free(m);
}

int ds_memory_dataset(const char *name, size_t n, int h, int w, int c, uint8_t *pixels, int64_t *labels,
                      int num_classes, struct ds_dataset **out)
{
    struct ds_dataset *d = calloc(1, sizeof *d);
    struct memory_ctx *m = calloc(1, sizeof *m);
    if (!d || !m) {
        free(d), free(m), free(pixels), free(labels);
        return lab_err(LAB_EENV, "free some memory", "out of memory");
    }
    *m = (struct memory_ctx){h, w, c, pixels, labels};
    snprintf(d->name, sizeof d->name, "%s", name);
    d->n = n;
    d->num_classes = num_classes;
    d->get = memory_get;
    d->destroy = memory_destroy;
    d->ctx = m;
    *out = d;
    return LAB_OK;
}

static int subset_get(const struct ds_dataset *d, size_t i, struct ds_sample *out)
{
    const struct ds_dataset *base = d->ctx;
    return base->get(base, i, out);
}

int ds_subset_dataset(const struct ds_dataset *d, size_t n, struct ds_dataset **out)
{
    if (n > d->n)
        return lab_err(LAB_EUSAGE, "use a smaller subset", "%s has %zu samples; a subset of %zu was asked for",
                       d->name, d->n, n);
    struct ds_dataset *s = calloc(1, sizeof *s);
    if (!s)
        return lab_err(LAB_EENV, "free some memory", "out of memory");
    snprintf(s->name, sizeof s->name, "%s", d->name);
    s->n = n;
    s->num_classes = d->num_classes;
    s->get = subset_get;
    s->ctx = (void *)d;
    *out = s;
    return LAB_OK;
}
