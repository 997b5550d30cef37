/* A small seeded random generator (splitmix64 to seed, xoshiro256** to draw).
 * Every random choice in the data pipeline comes from one of these, seeded
 * from (seed, epoch, sample position), so results never depend on which
 * worker thread did the work. */
#ifndef DS_RNG_H
#define DS_RNG_H

#include <stdint.h>

struct ds_rng {
    uint64_t s[4];
};

/* Seeds from any number of 64-bit words mixed together. */
void ds_rng_seed(struct ds_rng *r, uint64_t a, uint64_t b, uint64_t c);
uint64_t ds_rng_next(struct ds_rng *r);
/* Uniform in [0, 1). */
double ds_rng_uniform(struct ds_rng *r);
/* Uniform in [lo, hi). */
double ds_rng_range(struct ds_rng *r, double lo, double hi);
/* Uniform integer in [0, n); n > 0. */
uint64_t ds_rng_below(struct ds_rng *r, uint64_t n);
/* Standard normal. */
double ds_rng_normal(struct ds_rng *r);
/* Gamma(shape, 1); shape > 0. */
double ds_rng_gamma(struct ds_rng *r, double shape);
/* Beta(a, b) in [0, 1]; a, b > 0. */
double ds_rng_beta(struct ds_rng *r, double a, double b);

#endif
