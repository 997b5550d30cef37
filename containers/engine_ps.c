/* Reading the engines' `ps` output for `lab ps` (plain C and jansson only:
 * tests/fuzz/fuzz_engine_ps.c links it on its own). */
#include "containers/engine.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* docker's Labels is "k=v,k=v"; podman's an object. */
static void label_of(const json_t *labels, const char *key, char *out, size_t cap)
{
    out[0] = '\0';
    if (json_is_object(labels)) {
        const char *v = json_string_value(json_object_get(labels, key));
        snprintf(out, cap, "%s", v ? v : "");
        return;
    }
    const char *s = json_string_value(labels);
    size_t klen = strlen(key);
    while (s && *s) {
        const char *end = strchr(s, ',');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        if (len > klen && strncmp(s, key, klen) == 0 && s[klen] == '=') {
            size_t vlen = len - klen - 1;
            if (vlen >= cap)
                vlen = cap - 1;
            memcpy(out, s + klen + 1, vlen);
            out[vlen] = '\0';
            return;
        }
        s = end ? end + 1 : NULL;
    }
}

static void string_of(const json_t *v, char *out, size_t cap)
{
    if (json_is_array(v))
        v = json_array_get(v, 0);
    const char *s = json_string_value(v);
    snprintf(out, cap, "%s", s ? s : "");
}

/* A pid is all digits and fits an int; anything else is 0 (unknown). */
static int parse_pid(const char *s)
{
    if (!*s || strlen(s) > 9 || strspn(s, "0123456789") != strlen(s))
        return 0;
    return atoi(s);
}

static int add_row(const json_t *o, const char *engine, struct lab_ps_row *r)
{
    if (!json_is_object(o))
        return 0;
    memset(r, 0, sizeof *r);
    snprintf(r->engine, sizeof r->engine, "%s", engine);
    string_of(json_object_get(o, "Names"), r->name, sizeof r->name);
    if (!r->name[0])
        return 0;
    const json_t *labels = json_object_get(o, "Labels");
    char pid[32];
    label_of(labels, LAB_LABEL_PID, pid, sizeof pid);
    label_of(labels, LAB_LABEL_LAB, r->lab, sizeof r->lab);
    label_of(labels, LAB_LABEL_HOST, r->host, sizeof r->host);
    r->pid = parse_pid(pid);
    string_of(json_object_get(o, "State"), r->state, sizeof r->state);
    string_of(json_object_get(o, "Status"), r->status, sizeof r->status);
    return 1;
}

size_t lab_ps_parse(const char *text, size_t len, const char *engine, struct lab_ps_row *rows, size_t cap)
{
    size_t n = 0;
    json_t *all = json_loadb(text, len, JSON_DECODE_ANY, NULL);
    if (json_is_array(all)) {
        size_t i;
        json_t *o;
        json_array_foreach(all, i, o)
        {
            if (n < cap)
                n += (size_t)add_row(o, engine, &rows[n]);
        }
        json_decref(all);
        return n;
    }
    json_decref(all);
    const char *line = text, *stop = text + len;
    while (line < stop && n < cap) {
        const char *end = memchr(line, '\n', (size_t)(stop - line));
        size_t l = end ? (size_t)(end - line) : (size_t)(stop - line);
        json_t *o = json_loadb(line, l, 0, NULL);
        n += (size_t)add_row(o, engine, &rows[n]);
        json_decref(o);
        line = end ? end + 1 : stop;
    }
    return n;
}
