/* A growable, NULL-terminated argument vector that owns its strings: how
 * lab builds the commands it runs (container engines), so a command is a
 * list that tests compare element by element, never a string to re-parse. */
#ifndef LAB_ARGV_H
#define LAB_ARGV_H

#include <stddef.h>

struct lab_argv {
    char **v; /* v[n] == NULL */
    size_t n, cap;
};

/* Appends a copy of `s`; LAB_EINTERNAL when out of memory. */
int lab_argv_push(struct lab_argv *a, const char *s);
int lab_argv_pushf(struct lab_argv *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends copies of every string of `src`. */
int lab_argv_extend(struct lab_argv *a, char *const *src, size_t n);
void lab_argv_free(struct lab_argv *a); /* leaves an empty vector; NULL-safe */

/* One word quoted for a POSIX shell: left as is when it is made only of
 * safe characters, else in single quotes ('it'\''s'). Caller frees. */
char *lab_shell_quote(const char *word);
/* The whole vector as one shell command line, words quoted. Caller frees. */
char *lab_argv_to_shell(const struct lab_argv *a);

#endif
