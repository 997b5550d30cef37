/* File-system helpers: every file lab writes goes through lab_write_atomic,
 * so a reader never sees a half-written file. */
#ifndef LAB_FSUTIL_H
#define LAB_FSUTIL_H

#include <stddef.h>

/* mkdir -p with mode 0755; LAB_EENV with the path and the cause on failure. */
int lab_mkdir_p(const char *path);

/* Writes all len bytes, looping over short writes and EINTR; -1 with errno
 * set when a write fails. */
int lab_write_full(int fd, const void *data, size_t len);
/* Writes `len` bytes to `path` via a temp file in the same directory, fsync,
 * rename. On any failure the old file (if any) is untouched and no temp file
 * is left behind. */
int lab_write_atomic(const char *path, const void *data, size_t len);

/* Reads a whole regular file of at most `max` bytes into a NUL-terminated
 * malloc'd buffer (*len excludes the NUL). */
int lab_read_file(const char *path, size_t max, char **out, size_t *len);

int lab_path_exists(const char *path);
int lab_is_dir(const char *path);

/* Joins into `out` (size `cap`); LAB_EUSAGE if the result does not fit. */
int lab_path_join(char *out, size_t cap, const char *a, const char *b);

#endif
