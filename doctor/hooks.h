/* What the doctor asks of the datasets registry (doctor_cache.c). */
#ifndef LAB_DOCTOR_HOOKS_H
#define LAB_DOCTOR_HOOKS_H

#include <stddef.h>

/* lab's datasets and weights under `cache_dir`: present (and, with `full`,
 * verified by checksum). Returns 0 when usable (missing ones listed in msg),
 * -1 something corrupt (a failure); `msg` says what. */
int doctor_lab_data_check(const char *cache_dir, int full, char *msg, size_t cap);

#endif
