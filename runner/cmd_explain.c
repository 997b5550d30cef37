#include "base/error.h"
#include "base/suggest.h"
#include "grader/kb.h"
#include "runner/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define STDIN_MAX (1u << 20)

static void print_entry(const struct kb_entry *e)
{
    printf("%s: %s\n\n%s", e->id, e->title, e->body);
    if (e->n_checks || e->n_doctor) {
        printf("\npointed to by:");
        for (size_t i = 0; i < e->n_checks; i++)
            printf(" check %s;", e->checks[i]);
        for (size_t i = 0; i < e->n_doctor; i++)
            printf(" doctor %s;", e->doctor[i]);
        printf("\n");
    }
}

static int explain_id(const char *id)
{
    const struct kb_entry *e = kb_find(id);
    if (e) {
        print_entry(e);
        return LAB_OK;
    }
    const char *ids[130];
    size_t n = 0;
    for (; n < kb_count() && n < 129; n++)
        ids[n] = kb_at(n)->id;
    ids[n] = NULL;
    const char *close = lab_suggest(id, ids);
    char fix[160];
    snprintf(fix, sizeof fix, "%s%s%s`lab explain --list` shows every entry", close ? "did you mean " : "",
             close ? close : "", close ? "? " : "");
    return lab_err(LAB_EUSAGE, fix, "no troubleshooting entry '%s'", id);
}

static int explain_text(const char *text)
{
    const struct kb_entry *hits[5];
    size_t n = kb_match(text, hits, 5);
    if (n == 0)
        return lab_err(LAB_EFAIL, "`lab explain --list` shows every entry; `lab doctor` checks the machine",
                       "no troubleshooting entry matches that text");
    print_entry(hits[0]);
    if (n > 1) {
        printf("\nalso matching:\n");
        for (size_t i = 1; i < n; i++)
            printf("  %s  %s\n", hits[i]->id, hits[i]->title);
    }
    return LAB_OK;
}

static int read_stdin(char **out)
{
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    if (!buf)
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    size_t n;
    while ((n = fread(buf + len, 1, cap - len - 1, stdin)) > 0) {
        len += n;
        if (len + 1 == cap) {
            if (cap >= STDIN_MAX)
                break; /* the first megabyte of a log is plenty to match */
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                free(buf);
                return lab_err(LAB_EINTERNAL, NULL, "out of memory");
            }
            buf = bigger;
            cap *= 2;
        }
    }
    buf[len] = '\0';
    *out = buf;
    return LAB_OK;
}

const struct lab_opt lab_explain_options[] = {
    {'l', "list", 0, LAB_OPT_FLAG, NULL, "list every troubleshooting entry", 0, 0, NULL},
    {0},
};

int cmd_explain(int argc, char **argv)
{
    int list = 0, c;
    struct lab_opts p;
    lab_opts_init(&p, "explain", lab_explain_options, argc, argv);
    while ((c = lab_opts_next(&p)) > 0)
        list = 1;
    if (c < 0)
        return c;
    int rc = kb_load();
    if (rc)
        return rc;
    if (list) {
        if (p.npos)
            return lab_cli_usage("explain", "--list takes no other argument");
        for (size_t i = 0; i < kb_count(); i++)
            printf("%-26s %s\n", kb_at(i)->id, kb_at(i)->title);
        return LAB_OK;
    }
    if (p.npos != 1)
        return lab_cli_usage("explain", "give one troubleshooting id, one quoted error text, or - to read stdin");
    const char *arg = p.pos[0];
    if (strcmp(arg, "-") == 0) {
        char *text = NULL;
        if ((rc = read_stdin(&text)))
            return rc;
        rc = explain_text(text);
        free(text);
        return rc;
    }
    if (strncasecmp(arg, "TS-", 3) == 0 && !strchr(arg, ' '))
        return explain_id(arg);
    return explain_text(arg);
}
