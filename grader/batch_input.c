#include "grader/batch_input.h"

#include "base/error.h"
#include "base/fsutil.h"
#include "datasets/hash.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

struct ds_unpack_limits batch_bulk_limits(void)
{
    return (struct ds_unpack_limits){.max_total_bytes = 256ull << 30,
                                     .max_file_bytes = 2ull << 30,
                                     .max_entries = 1000000,
                                     .max_ratio = 200,
                                     .max_path_len = 1024,
                                     .allow_symlinks = 0,
                                     .keep_mtime = 1};
}

struct ds_unpack_limits batch_submission_limits(void)
{
    return (struct ds_unpack_limits){.max_total_bytes = 2ull << 30,
                                     .max_file_bytes = 2ull << 30,
                                     .max_entries = 10000,
                                     .max_ratio = 200,
                                     .max_path_len = 512,
                                     .allow_symlinks = 0,
                                     .keep_mtime = 0};
}

int batch_is_archive_name(const char *name)
{
    static const char *const sfx[] = {".tar.gz", ".tgz", ".tar", ".zip", ".tar.xz", ".tar.bz2", NULL};
    size_t n = strlen(name);
    for (int i = 0; sfx[i]; i++) {
        size_t k = strlen(sfx[i]);
        if (n > k && strcasecmp(name + n - k, sfx[i]) == 0)
            return 1;
    }
    return 0;
}

/* ---- growing arrays ---- */

static int add_ignored(struct batch_input *in, const char *source, const char *why)
{
    char **ni = realloc(in->ignored, (in->n_ignored + 1) * sizeof *ni);
    if (!ni)
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    in->ignored = ni;
    size_t len = strlen(source) + strlen(why) + 3;
    if (!(ni[in->n_ignored] = malloc(len)))
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    snprintf(ni[in->n_ignored++], len, "%s: %s", source, why);
    return LAB_OK;
}

static int add_item(struct batch_input *in, const char *source, const char *path, bool is_dir, time_t mtime)
{
    struct batch_item *ni = realloc(in->items, (in->n + 1) * sizeof *ni);
    if (!ni)
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    in->items = ni;
    struct batch_item *it = &ni[in->n];
    memset(it, 0, sizeof *it);
    it->source = strdup(source);
    it->path = strdup(path);
    if (!it->source || !it->path) {
        free(it->source), free(it->path);
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    }
    it->is_dir = is_dir;
    it->mtime = mtime;
    /* The LMS identity is in the first component that carries one. */
    char comp[NAME_MAX + 1];
    const char *p = source;
    while (*p) {
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len < sizeof comp) {
            memcpy(comp, p, len);
            comp[len] = 0;
            if (lms_parse_name(comp, &it->lms))
                break;
        }
        p += len + (end ? 1 : 0);
    }
    in->n++;
    return LAB_OK;
}

static int strcmp_p(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Sorted names of a directory's non-hidden entries (caller frees). */
static int list_dir(const char *dir, char ***names, size_t *n)
{
    *names = NULL, *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return lab_err(LAB_EENV, "check the path and its permissions", "cannot read the folder %s: %s", dir,
                       strerror(errno));
    struct dirent *e;
    size_t cap = 0;
    int rc = LAB_OK;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nn = realloc(*names, cap * sizeof *nn);
            if (!nn) {
                rc = lab_err(LAB_EINTERNAL, NULL, "out of memory");
                break;
            }
            *names = nn;
        }
        if (!((*names)[*n] = strdup(e->d_name))) {
            rc = lab_err(LAB_EINTERNAL, NULL, "out of memory");
            break;
        }
        (*n)++;
    }
    closedir(d);
    if (!rc && *n > 1)
        qsort(*names, *n, sizeof **names, strcmp_p);
    return rc;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

static int has_submission_json(const char *dir)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/submission.json", dir);
    struct stat st;
    return lstat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int join(char *out, size_t cap, const char *a, const char *b)
{
    if (snprintf(out, cap, "%s/%s", a, b) >= (int)cap)
        return lab_err(LAB_EUSAGE, "use shorter folder names", "path too long: %s/%s", a, b);
    return LAB_OK;
}

/* A folder that is not itself a submission: its archives and submission
 * folders, one level down. */
static int scan_folder_of(struct batch_input *in, const char *dir, const char *source)
{
    char **names;
    size_t n;
    int rc = list_dir(dir, &names, &n);
    if (rc)
        return rc;
    size_t before = in->n;
    for (size_t i = 0; i < n && !rc; i++) {
        char path[PATH_MAX], src[PATH_MAX];
        if ((rc = join(path, sizeof path, dir, names[i])) || (rc = join(src, sizeof src, source, names[i])))
            break;
        struct stat st;
        if (lstat(path, &st) != 0)
            continue;
        if (S_ISREG(st.st_mode) && batch_is_archive_name(names[i]))
            rc = add_item(in, src, path, false, st.st_mtime);
        else if (S_ISDIR(st.st_mode) && has_submission_json(path))
            rc = add_item(in, src, path, true, st.st_mtime);
        else
            rc = add_ignored(in, src, S_ISLNK(st.st_mode) ? "a symbolic link inside a submission folder"
                                                           : "not an archive or a submission folder");
    }
    free_names(names, n);
    if (!rc && in->n == before) {
        struct stat st;
        stat(dir, &st);
        rc = add_item(in, source, dir, true, st.st_mtime);
    }
    return rc;
}

static int scan_dir(struct batch_input *in, const char *root)
{
    char **names;
    size_t n;
    int rc = list_dir(root, &names, &n);
    if (rc)
        return rc;
    for (size_t i = 0; i < n && !rc; i++) {
        char path[PATH_MAX];
        if ((rc = join(path, sizeof path, root, names[i])))
            break;
        struct stat st;
        if (stat(path, &st) != 0) { /* the instructor's own links are followed; a dangling one is listed */
            rc = add_ignored(in, names[i], strerror(errno));
            continue;
        }
        struct lms_name l;
        bool lms = lms_parse_name(names[i], &l);
        if (S_ISDIR(st.st_mode)) {
            if (has_submission_json(path))
                rc = add_item(in, names[i], path, true, st.st_mtime);
            else
                rc = scan_folder_of(in, path, names[i]);
        } else if (S_ISREG(st.st_mode) && (batch_is_archive_name(names[i]) || lms)) {
            rc = add_item(in, names[i], path, false, st.st_mtime);
        } else {
            rc = add_ignored(in, names[i], "not an archive or a submission folder");
        }
    }
    free_names(names, n);
    return rc;
}

int batch_input_scan(const char *input, const char *staging, struct batch_input *out)
{
    memset(out, 0, sizeof *out);
    char abs[PATH_MAX];
    if (!realpath(input, abs))
        return lab_err(LAB_EUSAGE, "give a folder of submissions or an LMS bulk-download zip",
                       "cannot open %s: %s", input, strerror(errno));
    if (!(out->root = strdup(abs)))
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    struct stat st;
    if (stat(abs, &st) != 0)
        return lab_err(LAB_EUSAGE, NULL, "cannot open %s: %s", input, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return scan_dir(out, abs);
    if (!S_ISREG(st.st_mode))
        return lab_err(LAB_EUSAGE, "give a folder of submissions or an LMS bulk-download zip",
                       "%s is neither a folder nor a file", input);

    /* A bulk download: unpacked whole (with limits) into the staging area. */
    char dest[PATH_MAX];
    if (join(dest, sizeof dest, staging, "bulk"))
        return LAB_EUSAGE;
    struct ds_unpack_limits lim = batch_bulk_limits();
    struct ds_unpack_report rep;
    int rc = ds_unpack_file(abs, dest, &lim, &rep);
    if (rc) { /* copied first: lab_err must not read the message it is replacing */
        char fix[512], why[1024];
        snprintf(fix, sizeof fix,
                 "download the submissions again from the LMS, or unpack them into a folder and grade the folder "
                 "(lab explain TS-SUBMISSION-ARCHIVE)%s%s",
                 lab_err_fix()[0] ? "; " : "", lab_err_fix());
        snprintf(why, sizeof why, "%s", lab_err_message());
        return lab_err(LAB_EENV, fix, "the bulk download %s cannot be unpacked: %s", input, why);
    }
    out->bulk_zip = true;
    if (has_submission_json(dest))
        return lab_err(LAB_EUSAGE, "grade one submission with `lab grade FILE`, or put the archives in a folder",
                       "%s is a single submission, not a batch (it holds submission.json)", input);
    /* Some downloads wrap everything in one folder. */
    char **names;
    size_t n;
    if ((rc = list_dir(dest, &names, &n)))
        return rc;
    char root[PATH_MAX];
    snprintf(root, sizeof root, "%s", dest);
    struct lms_name l;
    if (n == 1 && !lms_parse_name(names[0], &l)) {
        char one[PATH_MAX];
        if (join(one, sizeof one, dest, names[0]) == LAB_OK && lab_is_dir(one) && !has_submission_json(one))
            snprintf(root, sizeof root, "%s", one);
    }
    free_names(names, n);
    return scan_dir(out, root);
}

void batch_input_free(struct batch_input *in)
{
    if (!in)
        return;
    for (size_t i = 0; i < in->n; i++)
        free(in->items[i].source), free(in->items[i].path);
    free(in->items);
    for (size_t i = 0; i < in->n_ignored; i++)
        free(in->ignored[i]);
    free(in->ignored);
    free(in->root);
    memset(in, 0, sizeof *in);
}

/* ---- content hashes ---- */

struct tree_entry {
    char *rel;
    char line[PATH_MAX + 80]; /* what goes into the hash for it (after the path) */
};

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const struct tree_entry *)a)->rel, ((const struct tree_entry *)b)->rel);
}

struct tree_walk {
    struct tree_entry *e;
    size_t n, cap, max;
    uint64_t bytes, max_bytes;
    int overflow;
};

static int walk(struct tree_walk *w, const char *root, const char *rel, int depth)
{
    char dir[PATH_MAX];
    if (rel[0])
        snprintf(dir, sizeof dir, "%s/%s", root, rel);
    else
        snprintf(dir, sizeof dir, "%s", root);
    char **names;
    size_t n;
    int rc = list_dir(dir, &names, &n);
    if (rc)
        return rc;
    for (size_t i = 0; i < n && !rc; i++) {
        if (w->n >= w->max || depth > 64) {
            w->overflow = 1;
            break;
        }
        if (w->n == w->cap) {
            w->cap = w->cap ? 2 * w->cap : 256;
            struct tree_entry *ne = realloc(w->e, w->cap * sizeof *ne);
            if (!ne) {
                rc = lab_err(LAB_EINTERNAL, NULL, "out of memory");
                break;
            }
            w->e = ne;
        }
        struct tree_entry *t = &w->e[w->n];
        char r[PATH_MAX], full[PATH_MAX];
        snprintf(r, sizeof r, "%s%s%s", rel, rel[0] ? "/" : "", names[i]);
        snprintf(full, sizeof full, "%s/%s", root, r);
        if (!(t->rel = strdup(r))) {
            rc = lab_err(LAB_EINTERNAL, NULL, "out of memory");
            break;
        }
        w->n++;
        struct stat st;
        if (lstat(full, &st) != 0) {
            snprintf(t->line, sizeof t->line, "?");
        } else if (S_ISDIR(st.st_mode)) {
            snprintf(t->line, sizeof t->line, "d");
            rc = walk(w, root, r, depth + 1);
        } else if (S_ISLNK(st.st_mode)) {
            char target[PATH_MAX];
            ssize_t k = readlink(full, target, sizeof target - 1);
            target[k > 0 ? k : 0] = 0;
            snprintf(t->line, sizeof t->line, "l %s", target);
        } else if (S_ISREG(st.st_mode)) {
            char hex[65];
            w->bytes += (uint64_t)st.st_size;
            /* Past the size limit (the child refuses it anyway) size and
             * time stand in for the content. */
            if (w->bytes > w->max_bytes || ds_hash_file(full, "sha256", hex, sizeof hex) != LAB_OK)
                snprintf(t->line, sizeof t->line, "f %lld %lld", (long long)st.st_size, (long long)st.st_mtime);
            else
                snprintf(t->line, sizeof t->line, "f %s", hex);
        } else {
            snprintf(t->line, sizeof t->line, "s"); /* fifo, socket, device: never opened */
        }
    }
    free_names(names, n);
    return rc;
}

int batch_item_sha256(const struct batch_item *it, const struct ds_unpack_limits *lim, char hex[65])
{
    if (!it->is_dir)
        return ds_hash_file(it->path, "sha256", hex, 65);
    struct tree_walk w = {.max = lim->max_entries + 1, .max_bytes = lim->max_total_bytes};
    int rc = walk(&w, it->path, "", 0);
    if (!rc) {
        qsort(w.e, w.n, sizeof *w.e, cmp_entry);
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        unsigned char d[EVP_MAX_MD_SIZE];
        unsigned dn = 0;
        if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
            rc = lab_err(LAB_EINTERNAL, NULL, "OpenSSL sha256 failed");
        } else {
            EVP_DigestUpdate(ctx, "lab-tree-1\n", 11);
            for (size_t i = 0; i < w.n; i++) {
                EVP_DigestUpdate(ctx, w.e[i].rel, strlen(w.e[i].rel) + 1);
                EVP_DigestUpdate(ctx, w.e[i].line, strlen(w.e[i].line) + 1);
            }
            if (w.overflow)
                EVP_DigestUpdate(ctx, "overflow", 8);
            EVP_DigestFinal_ex(ctx, d, &dn);
            for (unsigned i = 0; i < dn; i++)
                sprintf(hex + 2 * i, "%02x", d[i]);
            hex[2 * dn] = 0;
        }
        EVP_MD_CTX_free(ctx);
    }
    for (size_t i = 0; i < w.n; i++)
        free(w.e[i].rel);
    free(w.e);
    return rc;
}
