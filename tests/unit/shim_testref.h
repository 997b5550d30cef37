/* Helpers for the shim's parity tests: run a tests/ref/shim_*.py script into
 * a temp dir and compare tensors with what it wrote (format in
 * tests/ref/shim_ref.py). */
#ifndef LAB_SHIM_TESTREF_H
#define LAB_SHIM_TESTREF_H

#include "shim/torchshim.h"

/* Runs /usr/bin/python3 tests/ref/<script> DIR; returns DIR (malloc'd). */
char *shim_ref_generate(const char *script);
int shim_ref_exists(const char *dir, const char *name);
/* The reference tensor NAME as a caller-owned tensor (ints as i64, bool and
 * u8 converted back), or NULL when absent. *dtype (may be NULL) receives
 * the dtype PyTorch's tensor had. */
ts_tensor *shim_ref_load(const char *dir, const char *name, int *dtype);
/* Asserts that `got` has NAME's shape and dtype and that
 * max|got - ref| <= rtol * max(max|ref|, 1e-6). */
void shim_ref_expect(const char *dir, const char *name, const ts_tensor *got, double rtol);
/* The same check, returning non-zero with the reason in why instead of
 * failing the test. */
int shim_ref_compare(const char *dir, const char *name, const ts_tensor *got, double rtol, char *why, size_t cap);
/* Copies PREFIX<name> of the reference into every entry <name> of params
 * (weights and buffers), asserting that each is there. */
void shim_ref_copy_params(const char *dir, const char *prefix, ts_params *params);
/* The contents of DIR/NAME.txt (malloc'd). */
char *shim_ref_text(const char *dir, const char *name);

#endif
