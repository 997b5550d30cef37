/* The dataset and weights registry: datasets/<name>.json, compiled into the
 * binary. An entry has a name, a kind ("dataset" or "weights"), files (name,
 * urls — primary first, then mirrors —, size, checks) and where local copies
 * may already be. See docs/datasets.md for every field. */
#ifndef DS_MANIFEST_H
#define DS_MANIFEST_H

#include <jansson.h>
#include <stddef.h>

int ds_registry_load(void); /* idempotent; LAB_EINTERNAL for a malformed manifest */
size_t ds_registry_count(void);
const json_t *ds_registry_at(size_t i); /* borrowed, sorted by name */
const json_t *ds_registry_find(const char *name);
const char *const *ds_registry_names(void); /* NULL-terminated */
void ds_registry_free(void);

/* Where lab stores an entry's files: $LAB_CACHE/datasets/<name> or
 * $LAB_CACHE/weights/<name> (Hugging Face entries live in the HF cache). */
int ds_entry_cache_dir(const json_t *entry, char *out, size_t cap);

/* Finds an existing copy of `file`: the entry's local candidates, then the
 * lab cache, then (for "hf" entries) the Hugging Face cache. */
int ds_file_locate(const json_t *entry, const json_t *file, char *out, size_t cap, int *found);

enum ds_verdict { DS_UNCHECKED = 0, DS_VERIFIED = 1, DS_MISMATCH = 2 };
/* Checks `path` against the file's "checks" (any matching check verifies;
 * "prefix" checks compare the leading hex digits; an "etag" check compares
 * the sha256 with `etag`, or with the HF blob name the path resolves to when
 * `etag` is NULL). With no checks and an exact size, the size decides.
 * `detail` says what was compared. */
int ds_file_verify(const char *path, const json_t *file, const char *etag, enum ds_verdict *verdict, char *detail,
                   size_t cap);

/* The same, with the file's sha256 already known (computed while it was
 * downloaded), so it is not read again. */
int ds_file_verify_known(const char *path, const json_t *file, const char *etag, const char *sha256,
                         enum ds_verdict *verdict, char *detail, size_t cap);

/* A stamp under $LAB_CACHE/verified remembers that a file (by path, size
 * and mtime) verified, so `lab datasets` need not hash gigabytes each time. */
int ds_stamp_matches(const char *path);
void ds_stamp_write(const char *path);

/* The directory a loader reads: the first local candidate or cache dir that
 * holds every file (for archives: the "unpack" directory inside the cache
 * dir). LAB_EENV naming `lab fetch <name>` when there is none. */
int ds_data_dir(const char *name, char *out, size_t cap);


#endif
