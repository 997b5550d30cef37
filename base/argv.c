#include "base/argv.h"

#include "base/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int grow(struct lab_argv *a)
{
    if (a->n + 2 <= a->cap)
        return LAB_OK;
    size_t cap = a->cap ? a->cap * 2 : 16;
    char **v = realloc(a->v, cap * sizeof *v);
    if (!v)
        return lab_err(LAB_EINTERNAL, NULL, "out of memory building a command");
    a->v = v;
    a->cap = cap;
    return LAB_OK;
}

int lab_argv_push(struct lab_argv *a, const char *s)
{
    int rc = grow(a);
    if (rc)
        return rc;
    char *copy = strdup(s);
    if (!copy)
        return lab_err(LAB_EINTERNAL, NULL, "out of memory building a command");
    a->v[a->n++] = copy;
    a->v[a->n] = NULL;
    return LAB_OK;
}

int lab_argv_pushf(struct lab_argv *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        return lab_err(LAB_EINTERNAL, NULL, "out of memory building a command");
    int rc = lab_argv_push(a, s);
    free(s);
    return rc;
}

int lab_argv_extend(struct lab_argv *a, char *const *src, size_t n)
{
    int rc = LAB_OK;
    for (size_t i = 0; !rc && i < n; i++)
        rc = lab_argv_push(a, src[i]);
    return rc;
}

void lab_argv_free(struct lab_argv *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n; i++)
        free(a->v[i]);
    free(a->v);
    a->v = NULL;
    a->n = a->cap = 0;
}

static int is_safe(const char *w)
{
    if (!*w)
        return 0;
    for (const char *p = w; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%_+=:,./-", *p))
            return 0;
    return 1;
}

char *lab_shell_quote(const char *word)
{
    if (is_safe(word))
        return strdup(word);
    size_t quotes = 0;
    for (const char *p = word; *p; p++)
        quotes += *p == '\'';
    char *out = malloc(strlen(word) + quotes * 3 + 3), *o = out;
    if (!out)
        return NULL;
    *o++ = '\'';
    for (const char *p = word; *p; p++) {
        if (*p == '\'') {
            memcpy(o, "'\\''", 4);
            o += 4;
        } else {
            *o++ = *p;
        }
    }
    *o++ = '\'';
    *o = '\0';
    return out;
}

char *lab_argv_to_shell(const struct lab_argv *a)
{
    size_t len = 1;
    char **q = calloc(a->n ? a->n : 1, sizeof *q);
    if (!q)
        return NULL;
    int ok = 1;
    for (size_t i = 0; i < a->n && ok; i++) {
        q[i] = lab_shell_quote(a->v[i]);
        ok = q[i] != NULL;
        if (ok)
            len += strlen(q[i]) + 1;
    }
    char *out = ok ? malloc(len) : NULL;
    if (out) {
        char *o = out;
        for (size_t i = 0; i < a->n; i++) {
            size_t l = strlen(q[i]);
            if (i)
                *o++ = ' ';
            memcpy(o, q[i], l);
            o += l;
        }
        *o = '\0';
    }
    for (size_t i = 0; i < a->n; i++)
        free(q[i]);
    free(q);
    return out;
}
