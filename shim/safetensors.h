/* safetensors, read and written in plain C (no libtorch).
 *
 * The format (https://github.com/huggingface/safetensors): an 8-byte
 * little-endian header length N, N bytes of UTF-8 JSON
 *   {"__metadata__": {str: str}, "name": {"dtype": "F32", "shape": [..],
 *    "data_offsets": [begin, end]}, ...}
 * then the data buffer; offsets are relative to the buffer's start.
 *
 * The reader never trusts the file: every length, shape and offset is checked
 * (with overflow-checked arithmetic) before a pointer into the data is made,
 * and it allocates only in proportion to the header, never to a declared
 * shape. Files are mmap'd; tensor data is a zero-copy view. */
#ifndef LAB_SAFETENSORS_H
#define LAB_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* In the reference implementation's alignment order (smallest first): the
 * writer lays tensors out by descending dtype, then by name, as it does. */
enum st_dtype {
    ST_BOOL,
    ST_U8,
    ST_I8,
    ST_F8_E5M2,
    ST_F8_E4M3,
    ST_I16,
    ST_U16,
    ST_F16,
    ST_BF16,
    ST_I32,
    ST_U32,
    ST_F32,
    ST_F64,
    ST_I64,
    ST_U64,
    ST_DTYPE_COUNT
};

#define ST_MAX_DIMS 8
/* The reference implementation refuses headers above 100 MB; so do we. */
#define ST_MAX_HEADER_BYTES 100000000u

/* Bytes per element; 0 for a value outside the enum. */
size_t st_dtype_size(enum st_dtype dtype);
/* "F32", "BF16", ...; "?" for a value outside the enum. */
const char *st_dtype_name(enum st_dtype dtype);
/* 0, or LAB_EUSAGE naming the unknown dtype and listing the known ones. */
int st_dtype_from_name(const char *name, enum st_dtype *out);

/* A view of one tensor inside an open file; valid until st_close. `data`
 * is aligned to the element size when the writer padded its header as the
 * reference implementation (and lab) does; a hand-made file may not be, so
 * copy (memcpy) rather than cast when in doubt. */
struct st_tensor {
    const char *name;
    enum st_dtype dtype;
    int ndim;                    /* 0 for a scalar */
    int64_t shape[ST_MAX_DIMS];
    const void *data;            /* row-major, little-endian */
    size_t nbytes;               /* product(shape) * st_dtype_size(dtype) */
};

typedef struct st_file st_file;

/* Maps and validates `path`. On error *out is NULL and the message names the
 * file, the tensor and what is wrong. */
int st_open(const char *path, st_file **out);

/* Validates an in-memory file of `len` bytes. `buf` is borrowed: it must stay
 * alive and unchanged until st_close. `what` names it in messages (a path,
 * "<memory>"); it is copied. */
int st_open_memory(const void *buf, size_t len, const char *what, st_file **out);

void st_close(st_file *f); /* NULL is a no-op */

/* Tensors in the order their bytes lie in the file (data_offsets order). */
size_t st_count(const st_file *f);
const struct st_tensor *st_at(const st_file *f, size_t i); /* NULL past the end */
/* NULL when absent (no error recorded). */
const struct st_tensor *st_find(const st_file *f, const char *name);
/* The same, but an absent name is LAB_EUSAGE with a message naming it. */
int st_get(const st_file *f, const char *name, const struct st_tensor **out);

/* `__metadata__` entries, keys in the order the file gives them. */
size_t st_metadata_count(const st_file *f);
/* 0, or LAB_EUSAGE when i is out of range. */
int st_metadata_at(const st_file *f, size_t i, const char **key, const char **value);
const char *st_metadata_get(const st_file *f, const char *key); /* NULL when absent */

/* ---- Writing ---- */

typedef struct st_writer st_writer;

int st_writer_new(st_writer **out);
void st_writer_free(st_writer *w); /* NULL is a no-op */

/* Adds a tensor. The name and shape are copied; `data` (nbytes, row-major,
 * little-endian) is borrowed until the writer is written or freed. Checks that
 * nbytes equals product(shape) * element size and that the name is new,
 * UTF-8 and not "__metadata__" (an empty name is legal, as in the format). */
int st_writer_add(st_writer *w, const char *name, enum st_dtype dtype, int ndim, const int64_t *shape,
                  const void *data, size_t nbytes);

/* Sets (or replaces) a `__metadata__` entry; both strings are copied. */
int st_writer_set_metadata(st_writer *w, const char *key, const char *value);

/* Writes the file atomically (temp file in the same directory, fsync,
 * rename): a reader sees the old file or the whole new one. Layout as the
 * reference implementation: `__metadata__` first (keys sorted), tensors by
 * descending dtype then name, compact JSON padded with spaces to a multiple
 * of 8 bytes so that every tensor's data is aligned to its element size. */
int st_writer_write(const st_writer *w, const char *path);

/* The same bytes into a malloc'd buffer (caller frees). */
int st_writer_to_memory(const st_writer *w, void **out, size_t *len);

#ifdef __cplusplus
}
#endif

#endif
