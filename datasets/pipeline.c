#include "datasets/pipeline.h"

#include "base/error.h"
#include "datasets/rng.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct slot {
    struct ds_batch *batch;
    size_t k; /* which batch it holds */
    int full;
};

#define POOL_MAX 64

struct ds_batch_pool {
    pthread_mutex_t mu;
    struct ds_batch *free[POOL_MAX];
    int n;
    int refs; /* the pipeline + every batch handed out */
};

static void release_storage(struct ds_batch *b)
{
    free(b->images), free(b->labels), free(b->indices), free(b->masks);
    free(b->nobj), free(b->boxes), free(b->box_labels), free(b->instances);
    free(b);
}

static void pool_unref(struct ds_batch_pool *pool)
{
    pthread_mutex_lock(&pool->mu);
    int last = --pool->refs == 0;
    pthread_mutex_unlock(&pool->mu);
    if (!last)
        return;
    for (int i = 0; i < pool->n; i++)
        release_storage(pool->free[i]);
    pthread_mutex_destroy(&pool->mu);
    free(pool);
}

/* A pooled batch with the same shape, or NULL. */
static struct ds_batch *pool_take(struct ds_batch_pool *pool, int n, int c, int h, int w, int masks, int boxes,
                                  int inst)
{
    struct ds_batch *found = NULL;
    pthread_mutex_lock(&pool->mu);
    for (int i = 0; i < pool->n; i++) {
        struct ds_batch *b = pool->free[i];
        if (b->n == n && b->c == c && b->h == h && b->w == w && !!b->masks == !!masks && !!b->nobj == !!boxes &&
            !!b->instances == !!inst) {
            found = b;
            pool->free[i] = pool->free[--pool->n];
            break;
        }
    }
    if (found)
        pool->refs++;
    pthread_mutex_unlock(&pool->mu);
    return found;
}

struct ds_pipeline {
    struct ds_batch_pool *pool;
    const struct ds_dataset *d;
    struct ds_pipeline_config cfg;
    size_t *order; /* the epoch's permutation */
    size_t nbatches;
    int epoch;
    /* worker state, guarded by mu */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t *threads;
    int nthreads;
    struct slot *slots;
    size_t next_k, consumed;
    int stop, failed, fail_status;
    char fail_msg[1024], fail_fix[512];
};

void ds_batch_free(struct ds_batch *b)
{
    if (!b)
        return;
    struct ds_batch_pool *pool = b->pool;
    if (!pool) {
        release_storage(b);
        return;
    }
    pthread_mutex_lock(&pool->mu);
    int kept = pool->refs > 1 && pool->n < POOL_MAX;
    if (kept)
        pool->free[pool->n++] = b;
    pthread_mutex_unlock(&pool->mu);
    if (!kept)
        release_storage(b);
    pool_unref(pool);
}

size_t ds_pipeline_num_batches(const struct ds_pipeline *p) { return p->nbatches; }

static void make_order(struct ds_pipeline *p)
{
    for (size_t i = 0; i < p->d->n; i++)
        p->order[i] = i;
    if (!p->cfg.shuffle)
        return;
    struct ds_rng r;
    ds_rng_seed(&r, p->cfg.seed, (uint64_t)p->epoch, UINT64_MAX);
    for (size_t i = p->d->n; i > 1; i--) {
        size_t j = (size_t)ds_rng_below(&r, i), t = p->order[i - 1];
        p->order[i - 1] = p->order[j];
        p->order[j] = t;
    }
}

/* Resets a reused batch's optional parts to "empty". */
static void clear_batch(struct ds_batch *b)
{
    size_t hw = (size_t)b->h * b->w, n = (size_t)b->n;
    if (b->masks)
        memset(b->masks, 0, n * hw);
    if (b->nobj) {
        memset(b->nobj, 0, n * sizeof *b->nobj);
        memset(b->boxes, 0, n * DS_MAX_OBJECTS * 4 * sizeof *b->boxes);
        for (size_t i = 0; i < n * DS_MAX_OBJECTS; i++)
            b->box_labels[i] = -1;
    }
    if (b->instances)
        memset(b->instances, 0, n * DS_MAX_OBJECTS * hw);
}

static int alloc_batch(struct ds_batch *b, int n, int c, int h, int w, int masks, int boxes, int inst)
{
    size_t hw = (size_t)h * w;
    b->n = n, b->c = c, b->h = h, b->w = w;
    b->images = malloc((size_t)n * c * hw * sizeof *b->images);
    b->labels = malloc((size_t)n * sizeof *b->labels);
    b->indices = malloc((size_t)n * sizeof *b->indices);
    if (masks)
        b->masks = calloc((size_t)n * hw, 1);
    if (boxes) {
        b->nobj = calloc((size_t)n, sizeof *b->nobj);
        b->boxes = calloc((size_t)n * DS_MAX_OBJECTS * 4, sizeof *b->boxes);
        b->box_labels = malloc((size_t)n * DS_MAX_OBJECTS * sizeof *b->box_labels);
        if (b->box_labels)
            for (size_t i = 0; i < (size_t)n * DS_MAX_OBJECTS; i++)
                b->box_labels[i] = -1;
    }
    if (inst)
        b->instances = calloc((size_t)n * DS_MAX_OBJECTS * hw, 1);
    if (!b->images || !b->labels || !b->indices || (masks && !b->masks) ||
        (boxes && (!b->nobj || !b->boxes || !b->box_labels)) || (inst && !b->instances))
        return lab_err(LAB_EENV, "use a smaller batch size", "out of memory for a batch of %d", n);
    return LAB_OK;
}

int ds_pipeline_build(const struct ds_pipeline *p, int epoch, size_t k, struct ds_batch **out)
{
    *out = NULL;
    const size_t start = k * (size_t)p->cfg.batch_size;
    size_t n = p->d->n - start < (size_t)p->cfg.batch_size ? p->d->n - start : (size_t)p->cfg.batch_size;
    struct ds_batch *b = NULL;
    int rc = LAB_OK;
    for (size_t i = 0; i < n && !rc; i++) {
        size_t pos = start + i, idx = p->order[pos];
        struct ds_rng r;
        ds_rng_seed(&r, p->cfg.seed, (uint64_t)epoch, (uint64_t)pos);
        struct ds_sample s;
        if ((rc = ds_dataset_get(p->d, idx, &s)))
            break;
        rc = ds_augment_sample(&p->cfg.augment, &s, &r);
        if (!rc && i == 0) {
            int masks = s.mask.px != NULL, boxes = s.nobj > 0 || s.mask.px != NULL;
            b = pool_take(p->pool, (int)n, s.image.c, s.image.h, s.image.w, masks, boxes, p->cfg.want_instances);
            if (b) {
                clear_batch(b);
            } else if (!(b = calloc(1, sizeof *b))) {
                rc = lab_err(LAB_EENV, NULL, "out of memory");
            } else {
                rc = alloc_batch(b, (int)n, s.image.c, s.image.h, s.image.w, masks, boxes, p->cfg.want_instances);
                if (rc) {
                    release_storage(b);
                    b = NULL;
                } else {
                    pthread_mutex_lock(&p->pool->mu);
                    p->pool->refs++;
                    pthread_mutex_unlock(&p->pool->mu);
                    b->pool = p->pool;
                }
            }
        }
        if (!rc && (s.image.c != b->c || s.image.h != b->h || s.image.w != b->w))
            rc = lab_err(LAB_EUSAGE, "add a resize or crop so every image has the same size",
                         "%s: sample %zu is %dx%dx%d but the batch is %dx%dx%d", p->d->name, idx, s.image.w,
                         s.image.h, s.image.c, b->w, b->h, b->c);
        if (!rc) {
            size_t hw = (size_t)b->h * b->w;
            ds_augment_to_chw(&p->cfg.augment, &s.image, b->images + i * b->c * hw, &r);
            b->labels[i] = s.label;
            b->indices[i] = (int64_t)idx;
            if (b->masks && s.mask.px)
                memcpy(b->masks + i * hw, s.mask.px, hw);
            if (b->nobj) {
                b->nobj[i] = s.nobj;
                for (int o = 0; o < s.nobj; o++) {
                    memcpy(b->boxes + (i * DS_MAX_OBJECTS + o) * 4, s.boxes[o], 4 * sizeof(float));
                    b->box_labels[i * DS_MAX_OBJECTS + o] = s.box_labels[o];
                    if (b->instances && s.inst[o].px)
                        memcpy(b->instances + (i * DS_MAX_OBJECTS + o) * hw, s.inst[o].px, hw);
                }
            }
        }
        ds_sample_free(&s);
    }
    if (rc) {
        ds_batch_free(b);
        return rc;
    }
    *out = b;
    return LAB_OK;
}

static size_t capacity(const struct ds_pipeline *p) { return (size_t)p->cfg.prefetch; }

static void *worker(void *arg)
{
    struct ds_pipeline *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && !p->failed && p->next_k < p->nbatches && p->next_k >= p->consumed + capacity(p))
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->stop || p->failed || p->next_k >= p->nbatches)
            break;
        size_t k = p->next_k++;
        int epoch = p->epoch;
        pthread_mutex_unlock(&p->mu);
        struct ds_batch *b;
        int rc = ds_pipeline_build(p, epoch, k, &b);
        pthread_mutex_lock(&p->mu);
        if (rc) {
            if (!p->failed) {
                p->failed = 1;
                p->fail_status = rc;
                snprintf(p->fail_msg, sizeof p->fail_msg, "%s", lab_err_message());
                snprintf(p->fail_fix, sizeof p->fail_fix, "%s", lab_err_fix());
            }
        } else {
            struct slot *s = &p->slots[k % capacity(p)];
            s->batch = b, s->k = k, s->full = 1;
        }
        pthread_cond_broadcast(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static void stop_workers(struct ds_pipeline *p)
{
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    p->nthreads = 0;
    for (size_t i = 0; i < capacity(p); i++) {
        ds_batch_free(p->slots[i].batch);
        p->slots[i] = (struct slot){0};
    }
}

int ds_pipeline_start_epoch(struct ds_pipeline *p, int epoch)
{
    stop_workers(p);
    p->epoch = epoch;
    p->next_k = p->consumed = 0;
    p->stop = p->failed = 0;
    make_order(p);
    for (int i = 0; i < p->cfg.threads; i++) {
        if (pthread_create(&p->threads[i], NULL, worker, p) != 0) {
            stop_workers(p);
            return lab_err(LAB_EENV, "use fewer threads", "cannot start a data loader thread");
        }
        p->nthreads = i + 1;
    }
    return LAB_OK;
}

int ds_pipeline_open(const struct ds_dataset *d, const struct ds_pipeline_config *cfg, struct ds_pipeline **out)
{
    *out = NULL;
    if (cfg->batch_size <= 0 || cfg->threads < 0 || cfg->threads > 256)
        return lab_err(LAB_EUSAGE, "use a positive batch size and 0..256 threads", "bad pipeline configuration");
    if (d->n == 0)
        return lab_err(LAB_EUSAGE, NULL, "dataset %s is empty", d->name);
    struct ds_pipeline *p = calloc(1, sizeof *p);
    if (!p)
        return lab_err(LAB_EENV, NULL, "out of memory");
    p->d = d;
    p->cfg = *cfg;
    if (p->cfg.prefetch <= 0)
        p->cfg.prefetch = 2 * (cfg->threads > 0 ? cfg->threads : 1);
    p->nbatches = cfg->drop_last ? d->n / (size_t)cfg->batch_size
                                 : (d->n + (size_t)cfg->batch_size - 1) / (size_t)cfg->batch_size;
    p->order = malloc(d->n * sizeof *p->order);
    p->threads = calloc((size_t)cfg->threads + 1, sizeof *p->threads);
    p->slots = calloc((size_t)p->cfg.prefetch, sizeof *p->slots);
    p->pool = calloc(1, sizeof *p->pool);
    if (p->pool) {
        pthread_mutex_init(&p->pool->mu, NULL);
        p->pool->refs = 1;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    if (!p->order || !p->threads || !p->slots || !p->pool) {
        ds_pipeline_close(p);
        return lab_err(LAB_EENV, NULL, "out of memory");
    }
    int rc = ds_pipeline_start_epoch(p, 0);
    if (rc) {
        ds_pipeline_close(p);
        return rc;
    }
    *out = p;
    return LAB_OK;
}

int ds_pipeline_next(struct ds_pipeline *p, struct ds_batch **out)
{
    *out = NULL;
    if (p->consumed >= p->nbatches)
        return LAB_OK;
    if (p->nthreads == 0) {
        int rc = ds_pipeline_build(p, p->epoch, p->consumed, out);
        if (!rc)
            p->consumed++;
        return rc;
    }
    pthread_mutex_lock(&p->mu);
    struct slot *s = &p->slots[p->consumed % capacity(p)];
    while (!p->failed && !(s->full && s->k == p->consumed))
        pthread_cond_wait(&p->cv, &p->mu);
    int rc = LAB_OK;
    if (s->full && s->k == p->consumed) {
        *out = s->batch;
        *s = (struct slot){0};
        p->consumed++;
        pthread_cond_broadcast(&p->cv);
    } else {
        rc = lab_err(p->fail_status, p->fail_fix[0] ? p->fail_fix : NULL, "%s", p->fail_msg);
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

void ds_pipeline_close(struct ds_pipeline *p)
{
    if (!p)
        return;
    if (p->slots && p->threads)
        stop_workers(p);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->order), free(p->threads), free(p->slots);
    if (p->pool)
        pool_unref(p->pool);
    free(p);
}
