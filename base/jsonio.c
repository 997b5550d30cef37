#include "base/jsonio.h"

#include "base/error.h"
#include "base/fsutil.h"
#include "base/utf8.h"

#include <stdlib.h>
#include <string.h>

int lab_json_parse(const char *text, size_t len, const char *what, json_t **out)
{
    json_error_t e;
    *out = json_loadb(text, len, JSON_REJECT_DUPLICATES, &e);
    if (!*out)
        return lab_err(LAB_EUSAGE, "fix the JSON syntax at that position", "%s: invalid JSON at line %d column %d: %s",
                       what, e.line, e.column, e.text);
    return LAB_OK;
}

int lab_json_load(const char *path, json_t **out)
{
    char *text;
    size_t len;
    *out = NULL;
    int rc = lab_read_file(path, LAB_JSON_MAX_BYTES, &text, &len);
    if (rc)
        return rc;
    rc = lab_json_parse(text, len, path, out);
    free(text);
    return rc;
}

int lab_json_save(const char *path, const json_t *value)
{
    char *text = json_dumps(value, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9));
    if (!text)
        return lab_err(LAB_EINTERNAL, NULL, "cannot serialize JSON for %s", path);
    size_t n = strlen(text);
    char *with_nl = realloc(text, n + 2);
    if (!with_nl) {
        free(text);
        return lab_err(LAB_EINTERNAL, NULL, "out of memory writing %s", path);
    }
    with_nl[n] = '\n';
    with_nl[n + 1] = '\0';
    int rc = lab_write_atomic(path, with_nl, n + 1);
    free(with_nl);
    return rc;
}

json_t *lab_json_text(const char *s)
{
    if (!s)
        return json_string("");
    json_t *j = json_string(s);
    if (j)
        return j;
    char *esc = lab_utf8_escape(s);
    j = esc ? json_string(esc) : NULL;
    free(esc);
    return j;
}
