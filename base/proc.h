/* Running another program and collecting what it prints (container engines
 * for `lab ps` and `lab image`). The command is an argv list, never a shell
 * string. */
#ifndef LAB_PROC_H
#define LAB_PROC_H

#include <stddef.h>

struct lab_proc_result {
    int exit_code; /* 128+signal when killed; 127 when it could not be started */
    char *out;     /* stdout, NUL-terminated, at most `max` bytes kept */
    char *err;     /* stderr, likewise */
};

/* Runs argv[0] (a path, or a name looked up in PATH) with stdin from
 * /dev/null and waits for it. LAB_EINTERNAL only when lab itself fails
 * (no memory, no pipe); a program that fails to start is exit_code 127
 * with the reason in err. */
int lab_proc_capture(char *const argv[], size_t max, struct lab_proc_result *r);
void lab_proc_result_free(struct lab_proc_result *r);

/* Runs argv with this process's stdout and stderr; returns its exit code
 * (127 when it could not be started). */
int lab_proc_run(char *const argv[]);

/* The last line of text that is not empty (copied into out). */
void lab_last_line(const char *text, char *out, size_t cap);

#endif
