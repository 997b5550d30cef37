/* Helpers shared by the unit tests. */
#ifndef LAB_TESTUTIL_H
#define LAB_TESTUTIL_H

#include <stddef.h>

/* A fresh empty directory under $TMPDIR (or /tmp); removed by tu_rmtree. */
char *tu_tempdir(void);
void tu_rmtree(const char *path);

/* The source tree (LAB_SRC, set by make) and the built binary (LAB_BIN). */
const char *tu_src_dir(void);
const char *tu_lab_bin(void);

/* Runs a shell command, capturing stdout+stderr into a malloc'd string
 * (may be NULL); returns the exit status (or 128+signal). */
int tu_run(const char *cmd, char **output);

/* Writes a whole file (test fixtures only; not atomic). */
void tu_write_file(const char *path, const void *data, size_t len);
/* DIR/bin/NAME: an executable /bin/sh script whose body is `body` (a stand-in
 * for a command the code under test runs; put DIR/bin first on PATH). */
void tu_write_tool(const char *dir, const char *name, const char *body);

/* A state-dict key list ("key<TAB>shape[<TAB>param|buffer]" rows, shape
 * "64x3x3x3", a 0-d tensor "" or "scalar"; '#' and header lines skipped,
 * as ../shared/reference's TSVs and the tests/ref scripts write them)
 * against a model's parameter store: the same keys in the same order, the
 * same shapes, and parameter or buffer where the row says. */
struct model;
void tu_expect_state_keys(const struct model *m, const char *path);

#endif
