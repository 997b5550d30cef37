/* The grading child: everything here runs inside the sandbox, on one
 * untrusted submission, and ends with _exit (sandbox.c). */
#include "base/error.h"
#include "base/fsutil.h"
#include "base/jsonio.h"
#include "datasets/hash.h"
#include "grader/batch_internal.h"
#include "shim/safetensors.h"
#include "shim/torchshim.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* One JSON line to the parent; an allocation failure here is the job
 * running out of memory. */
static int send_line(int fd, json_t *msg)
{
    char *s = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
    json_decref(msg);
    if (!s)
        _exit(SANDBOX_EXIT_OOM);
    int rc = lab_write_full(fd, s, strlen(s));
    free(s);
    return rc == 0 && lab_write_full(fd, "\n", 1) == 0 ? 0 : -1;
}

static int is_memory_error(const char *msg)
{
    static const char *const pats[] = {"out of memory", "not enough memory", "Cannot allocate memory", "bad_alloc",
                                       "failed to allocate", NULL};
    for (int i = 0; pats[i]; i++)
        if (strcasestr(msg, pats[i]))
            return 1;
    return 0;
}

/* ---- LAB_TEST_GRADE_FAULT: tests only ----
 * "kind" for every submission, or "kind@text,kind@text" for the
 * submissions whose source contains text. Kinds: crash (SIGSEGV), abort,
 * timeout (never answers), oom (allocates until the limit refuses),
 * oomkill (SIGKILL, as the kernel's OOM killer does), exit (ends without a
 * report), garbage (a report that is not JSON), flood (more output than
 * allowed), orphan (leaves a process holding the pipe, then grades). */
static void maybe_fault(const char *source, int out_fd)
{
    const char *spec = getenv("LAB_TEST_GRADE_FAULT");
    if (!spec || !*spec)
        return;
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", spec);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *at = strchr(tok, '@');
        if (at) {
            *at = 0;
            if (!strstr(source, at + 1))
                continue;
        }
        if (strcmp(tok, "crash") == 0) {
            raise(SIGSEGV);
        } else if (strcmp(tok, "abort") == 0) {
            abort();
        } else if (strcmp(tok, "timeout") == 0) {
            for (;;)
                pause();
        } else if (strcmp(tok, "oom") == 0) {
            /* Reserve (never touch) until the address-space limit says no;
             * without one (ASan builds) the failure is only simulated. */
            struct rlimit as;
            if (getrlimit(RLIMIT_AS, &as) != 0 || as.rlim_cur == RLIM_INFINITY)
                _exit(SANDBOX_EXIT_OOM);
            for (size_t i = 0; i < 1u << 20; i++)
                if (!malloc(64u << 20))
                    _exit(SANDBOX_EXIT_OOM);
            _exit(0);
        } else if (strcmp(tok, "oomkill") == 0) {
            raise(SIGKILL);
        } else if (strcmp(tok, "exit") == 0) {
            _exit(1);
        } else if (strcmp(tok, "garbage") == 0) {
            lab_write_full(out_fd, "{\"report\": [not json\n", 21);
            _exit(0);
        } else if (strcmp(tok, "flood") == 0) {
            static char junk[1 << 16];
            memset(junk, 'x', sizeof junk);
            for (;;)
                if (lab_write_full(out_fd, junk, sizeof junk))
                    _exit(0);
        } else if (strcmp(tok, "orphan") == 0) {
            if (fork() == 0)
                for (;;)
                    pause();
        }
    }
}

/* ---- a submission folder: checked like an archive's entries ---- */

struct tree_count {
    uint64_t entries, bytes;
};

static const char *check_tree(const char *dir, const struct ds_unpack_limits *lim, struct tree_count *tc,
                              char *bad, size_t cap, int depth)
{
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(bad, cap, "%s", dir);
        return "cannot be read";
    }
    const char *why = NULL;
    struct dirent *e;
    while (!why && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (++tc->entries > lim->max_entries)
            why = "too many entries", snprintf(bad, cap, "%s", p);
        else if (lstat(p, &st) != 0)
            why = "cannot be read", snprintf(bad, cap, "%s", p);
        else if (S_ISLNK(st.st_mode))
            why = "symbolic link (not allowed in a submission)", snprintf(bad, cap, "%s", p);
        else if (S_ISDIR(st.st_mode))
            why = depth > 32 ? (snprintf(bad, cap, "%s", p), "folders nested too deep")
                             : check_tree(p, lim, tc, bad, cap, depth + 1);
        else if (!S_ISREG(st.st_mode))
            why = "device, fifo or socket", snprintf(bad, cap, "%s", p);
        else if ((uint64_t)st.st_size > lim->max_file_bytes ||
                 (tc->bytes += (uint64_t)st.st_size) > lim->max_total_bytes)
            why = "larger than the limit", snprintf(bad, cap, "%s", p);
    }
    closedir(d);
    return why;
}

/* ---- an archive's headers, read before anything is written ----
 * The unpacker enforces every limit while it writes; reading the headers
 * first refuses an archive of 100,000 files or a declared 50 GiB without
 * creating thousands of files to delete again. */

/* Reading the headers of a .tar.gz means inflating all of it once more, a
 * sixth of the cost of grading a small submission; so only archives that
 * could hold more entries than allowed are read first. A tar entry takes at
 * least 512 bytes (gzip's trailer gives the inflated size mod 4 GiB); a
 * zip's end record counts its entries. Anything else is read. Wrong guesses
 * cost only time: the unpacker enforces every limit itself. */
static int could_exceed(const char *path, const struct ds_unpack_limits *lim)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 1;
    struct stat st;
    unsigned char head[4] = {0}, tail[65536 + 22];
    int worth = 1;
    if (fstat(fd, &st) == 0 && st.st_size > 26 && pread(fd, head, 4, 0) == 4) {
        uint64_t tar_floor = lim->max_entries * 512ull;
        size_t tn = st.st_size < (off_t)sizeof tail ? (size_t)st.st_size : sizeof tail;
        ssize_t got = pread(fd, tail, tn, st.st_size - (off_t)tn);
        if (got == (ssize_t)tn && head[0] == 0x1f && head[1] == 0x8b) {
            uint32_t isize = (uint32_t)tail[tn - 4] | (uint32_t)tail[tn - 3] << 8 | (uint32_t)tail[tn - 2] << 16 |
                             (uint32_t)tail[tn - 1] << 24;
            worth = isize > tar_floor;
        } else if (got == (ssize_t)tn && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4) {
            for (size_t i = tn - 22 + 1; i-- > 0;)
                if (tail[i] == 'P' && tail[i + 1] == 'K' && tail[i + 2] == 5 && tail[i + 3] == 6) {
                    unsigned entries = (unsigned)tail[i + 10] | (unsigned)tail[i + 11] << 8;
                    worth = entries == 0xffff || entries > lim->max_entries;
                    break;
                }
        } else if ((uint64_t)st.st_size <= tar_floor) {
            char magic[6] = {0};
            worth = !(pread(fd, magic, 5, 257) == 5 && memcmp(magic, "ustar", 5) == 0);
        }
    }
    close(fd);
    return worth;
}

static const char *precheck_archive(const char *path, const struct ds_unpack_limits *lim, char *entry, size_t cap)
{
    if (!could_exceed(path, lim))
        return NULL;
    struct archive *a = archive_read_new();
    if (!a)
        return NULL;
    archive_read_support_filter_all(a);
    archive_read_support_format_tar(a);
    archive_read_support_format_gnutar(a);
    archive_read_support_format_zip(a);
    const char *why = NULL;
    if (archive_read_open_filename(a, path, 1 << 16) == ARCHIVE_OK) {
        struct archive_entry *e;
        uint64_t n = 0, declared = 0;
        while (!why && archive_read_next_header(a, &e) == ARCHIVE_OK) {
            const char *name = archive_entry_pathname(e);
            snprintf(entry, cap, "%s", name ? name : "(no name)");
            if (++n > lim->max_entries)
                why = "too many entries";
            else if (archive_entry_size_is_set(e) && archive_entry_size(e) > 0 &&
                     (declared += (uint64_t)archive_entry_size(e)) > lim->max_total_bytes)
                why = "total size over the limit";
            else if (archive_read_data_skip(a) != ARCHIVE_OK)
                break; /* damaged: the unpacker says how */
        }
    }
    archive_read_free(a);
    return why;
}

/* ---- what the parent keeps besides the report ---- */

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The same tensors (dtype, shape, bytes) in any order, under any names,
 * give the same hash: weights renamed or re-saved still compare equal. */
static int tensors_hash(const char *path, char hex[65])
{
    st_file *f;
    if (st_open(path, &f))
        return -1;
    size_t n = st_count(f);
    char **digests = calloc(n ? n : 1, sizeof *digests);
    int rc = digests ? 0 : -1;
    for (size_t i = 0; i < n && !rc; i++) {
        const struct st_tensor *t = st_at(f, i);
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        unsigned char d[EVP_MAX_MD_SIZE];
        unsigned dn = 0;
        char head[256];
        int k = snprintf(head, sizeof head, "%s:%d", st_dtype_name(t->dtype), t->ndim);
        for (int j = 0; j < t->ndim && k < (int)sizeof head - 24; j++)
            k += snprintf(head + k, sizeof head - (size_t)k, ",%lld", (long long)t->shape[j]);
        if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) || !EVP_DigestUpdate(ctx, head, strlen(head) + 1) ||
            !EVP_DigestUpdate(ctx, t->data, t->nbytes) || !EVP_DigestFinal_ex(ctx, d, &dn) ||
            !(digests[i] = malloc(2 * dn + 1)))
            rc = -1;
        else
            for (unsigned j = 0; j < dn; j++)
                sprintf(digests[i] + 2 * j, "%02x", d[j]);
        EVP_MD_CTX_free(ctx);
    }
    if (!rc) {
        qsort(digests, n, sizeof *digests, cmp_str);
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        unsigned char d[EVP_MAX_MD_SIZE];
        unsigned dn = 0;
        if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL))
            rc = -1;
        for (size_t i = 0; i < n && !rc; i++)
            EVP_DigestUpdate(ctx, digests[i], strlen(digests[i]));
        if (!rc && EVP_DigestFinal_ex(ctx, d, &dn))
            for (unsigned j = 0; j < dn; j++)
                sprintf(hex + 2 * j, "%02x", d[j]);
        EVP_MD_CTX_free(ctx);
    }
    for (size_t i = 0; digests && i < n; i++)
        free(digests[i]);
    free(digests);
    st_close(f);
    return rc;
}

static int regular_file(const char *p, off_t *size)
{
    struct stat st;
    if (lstat(p, &st) != 0 || !S_ISREG(st.st_mode))
        return 0;
    if (size)
        *size = st.st_size;
    return 1;
}

/* Opens <sub>/<name> when it is a real directory (not a link); NULL otherwise. */
static DIR *open_subdir(const char *sub, const char *name, char *dir, size_t cap)
{
    snprintf(dir, cap, "%s/%s", sub, name);
    struct stat st;
    if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return NULL;
    return opendir(dir);
}

static json_t *artifacts_of(const char *sub)
{
    json_t *arr = json_array();
    char dir[PATH_MAX];
    DIR *d = open_subdir(sub, "models", dir, sizeof dir);
    if (!d)
        return arr;
    struct dirent *e;
    size_t models = 0;
    while ((e = readdir(d)) && models < BATCH_MAX_MODELS) {
        if (e->d_name[0] == '.' || strlen(e->d_name) > 64)
            continue;
        models++;
        static const char *const kinds[][2] = {{"model", "model.safetensors"},
                                               {"predictions", "predictions.safetensors"}};
        for (int k = 0; k < 2; k++) {
            char p[PATH_MAX], sha[65], weights[65] = "";
            snprintf(p, sizeof p, "%s/%s/%s", dir, e->d_name, kinds[k][1]);
            if (!regular_file(p, NULL) || ds_hash_file(p, "sha256", sha, sizeof sha))
                continue;
            json_t *a = json_pack("{s:s, s:s, s:s}", "kind", kinds[k][0], "model", e->d_name, "sha256", sha);
            if (a && tensors_hash(p, weights) == 0)
                json_object_set_new(a, "weights_sha256", json_string(weights));
            if (a)
                json_array_append_new(arr, a);
        }
    }
    closedir(d);
    return arr;
}

static int plot_name_ok(const char *n)
{
    size_t len = strlen(n);
    if (len < 5 || len > 96 || strcmp(n + len - 4, ".png") != 0 || n[0] == '.')
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!((n[i] >= 'a' && n[i] <= 'z') || (n[i] >= 'A' && n[i] <= 'Z') || (n[i] >= '0' && n[i] <= '9') ||
              n[i] == '-' || n[i] == '_' || n[i] == '.'))
            return 0;
    return 1;
}

static json_t *plots_of(const char *sub)
{
    json_t *arr = json_array();
    char dir[PATH_MAX];
    DIR *d = open_subdir(sub, "plots", dir, sizeof dir);
    if (!d)
        return arr;
    char *names[BATCH_MAX_PLOTS];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < BATCH_MAX_PLOTS)
        if (plot_name_ok(e->d_name))
            names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        char p[PATH_MAX];
        off_t size = 0;
        snprintf(p, sizeof p, "%s/%s", dir, names[i] ? names[i] : "");
        char *data = NULL;
        size_t len = 0;
        if (names[i] && regular_file(p, &size) && size > 8 && (size_t)size <= BATCH_MAX_PLOT_BYTES &&
            total + (size_t)size <= BATCH_MAX_PLOTS_TOTAL &&
            lab_read_file(p, BATCH_MAX_PLOT_BYTES, &data, &len) == LAB_OK &&
            memcmp(data, "\x89PNG\r\n\x1a\n", 8) == 0) {
            unsigned char *b64 = malloc(4 * ((len + 2) / 3) + 1);
            if (!b64)
                _exit(SANDBOX_EXIT_OOM);
            EVP_EncodeBlock(b64, (const unsigned char *)data, (int)len);
            json_array_append_new(arr, json_pack("{s:s, s:s}", "name", names[i], "png", (char *)b64));
            free(b64);
            total += len;
        }
        free(data);
        free(names[i]);
    }
    return arr;
}

/* submission.json's student id, or NULL. */
static json_t *hello_of(const char *sub)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/submission.json", sub);
    json_t *j = NULL, *student = NULL;
    if (regular_file(p, NULL) && lab_json_load(p, &j) == LAB_OK && json_is_object(j)) {
        student = json_object_get(j, "student");
        if (!json_is_string(student))
            student = json_object_get(j, "student_id");
    }
    json_t *hello = json_object();
    if (json_is_string(student))
        json_object_set_new(hello, "student", json_string(json_string_value(student)));
    json_decref(j);
    return json_pack("{s:o}", "hello", hello);
}

static int send_report(int fd, struct grade_report *r, const char *sub)
{
    json_t *rep = grade_report_to_json(r);
    grade_report_free(r);
    if (!rep)
        _exit(SANDBOX_EXIT_OOM);
    json_t *msg = json_pack("{s:o, s:o, s:o}", "report", rep, "artifacts", sub ? artifacts_of(sub) : json_array(),
                            "plots", sub ? plots_of(sub) : json_array());
    return send_line(fd, msg) == 0 ? 0 : 1;
}

int batch_child_main(void *arg, const char *workdir, int out_fd)
{
    struct batch_job *job = arg;
    const struct batch_opts *o = job->opts;
    const struct batch_item *it = job->item;
    char sub[PATH_MAX], why[2048] = "";
    const char *refusal = NULL;
    if (it->is_dir) {
        struct tree_count tc = {0};
        char bad[PATH_MAX] = "";
        refusal = check_tree(it->path, &o->limits, &tc, bad, sizeof bad, 0);
        if (refusal) {
            const char *rel = strncmp(bad, it->path, strlen(it->path)) == 0 ? bad + strlen(it->path) : bad;
            snprintf(why, sizeof why, "refused '%s': %s", *rel == '/' ? rel + 1 : rel, refusal);
        }
        snprintf(sub, sizeof sub, "%s", it->path);
    } else {
        snprintf(sub, sizeof sub, "%s/submission", workdir);
        struct ds_unpack_report rep;
        char entry[1024];
        const char *early = precheck_archive(it->path, &o->limits, entry, sizeof entry);
        if (early) {
            refusal = early;
            snprintf(why, sizeof why, "refused archive entry '%s': %s", entry, early);
        } else if (ds_unpack_file(it->path, sub, &o->limits, &rep) != LAB_OK) {
            /* The source is named beside the message; the path is noise. */
            char prefix[4200];
            const char *m = lab_err_message();
            snprintf(prefix, sizeof prefix, "unpacking %s: ", it->path);
            if (strncmp(m, prefix, strlen(prefix)) == 0)
                m += strlen(prefix);
            refusal = "refused";
            snprintf(why, sizeof why, "%s", m);
        }
    }
    if (refusal) {
        maybe_fault(it->source, out_fd);
        struct grade_report *r = batch_synth_report(o->lab, NULL, o->grader_version, GRADE_NOT_GRADABLE,
                                                    "integrity.archive", CHECK_NOT_GRADABLE, "TS-SUBMISSION-ARCHIVE",
                                                    why);
        if (!r)
            return SANDBOX_EXIT_OOM;
        return send_report(out_fd, r, NULL);
    }
    if (send_line(out_fd, hello_of(sub)))
        return 1;
    maybe_fault(it->source, out_fd);

    if (o->reeval) {
        /* The jobs share the cores: no child starts a thread per core. */
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        int threads = cpus > o->jobs ? (int)(cpus / o->jobs) : 1;
        ts_set_num_threads(threads);
    }
    struct grade_opts go = {.lab = o->lab, .reeval = o->reeval, .device = o->device, .data_dir = o->data_dir};
    struct grade_report *r = NULL;
    int rc = o->grade(sub, &go, &r);
    if (rc < 0 || !r) {
        if (is_memory_error(lab_err_message()))
            return SANDBOX_EXIT_OOM;
        send_line(out_fd, json_pack("{s:s}", "error", lab_err_message()[0] ? lab_err_message() : "no report"));
        return BATCH_EXIT_GRADER_ERROR;
    }
    return send_report(out_fd, r, sub);
}
