#include "base/options.h"

#include "base/error.h"
#include "base/suggest.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void lab_opts_init(struct lab_opts *p, const char *cmd, const struct lab_opt *table, int argc, char **argv)
{
    memset(p, 0, sizeof *p);
    p->cmd = cmd;
    p->table = table;
    p->argc = argc;
    p->argv = argv;
    p->next = 1;
}

int lab_opts_usage(const char *cmd, const char *fmt, ...)
{
    char msg[512], fix[96];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(fix, sizeof fix, *cmd ? "see `lab %s --help`" : "see `lab help`", cmd);
    return lab_err(LAB_EUSAGE, fix, "%s", msg);
}

static int unknown_option(const struct lab_opts *p, const char *word)
{
    const char *names[128];
    size_t n = 0;
    for (const struct lab_opt *o = p->table; o->name && n < 127; o++)
        names[n++] = o->name;
    names[n] = NULL;
    char name[128];
    size_t len = strcspn(word + 2, "=");
    snprintf(name, sizeof name, "%.*s", (int)(len < 127 ? len : 127), word + 2);
    const char *close = word[1] == '-' ? lab_suggest(name, names) : NULL;
    char fix[256];
    char help[96];
    snprintf(help, sizeof help, *p->cmd ? "`lab %s --help`" : "`lab help`", p->cmd);
    if (close)
        snprintf(fix, sizeof fix, "did you mean --%s? see %s", close, help);
    else
        snprintf(fix, sizeof fix, "see %s for the options", help);
    return lab_err(LAB_EUSAGE, fix, "unknown option '%.*s'%s%s", (int)(word[1] == '-' ? len + 2 : strlen(word)), word,
                   *p->cmd ? " for lab " : "", p->cmd);
}

int lab_opts_bad_value(const char *option, const char *value, const char *const *choices)
{
    char list[512] = "";
    size_t used = 0;
    for (size_t i = 0; choices[i] && used + 1 < sizeof list; i++)
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", choices[i]);
    const char *close = lab_suggest_loose(value, choices);
    char fix[768];
    if (close)
        snprintf(fix, sizeof fix, "did you mean %s %s? (one of: %s)", option, close, list);
    else
        snprintf(fix, sizeof fix, "use one of: %s", list);
    return lab_err(LAB_EUSAGE, fix, "unknown value '%s' for %s", value, option);
}

static int parse_value(struct lab_opts *p)
{
    const struct lab_opt *o = p->opt;
    const char *v = p->value;
    char *end;
    switch (o->type) {
    case LAB_OPT_FLAG:
    case LAB_OPT_STR: return LAB_OK;
    case LAB_OPT_INT: {
        errno = 0;
        long long x = strtoll(v, &end, 10);
        if (errno || end == v || *end || x < o->min || x > o->max)
            return lab_opts_usage(p->cmd, "--%s takes a whole number from %.0f to %.0f, not '%s'", o->name, o->min,
                                  o->max, v);
        p->ival = x;
        p->num = (double)x;
        return LAB_OK;
    }
    case LAB_OPT_NUM: {
        errno = 0;
        double x = strtod(v, &end);
        if (errno || end == v || *end || !isfinite(x) || x < o->min || x > o->max)
            return lab_opts_usage(p->cmd, "--%s takes a number from %g to %g, not '%s'", o->name, o->min, o->max, v);
        p->num = x;
        return LAB_OK;
    }
    case LAB_OPT_CHOICE: {
        for (size_t i = 0; o->choices[i]; i++)
            if (strcmp(o->choices[i], v) == 0)
                return LAB_OK;
        char option[80];
        snprintf(option, sizeof option, "--%s", o->name);
        return lab_opts_bad_value(option, v, o->choices);
    }
    }
    return LAB_OK;
}

static int positional(struct lab_opts *p, char *w)
{
    if (p->npos == LAB_OPTS_MAX_POS)
        return lab_opts_usage(p->cmd, "too many arguments (more than %d)", LAB_OPTS_MAX_POS);
    p->pos[p->npos++] = w;
    return LAB_OK;
}

int lab_opts_next(struct lab_opts *p)
{
    while (p->next < p->argc) {
        char *w = p->argv[p->next++];
        if (p->after_dashes || w[0] != '-' || w[1] == '\0') {
            int rc = positional(p, w);
            if (rc)
                return rc;
            continue;
        }
        if (strcmp(w, "--") == 0) {
            p->after_dashes = 1;
            continue;
        }
        const struct lab_opt *o = NULL;
        const char *inline_value = NULL;
        if (w[1] == '-') {
            size_t len = strcspn(w + 2, "=");
            for (const struct lab_opt *t = p->table; t->name && !o; t++)
                if (strlen(t->name) == len && strncmp(t->name, w + 2, len) == 0)
                    o = t;
            if (o && w[2 + len] == '=')
                inline_value = w + 3 + len;
        } else {
            for (const struct lab_opt *t = p->table; t->name && !o; t++)
                if (t->short_name && t->short_name == w[1])
                    o = t;
            if (o && w[2])
                inline_value = w + 2;
        }
        if (!o)
            return unknown_option(p, w);
        p->opt = o;
        p->value = NULL;
        if (o->type == LAB_OPT_FLAG) {
            if (inline_value)
                return lab_opts_usage(p->cmd, "--%s takes no value (got '%s')", o->name, w);
            return o->id;
        }
        if (inline_value) {
            p->value = inline_value;
        } else if (p->next < p->argc) {
            p->value = p->argv[p->next++];
        } else {
            return lab_opts_usage(p->cmd, "--%s needs a value (%s)", o->name, o->arg ? o->arg : "VALUE");
        }
        int rc = parse_value(p);
        return rc ? rc : o->id;
    }
    return 0;
}

int lab_opts_rest(struct lab_opts *p)
{
    int c;
    while ((c = lab_opts_next(p)) > 0)
        ;
    return c;
}

int lab_opts_is_positional(const struct lab_opts *p, const char *w)
{
    for (size_t i = 0; i < p->npos; i++)
        if (p->pos[i] == w)
            return 1;
    return 0;
}

void lab_opts_print_help(FILE *f, const struct lab_opt *table)
{
    for (const struct lab_opt *o = table; o->name; o++) {
        char shortname[8] = "";
        if (o->short_name)
            snprintf(shortname, sizeof shortname, "-%c, ", o->short_name);
        int col = fprintf(f, "  %s--%s%s%s", shortname, o->name, o->arg ? " " : "", o->arg ? o->arg : "");
        const char *help = o->help ? o->help : "";
        do {
            size_t len = strcspn(help, "\n");
            if (col >= 23) {
                fputc('\n', f);
                col = 0;
            }
            fprintf(f, "%*s%.*s\n", 24 - col, "", (int)len, help);
            col = 0;
            help += len;
            if (*help == '\n')
                help++;
        } while (*help);
    }
}
