#include "datasets/rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void ds_rng_seed(struct ds_rng *r, uint64_t a, uint64_t b, uint64_t c)
{
    uint64_t x = a;
    x = splitmix64(&x) ^ b;
    x = splitmix64(&x) ^ c;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t ds_rng_next(struct ds_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double ds_rng_uniform(struct ds_rng *r) { return (double)(ds_rng_next(r) >> 11) * 0x1.0p-53; }

double ds_rng_range(struct ds_rng *r, double lo, double hi) { return lo + (hi - lo) * ds_rng_uniform(r); }

uint64_t ds_rng_below(struct ds_rng *r, uint64_t n)
{
    /* Rejection keeps it unbiased. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t v;
    do
        v = ds_rng_next(r);
    while (v >= limit);
    return v % n;
}

double ds_rng_normal(struct ds_rng *r)
{
    /* Box-Muller; the floor keeps the logarithm finite. */
    double u = ds_rng_uniform(r), v = ds_rng_uniform(r);
    return sqrt(-2.0 * log(u > 1e-12 ? u : 1e-12)) * cos(2.0 * M_PI * v);
}

double ds_rng_gamma(struct ds_rng *r, double shape)
{
    /* Marsaglia and Tsang (2000); below shape 1 the boost
     * Gamma(a) = Gamma(a + 1) * U^(1/a) keeps the squeeze valid. */
    if (shape < 1.0) {
        double u = 1.0 - ds_rng_uniform(r);
        return ds_rng_gamma(r, shape + 1.0) * pow(u, 1.0 / shape);
    }
    double d = shape - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double x = ds_rng_normal(r), v = 1.0 + c * x;
        if (v <= 0)
            continue;
        v = v * v * v;
        double u = 1.0 - ds_rng_uniform(r);
        if (log(u) < 0.5 * x * x + d - d * v + d * log(v))
            return d * v;
    }
}

double ds_rng_beta(struct ds_rng *r, double a, double b)
{
    for (;;) {
        double x = ds_rng_gamma(r, a), y = ds_rng_gamma(r, b);
        if (x + y > 0) /* both underflow only for tiny shapes; draw again */
            return x / (x + y);
    }
}
