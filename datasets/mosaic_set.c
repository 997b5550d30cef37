#include "datasets/mosaic_set.h"

#include "base/error.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

int ds_mosaic_set_name(int train, const struct ds_mosaic_config *cfg, char *out, size_t cap)
{
    int w = snprintf(out, cap, DS_MOSAIC_SET_PREFIX "%s:size=%d:n=%zu:seed=%" PRIu64, train ? "train" : "test",
                     cfg->size, cfg->n, cfg->seed);
    if (w < 0 || (size_t)w >= cap)
        return lab_err(LAB_EINTERNAL, NULL, "a mosaic set name does not fit %zu bytes", cap);
    return LAB_OK;
}

int ds_mosaic_set_parse(const char *name, int *train, struct ds_mosaic_config *cfg)
{
    char split[8] = "", again[160];
    int size = 0, used = 0;
    size_t n = 0;
    uint64_t seed = 0;
    memset(cfg, 0, sizeof *cfg);
    int ok = name && strlen(name) < 120 &&
             sscanf(name, DS_MOSAIC_SET_PREFIX "%5[a-z]:size=%d:n=%zu:seed=%" SCNu64 "%n", split, &size, &n, &seed,
                    &used) == 4 &&
             name[used] == '\0' && (!strcmp(split, "train") || !strcmp(split, "test")) && size >= 16 &&
             size <= 1024 && n >= 1 && n <= 100000;
    if (ok) {
        cfg->size = size, cfg->n = n, cfg->seed = seed;
        *train = !strcmp(split, "train");
        /* the canonical spelling only: no leading zeros or signs slip through */
        ok = ds_mosaic_set_name(*train, cfg, again, sizeof again) == LAB_OK && !strcmp(again, name);
    }
    if (!ok)
        return lab_err(LAB_EUSAGE, "write the eval_set the lab writes, e.g. fashion-mnist-mosaic:test:size=96:n=500:seed=43",
                       "'%.120s' does not name a set of mosaics", name ? name : "");
    return LAB_OK;
}
