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
 * rename, fsync of the directory. On any failure the old file (if any) is
 * untouched and no temp file is left behind. A symbolic link at `path` is
 * refused, never written through or replaced. */
int lab_write_atomic(const char *path, const void *data, size_t len);

/* The same, streamed, for outputs too large to gather in memory first:
 * open, write (or hand `fd` to a library that writes), then commit, or abort
 * on any error of the caller's own. Commit and abort both end it. */
struct lab_atomic_file {
    int fd;  /* the temp file; -1 once committed or abandoned */
    int err; /* errno of the first failed lab_atomic_write */
    char path[4096];
    char tmp[4096 + 16];
};
int lab_atomic_open(struct lab_atomic_file *f, const char *path);
int lab_atomic_write(struct lab_atomic_file *f, const void *data, size_t len);
int lab_atomic_commit(struct lab_atomic_file *f);
void lab_atomic_abort(struct lab_atomic_file *f); /* no-op once ended */

/* rename(2) then fsync of the destination's directory: the last step of a
 * write whose temp file has a name of its own (a resumable download's .part,
 * an unpacked tree's staging directory). */
int lab_rename_durable(const char *from, const char *to);

/* Reads a whole regular file of at most `max` bytes into a NUL-terminated
 * malloc'd buffer (*len excludes the NUL). */
int lab_read_file(const char *path, size_t max, char **out, size_t *len);

int lab_path_exists(const char *path);
int lab_is_dir(const char *path);
/* 1 when path holds nothing but . and .. (or cannot be opened as a directory). */
int lab_dir_is_empty(const char *path);

/* Joins into `out` (size `cap`); LAB_EUSAGE if the result does not fit. */
int lab_path_join(char *out, size_t cap, const char *a, const char *b);

#endif
