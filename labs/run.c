#include "labs/run.h"

#include "base/error.h"
#include "base/fsutil.h"
#include "base/jsonio.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

volatile sig_atomic_t lab_interrupted;

static void vlog(struct lab_run *r, const char *fmt, va_list ap)
{
    if (!r->log)
        return;
    vfprintf(r->log, fmt, ap);
    fputc('\n', r->log);
    fflush(r->log);
}

void lab_say(struct lab_run *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(r->say, fmt, ap);
    fputc('\n', r->say);
    fflush(r->say);
    va_end(ap);
    va_start(ap, fmt);
    vlog(r, fmt, ap);
    va_end(ap);
}

void lab_log_line(struct lab_run *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(r, fmt, ap);
    va_end(ap);
}

int lab_run_path(struct lab_run *r, const char *rel, char *out, size_t cap)
{
    int rc = lab_path_join(out, cap, r->dir, rel);
    if (rc)
        return rc;
    char parent[4096];
    snprintf(parent, sizeof parent, "%s", out);
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent) {
        *slash = '\0';
        rc = lab_mkdir_p(parent);
    }
    return rc;
}

int lab_run_save_metrics(struct lab_run *r)
{
    char path[4200];
    int rc = lab_run_path(r, "metrics.json", path, sizeof path);
    return rc ? rc : lab_json_save(path, r->metrics);
}
