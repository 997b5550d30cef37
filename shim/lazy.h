/* liblabtorch.so (the C++ shim linked with libtorch) is loaded on the first
 * shim call, not at start-up: libtorch's static initializers take about a
 * second, which `lab explain`, `lab fetch` or `lab doctor` should not pay.
 * The stubs (generated from torchshim.h and pth.h) call ts_lazy_sym. */
#ifndef LAB_SHIM_LAZY_H
#define LAB_SHIM_LAZY_H

/* Loads the library once (thread-safe) and returns the address of `name`,
 * or NULL when the library or the symbol is missing. */
void *ts_lazy_sym(const char *name);
/* Loads the library now; 0 on success, -1 (see ts_lazy_error) otherwise.
 * Callers about to fork workers that all need libtorch load it first. */
int ts_lazy_load(void);
/* Why loading failed, with the fix in parentheses; "" when it did not fail
 * (this is what ts_last_error() says then). The two parts apart: */
const char *ts_lazy_error(void);
const char *ts_lazy_reason(void);
const char *ts_lazy_fix(void);
/* ts_lazy_load as a lab status: LAB_OK, or LAB_EENV (exit 3) with the reason
 * and the fix set through lab_err. */
int ts_lazy_require(void);
/* The file loaded, or "" before loading. */
const char *ts_lazy_path(void);

#endif
