/* File digests through OpenSSL's EVP interface (libcrypto). */
#ifndef DS_HASH_H
#define DS_HASH_H

#include <stddef.h>
#include <stdint.h>

/* `algo` is "sha256" or "md5"; `hex` gets the lowercase digest (at least 65
 * bytes). The file is read in chunks, so any size works. */
int ds_hash_file(const char *path, const char *algo, char *hex, size_t cap);
int ds_hash_buffer(const void *data, size_t len, const char *algo, char *hex, size_t cap);
/* 1 when `s` is `len` lowercase or uppercase hex digits. */
int ds_is_hex(const char *s, size_t len);

#endif
