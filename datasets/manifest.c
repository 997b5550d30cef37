#include "datasets/manifest.h"

#include "base/embedded.h"
#include "base/error.h"
#include "base/fsutil.h"
#include "base/jsonio.h"
#include "base/paths.h"
#include "datasets/hash.h"
#include "datasets/hf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static json_t **entries;
static const char **names;
static size_t count;

static int regular_file(const char *path);

static int by_name(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    return strcmp(json_string_value(json_object_get(x, "name")), json_string_value(json_object_get(y, "name")));
}

static int check_entry(const char *src, const json_t *e)
{
    const char *name = json_string_value(json_object_get(e, "name"));
    const char *kind = json_string_value(json_object_get(e, "kind"));
    const json_t *files = json_object_get(e, "files");
    if (!name || !kind || (strcmp(kind, "dataset") && strcmp(kind, "weights")) || !json_is_array(files) ||
        json_array_size(files) == 0)
        return lab_err(LAB_EINTERNAL, "fix the manifest and rebuild",
                       "%s: needs name, kind (dataset|weights) and a non-empty files array", src);
    size_t i;
    const json_t *f;
    json_array_foreach(files, i, f)
    {
        const char *fn = json_string_value(json_object_get(f, "name"));
        if (!fn || !*fn || strchr(fn, '/') || strcmp(fn, "..") == 0 || !json_is_integer(json_object_get(f, "size")))
            return lab_err(LAB_EINTERNAL, "fix the manifest and rebuild",
                           "%s: file %zu needs a plain name and an integer size", src, i);
    }
    return LAB_OK;
}

/* LAB_TEST_MANIFEST_DIR (tests only): <dir>/<name>.json replaces the
 * embedded entry of that name, so a test can serve a small stand-in for a
 * dataset (its own size and checksum) through the real fetch, verify and
 * unpack path. */
static int test_override(json_t **e)
{
    const char *dir = getenv("LAB_TEST_MANIFEST_DIR");
    if (!dir || !*dir)
        return LAB_OK;
    char path[4400];
    snprintf(path, sizeof path, "%s/%s.json", dir, json_string_value(json_object_get(*e, "name")));
    if (!regular_file(path))
        return LAB_OK;
    json_t *o;
    int rc = lab_json_load(path, &o);
    if (rc)
        return lab_err_context(LAB_EUSAGE, "LAB_TEST_MANIFEST_DIR");
    if ((rc = check_entry(path, o)) || !json_equal(json_object_get(o, "name"), json_object_get(*e, "name"))) {
        json_decref(o);
        return rc ? rc : lab_err(LAB_EUSAGE, "name the entry as its file", "%s names another entry", path);
    }
    json_decref(*e);
    *e = o;
    return LAB_OK;
}

int ds_registry_load(void)
{
    if (entries)
        return LAB_OK;
    size_t n = 0;
    for (const struct lab_embedded_file *f = lab_embedded; f->name; f++)
        if (strncmp(f->name, "datasets/", 9) == 0 && strstr(f->name, ".json"))
            n++;
    json_t **list = calloc(n + 1, sizeof *list);
    const char **nm = calloc(n + 1, sizeof *nm);
    if (!list || !nm) {
        free(list), free(nm);
        return lab_err(LAB_EENV, NULL, "out of memory");
    }
    size_t k = 0;
    int rc = LAB_OK;
    for (const struct lab_embedded_file *f = lab_embedded; f->name && !rc; f++) {
        if (strncmp(f->name, "datasets/", 9) != 0 || !strstr(f->name, ".json"))
            continue;
        json_t *e;
        rc = lab_json_parse((const char *)f->data, f->size, f->name, &e);
        if (rc)
            rc = lab_err_context(LAB_EINTERNAL, "embedded %s", f->name);
        else if ((rc = check_entry(f->name, e)))
            json_decref(e);
        else if ((rc = test_override(&e)))
            json_decref(e);
        else
            list[k++] = e;
    }
    if (rc) {
        for (size_t i = 0; i < k; i++)
            json_decref(list[i]);
        free(list), free(nm);
        return rc;
    }
    qsort(list, k, sizeof *list, by_name);
    for (size_t i = 0; i < k; i++)
        nm[i] = json_string_value(json_object_get(list[i], "name"));
    entries = list, names = nm, count = k;
    return LAB_OK;
}

size_t ds_registry_count(void) { return count; }
const json_t *ds_registry_at(size_t i) { return i < count ? entries[i] : NULL; }
const char *const *ds_registry_names(void) { return names; }

const json_t *ds_registry_find(const char *name)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp(names[i], name) == 0)
            return entries[i];
    return NULL;
}

void ds_registry_free(void)
{
    for (size_t i = 0; i < count; i++)
        json_decref(entries[i]);
    free(entries), free(names);
    entries = NULL, names = NULL, count = 0;
}

int ds_entry_cache_dir(const json_t *e, char *out, size_t cap)
{
    char base[4096];
    int rc = lab_dir_resolve(LAB_DIR_CACHE, base, sizeof base);
    if (rc)
        return rc;
    const char *kind = json_string_value(json_object_get(e, "kind"));
    const char *name = json_string_value(json_object_get(e, "name"));
    if (snprintf(out, cap, "%s/%s/%s", base, strcmp(kind, "weights") == 0 ? "weights" : "datasets", name) >=
        (int)cap)
        return lab_err(LAB_EUSAGE, "use a shorter LAB_CACHE", "cache path too long");
    return LAB_OK;
}

static int regular_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int ds_file_locate(const json_t *e, const json_t *f, char *out, size_t cap, int *found)
{
    *found = 0;
    const char *fname = json_string_value(json_object_get(f, "name"));
    size_t i;
    const json_t *cand;
    json_array_foreach(json_object_get(e, "local_candidates"), i, cand)
    {
        if (snprintf(out, cap, "%s/%s", json_string_value(cand), fname) < (int)cap && regular_file(out)) {
            *found = 1;
            return LAB_OK;
        }
    }
    const json_t *hf = json_object_get(e, "hf");
    if (hf) {
        const char *rev = json_string_value(json_object_get(hf, "revision"));
        return ds_hf_cached_path(json_string_value(json_object_get(hf, "repo")), rev ? rev : "main", fname, out,
                                 cap, found);
    }
    char dir[4096];
    int rc = ds_entry_cache_dir(e, dir, sizeof dir);
    if (rc)
        return rc;
    if (snprintf(out, cap, "%s/%s", dir, fname) >= (int)cap)
        return lab_err(LAB_EUSAGE, "use a shorter LAB_CACHE", "cache path too long");
    *found = regular_file(out);
    return LAB_OK;
}

static int hex_matches(const char *actual, const char *want, int prefix)
{
    size_t n = strlen(want);
    if (!prefix && n != strlen(actual))
        return 0;
    return n > 0 && strncasecmp(actual, want, n) == 0;
}

int ds_file_verify(const char *path, const json_t *f, const char *etag, enum ds_verdict *verdict, char *detail,
                   size_t cap)
{
    return ds_file_verify_known(path, f, etag, NULL, verdict, detail, cap);
}

int ds_file_verify_known(const char *path, const json_t *f, const char *etag, const char *sha256,
                         enum ds_verdict *verdict, char *detail, size_t cap)
{
    *verdict = DS_UNCHECKED;
    snprintf(detail, cap, "no checksum recorded");
    struct stat st;
    if (stat(path, &st) != 0)
        return lab_err(LAB_EENV, NULL, "%s does not exist", path);
    const json_t *checks = json_object_get(f, "checks");
    char sha[65] = "", md5[65] = "", blob_etag[80] = "";
    if (sha256 && ds_is_hex(sha256, 64))
        snprintf(sha, sizeof sha, "%s", sha256);
    size_t i;
    const json_t *c;
    json_array_foreach(checks, i, c)
    {
        const char *algo = json_string_value(json_object_get(c, "algo"));
        const char *want = json_string_value(json_object_get(c, "hex"));
        int prefix = json_is_true(json_object_get(c, "prefix"));
        if (json_is_true(json_object_get(c, "etag"))) {
            if (!etag) {
                /* In the HF cache the blob's file name is the etag. */
                char real[4096];
                if (realpath(path, real)) {
                    const char *slash = strrchr(real, '/');
                    snprintf(blob_etag, sizeof blob_etag, "%s", slash ? slash + 1 : real);
                }
                etag = blob_etag;
            }
            if (!ds_is_hex(etag, 64))
                continue; /* a git-blob etag (40 hex) is not a sha256: nothing to compare */
            want = etag, algo = "sha256", prefix = 0;
        }
        if (!algo || !want)
            continue;
        char *buf = strcmp(algo, "md5") == 0 ? md5 : sha;
        if (!*buf) {
            int rc = ds_hash_file(path, algo, buf, 65);
            if (rc)
                return rc;
        }
        if (hex_matches(buf, want, prefix)) {
            *verdict = DS_VERIFIED;
            snprintf(detail, cap, "%s%s %s matches (%s)", algo, prefix ? " prefix" : "", want,
                     json_string_value(json_object_get(c, "source")) ? json_string_value(json_object_get(c, "source"))
                                                                    : "manifest");
            return LAB_OK;
        }
        *verdict = DS_MISMATCH;
        snprintf(detail, cap, "%s is %s, expected %s%s", algo, buf, want, prefix ? "..." : "");
    }
    if (*verdict == DS_UNCHECKED && !json_is_true(json_object_get(f, "size_approx")) &&
        json_integer_value(json_object_get(f, "size")) > 0) {
        long long want = json_integer_value(json_object_get(f, "size"));
        *verdict = (long long)st.st_size == want ? DS_VERIFIED : DS_MISMATCH;
        snprintf(detail, cap, "size %lld, expected %lld (size-only check)", (long long)st.st_size, want);
    }
    return LAB_OK;
}

static int stamp_path(const char *path, char *out, size_t cap)
{
    char real[4096], hex[65], base[4096];
    if (!realpath(path, real) || ds_hash_buffer(real, strlen(real), "sha256", hex, sizeof hex) ||
        lab_dir_resolve(LAB_DIR_CACHE, base, sizeof base))
        return -1;
    return snprintf(out, cap, "%s/verified/%s", base, hex) < (int)cap ? 0 : -1;
}

static void stamp_text(const struct stat *st, char *buf, size_t cap)
{
    snprintf(buf, cap, "%lld %lld.%09ld\n", (long long)st->st_size, (long long)st->st_mtim.tv_sec,
             st->st_mtim.tv_nsec);
}

int ds_stamp_matches(const char *path)
{
    char sp[4200], want[128], *have = NULL;
    size_t len;
    struct stat st;
    if (stat(path, &st) != 0 || stamp_path(path, sp, sizeof sp) != 0)
        return 0;
    stamp_text(&st, want, sizeof want);
    if (lab_read_file(sp, 256, &have, &len) != LAB_OK) {
        lab_err_clear();
        return 0;
    }
    int ok = strcmp(have, want) == 0;
    free(have);
    return ok;
}

void ds_stamp_write(const char *path)
{
    char sp[4200], text[128], dir[4200];
    struct stat st;
    if (stat(path, &st) != 0 || stamp_path(path, sp, sizeof sp) != 0)
        return;
    snprintf(dir, sizeof dir, "%s", sp);
    *strrchr(dir, '/') = 0;
    stamp_text(&st, text, sizeof text);
    if (lab_mkdir_p(dir) || lab_write_atomic(sp, text, strlen(text)))
        lab_err_clear(); /* a missing stamp only costs a re-hash later */
}

int ds_data_dir(const char *name, char *out, size_t cap)
{
    int rc = ds_registry_load();
    if (rc)
        return rc;
    const json_t *e = ds_registry_find(name);
    if (!e)
        return lab_err(LAB_EUSAGE, "see `lab datasets`", "unknown dataset '%s'", name);
    const json_t *files = json_object_get(e, "files");
    const char *unpack = json_string_value(json_object_get(e, "unpack"));
    size_t i;
    const json_t *cand;
    json_array_foreach(json_object_get(e, "local_candidates"), i, cand)
    {
        int all = 1;
        size_t j;
        const json_t *f;
        json_array_foreach(files, j, f)
        {
            char p[4200];
            snprintf(p, sizeof p, "%s/%s", json_string_value(cand), json_string_value(json_object_get(f, "name")));
            all &= regular_file(p);
        }
        if (all) {
            snprintf(out, cap, "%s", json_string_value(cand));
            return LAB_OK;
        }
    }
    char dir[4096];
    if ((rc = ds_entry_cache_dir(e, dir, sizeof dir)))
        return rc;
    if (unpack) {
        if (snprintf(out, cap, "%s/unpacked/%s", dir, unpack) >= (int)cap)
            return lab_err(LAB_EUSAGE, "use a shorter LAB_CACHE", "cache path too long");
        if (lab_is_dir(out))
            return LAB_OK;
    } else {
        int all = 1;
        size_t j;
        const json_t *f;
        json_array_foreach(files, j, f)
        {
            char p[4200];
            snprintf(p, sizeof p, "%s/%s", dir, json_string_value(json_object_get(f, "name")));
            all &= regular_file(p);
        }
        if (all) {
            snprintf(out, cap, "%s", dir);
            return LAB_OK;
        }
    }
    char fix[256];
    snprintf(fix, sizeof fix, "download it with `lab fetch %s` (or, offline, copy it there from a machine that has it)",
             name);
    return lab_err(LAB_EENV, fix, "dataset %s is not present (looked in %s)", name, dir);
}
