/* The BLAS that libtorch's CPU matrix products go through. Debian's libtorch
 * links libblas.so.3, an alternative that is the reference (netlib) BLAS
 * unless an optimized one is installed: then every linear layer and
 * attention runs about ten times slower (lab 2.2.6's training step: 1.9 s
 * against 0.2 s with OpenBLAS, docs/perf.md), while convolutions (oneDNN)
 * hide it. A libtorch with its own BLAS (MKL in pip and NGC builds) maps no
 * libblas.so.3 at all. */
#include "doctor/doctor.h"

#include "shim/lazy.h"

#include <stdio.h>
#include <string.h>

static int is_libblas(const char *base)
{
    return strncmp(base, "libblas.so", 10) == 0;
}

static int is_optimized_blas(const char *base)
{
    return strncmp(base, "libopenblas", 11) == 0 || strncmp(base, "libblis", 7) == 0 ||
           strncmp(base, "libmkl_", 7) == 0;
}

/* Debian installs the reference BLAS as <libdir>/blas/libblas.so.3; the
 * optimized ones as <libdir>/openblas-openmp/libblas.so.3, .../blis-.../ */
static int is_reference_blas(const char *path)
{
    const char *base = strrchr(path, '/');
    if (!base || base == path)
        return 0;
    const char *dir = base;
    while (dir > path && dir[-1] != '/')
        dir--;
    return base - dir == 4 && strncmp(dir, "blas", 4) == 0;
}

static void check_blas(const struct doctor_ctx *ctx, struct doctor_result *r)
{
    if (!ctx->root[0] && ts_lazy_load() != 0) {
        doctor_set(r, DOCTOR_SKIP, NULL, NULL, "libtorch is not loadable (see gpu.libtorch): %s", ts_lazy_reason());
        return;
    }
    char blas[1024] = "", opt[1024] = "";
    if (!doctor_mapped_lib(ctx, is_libblas, blas, sizeof blas))
        doctor_mapped_lib(ctx, is_optimized_blas, opt, sizeof opt);
    if (blas[0] && is_reference_blas(blas))
        doctor_set(r, DOCTOR_WARN, "TS-CPU-REFERENCE-BLAS",
                   "install an optimized BLAS: `sudo apt install libopenblas0-openmp` (Debian's alternatives then "
                   "select it; `update-alternatives --display libblas.so.3-x86_64-linux-gnu` shows which is used)",
                   "libtorch's matrix products use the reference BLAS (%s): linear layers and attention on the CPU run "
                   "about ten times slower",
                   blas);
    else if (blas[0])
        doctor_set(r, DOCTOR_PASS, NULL, NULL, "libtorch's matrix products use %s", blas);
    else if (opt[0])
        doctor_set(r, DOCTOR_PASS, NULL, NULL, "libtorch's matrix products use %s", opt);
    else
        doctor_set(r, DOCTOR_PASS, NULL, NULL, "libtorch maps no system BLAS (it carries its own, as MKL builds do)");
}

const struct doctor_check doctor_blas_checks[] = {
    {"system.blas", "system", "the BLAS libtorch's CPU matrix products use (not the reference BLAS)", check_blas, 0,
     "TS-CPU-REFERENCE-BLAS"},
    {NULL, NULL, NULL, NULL, 0, NULL},
};
