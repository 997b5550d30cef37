/* One error convention for all of lab: a function returns 0 or a negative
 * LAB_E* status and records a message (the cause) and a hint (the fix) in a
 * thread-local slot. The CLI prints it once, at the top, and maps the status
 * to the documented exit code (the status negated). */
#ifndef LAB_ERROR_H
#define LAB_ERROR_H

enum lab_status {
    LAB_OK = 0,
    LAB_EFAIL = -1,     /* a check or grade failed: exit 1 */
    LAB_EUSAGE = -2,    /* bad command line or config: exit 2 */
    LAB_EENV = -3,      /* missing dependency, data, GPU, permission: exit 3 */
    LAB_EINTERNAL = -4, /* a bug or an unexpected library failure: exit 4 */
    LAB_EINTERRUPTED = -130, /* stopped by Ctrl-C or SIGTERM after saving: exit 130 */
};

/* Records cause and fix; returns `status` so callers can `return lab_err(...)`.
 * `fix` may be NULL. The message replaces any earlier one. */
int lab_err(int status, const char *fix, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes the recorded message with more context ("reading X: <old>"). */
int lab_err_context(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

const char *lab_err_message(void); /* "" when none */
const char *lab_err_fix(void);     /* "" when none */
void lab_err_clear(void);

/* Exit code for a status: 0..4 (anything unknown is 4). */
int lab_exit_code(int status);

#endif
