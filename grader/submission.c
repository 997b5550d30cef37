#include "grader/submission.h"

#include "base/error.h"
#include "base/fsutil.h"
#include "base/jsonio.h"
#include "datasets/unpack.h"
#include "grader/tensors.h"
#include "grader/weights_q4.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define FIX_RESUBMIT "make the submission again with `lab submit <run-dir> --student ID` (lab explain TS-SUBMISSION-INTEGRITY)"

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    remove(p);
    return 0;
}

void sub_rmtree(const char *path)
{
    if (path && *path)
        nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void sub_manifest_free(struct sub_entry *e, size_t n)
{
    for (size_t i = 0; i < n && e; i++)
        free(e[i].path);
    free(e);
}

/* A relative path inside the submission: no leading '/', no "." or ".."
 * components, no empty components, printable characters only. */
static int path_ok(const char *p, size_t len)
{
    if (len == 0 || len > 512 || p[0] == '/')
        return 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f || p[i] == '\\')
            return 0;
    const char *c = p, *end = p + len;
    while (c < end) {
        const char *slash = memchr(c, '/', (size_t)(end - c));
        size_t n = slash ? (size_t)(slash - c) : (size_t)(end - c);
        if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
            return 0;
        c += n + 1;
    }
    return 1;
}

static int hex64(const char *s)
{
    for (int i = 0; i < 64; i++)
        if (!isxdigit((unsigned char)s[i]))
            return 0;
    return 1;
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const struct sub_entry *)a)->path, ((const struct sub_entry *)b)->path);
}

int sub_manifest_parse(const char *text, size_t len, struct sub_entry **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    size_t cap = 0, count = 0;
    struct sub_entry *e = NULL;
    int line = 0, rc = LAB_OK;
    const char *p = text, *end = text + len;
    while (!rc && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
        line++;
        const char *s = p;
        p += l + (nl ? 1 : 0);
        if (l && s[l - 1] == '\r')
            l--;
        if (l == 0)
            continue;
        if (memchr(s, '\0', l)) {
            rc = lab_err(LAB_EENV, FIX_RESUBMIT, "MANIFEST.sha256 line %d holds a NUL byte", line);
            break;
        }
        if (l < 67 || !hex64(s) || s[64] != ' ' || (s[65] != ' ' && s[65] != '*')) {
            rc = lab_err(LAB_EENV, FIX_RESUBMIT,
                         "MANIFEST.sha256 line %d is not '<64 hex digits>  <path>' (sha256sum's format)", line);
            break;
        }
        const char *path = s + 66;
        size_t plen = l - 66;
        if (plen >= 2 && path[0] == '.' && path[1] == '/')
            path += 2, plen -= 2;
        if (!path_ok(path, plen)) {
            rc = lab_err(LAB_EENV, FIX_RESUBMIT,
                         "MANIFEST.sha256 line %d: '%.*s' is not a relative path inside the submission", line,
                         (int)(plen > 200 ? 200 : plen), path);
            break;
        }
        if (count == SUB_MAX_FILES) {
            rc = lab_err(LAB_EENV, FIX_RESUBMIT, "MANIFEST.sha256 lists more than %d files", SUB_MAX_FILES);
            break;
        }
        if (count == cap) {
            cap = cap ? cap * 2 : 32;
            struct sub_entry *ne = realloc(e, cap * sizeof *e);
            if (!ne) {
                rc = lab_err(LAB_EINTERNAL, NULL, "out of memory reading MANIFEST.sha256");
                break;
            }
            e = ne;
        }
        e[count].path = strndup(path, plen);
        if (!e[count].path) {
            rc = lab_err(LAB_EINTERNAL, NULL, "out of memory reading MANIFEST.sha256");
            break;
        }
        for (int i = 0; i < 64; i++)
            e[count].sha256[i] = (char)(s[i] >= 'A' && s[i] <= 'F' ? s[i] - 'A' + 'a' : s[i]);
        e[count].sha256[64] = '\0';
        count++;
    }
    if (!rc && count == 0)
        rc = lab_err(LAB_EENV, FIX_RESUBMIT, "MANIFEST.sha256 lists no files");
    if (!rc) {
        qsort(e, count, sizeof *e, cmp_entry);
        for (size_t i = 1; i < count; i++)
            if (strcmp(e[i - 1].path, e[i].path) == 0) {
                rc = lab_err(LAB_EENV, FIX_RESUBMIT, "MANIFEST.sha256 lists %s twice", e[i].path);
                break;
            }
    }
    if (rc) {
        sub_manifest_free(e, count);
        return rc;
    }
    *out = e;
    *n = count;
    return LAB_OK;
}

static const char *str_field(const json_t *o, const char *key, size_t max)
{
    const json_t *v = json_object_get(o, key);
    const char *s = json_string_value(v);
    return s && *s && strlen(s) <= max ? s : NULL;
}

int sub_info_validate(const json_t *info)
{
    if (!json_is_object(info))
        return lab_err(LAB_EENV, FIX_RESUBMIT, "submission.json is not a JSON object");
    const json_t *v = json_object_get(info, "format_version");
    if (!json_is_integer(v))
        return lab_err(LAB_EENV, FIX_RESUBMIT, "submission.json lacks an integer format_version");
    if (json_integer_value(v) != SUB_FORMAT_VERSION)
        return lab_err(LAB_EENV, "submit with the lab version the course uses (`lab version`)",
                       "submission.json has format_version %lld; this grader reads version %d",
                       (long long)json_integer_value(v), SUB_FORMAT_VERSION);
    static const char *const keys[] = {"lab", "student", "created"};
    for (size_t i = 0; i < 3; i++)
        if (!str_field(info, keys[i], 128))
            return lab_err(LAB_EENV, FIX_RESUBMIT, "submission.json lacks '%s' (a non-empty string of at most 128 bytes)",
                           keys[i]);
    const json_t *env = json_object_get(info, "environment");
    if (env && !json_is_object(env))
        return lab_err(LAB_EENV, FIX_RESUBMIT, "submission.json's environment is not an object");
    return LAB_OK;
}

/* ---- the files ---- */

struct file_list {
    char **v;
    size_t n, cap;
};

static int list_add(struct file_list *l, const char *rel)
{
    if (l->n == SUB_MAX_FILES)
        return lab_err(LAB_EENV, FIX_RESUBMIT, "the submission holds more than %d files", SUB_MAX_FILES);
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        char **nv = realloc(l->v, cap * sizeof *nv);
        if (!nv)
            return lab_err(LAB_EINTERNAL, NULL, "out of memory listing the submission");
        l->v = nv;
        l->cap = cap;
    }
    if (!(l->v[l->n] = strdup(rel)))
        return lab_err(LAB_EINTERNAL, NULL, "out of memory listing the submission");
    l->n++;
    return LAB_OK;
}

static int skipped_in_run_dir(const char *name)
{
    size_t n = strlen(name);
    return strcmp(name, "checkpoint.safetensors") == 0 || name[0] == '.' ||
           (n > 4 && strcmp(name + n - 4, ".tmp") == 0);
}

/* Regular files below root/rel, relative to root. A symlink or special file
 * in a submission is refused: the grader never reads outside it. */
static int walk(const char *root, const char *rel, int depth, int run_dir, struct file_list *l)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s%s%s", root, *rel ? "/" : "", rel);
    if (depth > 16)
        return lab_err(LAB_EENV, FIX_RESUBMIT, "%s is nested more than 16 directories deep", rel);
    DIR *d = opendir(dir);
    if (!d)
        return lab_err(LAB_EENV, "check the permissions", "cannot read %s: %s", dir, strerror(errno));
    struct dirent *e;
    int rc = LAB_OK;
    while (!rc && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char sub[4200], full[4400];
        if ((size_t)snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", e->d_name) >= 512) {
            rc = lab_err(LAB_EENV, FIX_RESUBMIT, "a path in the submission is longer than 512 bytes: %.80s...", sub);
            break;
        }
        snprintf(full, sizeof full, "%s/%s", root, sub);
        struct stat st;
        if (lstat(full, &st) != 0) {
            rc = lab_err(LAB_EENV, NULL, "cannot stat %s: %s", full, strerror(errno));
            break;
        }
        if (run_dir && skipped_in_run_dir(e->d_name))
            continue;
        if (S_ISDIR(st.st_mode))
            rc = walk(root, sub, depth + 1, run_dir, l);
        else if (S_ISREG(st.st_mode))
            rc = list_add(l, sub);
        else if (!run_dir)
            rc = lab_err(LAB_EENV, "submit plain files only (no links, devices or pipes)",
                         "%s in the submission is not a regular file", sub);
    }
    closedir(d);
    return rc;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int submission_path(const struct submission *s, const char *rel, char *out, size_t cap)
{
    return lab_path_join(out, cap, s->root, rel);
}

int submission_has_file(const struct submission *s, const char *rel)
{
    return s->n_files && bsearch(&rel, s->files, s->n_files, sizeof *s->files, cmp_str) != NULL;
}

const struct sub_model *submission_model(const struct submission *s, const char *name)
{
    for (size_t i = 0; i < s->n_models; i++)
        if (strcmp(s->models[i].name, name) == 0)
            return &s->models[i];
    return NULL;
}

static int load_json(const struct submission *s, const char *rel, size_t max, json_t **out)
{
    char path[4200], *text;
    size_t len;
    *out = NULL;
    if (!submission_has_file(s, rel))
        return lab_err(LAB_EENV, FIX_RESUBMIT, "the submission has no %s", rel);
    int rc = submission_path(s, rel, path, sizeof path);
    if (!rc)
        rc = lab_read_file(path, max, &text, &len);
    if (rc)
        return lab_err_context(LAB_EENV, "%s", rel);
    rc = lab_json_parse(text, len, rel, out);
    free(text);
    if (rc)
        return LAB_EENV; /* the message names the file, line and column */
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return lab_err(LAB_EENV, FIX_RESUBMIT, "%s is not a JSON object", rel);
    }
    return LAB_OK;
}

/* A model directory name as lab writes it (lenet5, se-resnet18 ...). */
static int model_name_ok(const char *n, size_t len)
{
    if (len == 0 || len > 31)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!((n[i] >= 'a' && n[i] <= 'z') || (n[i] >= 'A' && n[i] <= 'Z') || (n[i] >= '0' && n[i] <= '9') ||
              n[i] == '-' || n[i] == '_' || n[i] == '.'))
            return 0;
    return n[0] != '.';
}

static int add_model(struct submission *s, const char *name, size_t len)
{
    for (size_t i = 0; i < s->n_models; i++)
        if (strlen(s->models[i].name) == len && strncmp(s->models[i].name, name, len) == 0)
            return LAB_OK;
    if (!model_name_ok(name, len))
        return lab_err(LAB_EENV, FIX_RESUBMIT, "'%.*s' is not a model name (letters, digits, '-', '_', '.')",
                       (int)(len > 64 ? 64 : len), name);
    if (s->n_models == 64)
        return lab_err(LAB_EENV, FIX_RESUBMIT, "the submission holds more than 64 models");
    struct sub_model *nm = realloc(s->models, (s->n_models + 1) * sizeof *nm);
    if (!nm)
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    s->models = nm;
    memset(&nm[s->n_models], 0, sizeof *nm);
    if (!(nm[s->n_models].name = strndup(name, len)))
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    s->n_models++;
    return LAB_OK;
}

static int cmp_model(const void *a, const void *b)
{
    return strcmp(((const struct sub_model *)a)->name, ((const struct sub_model *)b)->name);
}

/* Every tensor the checks copy (predictions, inputs) is capped here, once,
 * so that a valid file declaring 2^40 elements is refused before anything
 * is allocated; weights go to libtorch, which copies what the model has. */
static int open_tensors(const struct submission *s, const char *rel, int capped, st_file **out)
{
    char path[4200];
    int rc = submission_path(s, rel, path, sizeof path);
    if (!rc)
        rc = st_open(path, out);
    if (rc) { /* copied first: lab_err must not read the message it replaces */
        char why[1024];
        snprintf(why, sizeof why, "%s", lab_err_message());
        return lab_err(LAB_EENV, FIX_RESUBMIT, "%s is not a valid safetensors file: %s", rel, why);
    }
    for (size_t i = 0; i < st_count(*out); i++) {
        const struct st_tensor *t = st_at(*out, i);
        size_t n = gt_numel(t);
        if (capped && n > GT_MAX_ELEMS) {
            char shape[160];
            /* the message first: t lives in the file's memory */
            rc = lab_err(LAB_EENV, FIX_RESUBMIT, "%s: tensor '%s' has shape %s, more than the %zu elements the grader reads",
                         rel, t->name, gt_shape_str(t->shape, t->ndim, shape, sizeof shape), GT_MAX_ELEMS);
            st_close(*out);
            *out = NULL;
            return rc;
        }
    }
    return LAB_OK;
}

/* Weights at 4 bits (the default of `lab submit`) are decoded once, here,
 * so that every check reads the state dict the student trained, names and
 * shapes as saved; the manifest's checksum is of the encoded file. */
static int decode_weights(struct sub_model *m, const char *rel)
{
    if (!wq4_is_encoded(m->weights))
        return LAB_OK;
    void *buf = NULL;
    size_t len = 0;
    struct wq4_stats st;
    st_file *plain = NULL;
    int rc = wq4_decode(m->weights, rel, &buf, &len, &st);
    if (!rc)
        rc = st_open_memory(buf, len, rel, &plain);
    if (rc) {
        free(buf);
        return rc;
    }
    st_close(m->weights);
    m->weights = plain;
    m->weights_decoded = buf;
    m->weights_q4 = 1;
    m->q4_values = st.quantized_values;
    m->weight_values = st.values;
    m->q4_max_step = st.max_step;
    return LAB_OK;
}

static int find_models(struct submission *s)
{
    int rc = LAB_OK;
    for (size_t i = 0; !rc && i < s->n_files; i++) {
        const char *f = s->files[i];
        if (strncmp(f, "models/", 7) != 0)
            continue;
        const char *name = f + 7, *slash = strchr(name, '/');
        if (slash && (!strcmp(slash + 1, "model.safetensors") || !strcmp(slash + 1, "predictions.safetensors")))
            rc = add_model(s, name, (size_t)(slash - name));
    }
    const json_t *listed = json_object_get(s->metrics, "models");
    const char *name;
    json_t *v;
    if (json_is_object(listed))
        json_object_foreach((json_t *)listed, name, v)
        {
            if (!rc)
                rc = add_model(s, name, strlen(name));
        }
    if (rc)
        return rc;
    if (s->n_models == 0)
        return lab_err(LAB_EENV, FIX_RESUBMIT,
                       "the submission holds no model: expected models/<name>/predictions.safetensors");
    qsort(s->models, s->n_models, sizeof *s->models, cmp_model);
    for (size_t i = 0; !rc && i < s->n_models; i++) {
        struct sub_model *m = &s->models[i];
        char rel[128];
        snprintf(rel, sizeof rel, "models/%s/model.safetensors", m->name);
        if (submission_has_file(s, rel) && !(rc = open_tensors(s, rel, 0, &m->weights)))
            rc = decode_weights(m, rel);
        snprintf(rel, sizeof rel, "models/%s/predictions.safetensors", m->name);
        if (!rc && submission_has_file(s, rel))
            rc = open_tensors(s, rel, 1, &m->predictions);
    }
    return rc;
}

/* A gzip stream's CRC-32 and length trailers (libarchive does not check
 * them): an upload cut short or damaged in transfer is "damaged", not
 * "changed after lab submit". At most `max` bytes are inflated; what lies
 * beyond is the unpacker's to refuse. */
static int gzip_intact(const char *path, uint64_t max)
{
    unsigned char magic[2] = {0};
    FILE *f = fopen(path, "rb");
    size_t got = f ? fread(magic, 1, 2, f) : 0;
    if (f)
        fclose(f);
    if (got != 2 || magic[0] != 0x1f || magic[1] != 0x8b)
        return LAB_OK;
    gzFile gz = gzopen(path, "rb");
    if (!gz)
        return LAB_OK; /* the unpacker reports what cannot be opened */
    static char buf[1 << 16];
    uint64_t total = 0;
    int n, errnum = Z_OK;
    while (total < max && (n = gzread(gz, buf, sizeof buf)) > 0)
        total += (uint64_t)n;
    const char *why = gzerror(gz, &errnum);
    char what[200];
    snprintf(what, sizeof what, "%s", why ? why : "");
    gzclose(gz);
    if (errnum != Z_OK && errnum != Z_STREAM_END && total < max)
        return lab_err(LAB_EENV, "ask the student to upload the file again, as `lab submit` wrote it (lab explain TS-SUBMISSION-ARCHIVE)",
                       "damaged archive: %s fails gzip's own check (%s) after %llu bytes: it was cut short or changed "
                       "in transfer", path, what[0] ? what : "data error", (unsigned long long)total);
    return LAB_OK;
}

/* Names an archiver or a file manager adds beside what the student chose
 * (macOS zips carry __MACOSX/ and .DS_Store). */
static int is_litter(const char *name)
{
    return !strcmp(name, ".") || !strcmp(name, "..") || !strcmp(name, "__MACOSX") || !strcmp(name, ".DS_Store") ||
           !strcmp(name, "Thumbs.db");
}

/* The one thing in `dir` besides litter, into `out`; 0 when there are none
 * or several. */
static int only_entry(const char *dir, char *out, size_t cap)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int entries = 0;
    while (d && (e = readdir(d)))
        if (!is_litter(e->d_name) && entries++ == 0)
            snprintf(out, cap, "%s/%s", dir, e->d_name);
    if (d)
        closedir(d);
    return entries == 1;
}

/* A tar.gz or zip: unpacked into a private directory. An archive holding one
 * top-level directory (zip of a folder) is read from inside it. */
static int unpack(struct submission *s, const char *path)
{
    const char *tmp = getenv("TMPDIR");
    char dir[4096], dest[4200];
    snprintf(dir, sizeof dir, "%s/lab-grade.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        return lab_err(LAB_EENV, "set TMPDIR to a writable directory", "cannot create a temporary directory in %s: %s",
                       tmp && *tmp ? tmp : "/tmp", strerror(errno));
    if (!(s->tmpdir = strdup(dir)))
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    snprintf(dest, sizeof dest, "%s/sub", dir);
    struct ds_unpack_limits lim = ds_unpack_limits_submission();
    struct ds_unpack_report rep;
    int rc = gzip_intact(path, 2 * lim.max_total_bytes);
    if (rc)
        return rc;
    rc = ds_unpack_file(path, dest, &lim, &rep);
    if (rc)
        return lab_err(LAB_EENV, FIX_RESUBMIT, "the submission cannot be unpacked safely: %s", lab_err_message());
    char inner[4400];
    snprintf(inner, sizeof inner, "%s/submission.json", dest);
    if (!lab_path_exists(inner) && only_entry(dest, inner, sizeof inner) && lab_is_dir(inner)) {
        s->root = strdup(inner);
        return s->root ? LAB_OK : lab_err(LAB_EINTERNAL, NULL, "out of memory");
    }
    s->root = strdup(dest);
    return s->root ? LAB_OK : lab_err(LAB_EINTERNAL, NULL, "out of memory");
}

static int open_files(struct submission *s, enum sub_open_mode mode)
{
    struct file_list l = {0};
    int rc = walk(s->root, "", 0, mode == SUB_RUN_DIR, &l);
    s->files = l.v;
    s->n_files = l.n;
    if (rc)
        return rc;
    if (s->n_files)
        qsort(s->files, s->n_files, sizeof *s->files, cmp_str);
    if (mode == SUB_SUBMISSION) {
        if ((rc = load_json(s, "submission.json", SUB_INFO_MAX_BYTES, &s->info)) || (rc = sub_info_validate(s->info)))
            return rc;
        s->lab = json_string_value(json_object_get(s->info, "lab"));
        s->student = json_string_value(json_object_get(s->info, "student"));
        if (!submission_has_file(s, "MANIFEST.sha256"))
            return lab_err(LAB_EENV, FIX_RESUBMIT, "the submission has no MANIFEST.sha256");
        char path[4200], *text;
        size_t len;
        if ((rc = submission_path(s, "MANIFEST.sha256", path, sizeof path)) ||
            (rc = lab_read_file(path, SUB_MANIFEST_MAX_BYTES, &text, &len)))
            return lab_err_context(LAB_EENV, "MANIFEST.sha256");
        rc = sub_manifest_parse(text, len, &s->manifest, &s->n_manifest);
        free(text);
        for (size_t i = 0; !rc && i < s->n_manifest; i++)
            if (!submission_has_file(s, s->manifest[i].path))
                rc = lab_err(LAB_EENV, FIX_RESUBMIT, "MANIFEST.sha256 lists %s, which is missing from the submission",
                             s->manifest[i].path);
        if (rc)
            return rc;
    }
    if ((rc = load_json(s, "config.json", SUB_CONFIG_MAX_BYTES, &s->config)) ||
        (rc = load_json(s, "metrics.json", SUB_METRICS_MAX_BYTES, &s->metrics)))
        return rc;
    if (mode == SUB_RUN_DIR) {
        s->lab = json_string_value(json_object_get(s->config, "lab"));
        s->student = "";
        if (!s->lab)
            return lab_err(LAB_EENV, NULL, "%s/config.json names no lab", s->root);
    }
    if ((rc = find_models(s)))
        return rc;
    if (submission_has_file(s, "inputs.safetensors"))
        rc = open_tensors(s, "inputs.safetensors", 1, &s->inputs);
    if (!rc && submission_has_file(s, "attention.safetensors"))
        rc = open_tensors(s, "attention.safetensors", 1, &s->attention);
    return rc;
}

/* A directory as an LMS leaves it: Gradescope puts the uploaded file itself
 * in /autograder/submission/, so a directory without submission.json that
 * holds one archive (or one folder) is graded as that archive (or folder). */
static int open_upload_dir(struct submission *s, const char *path)
{
    char probe[4400], only[4400];
    snprintf(probe, sizeof probe, "%s/submission.json", path);
    struct stat st;
    if (!lab_path_exists(probe) && only_entry(path, only, sizeof only) && lstat(only, &st) == 0) {
        if (S_ISREG(st.st_mode))
            return unpack(s, only);
        if (S_ISDIR(st.st_mode)) {
            snprintf(probe, sizeof probe, "%s/submission.json", only);
            if (lab_path_exists(probe))
                return (s->root = strdup(only)) ? LAB_OK : lab_err(LAB_EINTERNAL, NULL, "out of memory");
        }
    }
    return (s->root = strdup(path)) ? LAB_OK : lab_err(LAB_EINTERNAL, NULL, "out of memory");
}

int submission_open(const char *path, enum sub_open_mode mode, struct submission **out)
{
    *out = NULL;
    struct submission *s = calloc(1, sizeof *s);
    if (!s || !(s->source = strdup(path))) {
        free(s);
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    }
    s->run_dir = mode == SUB_RUN_DIR;
    struct stat st;
    int rc;
    if (stat(path, &st) != 0)
        rc = lab_err(LAB_EENV, "give the path of a submission archive or directory", "cannot read %s: %s", path,
                     strerror(errno));
    else if (S_ISDIR(st.st_mode) && mode == SUB_SUBMISSION)
        rc = open_upload_dir(s, path);
    else if (S_ISDIR(st.st_mode))
        rc = (s->root = strdup(path)) ? LAB_OK : lab_err(LAB_EINTERNAL, NULL, "out of memory");
    else if (S_ISREG(st.st_mode) && mode == SUB_SUBMISSION)
        rc = unpack(s, path);
    else
        rc = lab_err(LAB_EENV, "give the path of a submission archive (.tar.gz, .zip) or directory",
                     "%s is neither a directory nor an archive", path);
    if (!rc)
        rc = open_files(s, mode);
    if (rc) {
        submission_free(s);
        return rc;
    }
    *out = s;
    return LAB_OK;
}

void submission_free(struct submission *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_models; i++) {
        st_close(s->models[i].weights);
        free(s->models[i].weights_decoded);
        st_close(s->models[i].predictions);
        free(s->models[i].name);
    }
    free(s->models);
    st_close(s->inputs);
    st_close(s->attention);
    json_decref(s->info);
    json_decref(s->config);
    json_decref(s->metrics);
    sub_manifest_free(s->manifest, s->n_manifest);
    for (size_t i = 0; i < s->n_files; i++)
        free(s->files[i]);
    free(s->files);
    if (s->tmpdir)
        sub_rmtree(s->tmpdir);
    free(s->tmpdir);
    free(s->root);
    free(s->source);
    free(s);
}
