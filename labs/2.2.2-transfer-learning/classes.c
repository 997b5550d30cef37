#include "labs/2.2.2-transfer-learning/classes.h"

#include "base/error.h"
#include "datasets/rng.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct view {
    const struct ds_dataset *base;
    size_t *index;
    int lo;
};

static int view_get(const struct ds_dataset *d, size_t i, struct ds_sample *out)
{
    const struct view *v = d->ctx;
    if (i >= d->n)
        return lab_err(LAB_EINTERNAL, NULL, "%s: sample %zu of %zu", d->name, i, d->n);
    int rc = ds_dataset_get(v->base, v->index[i], out);
    if (!rc)
        out->label -= v->lo;
    return rc;
}

static void view_destroy(struct ds_dataset *d)
{
    struct view *v = d->ctx;
    if (v)
        free(v->index);
    free(v);
}

/* A dataset of base's samples index[0..n), relabelled label - lo; takes
 * index (freed on failure too). */
static int index_view(const struct ds_dataset *base, size_t *index, size_t n, int lo, int num_classes,
                      const char *name, struct ds_dataset **out)
{
    struct view *v = calloc(1, sizeof *v);
    struct ds_dataset *d = calloc(1, sizeof *d);
    if (!v || !d) {
        free(index);
        free(v);
        free(d);
        return lab_err(LAB_EINTERNAL, NULL, "out of memory for a view of %s", base->name);
    }
    *v = (struct view){.base = base, .index = index, .lo = lo};
    snprintf(d->name, sizeof d->name, "%s", name);
    d->n = n;
    d->num_classes = num_classes;
    d->get = view_get;
    d->destroy = view_destroy;
    d->ctx = v;
    *out = d;
    return LAB_OK;
}

int transfer_class_view(const struct ds_dataset *base, int lo, int hi, size_t per_class, size_t max_total,
                        struct ds_dataset **out)
{
    *out = NULL;
    if (lo < 0 || hi <= lo || hi > base->num_classes)
        return lab_err(LAB_EUSAGE, "give data.classes as [first, end) inside the dataset's classes",
                       "classes [%d, %d) of %s, which has %d", lo, hi, base->name, base->num_classes);
    size_t *index = malloc((base->n ? base->n : 1) * sizeof *index);
    size_t *taken = calloc((size_t)(hi - lo), sizeof *taken);
    if (!index || !taken) {
        free(index);
        free(taken);
        return lab_err(LAB_EINTERNAL, NULL, "out of memory for a class view of %s", base->name);
    }
    size_t n = 0;
    int rc = LAB_OK;
    for (size_t i = 0; i < base->n && (!max_total || n < max_total); i++) {
        struct ds_sample s;
        memset(&s, 0, sizeof s);
        if ((rc = ds_dataset_get(base, i, &s)))
            break;
        int64_t label = s.label;
        ds_sample_free(&s);
        if (label < lo || label >= hi || (per_class && taken[label - lo] >= per_class))
            continue;
        taken[label - lo]++;
        index[n++] = i;
    }
    free(taken);
    if (!rc && n == 0)
        rc = lab_err(LAB_EUSAGE, "check data.classes", "%s has no sample of classes [%d, %d)", base->name, lo, hi);
    if (rc) {
        free(index);
        return rc;
    }
    char name[64];
    snprintf(name, sizeof name, "%.40s[%d-%d]", base->name, lo, hi - 1);
    return index_view(base, index, n, lo, hi - lo, name, out);
}

static int cmp_index(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

int transfer_seeded_subset(const struct ds_dataset *base, size_t n, uint64_t seed, struct ds_dataset **out)
{
    *out = NULL;
    if (n > base->n)
        n = base->n;
    size_t *index = malloc((base->n ? base->n : 1) * sizeof *index);
    if (!index)
        return lab_err(LAB_EINTERNAL, NULL, "out of memory for a subset of %s", base->name);
    for (size_t i = 0; i < base->n; i++)
        index[i] = i;
    struct ds_rng r;
    ds_rng_seed(&r, seed, 0x737562736574ull /* "subset" */, base->n);
    for (size_t i = 0; i < n; i++) { /* the first n of a Fisher-Yates shuffle */
        size_t j = i + (size_t)ds_rng_below(&r, (uint64_t)(base->n - i)), t = index[i];
        index[i] = index[j];
        index[j] = t;
    }
    qsort(index, n, sizeof *index, cmp_index);
    return index_view(base, index, n, 0, base->num_classes, base->name, out);
}
