#include "shim/safetensors.h"

#include "base/error.h"
#include "base/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct {
    const char *name;
    size_t size;
} dtype_info[ST_DTYPE_COUNT] = {
    [ST_BOOL] = {"BOOL", 1}, [ST_U8] = {"U8", 1},     [ST_I8] = {"I8", 1},     [ST_F8_E5M2] = {"F8_E5M2", 1},
    [ST_F8_E4M3] = {"F8_E4M3", 1}, [ST_I16] = {"I16", 2}, [ST_U16] = {"U16", 2}, [ST_F16] = {"F16", 2},
    [ST_BF16] = {"BF16", 2}, [ST_I32] = {"I32", 4},   [ST_U32] = {"U32", 4},   [ST_F32] = {"F32", 4},
    [ST_F64] = {"F64", 8},   [ST_I64] = {"I64", 8},   [ST_U64] = {"U64", 8},
};

static const char REEXPORT_FIX[] =
    "the file is damaged or was not written as safetensors: download it again, or re-export it from Python "
    "with safetensors.torch.save_file(model.state_dict(), \"model.safetensors\")";

size_t st_dtype_size(enum st_dtype dtype)
{
    return (unsigned)dtype < ST_DTYPE_COUNT ? dtype_info[dtype].size : 0;
}

const char *st_dtype_name(enum st_dtype dtype)
{
    return (unsigned)dtype < ST_DTYPE_COUNT ? dtype_info[dtype].name : "?";
}

/* Copies at most 64 bytes of an untrusted string for a message, with control
 * characters made visible, so that a hostile name cannot garble a terminal. */
static const char *printable(const char *s, char buf[80])
{
    size_t o = 0;
    for (size_t i = 0; s[i] && o < 64; i++)
        buf[o++] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
    if (strlen(s) > 64)
        memcpy(buf + o, "...", 3), o += 3;
    buf[o] = '\0';
    return buf;
}

int st_dtype_from_name(const char *name, enum st_dtype *out)
{
    for (int d = 0; d < ST_DTYPE_COUNT; d++) {
        if (strcmp(name, dtype_info[d].name) == 0) {
            *out = (enum st_dtype)d;
            return LAB_OK;
        }
    }
    char pn[80];
    return lab_err(LAB_EUSAGE, "re-export the tensor in one of the supported dtypes (e.g. tensor.float())",
                   "unknown dtype '%s' (known: BOOL U8 I8 F8_E5M2 F8_E4M3 I16 U16 F16 BF16 I32 U32 F32 F64 I64 "
                   "U64)",
                   printable(name, pn));
}

/* ---- Reading ---- */

struct st_file {
    char *what;
    const unsigned char *base;
    size_t len;
    void *map; /* owned mapping (st_open), or NULL (st_open_memory) */
    size_t map_len;
    json_t *header; /* names and metadata strings point into it */
    size_t count;
    struct st_tensor *tensors; /* in data_offsets order */
    size_t *by_name;           /* indices into tensors, sorted by name */
    size_t nmeta;
    const char **meta_keys, **meta_values;
};

void st_close(st_file *f)
{
    if (!f)
        return;
    if (f->map)
        munmap(f->map, f->map_len);
    json_decref(f->header);
    free(f->tensors);
    free(f->by_name);
    free(f->meta_keys);
    free(f->meta_values);
    free(f->what);
    free(f);
}

static int corrupt(const st_file *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int corrupt(const st_file *f, const char *fmt, ...)
{
    char msg[1536];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return lab_err(LAB_EUSAGE, REEXPORT_FIX, "%s: not a valid safetensors file: %s", f->what, msg);
}

static int bad_tensor(const st_file *f, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bad_tensor(const st_file *f, const char *name, const char *fmt, ...)
{
    char msg[1400], pn[80];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return lab_err(LAB_EUSAGE, REEXPORT_FIX, "%s: not a valid safetensors file: tensor '%s': %s", f->what,
                   printable(name, pn), msg);
}

static void format_shape(const int64_t *shape, int ndim, char *buf, size_t cap)
{
    size_t o = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < ndim && o < cap; i++)
        o += (size_t)snprintf(buf + o, cap - o, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (o < cap)
        snprintf(buf + o, cap - o, "]");
}

static uint64_t read_le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* One entry's offsets before sorting; index is its slot in the header order. */
struct span {
    uint64_t begin, end;
    size_t index;
};

static int cmp_span(const void *a, const void *b)
{
    const struct span *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

static int parse_metadata(st_file *f, json_t *meta)
{
    if (json_is_null(meta))
        return LAB_OK;
    if (!json_is_object(meta))
        return corrupt(f, "\"__metadata__\" is not an object of strings");
    size_t n = json_object_size(meta);
    f->meta_keys = calloc(n ? n : 1, sizeof *f->meta_keys);
    f->meta_values = calloc(n ? n : 1, sizeof *f->meta_values);
    if (!f->meta_keys || !f->meta_values)
        return lab_err(LAB_EINTERNAL, NULL, "out of memory reading %s", f->what);
    const char *key;
    json_t *v;
    char pk[80];
    json_object_foreach(meta, key, v)
    {
        if (!json_is_string(v))
            return corrupt(f, "\"__metadata__\" entry '%s' is not a string (safetensors metadata maps strings to "
                              "strings)",
                           printable(key, pk));
        f->meta_keys[f->nmeta] = key;
        f->meta_values[f->nmeta] = json_string_value(v);
        f->nmeta++;
    }
    return LAB_OK;
}

/* Reads a JSON integer that must be >= 0 (jansson's integers are signed
 * 64-bit; reals and anything larger are rejected by the caller's message). */
static int nonneg_int(const json_t *v, uint64_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return -1;
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

static int parse_entry(st_file *f, const char *name, json_t *e, struct st_tensor *t, struct span *sp, size_t data_len)
{
    if (!json_is_object(e))
        return bad_tensor(f, name, "the entry is not an object with dtype, shape and data_offsets");
    t->name = name;
    json_t *jd = json_object_get(e, "dtype"), *js = json_object_get(e, "shape"),
           *jo = json_object_get(e, "data_offsets");
    if (!json_is_string(jd))
        return bad_tensor(f, name, "\"dtype\" is %s", jd ? "not a string" : "missing");
    if (!json_is_array(js))
        return bad_tensor(f, name, "\"shape\" is %s", js ? "not an array" : "missing");
    if (!json_is_array(jo) || json_array_size(jo) != 2)
        return bad_tensor(f, name, "\"data_offsets\" is %s", jo ? "not an array [begin, end]" : "missing");
    int rc = st_dtype_from_name(json_string_value(jd), &t->dtype);
    if (rc) {
        char pd[80];
        return bad_tensor(f, name,
                          "unknown dtype '%s' (known: BOOL U8 I8 F8_E5M2 F8_E4M3 I16 U16 F16 BF16 I32 U32 F32 F64 I64 "
                          "U64)",
                          printable(json_string_value(jd), pd));
    }
    size_t ndim = json_array_size(js);
    if (ndim > ST_MAX_DIMS)
        return bad_tensor(f, name, "has %zu dimensions; at most %d are supported", ndim, ST_MAX_DIMS);
    t->ndim = (int)ndim;
    uint64_t count = 1;
    int overflow = 0;
    for (size_t i = 0; i < ndim; i++) {
        uint64_t d;
        if (nonneg_int(json_array_get(js, i), &d) != 0)
            return bad_tensor(f, name, "\"shape\" entry %zu is not a non-negative integer", i);
        t->shape[i] = (int64_t)d;
        overflow |= __builtin_mul_overflow(count, d, &count);
    }
    char shp[256];
    format_shape(t->shape, t->ndim, shp, sizeof shp);
    uint64_t nbytes;
    if (overflow || __builtin_mul_overflow(count, (uint64_t)st_dtype_size(t->dtype), &nbytes) || nbytes > SIZE_MAX)
        return bad_tensor(f, name, "shape %s of %s overflows a 64-bit byte count", shp, st_dtype_name(t->dtype));
    uint64_t b, en;
    if (nonneg_int(json_array_get(jo, 0), &b) != 0 || nonneg_int(json_array_get(jo, 1), &en) != 0)
        return bad_tensor(f, name, "\"data_offsets\" are not two non-negative integers");
    if (en < b)
        return bad_tensor(f, name, "data_offsets [%llu, %llu] end before they begin", (unsigned long long)b,
                          (unsigned long long)en);
    if (en > data_len)
        return bad_tensor(f, name,
                          "data_offsets [%llu, %llu] lie outside the %zu-byte data buffer (the file is truncated or "
                          "its header is wrong)",
                          (unsigned long long)b, (unsigned long long)en, data_len);
    if (en - b != nbytes)
        return bad_tensor(f, name, "shape %s of %s needs %llu bytes but data_offsets [%llu, %llu] span %llu", shp,
                          st_dtype_name(t->dtype), (unsigned long long)nbytes, (unsigned long long)b,
                          (unsigned long long)en, (unsigned long long)(en - b));
    t->nbytes = (size_t)nbytes;
    sp->begin = b;
    sp->end = en;
    return LAB_OK;
}

static int cmp_by_name_r(const void *a, const void *b, void *ctx)
{
    const struct st_tensor *t = ctx;
    return strcmp(t[*(const size_t *)a].name, t[*(const size_t *)b].name);
}

static int parse(st_file *f)
{
    const unsigned char *p = f->base;
    size_t len = f->len;
    if (len >= 4 && memcmp(p, "PK\3\4", 4) == 0)
        return lab_err(LAB_EUSAGE,
                       "load it as a .pth checkpoint, or convert it in Python: "
                       "safetensors.torch.save_file(torch.load(path), \"model.safetensors\")",
                       "%s: not a safetensors file: it is a zip archive (a PyTorch .pth checkpoint?)", f->what);
    if (len < 8)
        return corrupt(f, "the file is %zu bytes long, shorter than the 8-byte header length (truncated?)", len);
    uint64_t n = read_le64(p);
    if (n > ST_MAX_HEADER_BYTES)
        return corrupt(f, "the header length %llu exceeds the limit of %u bytes", (unsigned long long)n,
                       ST_MAX_HEADER_BYTES);
    if (n > len - 8)
        return corrupt(f, "the header length is %llu bytes but only %zu bytes follow it (the file is truncated)",
                       (unsigned long long)n, len - 8);
    if (n < 2 || p[8] != '{')
        return corrupt(f, "the header does not start with '{'");
    json_error_t je;
    f->header = json_loadb((const char *)p + 8, (size_t)n, JSON_REJECT_DUPLICATES, &je);
    if (!f->header)
        return corrupt(f, "the header is not valid JSON (at byte %d: %s)", je.position, je.text);
    if (!json_is_object(f->header))
        return corrupt(f, "the header is not a JSON object");

    const unsigned char *data = p + 8 + n;
    size_t data_len = len - 8 - (size_t)n;
    json_t *meta = json_object_get(f->header, "__metadata__");
    size_t count = json_object_size(f->header) - (meta ? 1 : 0);
    struct st_tensor *hdr = calloc(count ? count : 1, sizeof *hdr);
    struct span *spans = calloc(count ? count : 1, sizeof *spans);
    f->tensors = calloc(count ? count : 1, sizeof *f->tensors);
    f->by_name = calloc(count ? count : 1, sizeof *f->by_name);
    int rc = LAB_OK;
    if (!hdr || !spans || !f->tensors || !f->by_name) {
        rc = lab_err(LAB_EINTERNAL, NULL, "out of memory reading %s", f->what);
        goto out;
    }
    if (meta && (rc = parse_metadata(f, meta)) != 0)
        goto out;
    size_t i = 0;
    const char *key;
    json_t *v;
    json_object_foreach(f->header, key, v)
    {
        if (strcmp(key, "__metadata__") == 0)
            continue;
        if ((rc = parse_entry(f, key, v, &hdr[i], &spans[i], data_len)) != 0)
            goto out;
        spans[i].index = i;
        i++;
    }
    /* The reference implementation requires the tensors, in offset order, to
     * tile the data buffer exactly: no overlap (two names for the same bytes)
     * and no gap (bytes no tensor accounts for). */
    qsort(spans, count, sizeof *spans, cmp_span);
    uint64_t at = 0;
    char pa[80], pb[80];
    for (i = 0; i < count; i++) {
        const struct st_tensor *t = &hdr[spans[i].index];
        if (spans[i].begin < at) {
            const struct st_tensor *prev = &hdr[spans[i - 1].index];
            rc = corrupt(f, "tensors '%s' [%llu, %llu] and '%s' [%llu, %llu] overlap", printable(prev->name, pa),
                         (unsigned long long)spans[i - 1].begin, (unsigned long long)spans[i - 1].end,
                         printable(t->name, pb), (unsigned long long)spans[i].begin,
                         (unsigned long long)spans[i].end);
            goto out;
        }
        if (spans[i].begin > at) {
            rc = corrupt(f, "bytes [%llu, %llu) of the data buffer, before tensor '%s', belong to no tensor",
                         (unsigned long long)at, (unsigned long long)spans[i].begin, printable(t->name, pa));
            goto out;
        }
        at = spans[i].end;
        f->tensors[i] = *t;
        f->tensors[i].data = data + spans[i].begin;
        f->by_name[i] = i;
    }
    if (at != data_len) {
        rc = corrupt(f, "the last %llu bytes of the %zu-byte data buffer belong to no tensor",
                     (unsigned long long)(data_len - at), data_len);
        goto out;
    }
    f->count = count;
    qsort_r(f->by_name, count, sizeof *f->by_name, cmp_by_name_r, f->tensors);
out:
    free(hdr);
    free(spans);
    return rc;
}

static int open_common(st_file *f, st_file **out)
{
    int rc = parse(f);
    if (rc) {
        st_close(f);
        return rc;
    }
    *out = f;
    return LAB_OK;
}

int st_open_memory(const void *buf, size_t len, const char *what, st_file **out)
{
    *out = NULL;
    st_file *f = calloc(1, sizeof *f);
    if (!f || !(f->what = strdup(what ? what : "<memory>"))) {
        free(f);
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    }
    f->base = buf;
    f->len = len;
    return open_common(f, out);
}

int st_open(const char *path, st_file **out)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return lab_err(LAB_EENV, "check the path and its permissions", "cannot open %s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return lab_err(LAB_EENV, "give the path of a .safetensors file", "%s is not a regular file", path);
    }
    st_file *f = calloc(1, sizeof *f);
    if (!f || !(f->what = strdup(path))) {
        free(f);
        close(fd);
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    }
    size_t len = (size_t)sb.st_size;
    if (len > 0) {
        void *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            int e = errno;
            close(fd);
            st_close(f);
            return lab_err(LAB_EENV, NULL, "cannot map %s: %s", path, strerror(e));
        }
        f->map = m;
        f->map_len = len;
        f->base = m;
    } else {
        f->base = (const unsigned char *)"";
    }
    f->len = len;
    close(fd);
    return open_common(f, out);
}

size_t st_count(const st_file *f) { return f ? f->count : 0; }

const struct st_tensor *st_at(const st_file *f, size_t i) { return f && i < f->count ? &f->tensors[i] : NULL; }

const struct st_tensor *st_find(const st_file *f, const char *name)
{
    if (!f || !name)
        return NULL;
    size_t lo = 0, hi = f->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct st_tensor *t = &f->tensors[f->by_name[mid]];
        int c = strcmp(name, t->name);
        if (c == 0)
            return t;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

int st_get(const st_file *f, const char *name, const struct st_tensor **out)
{
    *out = st_find(f, name);
    if (*out)
        return LAB_OK;
    char pn[80];
    return lab_err(LAB_EUSAGE, "check the tensor name against the file's contents",
                   "%s has no tensor named '%s' (it holds %zu tensors)", f ? f->what : "(no file)",
                   printable(name ? name : "", pn), st_count(f));
}

size_t st_metadata_count(const st_file *f) { return f ? f->nmeta : 0; }

int st_metadata_at(const st_file *f, size_t i, const char **key, const char **value)
{
    if (!f || i >= f->nmeta)
        return lab_err(LAB_EUSAGE, NULL, "metadata index %zu out of range", i);
    *key = f->meta_keys[i];
    *value = f->meta_values[i];
    return LAB_OK;
}

const char *st_metadata_get(const st_file *f, const char *key)
{
    for (size_t i = 0; f && key && i < f->nmeta; i++)
        if (strcmp(f->meta_keys[i], key) == 0)
            return f->meta_values[i];
    return NULL;
}

/* ---- Writing ---- */

struct st_entry {
    char *name;
    enum st_dtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    const void *data;
    size_t nbytes;
};

struct st_writer {
    struct st_entry *entries;
    size_t count, cap;
    char **meta_keys, **meta_values;
    size_t nmeta, meta_cap;
};

int st_writer_new(st_writer **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? LAB_OK : lab_err(LAB_EINTERNAL, NULL, "out of memory");
}

void st_writer_free(st_writer *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->count; i++)
        free(w->entries[i].name);
    for (size_t i = 0; i < w->nmeta; i++) {
        free(w->meta_keys[i]);
        free(w->meta_values[i]);
    }
    free(w->entries);
    free(w->meta_keys);
    free(w->meta_values);
    free(w);
}

/* jansson refuses strings that are not UTF-8; so would every reader. */
static int is_utf8(const char *s)
{
    json_t *j = json_string(s);
    json_decref(j);
    return j != NULL;
}

int st_writer_add(st_writer *w, const char *name, enum st_dtype dtype, int ndim, const int64_t *shape,
                  const void *data, size_t nbytes)
{
    char pn[80];
    if (!name || strcmp(name, "__metadata__") == 0 || !is_utf8(name))
        return lab_err(LAB_EUSAGE, "give every tensor a UTF-8 name other than __metadata__",
                       "safetensors writer: invalid tensor name '%s'", name ? printable(name, pn) : "(null)");
    printable(name, pn);
    if ((unsigned)dtype >= ST_DTYPE_COUNT)
        return lab_err(LAB_EUSAGE, NULL, "safetensors writer: tensor '%s': invalid dtype %d", pn, (int)dtype);
    if (ndim < 0 || ndim > ST_MAX_DIMS || (ndim > 0 && !shape))
        return lab_err(LAB_EUSAGE, NULL, "safetensors writer: tensor '%s': %d dimensions (0 to %d supported)", pn,
                       ndim, ST_MAX_DIMS);
    uint64_t count = 1;
    int overflow = 0;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return lab_err(LAB_EUSAGE, NULL, "safetensors writer: tensor '%s': negative dimension %lld", pn,
                           (long long)shape[i]);
        overflow |= __builtin_mul_overflow(count, (uint64_t)shape[i], &count);
    }
    uint64_t want;
    if (overflow || __builtin_mul_overflow(count, (uint64_t)st_dtype_size(dtype), &want) || want != nbytes) {
        char shp[256];
        format_shape(shape, ndim, shp, sizeof shp);
        return lab_err(LAB_EUSAGE, NULL, "safetensors writer: tensor '%s': shape %s of %s does not match %zu bytes",
                       pn, shp, st_dtype_name(dtype), nbytes);
    }
    if (nbytes > 0 && !data)
        return lab_err(LAB_EUSAGE, NULL, "safetensors writer: tensor '%s': no data", pn);
    for (size_t i = 0; i < w->count; i++)
        if (strcmp(w->entries[i].name, name) == 0)
            return lab_err(LAB_EUSAGE, "give each tensor a unique name", "safetensors writer: tensor '%s' added twice",
                           pn);
    if (w->count == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 16;
        struct st_entry *e = realloc(w->entries, cap * sizeof *e);
        if (!e)
            return lab_err(LAB_EINTERNAL, NULL, "out of memory");
        w->entries = e;
        w->cap = cap;
    }
    struct st_entry *e = &w->entries[w->count];
    memset(e, 0, sizeof *e);
    if (!(e->name = strdup(name)))
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    e->dtype = dtype;
    e->ndim = ndim;
    if (ndim > 0)
        memcpy(e->shape, shape, (size_t)ndim * sizeof *shape);
    e->data = data;
    e->nbytes = nbytes;
    w->count++;
    return LAB_OK;
}

int st_writer_set_metadata(st_writer *w, const char *key, const char *value)
{
    if (!key || !value || !is_utf8(key) || !is_utf8(value))
        return lab_err(LAB_EUSAGE, NULL, "safetensors writer: metadata keys and values must be UTF-8 strings");
    for (size_t i = 0; i < w->nmeta; i++) {
        if (strcmp(w->meta_keys[i], key) == 0) {
            char *v = strdup(value);
            if (!v)
                return lab_err(LAB_EINTERNAL, NULL, "out of memory");
            free(w->meta_values[i]);
            w->meta_values[i] = v;
            return LAB_OK;
        }
    }
    if (w->nmeta == w->meta_cap) {
        size_t cap = w->meta_cap ? w->meta_cap * 2 : 8;
        char **k = realloc(w->meta_keys, cap * sizeof *k);
        if (!k)
            return lab_err(LAB_EINTERNAL, NULL, "out of memory");
        w->meta_keys = k;
        char **v = realloc(w->meta_values, cap * sizeof *v);
        if (!v)
            return lab_err(LAB_EINTERNAL, NULL, "out of memory");
        w->meta_values = v;
        w->meta_cap = cap;
    }
    char *k = strdup(key), *v = strdup(value);
    if (!k || !v) {
        free(k);
        free(v);
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    }
    w->meta_keys[w->nmeta] = k;
    w->meta_values[w->nmeta] = v;
    w->nmeta++;
    return LAB_OK;
}

static int cmp_entry_layout(const void *a, const void *b)
{
    const struct st_entry *x = *(const struct st_entry *const *)a, *y = *(const struct st_entry *const *)b;
    if (x->dtype != y->dtype)
        return x->dtype > y->dtype ? -1 : 1; /* larger alignment first */
    return strcmp(x->name, y->name);
}

static const char *meta_value(const st_writer *w, const char *key)
{
    for (size_t i = 0; i < w->nmeta; i++)
        if (strcmp(w->meta_keys[i], key) == 0)
            return w->meta_values[i];
    return "";
}

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The layout both outputs share: the padded header and the tensors in data
 * order. Caller frees *header and *order. */
static int prepare(const st_writer *w, char **header, size_t *header_len, const struct st_entry ***order,
                   uint64_t *data_len)
{
    *header = NULL;
    *order = NULL;
    const struct st_entry **ord = malloc((w->count ? w->count : 1) * sizeof *ord);
    char **keys = malloc((w->nmeta ? w->nmeta : 1) * sizeof *keys);
    json_t *root = json_object();
    int rc = LAB_OK;
    if (!ord || !keys || !root)
        goto oom;
    for (size_t i = 0; i < w->count; i++)
        ord[i] = &w->entries[i];
    qsort(ord, w->count, sizeof *ord, cmp_entry_layout);
    if (w->nmeta) {
        memcpy(keys, w->meta_keys, w->nmeta * sizeof *keys);
        qsort(keys, w->nmeta, sizeof *keys, cmp_str_ptr);
        json_t *meta = json_object();
        if (json_object_set_new(root, "__metadata__", meta) != 0)
            goto oom;
        for (size_t i = 0; i < w->nmeta; i++)
            if (json_object_set_new(meta, keys[i], json_string(meta_value(w, keys[i]))) != 0)
                goto oom;
    }
    uint64_t at = 0;
    for (size_t i = 0; i < w->count; i++) {
        const struct st_entry *e = ord[i];
        json_t *shape = json_array();
        if (!shape)
            goto oom;
        for (int d = 0; d < e->ndim; d++)
            if (json_array_append_new(shape, json_integer(e->shape[d])) != 0) {
                json_decref(shape);
                goto oom;
            }
        uint64_t end;
        if (__builtin_add_overflow(at, (uint64_t)e->nbytes, &end) || end > (uint64_t)INT64_MAX) {
            json_decref(shape);
            rc = lab_err(LAB_EUSAGE, NULL, "safetensors writer: the tensors add up to more than 2^63 bytes");
            goto out;
        }
        json_t *t = json_pack("{s:s, s:o, s:[I, I]}", "dtype", st_dtype_name(e->dtype), "shape", shape,
                              "data_offsets", (json_int_t)at, (json_int_t)end);
        if (!t || json_object_set_new(root, e->name, t) != 0)
            goto oom;
        at = end;
    }
    char *text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!text)
        goto oom;
    size_t n = strlen(text), padded = (n + 7) / 8 * 8;
    char *h = realloc(text, padded + 1);
    if (!h) {
        free(text);
        goto oom;
    }
    memset(h + n, ' ', padded - n);
    h[padded] = '\0';
    *header = h;
    *header_len = padded;
    *order = ord;
    ord = NULL;
    *data_len = at;
    goto out;
oom:
    rc = lab_err(LAB_EINTERNAL, NULL, "out of memory preparing a safetensors header");
out:
    json_decref(root);
    free(keys);
    free(ord);
    return rc;
}

static void put_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

int st_writer_to_memory(const st_writer *w, void **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    char *header;
    size_t hlen;
    const struct st_entry **ord;
    uint64_t dlen;
    int rc = prepare(w, &header, &hlen, &ord, &dlen);
    if (rc)
        return rc;
    size_t total;
    unsigned char *buf = NULL;
    if (__builtin_add_overflow(8 + hlen, dlen, &total) || !(buf = malloc(total ? total : 1))) {
        rc = lab_err(LAB_EINTERNAL, NULL, "out of memory serializing safetensors (%llu bytes of data)",
                     (unsigned long long)dlen);
    } else {
        put_le64(buf, hlen);
        memcpy(buf + 8, header, hlen);
        size_t at = 8 + hlen;
        for (size_t i = 0; i < w->count; i++) {
            if (ord[i]->nbytes)
                memcpy(buf + at, ord[i]->data, ord[i]->nbytes);
            at += ord[i]->nbytes;
        }
        *out = buf;
        *len = total;
    }
    free(header);
    free(ord);
    return rc;
}

/* Through lab_atomic_open/commit: streams the tensors from where they lie instead
 * of first gathering gigabytes of weights into one buffer. */
int st_writer_write(const st_writer *w, const char *path)
{
    char *header;
    size_t hlen;
    const struct st_entry **ord;
    uint64_t dlen;
    int rc = prepare(w, &header, &hlen, &ord, &dlen);
    if (rc)
        return rc;
    struct lab_atomic_file f;
    if ((rc = lab_atomic_open(&f, path)))
        goto out;
    unsigned char lenbuf[8];
    put_le64(lenbuf, hlen);
    rc = lab_atomic_write(&f, lenbuf, 8);
    if (!rc)
        rc = lab_atomic_write(&f, header, hlen);
    for (size_t i = 0; !rc && i < w->count; i++)
        rc = lab_atomic_write(&f, ord[i]->data, ord[i]->nbytes);
    if (rc)
        lab_atomic_abort(&f);
    else
        rc = lab_atomic_commit(&f);
out:
    free(header);
    free(ord);
    return rc;
}
