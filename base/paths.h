/* Where lab keeps things:
 *   LAB_HOME  (default $XDG_DATA_HOME/lab, else ~/.local/share/lab): store, runs
 *   LAB_CACHE (default $XDG_CACHE_HOME/lab, else ~/.cache/lab): datasets, weights */
#ifndef LAB_PATHS_H
#define LAB_PATHS_H

#include <stddef.h>

enum lab_dir { LAB_DIR_HOME, LAB_DIR_CACHE };

/* Resolves the directory into `out` without creating it. */
int lab_dir_resolve(enum lab_dir which, char *out, size_t cap);

/* Resolves and creates it (and `sub` below it when not NULL); the error
 * names the variable that chose the path so the user knows what to change. */
int lab_dir_ensure(enum lab_dir which, const char *sub, char *out, size_t cap);

#endif
