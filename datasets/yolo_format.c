/* YOLO-format label files and data.yaml. Written for files students make
 * by hand or export from labelling tools: tolerant of blank lines, CRLF and
 * comments, strict about numbers. */
#include "datasets/yolo_format.h"

#include "base/error.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIX_LABELS "each line of a YOLO label file is `class cx cy w h`: an integer class 0..nc-1, then four numbers in [0, 1] (normalized by the image width and height)"
#define TOL 1e-3 /* labelling tools round a box at the edge slightly past 1 */

/* Next line of [*p, end) without its terminator; returns its length, or -1 at the end. */
static long next_line(const char **p, const char *end, const char **line)
{
    if (*p >= end)
        return -1;
    *line = *p;
    const char *e = memchr(*p, '\n', (size_t)(end - *p));
    const char *stop = e ? e : end;
    *p = e ? e + 1 : end;
    long n = (long)(stop - *line);
    if (n > 0 && (*line)[n - 1] == '\r')
        n--;
    return n;
}

int yolo_labels_parse(const char *text, size_t len, int64_t nc, int width, int height, const char *what,
                      struct yolo_box **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (len > YOLO_MAX_TEXT)
        return lab_err(LAB_EUSAGE, "split the data; a label file holds one image's boxes", "%s: %zu bytes, more than %d",
                       what, len, YOLO_MAX_TEXT);
    if (width <= 0 || height <= 0 || nc <= 0)
        return lab_err(LAB_EINTERNAL, NULL, "%s: image %dx%d, %lld classes", what, width, height, (long long)nc);
    const char *p = text, *end = text + len, *line;
    long ll;
    size_t cap = 0;
    int lineno = 0;
    while ((ll = next_line(&p, end, &line)) >= 0) {
        lineno++;
        char buf[512];
        if ((size_t)ll >= sizeof buf) {
            free(*out);
            *out = NULL, *n = 0;
            return lab_err(LAB_EUSAGE, FIX_LABELS, "%s:%d: the line is %ld characters long (segment polygons are not "
                           "boxes)", what, lineno, ll);
        }
        memcpy(buf, line, (size_t)ll);
        buf[ll] = '\0';
        char *hash = strchr(buf, '#');
        if (hash)
            *hash = '\0';
        char *s = buf;
        while (isspace((unsigned char)*s))
            s++;
        if (!*s)
            continue;
        double v[6];
        int fields = 0;
        while (*s && fields < 6) {
            char *e;
            errno = 0;
            v[fields] = strtod(s, &e);
            if (e == s || errno == ERANGE || !isfinite(v[fields]) || (*e && !isspace((unsigned char)*e))) {
                free(*out);
                *out = NULL, *n = 0;
                return lab_err(LAB_EUSAGE, FIX_LABELS, "%s:%d: field %d is not a number", what, lineno, fields + 1);
            }
            fields++;
            s = e;
            while (isspace((unsigned char)*s))
                s++;
        }
        const char *bad = NULL;
        if (fields != 5 || *s)
            bad = "has not 5 fields (a segment polygon or a missing value)";
        else if (v[0] != floor(v[0]) || v[0] < 0 || v[0] >= (double)nc)
            bad = "has a class that is not an integer in 0..nc-1";
        else if (v[3] <= 0 || v[4] <= 0)
            bad = "has a zero or negative width or height";
        else
            for (int i = 1; i < 5 && !bad; i++)
                if (v[i] < -TOL || v[i] > 1 + TOL)
                    bad = "has a value outside [0, 1]: pixel coordinates instead of normalized ones?";
        if (!bad && (v[1] - v[3] / 2 < -TOL || v[1] + v[3] / 2 > 1 + TOL || v[2] - v[4] / 2 < -TOL ||
                     v[2] + v[4] / 2 > 1 + TOL))
            bad = "has a box that reaches outside the image (x1 y1 x2 y2 instead of cx cy w h?)";
        struct yolo_box box = {0};
        if (!bad) {
            double cx = v[1] * width, cy = v[2] * height, w = v[3] * width, h = v[4] * height;
            box = (struct yolo_box){(int64_t)v[0], (float)fmax(cx - w / 2, 0), (float)fmax(cy - h / 2, 0),
                                    (float)fmin(cx + w / 2, width), (float)fmin(cy + h / 2, height)};
            /* a width of 1e-20 passes the test above and is empty in pixels: it
             * would be written back as a zero width, which this parser refuses */
            if (box.x2 <= box.x1 || box.y2 <= box.y1)
                bad = "has a box narrower than the precision of a pixel coordinate (a zero width or height)";
        }
        if (bad) {
            free(*out);
            *out = NULL, *n = 0;
            return lab_err(LAB_EUSAGE, FIX_LABELS, "%s:%d %s (%lld classes)", what, lineno, bad, (long long)nc);
        }
        if (*n == YOLO_MAX_BOXES) {
            free(*out);
            *out = NULL, *n = 0;
            return lab_err(LAB_EUSAGE, FIX_LABELS, "%s: more than %d boxes", what, YOLO_MAX_BOXES);
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            struct yolo_box *g = realloc(*out, cap * sizeof *g);
            if (!g) {
                free(*out);
                *out = NULL, *n = 0;
                return lab_err(LAB_EINTERNAL, "free some memory", "out of memory reading %s", what);
            }
            *out = g;
        }
        (*out)[(*n)++] = box;
    }
    return LAB_OK;
}

int yolo_labels_format(const struct yolo_box *boxes, size_t n, int width, int height, char **out, size_t *len)
{
    size_t cap = n * 96 + 1; /* class and four %.9g numbers: at most 66 characters */
    char *s = malloc(cap);
    if (!s)
        return lab_err(LAB_EINTERNAL, "free some memory", "out of memory");
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        const struct yolo_box *b = &boxes[i];
        int k = snprintf(s + at, cap - at, "%lld %.9g %.9g %.9g %.9g\n", (long long)b->cls,
                         ((double)b->x1 + b->x2) / 2 / width, ((double)b->y1 + b->y2) / 2 / height,
                         ((double)b->x2 - b->x1) / width, ((double)b->y2 - b->y1) / height);
        if (k < 0 || (size_t)k >= cap - at) {
            free(s);
            return lab_err(LAB_EINTERNAL, NULL, "label line %zu does not fit", i);
        }
        at += (size_t)k;
    }
    s[at] = '\0';
    *out = s;
    *len = at;
    return LAB_OK;
}

void yolo_data_free(struct yolo_data *d)
{
    for (int64_t i = 0; d->names && i < d->nc; i++)
        free(d->names[i]);
    free(d->names);
    memset(d, 0, sizeof *d);
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

/* A scalar without its quotes. */
static char *unquote(char *s)
{
    s = trim(s);
    size_t n = strlen(s);
    if (n >= 2 && (s[0] == '\'' || s[0] == '"') && s[n - 1] == s[0]) {
        s[n - 1] = '\0';
        return s + 1;
    }
    return s;
}

static int add_name(struct yolo_data *d, size_t *cap, int64_t at, const char *name, const char *what, int lineno)
{
    if (at < 0 || at >= YOLO_MAX_CLASSES)
        return lab_err(LAB_EUSAGE, "number classes 0..N-1 (at most 1024)", "%s:%d: class index %lld", what, lineno,
                       (long long)at);
    if ((size_t)at >= *cap) {
        size_t nc = (size_t)at + 16;
        char **g = realloc(d->names, nc * sizeof *g);
        if (!g)
            return lab_err(LAB_EINTERNAL, "free some memory", "out of memory");
        memset(g + *cap, 0, (nc - *cap) * sizeof *g);
        d->names = g;
        *cap = nc;
    }
    if (d->names[at])
        return lab_err(LAB_EUSAGE, "give each class one name", "%s:%d: class %lld is named twice", what, lineno,
                       (long long)at);
    if (!(d->names[at] = strdup(name)))
        return lab_err(LAB_EINTERNAL, "free some memory", "out of memory");
    return LAB_OK;
}

int yolo_data_parse(const char *text, size_t len, const char *what, struct yolo_data *out)
{
    memset(out, 0, sizeof *out);
    if (len > YOLO_MAX_TEXT)
        return lab_err(LAB_EUSAGE, "data.yaml names the dataset's folders and classes; keep it short", "%s: %zu bytes",
                       what, len);
    const char *p = text, *end = text + len, *line;
    long ll;
    int lineno = 0, in_names = 0, rc = LAB_OK;
    int64_t nc = -1, count = 0, next = 0;
    size_t cap = 0;
    while (rc == LAB_OK && (ll = next_line(&p, end, &line)) >= 0) {
        lineno++;
        char buf[1100];
        if ((size_t)ll >= sizeof buf) {
            rc = lab_err(LAB_EUSAGE, "keep data.yaml lines under 1,000 characters", "%s:%d: line too long", what, lineno);
            break;
        }
        memcpy(buf, line, (size_t)ll);
        buf[ll] = '\0';
        if (memchr(buf, '\0', (size_t)ll)) {
            rc = lab_err(LAB_EUSAGE, "data.yaml is text", "%s:%d: a NUL byte", what, lineno);
            break;
        }
        char *hash = strstr(buf, " #");
        if (hash)
            *hash = '\0';
        if (buf[0] == '#')
            continue;
        int indented = isspace((unsigned char)buf[0]);
        char *s = trim(buf);
        if (!*s)
            continue;
        if (indented && in_names) {
            if (s[0] == '-') {
                rc = add_name(out, &cap, next++, unquote(s + 1), what, lineno);
                count++;
                continue;
            }
            char *colon = strchr(s, ':'), *e;
            if (colon) {
                *colon = '\0';
                errno = 0;
                long long idx = strtoll(s, &e, 10);
                if (e != s && !*trim(e) && errno == 0) {
                    rc = add_name(out, &cap, idx, unquote(colon + 1), what, lineno);
                    count++;
                    continue;
                }
            }
            rc = lab_err(LAB_EUSAGE, "list names as `- name` or `0: name` lines under `names:`",
                         "%s:%d: cannot read this names entry", what, lineno);
            break;
        }
        in_names = 0;
        char *colon = strchr(s, ':');
        if (!colon) {
            rc = lab_err(LAB_EUSAGE, "write `key: value` lines (path, train, val, test, nc, names)",
                         "%s:%d: no `key:` on this line", what, lineno);
            break;
        }
        *colon = '\0';
        char *key = trim(s), *val = trim(colon + 1);
        char *dst = !strcmp(key, "path") ? out->path : !strcmp(key, "train") ? out->train
                    : !strcmp(key, "val")  ? out->val
                    : !strcmp(key, "test") ? out->test
                                           : NULL;
        if (dst) {
            snprintf(dst, sizeof out->path, "%s", unquote(val));
        } else if (!strcmp(key, "nc")) {
            char *e;
            errno = 0;
            long long v = strtoll(val, &e, 10);
            if (e == val || *trim(e) || errno || v <= 0 || v > YOLO_MAX_CLASSES)
                rc = lab_err(LAB_EUSAGE, "nc is the number of classes, 1..1024", "%s:%d: nc: %s", what, lineno, val);
            nc = v;
        } else if (!strcmp(key, "names")) {
            if (!*val) {
                in_names = 1;
            } else if (val[0] == '[' && val[strlen(val) - 1] == ']') {
                val[strlen(val) - 1] = '\0';
                char *save = NULL;
                for (char *tok = strtok_r(val + 1, ",", &save); tok && rc == LAB_OK; tok = strtok_r(NULL, ",", &save)) {
                    rc = add_name(out, &cap, next++, unquote(tok), what, lineno);
                    count++;
                }
            } else {
                rc = lab_err(LAB_EUSAGE, "names: [a, b, ...] on one line, or a list under it", "%s:%d: names: %s", what,
                             lineno, val);
            }
        } /* other keys (download, yaml anchors of other tools) are ignored */
    }
    if (rc == LAB_OK && !count)
        rc = lab_err(LAB_EUSAGE, "add `names:` with one name per class", "%s: no class names", what);
    if (rc == LAB_OK && nc >= 0 && nc != count)
        rc = lab_err(LAB_EUSAGE, "make nc the number of names", "%s: nc is %lld but %lld names are given", what,
                     (long long)nc, (long long)count);
    if (rc == LAB_OK) {
        for (int64_t i = 0; i < count; i++)
            if ((size_t)i >= cap || !out->names[i]) {
                rc = lab_err(LAB_EUSAGE, "number the classes 0..N-1 without gaps", "%s: class %lld has no name", what,
                             (long long)i);
                break;
            }
    }
    out->nc = count;
    if (rc == LAB_OK && !out->val[0] && !out->train[0])
        rc = lab_err(LAB_EUSAGE, "name the image folders: `train: images/train` and `val: images/val`",
                     "%s: neither train nor val is given", what);
    if (rc != LAB_OK) {
        /* names beyond count may be set on error paths: free all cap slots */
        for (size_t i = 0; i < cap; i++)
            free(out->names[i]);
        free(out->names);
        memset(out, 0, sizeof *out);
    }
    return rc;
}
