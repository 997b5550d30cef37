/* Seams the doctor leaves for code that lands in other branches. Each has a
 * weak default in the doctor; a strong definition elsewhere replaces it. */
#ifndef LAB_DOCTOR_HOOKS_H
#define LAB_DOCTOR_HOOKS_H

#include <stddef.h>

/* lab's datasets and weights under `cache_dir`: present (and, with `full`,
 * verified by checksum). Returns 0 all good, 1 something missing (a warning),
 * -1 something corrupt (a failure); `msg` says what. The default says the
 * check is not wired. */
int doctor_lab_data_check(const char *cache_dir, int full, char *msg, size_t cap);

#endif
