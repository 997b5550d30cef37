// Per-op call overhead of the shim: the same small-tensor ops timed through
// libtorch's C++ API directly and through the C API, in one process, so the
// difference is what the shim adds (handle, try/catch, error reset, free).
// Prints one line per op: name, ns per call direct, ns per call via shim.
#include "shim/torchshim.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

static double now()
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}


int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 200000;
    int threads = argc > 2 ? atoi(argv[2]) : 1;
    at::set_num_threads(threads);
    at::Tensor a = at::randn({4}), m = at::randn({4, 4}), w = at::randn({4, 4}), b = at::randn({4});
    int64_t s1[1] = {4}, s2[2] = {4, 4};
    ts_tensor *ta, *tm, *tw, *tb;
    ts_randn(&ta, 1, s1, TS_F32, TS_CPU);
    ts_randn(&tm, 2, s2, TS_F32, TS_CPU);
    ts_randn(&tw, 2, s2, TS_F32, TS_CPU);
    ts_randn(&tb, 1, s1, TS_F32, TS_CPU);
    struct op {
        const char *name;
        at::Tensor (*direct)(const at::Tensor &, const at::Tensor &, const at::Tensor &, const at::Tensor &);
        int (*shim)(ts_tensor **, ts_tensor *, ts_tensor *, ts_tensor *, ts_tensor *);
    } ops[] = {
        {"add", [](const at::Tensor &x, const at::Tensor &, const at::Tensor &, const at::Tensor &) { return at::add(x, x); },
         [](ts_tensor **o, ts_tensor *x, ts_tensor *, ts_tensor *, ts_tensor *) { return ts_add(o, x, x); }},
        {"relu", [](const at::Tensor &x, const at::Tensor &, const at::Tensor &, const at::Tensor &) { return at::relu(x); },
         [](ts_tensor **o, ts_tensor *x, ts_tensor *, ts_tensor *, ts_tensor *) { return ts_relu(o, x); }},
        {"mul_scalar", [](const at::Tensor &x, const at::Tensor &, const at::Tensor &, const at::Tensor &) { return at::mul(x, 2.0); },
         [](ts_tensor **o, ts_tensor *x, ts_tensor *, ts_tensor *, ts_tensor *) { return ts_mul_scalar(o, x, 2.0); }},
        {"sum", [](const at::Tensor &x, const at::Tensor &, const at::Tensor &, const at::Tensor &) { return at::sum(x); },
         [](ts_tensor **o, ts_tensor *x, ts_tensor *, ts_tensor *, ts_tensor *) { return ts_sum(o, x, TS_ALL, 0); }},
        {"matmul4x4", [](const at::Tensor &, const at::Tensor &mm, const at::Tensor &, const at::Tensor &) { return at::matmul(mm, mm); },
         [](ts_tensor **o, ts_tensor *, ts_tensor *mm, ts_tensor *, ts_tensor *) { return ts_matmul(o, mm, mm); }},
        {"linear4", [](const at::Tensor &, const at::Tensor &mm, const at::Tensor &ww, const at::Tensor &bb) { return at::linear(mm, ww, bb); },
         [](ts_tensor **o, ts_tensor *, ts_tensor *mm, ts_tensor *ww, ts_tensor *bb) { return ts_linear(o, mm, ww, bb); }},
    };
    for (auto &op : ops) {
        for (long i = 0; i < n / 10; i++) /* warm-up */
            (void)op.direct(a, m, w, b);
        double t0 = now();
        for (long i = 0; i < n; i++)
            (void)op.direct(a, m, w, b);
        double direct = (now() - t0) / n * 1e9;
        ts_tensor *out;
        for (long i = 0; i < n / 10; i++) {
            op.shim(&out, ta, tm, tw, tb);
            ts_tensor_free(out);
        }
        t0 = now();
        for (long i = 0; i < n; i++) {
            if (op.shim(&out, ta, tm, tw, tb) != TS_OK) {
                fprintf(stderr, "%s: %s\n", op.name, ts_last_error());
                return 1;
            }
            ts_tensor_free(out);
        }
        double shim = (now() - t0) / n * 1e9;
        printf("%s %.0f %.0f\n", op.name, direct, shim);
    }
    ts_tensor_free(ta);
    ts_tensor_free(tm);
    ts_tensor_free(tw);
    ts_tensor_free(tb);
    return 0;
}
