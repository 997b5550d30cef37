/* LeNet-5 training step through the shim (batch 64, 3x32x32, SGD momentum),
 * as a lab would write it: a scope per step, parameters in a store.
 * Usage: shim_lenet STEPS THREADS [BATCH]; prints ms per step (median of 5 runs). */
#include "shim/torchshim.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define CHECK(x)                                                                                              \
    do {                                                                                                      \
        if ((x) != TS_OK) {                                                                                   \
            fprintf(stderr, "%s: %s\n", #x, ts_last_error());                                                 \
            exit(1);                                                                                          \
        }                                                                                                     \
    } while (0)

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static ts_tensor *add_param(ts_params *p, const char *name, int ndim, const int64_t *shape, double bound)
{
    ts_tensor *t, *h;
    CHECK(ts_zeros(&t, ndim, shape, TS_F32, TS_CPU));
    CHECK(ts_uniform_(t, -bound, bound));
    CHECK(ts_params_add(p, name, t, TS_PARAM, 0, &h));
    ts_tensor_free(t);
    return h;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    int steps = argc > 1 ? atoi(argv[1]) : 50, threads = argc > 2 ? atoi(argv[2]) : 1, batch = argc > 3 ? atoi(argv[3]) : 64;
    CHECK(ts_set_num_threads(threads));
    CHECK(ts_manual_seed(0));
    ts_params *p;
    CHECK(ts_params_new(&p));
    int64_t c1w[4] = {6, 3, 5, 5}, c1b[1] = {6}, c2w[4] = {16, 6, 5, 5}, c2b[1] = {16};
    int64_t f1w[2] = {120, 400}, f1b[1] = {120}, f2w[2] = {84, 120}, f2b[1] = {84}, f3w[2] = {10, 84}, f3b[1] = {10};
    ts_tensor *conv1_w = add_param(p, "conv1.weight", 4, c1w, 0.2), *conv1_b = add_param(p, "conv1.bias", 1, c1b, 0.2);
    ts_tensor *conv2_w = add_param(p, "conv2.weight", 4, c2w, 0.08), *conv2_b = add_param(p, "conv2.bias", 1, c2b, 0.08);
    ts_tensor *fc1_w = add_param(p, "fc1.weight", 2, f1w, 0.05), *fc1_b = add_param(p, "fc1.bias", 1, f1b, 0.05);
    ts_tensor *fc2_w = add_param(p, "fc2.weight", 2, f2w, 0.09), *fc2_b = add_param(p, "fc2.bias", 1, f2b, 0.09);
    ts_tensor *fc3_w = add_param(p, "fc3.weight", 2, f3w, 0.1), *fc3_b = add_param(p, "fc3.bias", 1, f3b, 0.1);
    struct ts_sgd_opts so = {.lr = 0.01, .momentum = 0.9};
    ts_optim *opt;
    CHECK(ts_optim_sgd(&opt, p, &so));
    int64_t xs[4] = {batch, 3, 32, 32}, ys[1] = {batch};
    ts_tensor *x, *y;
    CHECK(ts_randn(&x, 4, xs, TS_F32, TS_CPU));
    CHECK(ts_randint(&y, 0, 10, 1, ys, TS_CPU));
    static const int64_t one[2] = {1, 1}, zero[2] = {0, 0}, two[2] = {2, 2};
    double runs[5];
    double final_loss = 0;
    for (int r = 0; r < 5; r++) {
        double t0 = now();
        for (int s = 0; s < steps + (r == 0 ? 5 : 0); s++) {
            if (r == 0 && s == 5)
                t0 = now(); /* the first run's first steps warm up */
            CHECK(ts_scope_begin());
            ts_tensor *h, *loss;
            CHECK(ts_optim_zero_grad(opt));
            CHECK(ts_conv2d(&h, x, conv1_w, conv1_b, one, zero, one, 1));
            CHECK(ts_relu(&h, h));
            CHECK(ts_avg_pool2d(&h, h, two, two, zero, 0, 1));
            CHECK(ts_conv2d(&h, h, conv2_w, conv2_b, one, zero, one, 1));
            CHECK(ts_relu(&h, h));
            CHECK(ts_avg_pool2d(&h, h, two, two, zero, 0, 1));
            CHECK(ts_flatten(&h, h, 1, -1));
            CHECK(ts_linear(&h, h, fc1_w, fc1_b));
            CHECK(ts_relu(&h, h));
            CHECK(ts_linear(&h, h, fc2_w, fc2_b));
            CHECK(ts_relu(&h, h));
            CHECK(ts_linear(&h, h, fc3_w, fc3_b));
            CHECK(ts_cross_entropy(&loss, h, y, NULL, TS_RED_MEAN, -100, 0));
            CHECK(ts_backward(loss, NULL));
            CHECK(ts_optim_step(opt));
            CHECK(ts_item_f64(loss, &final_loss));
            ts_scope_end();
        }
        runs[r] = (now() - t0) / steps * 1e3;
    }
    qsort(runs, 5, sizeof runs[0], cmp);
    printf("%.3f %.4f\n", runs[2], final_loss);
    ts_tensor_free(x);
    ts_tensor_free(y);
    ts_optim_free(opt);
    ts_params_free(p);
    return 0;
}
