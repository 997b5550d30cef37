#include "base/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char err_msg[2048];
static _Thread_local char err_fix[1024];

int lab_err(int status, const char *fix, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err_msg, sizeof err_msg, fmt, ap);
    va_end(ap);
    snprintf(err_fix, sizeof err_fix, "%s", fix ? fix : "");
    return status;
}

int lab_err_context(int status, const char *fmt, ...)
{
    char prefix[1024], old[sizeof err_msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err_msg, sizeof old);
    snprintf(err_msg, sizeof err_msg, "%s: %s", prefix, old);
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
