#include "grader/pack.h"

#include "base/error.h"
#include "base/fsutil.h"
#include "datasets/hash.h"
#include "grader/submission.h"
#include "grader/weights_q4.h"
#include "store/store.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int pack_student_ok(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n > 64 || id[0] == '.' || id[0] == '-')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("._@+-", c)))
            return 0;
    }
    return 1;
}

long long pack_student_seed(const char *id)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (const unsigned char *p = (const unsigned char *)"lab-seed:"; *p; p++)
        h = (h ^ *p) * 0x100000001b3ull;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        h = (h ^ *p) * 0x100000001b3ull;
    long long seed = (long long)(h % 0x7fffffffull);
    return seed + 1;
}

int pack_wants_zip(const char *out_path)
{
    size_t n = strlen(out_path);
    return n >= 4 && strcasecmp(out_path + n - 4, ".zip") == 0;
}

/* Every model the run lists must have finished: an interrupted run is
 * resumed, not submitted. */
static int run_finished(const struct submission *s)
{
    const json_t *models = json_object_get(s->metrics, "models");
    const char *name;
    json_t *m;
    if (!json_is_object(models) || json_object_size(models) == 0)
        return lab_err(LAB_EUSAGE, "let the run finish (or `lab run <id> --resume DIR`), then submit",
                       "%s/metrics.json lists no finished model", s->root);
    json_object_foreach((json_t *)models, name, m)
    {
        const char *st = json_string_value(json_object_get(m, "status"));
        if (!st || strcmp(st, "done") != 0)
            return lab_err(LAB_EUSAGE, "finish it first: lab run <id> --resume <run-dir>",
                           "model %s of this run did not finish (status %s)", name, st ? st : "none");
    }
    return LAB_OK;
}

static int add_buffer(struct archive *a, const char *name, const void *data, size_t len, time_t now)
{
    return pack_add_buffer(a, name, data, len, 0644, now);
}

int pack_add_buffer(struct archive *a, const char *name, const void *data, size_t len, int perm, time_t now)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, perm);
    archive_entry_set_size(e, (la_int64_t)len);
    archive_entry_set_mtime(e, now, 0);
    int ok = archive_write_header(a, e) == ARCHIVE_OK && (len == 0 || archive_write_data(a, data, len) == (la_ssize_t)len);
    archive_entry_free(e);
    return ok ? LAB_OK : lab_err(LAB_EENV, "check the disk space", "writing %s into the archive: %s", name,
                                 archive_error_string(a));
}

static int add_file(struct archive *a, const char *root, const char *rel, time_t now)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0)
            close(fd);
        return lab_err(LAB_EENV, NULL, "cannot read %s: %s", path, strerror(errno));
    }
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, rel);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, st.st_size);
    archive_entry_set_mtime(e, now, 0);
    int rc = archive_write_header(a, e) == ARCHIVE_OK ? LAB_OK : lab_err(LAB_EENV, NULL, "archive: %s", archive_error_string(a));
    char buf[1 << 16];
    long long left = st.st_size;
    while (!rc && left > 0) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0)
            rc = lab_err(LAB_EENV, NULL, "reading %s: %s", path, n < 0 ? strerror(errno) : "file shrank");
        else if (archive_write_data(a, buf, (size_t)n) != n)
            rc = lab_err(LAB_EENV, "check the disk space", "archive: %s", archive_error_string(a));
        left -= n;
    }
    archive_entry_free(e);
    close(fd);
    return rc;
}

/* A file that goes in as other bytes than the run's (weights at 4 bits). */
struct packed {
    void *data; /* NULL: the file as it is */
    size_t len;
};

static int is_weights(const char *rel)
{
    size_t n = strlen(rel), k = strlen("/model.safetensors");
    return strncmp(rel, "models/", 7) == 0 && n > 7 + k && strcmp(rel + n - k, "/model.safetensors") == 0 &&
           !memchr(rel + 7, '/', n - 7 - k);
}

/* The run's weights at 4 bits, or left as they are (data NULL) when none of
 * their tensors is big enough to gain from it (LeNet-5). */
static int encode_weights(const char *root, const char *rel, struct packed *p, struct pack_result *res)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    st_file *f;
    int rc = st_open(path, &f);
    if (rc)
        return rc;
    struct stat st;
    if (stat(path, &st) == 0)
        res->weight_bytes += (unsigned long long)st.st_size;
    struct wq4_stats ws;
    rc = wq4_encode(f, &p->data, &p->len, &ws);
    st_close(f);
    if (!rc && ws.quantized == 0) {
        free(p->data);
        p->data = NULL;
        res->q4_bytes += (unsigned long long)st.st_size;
    } else if (!rc) {
        res->q4_models++;
        res->q4_bytes += p->len;
    }
    return rc;
}

static int write_archive(const struct submission *s, const char *info, const char *manifest, const char *out_path,
                         const struct packed *packed, struct pack_result *res)
{
    struct lab_atomic_file f;
    int rc = lab_atomic_open(&f, out_path);
    if (rc)
        return rc;
    struct archive *a = archive_write_new();
    if (pack_wants_zip(out_path)) {
        /* An LMS that asks for a .zip may open it: a gzip named .zip fails there. */
        archive_write_set_format_zip(a);
        archive_write_zip_set_compression_deflate(a);
    } else {
        archive_write_set_format_pax_restricted(a);
        archive_write_add_filter_gzip(a);
    }
    rc = archive_write_open_fd(a, f.fd) == ARCHIVE_OK ? LAB_OK
                                                      : lab_err(LAB_EENV, NULL, "archive: %s", archive_error_string(a));
    time_t now = time(NULL);
    if (!rc)
        rc = add_buffer(a, "submission.json", info, strlen(info), now);
    for (size_t i = 0; !rc && i < s->n_files; i++)
        rc = packed[i].data ? add_buffer(a, s->files[i], packed[i].data, packed[i].len, now)
                            : add_file(a, s->root, s->files[i], now);
    if (!rc)
        rc = add_buffer(a, "MANIFEST.sha256", manifest, strlen(manifest), now);
    if (archive_write_close(a) != ARCHIVE_OK && !rc)
        rc = lab_err(LAB_EENV, "check the disk space", "archive: %s", archive_error_string(a));
    archive_write_free(a);
    struct stat st;
    if (!rc && fstat(f.fd, &st) == 0)
        res->bytes = (unsigned long long)st.st_size;
    if (rc)
        lab_atomic_abort(&f);
    else
        rc = lab_atomic_commit(&f);
    res->files = s->n_files + 2;
    return rc;
}

int pack_submission(const char *run_dir, const char *student, const json_t *environment, const char *out_path,
                    int q4, struct pack_result *res)
{
    memset(res, 0, sizeof *res);
    if (!pack_student_ok(student))
        return lab_err(LAB_EUSAGE, "use 1-64 letters, digits or . _ @ + - (e.g. a university login)",
                       "'%s' cannot be a student id", student ? student : "");
    struct submission *s;
    int rc = submission_open(run_dir, SUB_RUN_DIR, &s);
    if (rc) {
        char why[1024]; /* copied first: lab_err must not read the message it replaces */
        snprintf(why, sizeof why, "%s", lab_err_message());
        return lab_err(LAB_EUSAGE, "give the run directory `lab run` printed last (run dir: ...)",
                       "%s is not a finished run: %s", run_dir, why);
    }
    if ((rc = run_finished(s))) {
        submission_free(s);
        return rc;
    }
    char created[32];
    lab_utc_now(created, sizeof created);
    json_t *info = json_pack("{s:i, s:s, s:s, s:s, s:s, s:O}", "format_version", SUB_FORMAT_VERSION, "lab", s->lab,
                             "student", student, "created", created, "lab_version", LAB_VERSION, "environment",
                             environment ? environment : json_object());
    char *info_text = info ? json_dumps(info, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(info);
    /* The manifest: sha256sum's format over every file, submission.json included. */
    size_t cap = 128 * (s->n_files + 1) + 1024, len = 0;
    char *manifest = malloc(cap), hex[65];
    struct packed *packed = calloc(s->n_files + 1, sizeof *packed);
    rc = info_text && manifest && packed ? LAB_OK : lab_err(LAB_EINTERNAL, NULL, "out of memory");
    if (!rc && !(rc = ds_hash_buffer(info_text, strlen(info_text), "sha256", hex, sizeof hex)))
        len += (size_t)snprintf(manifest + len, cap - len, "%s  submission.json\n", hex);
    for (size_t i = 0; !rc && i < s->n_files; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", s->root, s->files[i]);
        if (strlen(s->files[i]) > 100 || !strcmp(s->files[i], "submission.json") ||
            !strcmp(s->files[i], "MANIFEST.sha256"))
            rc = lab_err(LAB_EUSAGE, "remove it from the run directory", "%s cannot go into a submission", s->files[i]);
        else if (q4 && is_weights(s->files[i]) && (rc = encode_weights(s->root, s->files[i], &packed[i], res)))
            break;
        else if (packed[i].data ? !(rc = ds_hash_buffer(packed[i].data, packed[i].len, "sha256", hex, sizeof hex))
                                : !(rc = ds_hash_file(path, "sha256", hex, sizeof hex)))
            len += (size_t)snprintf(manifest + len, cap - len, "%s  %s\n", hex, s->files[i]);
    }
    if (!rc)
        rc = write_archive(s, info_text, manifest, out_path, packed, res);
    for (size_t i = 0; packed && i < s->n_files; i++)
        free(packed[i].data);
    free(packed);
    free(manifest);
    free(info_text);
    submission_free(s);
    return rc;
}
