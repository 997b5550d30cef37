#include "datasets/unpack.h"

#include "base/error.h"
#include "base/fsutil.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct ds_unpack_limits ds_unpack_limits_dataset(void)
{
    return (struct ds_unpack_limits){.max_total_bytes = 16ull << 30,
                                     .max_file_bytes = 8ull << 30,
                                     .max_entries = 500000,
                                     .max_ratio = 1000,
                                     .max_path_len = 1024,
                                     .allow_symlinks = 0};
}

struct ds_unpack_limits ds_unpack_limits_submission(void)
{
    return (struct ds_unpack_limits){.max_total_bytes = 1ull << 30,
                                     .max_file_bytes = 512ull << 20,
                                     .max_entries = 20000,
                                     .max_ratio = 200,
                                     .max_path_len = 512,
                                     .allow_symlinks = 0};
}

/* A set of the paths seen so far (open addressing), for duplicates. */
struct pathset {
    char **slot;
    size_t cap, n;
};

static uint64_t fnv(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    while (*s)
        h = (h ^ (unsigned char)*s++) * 1099511628211ull;
    return h;
}

/* 1 added, 0 already there, -1 out of memory. */
static int pathset_add(struct pathset *ps, const char *p)
{
    if (2 * (ps->n + 1) > ps->cap) {
        size_t ncap = ps->cap ? 2 * ps->cap : 256;
        char **ns = calloc(ncap, sizeof *ns);
        if (!ns)
            return -1;
        for (size_t i = 0; i < ps->cap; i++)
            if (ps->slot[i]) {
                size_t j = fnv(ps->slot[i]) & (ncap - 1);
                while (ns[j])
                    j = (j + 1) & (ncap - 1);
                ns[j] = ps->slot[i];
            }
        free(ps->slot);
        ps->slot = ns, ps->cap = ncap;
    }
    size_t j = fnv(p) & (ps->cap - 1);
    while (ps->slot[j]) {
        if (strcmp(ps->slot[j], p) == 0)
            return 0;
        j = (j + 1) & (ps->cap - 1);
    }
    if (!(ps->slot[j] = strdup(p)))
        return -1;
    ps->n++;
    return 1;
}

static void pathset_free(struct pathset *ps)
{
    for (size_t i = 0; i < ps->cap; i++)
        free(ps->slot[i]);
    free(ps->slot);
}

/* Normalizes an archive path: drops "." and empty components; refuses
 * absolute paths, ".." and control characters. Returns 0 or a reason. */
static const char *normalize(const char *in, size_t max_len, char *out, size_t cap)
{
    size_t len = strlen(in);
    if (len == 0)
        return "empty path";
    if (len > max_len || len >= cap)
        return "path too long";
    if (in[0] == '/')
        return "absolute path";
    size_t k = 0;
    const char *p = in;
    while (*p) {
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return "'..' in path";
        if (n > 0 && !(n == 1 && p[0] == '.')) {
            for (size_t i = 0; i < n; i++)
                if ((unsigned char)p[i] < 0x20 || p[i] == '\\')
                    return "control character or backslash in path";
            if (k)
                out[k++] = '/';
            memcpy(out + k, p, n);
            k += n;
        }
        p += n;
        if (*p == '/')
            p++;
    }
    out[k] = 0;
    return NULL;
}

/* A symlink at `path` pointing at `target` stays inside the root when the
 * joined, normalized path never climbs above it. */
static int link_stays_inside(const char *path, const char *target)
{
    if (!target || !*target || target[0] == '/')
        return 0;
    int depth = 0;
    for (const char *p = path; *p; p++)
        depth += *p == '/'; /* directories above the link itself */
    const char *p = target;
    while (*p) {
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            if (--depth < 0)
                return 0;
        } else if (n > 0 && !(n == 1 && p[0] == '.')) {
            depth++;
        }
        p += n;
        if (*p == '/')
            p++;
    }
    return 1;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    remove(p);
    return 0;
}

static void rm_tree(const char *dir) { nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS); }

struct pending_link {
    char *path, *target;
};

static int refuse(struct ds_unpack_report *rep, const char *entry, const char *why)
{
    snprintf(rep->refused_entry, sizeof rep->refused_entry, "%s", entry);
    return lab_err(LAB_EUSAGE, "the archive is unsafe or too large; it was not unpacked (nothing was written)",
                   "refused archive entry '%s': %s", entry, why);
}

static int run(struct archive *a, uint64_t input_bytes, const char *dest, const struct ds_unpack_limits *lim,
               struct ds_unpack_report *rep)
{
    memset(rep, 0, sizeof *rep);
    struct stat st;
    if (lstat(dest, &st) == 0)
        return lab_err(LAB_EUSAGE, "remove it first or choose another directory", "%s already exists", dest);
    char parent[4200], staging[4300];
    snprintf(parent, sizeof parent, "%s", dest);
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent)
        *slash = 0;
    else if (slash)
        parent[1] = 0;
    else
        snprintf(parent, sizeof parent, ".");
    int rc = lab_mkdir_p(parent);
    if (rc)
        return rc;
    snprintf(staging, sizeof staging, "%s.staging-XXXXXX", dest);
    if (!mkdtemp(staging))
        return lab_err(LAB_EENV, "check the permissions of the directory", "cannot create %s: %s", staging,
                       strerror(errno));
    struct pathset seen = {0};
    struct pending_link *links = NULL;
    size_t nlinks = 0;
    struct archive_entry *e;
    static __thread char buf[1 << 16];
    char norm[4096], full[8500];
    rc = LAB_OK;
    for (;;) {
        int r = archive_read_next_header(a, &e);
        if (r == ARCHIVE_EOF)
            break;
        if (r < ARCHIVE_WARN) {
            rc = lab_err(LAB_EUSAGE, "the archive is damaged or not tar/zip", "cannot read the archive: %s",
                         archive_error_string(a) ? archive_error_string(a) : "unknown error");
            goto out;
        }
        const char *name = archive_entry_pathname(e);
        const char *shown = name ? name : "(no name)";
        if (++rep->entries > lim->max_entries) {
            rc = refuse(rep, shown, "too many entries");
            goto out;
        }
        const char *why = name ? normalize(name, lim->max_path_len, norm, sizeof norm) : "no path";
        if (why) {
            rc = refuse(rep, shown, why);
            goto out;
        }
        mode_t type = archive_entry_filetype(e);
        if (archive_entry_hardlink(e)) {
            rc = refuse(rep, shown, "hard link");
            goto out;
        }
        if (norm[0] == 0) {
            if (type == AE_IFDIR)
                continue; /* "./" itself */
            rc = refuse(rep, shown, "empty path");
            goto out;
        }
        int added = pathset_add(&seen, norm);
        if (added < 0) {
            rc = lab_err(LAB_EENV, NULL, "out of memory");
            goto out;
        }
        if (added == 0 && type != AE_IFDIR) {
            rc = refuse(rep, shown, "duplicate path");
            goto out;
        }
        snprintf(full, sizeof full, "%s/%s", staging, norm);
        if (type == AE_IFDIR) {
            if ((rc = lab_mkdir_p(full)))
                goto out;
            continue;
        }
        if (type == AE_IFLNK) {
            const char *target = archive_entry_symlink(e);
            if (!lim->allow_symlinks) {
                rc = refuse(rep, shown, "symbolic link (not allowed here)");
                goto out;
            }
            if (!link_stays_inside(norm, target)) {
                rc = refuse(rep, shown, "symbolic link pointing outside the destination");
                goto out;
            }
            struct pending_link *nl = realloc(links, (nlinks + 1) * sizeof *links);
            if (!nl) {
                rc = lab_err(LAB_EENV, NULL, "out of memory");
                goto out;
            }
            links = nl;
            links[nlinks].path = strdup(full);
            links[nlinks].target = strdup(target);
            nlinks++;
            continue;
        }
        if (type != AE_IFREG) {
            rc = refuse(rep, shown, "device, fifo or socket");
            goto out;
        }
        if (archive_entry_size_is_set(e) && (uint64_t)archive_entry_size(e) > lim->max_file_bytes) {
            rc = refuse(rep, shown, "file larger than the limit");
            goto out;
        }
        char pdir[8500];
        snprintf(pdir, sizeof pdir, "%s", full);
        *strrchr(pdir, '/') = 0;
        if ((rc = lab_mkdir_p(pdir)))
            goto out;
        int fd = open(full, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                      (archive_entry_perm(e) & 0100) ? 0755 : 0644);
        if (fd < 0) {
            rc = refuse(rep, shown, errno == EEXIST ? "duplicate path" : strerror(errno));
            goto out;
        }
        uint64_t fbytes = 0;
        for (;;) {
            la_ssize_t n = archive_read_data(a, buf, sizeof buf);
            if (n == 0)
                break;
            if (n < 0) {
                close(fd);
                rc = lab_err(LAB_EUSAGE, "the archive is damaged", "cannot read '%s' from the archive: %s", shown,
                             archive_error_string(a) ? archive_error_string(a) : "error");
                goto out;
            }
            fbytes += (uint64_t)n;
            rep->bytes += (uint64_t)n;
            const char *limit = NULL;
            if (fbytes > lim->max_file_bytes)
                limit = "file larger than the limit";
            else if (rep->bytes > lim->max_total_bytes)
                limit = "total size over the limit";
            else if (lim->max_ratio && rep->bytes > (1u << 20) &&
                     rep->bytes / (input_bytes ? input_bytes : 1) > lim->max_ratio)
                limit = "compression ratio over the limit (a zip bomb?)";
            if (limit) {
                close(fd);
                rc = refuse(rep, shown, limit);
                goto out;
            }
            if (lab_write_full(fd, buf, (size_t)n) != 0) {
                close(fd);
                rc = lab_err(LAB_EENV, "check free disk space", "cannot write %s: %s", full, strerror(errno));
                goto out;
            }
        }
        if (lim->keep_mtime && archive_entry_mtime_is_set(e)) {
            struct timespec t[2] = {{.tv_nsec = UTIME_OMIT},
                                    {.tv_sec = archive_entry_mtime(e), .tv_nsec = archive_entry_mtime_nsec(e)}};
            futimens(fd, t);
        }
        if (close(fd) != 0) {
            rc = lab_err(LAB_EENV, "check free disk space", "cannot write %s: %s", full, strerror(errno));
            goto out;
        }
        rep->files++;
    }
    /* Links last, so no entry was ever written through one. */
    for (size_t i = 0; i < nlinks; i++)
        if (symlink(links[i].target, links[i].path) != 0) {
            rc = lab_err(LAB_EENV, NULL, "cannot create link %s: %s", links[i].path, strerror(errno));
            goto out;
        }
    /* One syncfs for the whole tree rather than an fsync per file (VOC is
     * 17,000 of them): the rename must not publish files still in memory. */
    int sfd = open(staging, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (sfd < 0 || syncfs(sfd) != 0)
        rc = lab_err(LAB_EENV, "check the disk", "cannot sync %s: %s", staging, strerror(errno));
    if (sfd >= 0)
        close(sfd);
    if (!rc)
        rc = lab_rename_durable(staging, dest);
out:
    if (rc)
        rm_tree(staging);
    for (size_t i = 0; i < nlinks; i++)
        free(links[i].path), free(links[i].target);
    free(links);
    pathset_free(&seen);
    return rc;
}

static struct archive *new_reader(void)
{
    struct archive *a = archive_read_new();
    if (!a)
        return NULL;
    archive_read_support_filter_gzip(a);
    archive_read_support_filter_bzip2(a);
    archive_read_support_filter_xz(a);
    archive_read_support_format_tar(a);
    archive_read_support_format_gnutar(a);
    archive_read_support_format_zip(a);
    return a;
}

int ds_unpack_file(const char *archive, const char *dest, const struct ds_unpack_limits *lim,
                   struct ds_unpack_report *rep)
{
    struct stat st;
    if (stat(archive, &st) != 0)
        return lab_err(LAB_EENV, NULL, "cannot open %s: %s", archive, strerror(errno));
    struct archive *a = new_reader();
    if (!a)
        return lab_err(LAB_EINTERNAL, NULL, "libarchive failed to start");
    int rc;
    if (archive_read_open_filename(a, archive, 1 << 16) != ARCHIVE_OK)
        rc = lab_err(LAB_EUSAGE, "the file is damaged or not tar/zip", "cannot read %s: %s", archive,
                     archive_error_string(a) ? archive_error_string(a) : "unknown format");
    else
        rc = run(a, (uint64_t)st.st_size, dest, lim, rep);
    if (rc && !strstr(lab_err_message(), archive)) /* "cannot read <archive>" names it already */
        lab_err_context(rc, "unpacking %s", archive);
    archive_read_free(a);
    return rc;
}

int ds_unpack_memory(const void *data, size_t len, const char *dest, const struct ds_unpack_limits *lim,
                     struct ds_unpack_report *rep)
{
    struct archive *a = new_reader();
    if (!a)
        return lab_err(LAB_EINTERNAL, NULL, "libarchive failed to start");
    int rc;
    if (archive_read_open_memory(a, data, len) != ARCHIVE_OK)
        rc = lab_err(LAB_EUSAGE, "the data is damaged or not tar/zip", "cannot read the archive: %s",
                     archive_error_string(a) ? archive_error_string(a) : "unknown format");
    else
        rc = run(a, len, dest, lim, rep);
    archive_read_free(a);
    return rc;
}
