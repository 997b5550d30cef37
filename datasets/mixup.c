#include "datasets/mixup.h"

#include "base/error.h"

#include <stdlib.h>
#include <string.h>

void ds_mixup_draw(struct ds_rng *r, int n, double alpha, double *lambda, int64_t *perm)
{
    *lambda = alpha > 0 ? ds_rng_beta(r, alpha, alpha) : 1.0;
    for (int i = 0; i < n; i++)
        perm[i] = i;
    for (int i = n - 1; i > 0; i--) { /* Fisher-Yates */
        int j = (int)ds_rng_below(r, (uint64_t)i + 1);
        int64_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

int ds_mixup_apply(struct ds_batch *b, double lambda, const int64_t *perm, int64_t *labels_b)
{
    size_t per = (size_t)b->c * b->h * b->w;
    float *orig = malloc((size_t)b->n * per * sizeof *orig);
    if (!orig)
        return lab_err(LAB_EINTERNAL, "use a smaller --batch-size", "out of memory mixing a batch of %d", b->n);
    memcpy(orig, b->images, (size_t)b->n * per * sizeof *orig);
    float l = (float)lambda, k = (float)(1.0 - lambda);
    for (int i = 0; i < b->n; i++) {
        const float *xa = orig + (size_t)i * per, *xb = orig + (size_t)perm[i] * per;
        float *out = b->images + (size_t)i * per;
        for (size_t j = 0; j < per; j++)
            out[j] = l * xa[j] + k * xb[j];
        labels_b[i] = b->labels[perm[i]];
    }
    free(orig);
    return LAB_OK;
}

void ds_mixup_seed(struct ds_rng *r, uint64_t seed, const struct ds_batch *b)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a over the sample indices */
    for (int i = 0; i < b->n; i++) {
        h ^= b->indices ? (uint64_t)b->indices[i] : (uint64_t)i;
        h *= 0x100000001b3ull;
    }
    ds_rng_seed(r, seed, 0x6d69787570ull /* "mixup" */, h);
}
