#include "grader/kb.h"

#include "base/embedded.h"
#include "base/error.h"

#include <ctype.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KB_MAX 128

static struct kb_entry entries[KB_MAX];
static size_t n_entries;
static int loaded;

void kb_entry_clear(struct kb_entry *e)
{
    regex_t *re = e->compiled;
    for (size_t i = 0; i < e->n_patterns; i++) {
        if (re)
            regfree(&re[i]);
        free(e->patterns[i]);
    }
    for (size_t i = 0; i < e->n_checks; i++)
        free(e->checks[i]);
    for (size_t i = 0; i < e->n_doctor; i++)
        free(e->doctor[i]);
    free(re);
    memset(e, 0, sizeof *e);
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

/* A YAML scalar: 'single' ('' is a quote), "double" (\" and \\), or plain. */
static char *unquote(const char *s)
{
    size_t n = strlen(s);
    char *out = malloc(n + 1), *o = out;
    if (!out)
        return NULL;
    if (n >= 2 && s[0] == '\'' && s[n - 1] == '\'') {
        for (size_t i = 1; i < n - 1; i++) {
            if (s[i] == '\'' && s[i + 1] == '\'')
                i++;
            *o++ = s[i];
        }
    } else if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
        for (size_t i = 1; i < n - 1; i++) {
            if (s[i] == '\\' && i + 1 < n - 1)
                i++;
            *o++ = s[i];
        }
    } else {
        memcpy(out, s, n);
        o += n;
    }
    *o = '\0';
    return out;
}

static int add_item(char **list, size_t *n, const char *value, const char *source, const char *key)
{
    if (*n == KB_MAX_LIST)
        return lab_err(LAB_EINTERNAL, NULL, "%s: more than %d items under %s", source, KB_MAX_LIST, key);
    if (!(list[*n] = unquote(value)))
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    (*n)++;
    return LAB_OK;
}

/* "[a, b]" -> items; "" or "[]" -> none. */
static int parse_flow_list(char *v, char **list, size_t *n, const char *source, const char *key)
{
    if (*v == '\0')
        return LAB_OK;
    size_t len = strlen(v);
    if (v[0] != '[' || v[len - 1] != ']')
        return lab_err(LAB_EINTERNAL, NULL, "%s: %s must be a [list]", source, key);
    v[len - 1] = '\0';
    for (char *save = NULL, *tok = strtok_r(v + 1, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *t = trim(tok);
        int rc;
        if (*t && (rc = add_item(list, n, t, source, key)))
            return rc;
    }
    return LAB_OK;
}

static int compile_patterns(struct kb_entry *e, const char *source)
{
    regex_t *re = calloc(e->n_patterns ? e->n_patterns : 1, sizeof *re);
    if (!re)
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    for (size_t i = 0; i < e->n_patterns; i++) {
        int rc = regcomp(&re[i], e->patterns[i], REG_EXTENDED | REG_ICASE | REG_NOSUB);
        if (rc) {
            char why[128];
            regerror(rc, &re[i], why, sizeof why);
            for (size_t j = 0; j < i; j++)
                regfree(&re[j]);
            free(re);
            return lab_err(LAB_EINTERNAL, NULL, "%s: pattern '%s' does not compile: %s", source, e->patterns[i], why);
        }
    }
    e->compiled = re;
    return LAB_OK;
}

int kb_parse(const char *text, const char *source, struct kb_entry *out)
{
    memset(out, 0, sizeof *out);
    if (strncmp(text, "---\n", 4) != 0)
        return lab_err(LAB_EINTERNAL, NULL, "%s: does not start with a --- front matter line", source);
    const char *end = strstr(text + 4, "\n---\n");
    if (!end)
        return lab_err(LAB_EINTERNAL, NULL, "%s: front matter is not closed by ---", source);
    size_t hlen = (size_t)(end - (text + 4));
    char *header = strndup(text + 4, hlen);
    if (!header)
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    out->body = end + 5;

    int rc = LAB_OK;
    char **list = NULL;
    size_t *count = NULL;
    const char *list_key = NULL;
    for (char *save = NULL, *line = strtok_r(header, "\n", &save); line && !rc; line = strtok_r(NULL, "\n", &save)) {
        char *t = trim(line);
        if (*t == '\0' || *t == '#')
            continue;
        if (t[0] == '-' && (t[1] == ' ' || t[1] == '\0')) {
            if (!list)
                rc = lab_err(LAB_EINTERNAL, NULL, "%s: list item outside a list: %s", source, t);
            else
                rc = add_item(list, count, trim(t + 1), source, list_key);
            continue;
        }
        char *colon = strchr(t, ':');
        if (!colon) {
            rc = lab_err(LAB_EINTERNAL, NULL, "%s: expected 'key: value', got: %s", source, t);
            break;
        }
        *colon = '\0';
        char *key = trim(t), *value = trim(colon + 1);
        list = NULL;
        if (strcmp(key, "id") == 0 || strcmp(key, "title") == 0) {
            char *v = unquote(value);
            if (!v) {
                rc = lab_err(LAB_EINTERNAL, NULL, "out of memory");
                break;
            }
            if (key[0] == 'i')
                snprintf(out->id, sizeof out->id, "%s", v);
            else
                snprintf(out->title, sizeof out->title, "%s", v);
            free(v);
            continue;
        }
        if (strcmp(key, "patterns") == 0) {
            list = out->patterns;
            count = &out->n_patterns;
        } else if (strcmp(key, "checks") == 0) {
            list = out->checks;
            count = &out->n_checks;
        } else if (strcmp(key, "doctor") == 0) {
            list = out->doctor;
            count = &out->n_doctor;
        } else {
            rc = lab_err(LAB_EINTERNAL, NULL, "%s: unknown key '%s'", source, key);
            break;
        }
        list_key = key;
        if (*value) {
            rc = parse_flow_list(value, list, count, source, key);
            list = NULL;
        }
    }
    free(header);
    if (!rc && strncmp(out->id, "TS-", 3) != 0)
        rc = lab_err(LAB_EINTERNAL, NULL, "%s: id '%s' does not start with TS-", source, out->id);
    if (!rc && !out->title[0])
        rc = lab_err(LAB_EINTERNAL, NULL, "%s: no title", source);
    if (!rc)
        rc = compile_patterns(out, source);
    if (rc)
        kb_entry_clear(out);
    return rc;
}

static int by_id(const void *a, const void *b)
{
    return strcmp(((const struct kb_entry *)a)->id, ((const struct kb_entry *)b)->id);
}

int kb_load(void)
{
    if (loaded)
        return LAB_OK;
    for (const struct lab_embedded_file *f = lab_embedded; f->name; f++) {
        if (strncmp(f->name, "docs/troubleshooting/TS-", 24) != 0)
            continue;
        if (n_entries == KB_MAX)
            return lab_err(LAB_EINTERNAL, NULL, "more than %d troubleshooting entries", KB_MAX);
        int rc = kb_parse((const char *)f->data, f->name, &entries[n_entries]);
        if (rc) {
            kb_free();
            return rc;
        }
        /* The file name is the id, so links in docs and messages resolve. */
        char want[96];
        snprintf(want, sizeof want, "docs/troubleshooting/%s.md", entries[n_entries].id);
        if (strcmp(want, f->name) != 0) {
            kb_entry_clear(&entries[n_entries]);
            kb_free();
            return lab_err(LAB_EINTERNAL, NULL, "%s: id does not match the file name", f->name);
        }
        n_entries++;
    }
    qsort(entries, n_entries, sizeof entries[0], by_id);
    loaded = 1;
    return LAB_OK;
}

size_t kb_count(void) { return n_entries; }
const struct kb_entry *kb_at(size_t i) { return i < n_entries ? &entries[i] : NULL; }

const struct kb_entry *kb_find(const char *id)
{
    for (size_t i = 0; i < n_entries; i++)
        if (strcasecmp(entries[i].id, id) == 0)
            return &entries[i];
    return NULL;
}

void kb_free(void)
{
    for (size_t i = 0; i < n_entries; i++)
        kb_entry_clear(&entries[i]);
    n_entries = 0;
    loaded = 0;
}

size_t kb_match(const char *text, const struct kb_entry **out, size_t cap)
{
    size_t scores[KB_MAX], n = 0;
    const struct kb_entry *hits[KB_MAX];
    for (size_t i = 0; i < n_entries; i++) {
        const regex_t *re = entries[i].compiled;
        size_t score = 0;
        for (size_t p = 0; p < entries[i].n_patterns; p++)
            score += regexec(&re[p], text, 0, NULL, 0) == 0;
        if (score == 0)
            continue;
        /* insertion keeps best first; equal scores stay in id order */
        size_t j = n++;
        while (j > 0 && scores[j - 1] < score) {
            scores[j] = scores[j - 1];
            hits[j] = hits[j - 1];
            j--;
        }
        scores[j] = score;
        hits[j] = &entries[i];
    }
    size_t k = n < cap ? n : cap;
    memcpy(out, hits, k * sizeof *out);
    return k;
}

size_t kb_match_ids(const char *text, const char **ids, size_t cap)
{
    if (kb_load() != LAB_OK) {
        lab_err_clear();
        return 0;
    }
    const struct kb_entry *hits[16];
    size_t n = kb_match(text, hits, cap < 16 ? cap : 16);
    for (size_t i = 0; i < n; i++)
        ids[i] = hits[i]->id;
    return n;
}
