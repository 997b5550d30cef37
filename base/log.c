#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static enum lab_log_level threshold = LAB_LOG_WARN;

void lab_log_init(void)
{
    const char *v = getenv("LAB_LOG");
    threshold = LAB_LOG_WARN;
    if (!v)
        return;
    if (strcmp(v, "debug") == 0)
        threshold = LAB_LOG_DEBUG;
    else if (strcmp(v, "info") == 0)
        threshold = LAB_LOG_INFO;
    else if (strcmp(v, "warn") != 0)
        fprintf(stderr, "lab: warning: LAB_LOG=%s is not one of debug, info, warn; using warn\n", v);
}

int lab_log_enabled(enum lab_log_level level) { return level >= threshold; }

void lab_log(enum lab_log_level level, const char *fmt, ...)
{
    static const char *const names[] = {"debug", "info", "warning"};
    if (!lab_log_enabled(level))
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "lab: %s: ", names[level]);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}
