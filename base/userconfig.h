/* lab's own settings file, $LAB_HOME/config.json: a flat JSON object of
 * strings that admins or students set once instead of passing flags.
 *
 *   {"engine": "podman", "image": "lab-course:0.1.0"}
 *
 * Precedence everywhere: command-line flag > environment variable > this
 * file > built-in default. Unknown keys are an error (a typo must not be
 * silently ignored). docs/containers.md documents the keys. */
#ifndef LAB_USERCONFIG_H
#define LAB_USERCONFIG_H

#include <stddef.h>

/* Copies the value of `key` into out: 1 when set, 0 when the file or the
 * key is absent, negative (LAB_EUSAGE naming the file) when the file is not
 * a JSON object of known string keys. `path` (may be NULL) gets the file's
 * path. */
int lab_userconfig_get(const char *key, char *out, size_t cap, char *path, size_t path_cap);

#endif
