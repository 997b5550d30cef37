#include "base/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char err_msg[2048];
static _Thread_local char err_fix[1024];

/* Callers often wrap the cause they were given: lab_err(..., "X: %s",
 * lab_err_message()), or pass lab_err_fix() on as the fix. Formatting
 * straight into the slot would overwrite the argument while reading it (the
 * message then quotes a garbled copy of itself), so both are composed
 * apart and copied in. */
static void set_slots(const char *msg, const char *fix)
{
    snprintf(err_msg, sizeof err_msg, "%s", msg);
    snprintf(err_fix, sizeof err_fix, "%s", fix ? fix : "");
}

int lab_err(int status, const char *fix, const char *fmt, ...)
{
    char msg[sizeof err_msg], fx[sizeof err_fix];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(fx, sizeof fx, "%s", fix ? fix : "");
    set_slots(msg, fx);
    return status;
}

int lab_err_context(int status, const char *fmt, ...)
{
    char prefix[1024], msg[sizeof err_msg], fx[sizeof err_fix];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    /* A cause that already names its context is not told it again. */
    if (strncmp(err_msg, prefix, strlen(prefix)) == 0)
        snprintf(msg, sizeof msg, "%s", err_msg);
    else
        snprintf(msg, sizeof msg, "%s: %s", prefix, err_msg);
    snprintf(fx, sizeof fx, "%s", err_fix);
    set_slots(msg, fx);
    return status;
}

const char *lab_err_message(void) { return err_msg; }
const char *lab_err_fix(void) { return err_fix; }

void lab_err_clear(void)
{
    err_msg[0] = '\0';
    err_fix[0] = '\0';
}

int lab_exit_code(int status)
{
    if (status >= 0)
        return 0;
    if (status == LAB_EINTERRUPTED)
        return 130;
    if (status >= LAB_EINTERNAL)
        return -status;
    return 4;
}
