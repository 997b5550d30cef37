/* The `--full` smoke test: a convolution forward and backward under bf16
 * autocast on `device` ("cuda" or "cpu"), timed.
 *
 * Returns 0 passed (*ms the time), 1 skipped (msg why), -1 failed (msg what;
 * an out-of-memory must be caught and reported here, never thrown). */
#ifndef LAB_DOCTOR_SMOKE_H
#define LAB_DOCTOR_SMOKE_H

#include <stddef.h>

int doctor_smoke_run(const char *device, double *ms, char *msg, size_t cap);

#endif
