#include "grader/batch_spool.h"

#include "base/error.h"
#include "base/fsutil.h"
#include "base/jsonio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SPOOL_FORMAT 1

int batch_spool_create(const char *parent, const char *lab, char *dir, size_t cap)
{
    int rc = lab_mkdir_p(parent);
    if (rc)
        return lab_err_context(rc, "the spool (--spool) must be a directory the nodes can write");
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    char real[PATH_MAX];
    if (!realpath(parent, real))
        return lab_err(LAB_EENV, "give --spool a directory on storage the nodes share", "--spool %s: %s", parent,
                       strerror(errno));
    if ((size_t)snprintf(dir, cap, "%s/%s-%s-%ld", real, lab, stamp, (long)getpid()) >= cap)
        return lab_err(LAB_EUSAGE, "use a shorter --spool path", "the spool path is too long");
    if (mkdir(dir, 0700) != 0)
        return lab_err(LAB_EENV, "give --spool a directory you can write", "cannot create %s: %s", dir,
                       strerror(errno));
    static const char *const subs[] = {"subs", "results", "work", "recorded", "logs"};
    for (size_t i = 0; i < sizeof subs / sizeof *subs; i++) {
        char p[PATH_MAX + 16];
        snprintf(p, sizeof p, "%s/%s", dir, subs[i]);
        if (mkdir(p, 0700) != 0)
            return lab_err(LAB_EENV, NULL, "cannot create %s: %s", p, strerror(errno));
    }
    return LAB_OK;
}

void batch_spool_path(const struct batch_spool *sp, const char *sub, size_t i, const char *suffix, char *out,
                      size_t cap)
{
    snprintf(out, cap, "%s/%s/%zu%s", sp->dir, sub, i, suffix);
}

/* ---- staging ---- */

static int copy_file(const char *from, const char *to, mode_t mode)
{
    if (link(from, to) == 0)
        return LAB_OK;
    int in = open(from, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (in < 0)
        return lab_err(LAB_EENV, NULL, "cannot read %s: %s", from, strerror(errno));
    int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode & 0700 ? mode & 0777 : 0600);
    if (out < 0) {
        close(in);
        return lab_err(LAB_EENV, "free space in the spool (--spool)", "cannot create %s: %s", to, strerror(errno));
    }
    char buf[1 << 16];
    ssize_t n;
    int rc = LAB_OK;
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (lab_write_full(out, buf, (size_t)n) != 0) {
            rc = lab_err(LAB_EENV, "free space in the spool (--spool)", "writing %s: %s", to, strerror(errno));
            break;
        }
    if (n < 0 && !rc)
        rc = lab_err(LAB_EENV, NULL, "reading %s: %s", from, strerror(errno));
    close(in);
    if (close(out) != 0 && !rc)
        rc = lab_err(LAB_EENV, "free space in the spool (--spool)", "writing %s: %s", to, strerror(errno));
    return rc;
}

/* A folder submission, entry by entry: links stay links and anything that
 * is not a file or a folder becomes a fifo, so the grading child refuses
 * the copy for the same reason it would refuse the original. */
static int copy_tree(const char *from, const char *to, int depth)
{
    if (depth > 40)
        return lab_err(LAB_EENV, NULL, "%s: folders nested too deep to stage", from);
    if (mkdir(to, 0700) != 0)
        return lab_err(LAB_EENV, "free space in the spool (--spool)", "cannot create %s: %s", to, strerror(errno));
    DIR *d = opendir(from);
    if (!d)
        return lab_err(LAB_EENV, NULL, "cannot read %s: %s", from, strerror(errno));
    int rc = LAB_OK;
    struct dirent *e;
    while (!rc && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char a[PATH_MAX], b[PATH_MAX];
        if ((size_t)snprintf(a, sizeof a, "%s/%s", from, e->d_name) >= sizeof a ||
            (size_t)snprintf(b, sizeof b, "%s/%s", to, e->d_name) >= sizeof b) {
            rc = lab_err(LAB_EENV, NULL, "%s/%s: path too long to stage", from, e->d_name);
            break;
        }
        struct stat st;
        if (lstat(a, &st) != 0) {
            rc = lab_err(LAB_EENV, NULL, "cannot read %s: %s", a, strerror(errno));
        } else if (S_ISDIR(st.st_mode)) {
            rc = copy_tree(a, b, depth + 1);
        } else if (S_ISREG(st.st_mode)) {
            rc = copy_file(a, b, st.st_mode);
        } else if (S_ISLNK(st.st_mode)) {
            char target[PATH_MAX];
            ssize_t n = readlink(a, target, sizeof target - 1);
            if (n < 0 || (target[n] = 0, symlink(target, b) != 0))
                rc = lab_err(LAB_EENV, NULL, "cannot copy the link %s: %s", a, strerror(errno));
        } else if (mkfifo(b, 0600) != 0) {
            rc = lab_err(LAB_EENV, NULL, "cannot stage %s: %s", a, strerror(errno));
        }
    }
    closedir(d);
    return rc;
}

int batch_spool_stage(const char *dir, size_t i, const struct batch_item *it, char **staged)
{
    *staged = NULL;
    size_t dl = strlen(dir);
    if (strncmp(it->path, dir, dl) == 0 && it->path[dl] == '/')
        return (*staged = strdup(it->path)) ? LAB_OK : lab_err(LAB_EINTERNAL, NULL, "out of memory");
    char slot[PATH_MAX], dest[PATH_MAX];
    snprintf(slot, sizeof slot, "%s/subs/%zu", dir, i);
    if (mkdir(slot, 0700) != 0)
        return lab_err(LAB_EENV, "free space in the spool (--spool)", "cannot create %s: %s", slot, strerror(errno));
    const char *base = strrchr(it->path, '/');
    base = base ? base + 1 : it->path;
    if ((size_t)snprintf(dest, sizeof dest, "%s/%s", slot, *base ? base : "submission") >= sizeof dest)
        return lab_err(LAB_EENV, NULL, "%s: path too long to stage", it->path);
    struct stat st;
    int rc;
    if (lstat(it->path, &st) != 0)
        return lab_err(LAB_EENV, NULL, "cannot read %s: %s", it->path, strerror(errno));
    rc = it->is_dir ? copy_tree(it->path, dest, 0) : copy_file(it->path, dest, st.st_mode);
    if (rc)
        return lab_err_context(rc, "staging %s", it->source);
    return (*staged = strdup(dest)) ? LAB_OK : lab_err(LAB_EINTERNAL, NULL, "out of memory");
}

/* ---- items.json and spool.json ---- */

static json_t *item_to_json(const struct batch_item *it, const char *sha256)
{
    const struct lms_name *l = &it->lms;
    return json_pack("{s:s, s:s, s:b, s:I, s:s, s:{s:i, s:s, s:s, s:s, s:I, s:b, s:b}}", "source", it->source, "path",
                     it->path, "is_dir", it->is_dir, "mtime", (json_int_t)it->mtime, "sha256", sha256, "lms", "kind",
                     (int)l->kind, "user_id", l->user_id, "submission_id", l->submission_id, "name", l->name,
                     "file_off", (json_int_t)l->file_off, "late", l->late, "onlinetext", l->onlinetext);
}

static int item_from_json(const json_t *j, struct batch_item *it, char sha256[65])
{
    json_t *lms = json_object_get(j, "lms");
    const char *src = json_string_value(json_object_get(j, "source"));
    const char *path = json_string_value(json_object_get(j, "path"));
    const char *sha = json_string_value(json_object_get(j, "sha256"));
    const char *uid = json_string_value(json_object_get(lms, "user_id"));
    const char *sid = json_string_value(json_object_get(lms, "submission_id"));
    const char *name = json_string_value(json_object_get(lms, "name"));
    json_int_t kind = json_integer_value(json_object_get(lms, "kind"));
    if (!src || !path || !sha || strlen(sha) != 64 || !json_is_integer(json_object_get(j, "mtime")) || !uid ||
        !sid || !name || kind < LMS_NONE || kind > LMS_MOODLE)
        return -1;
    memset(it, 0, sizeof *it);
    it->source = strdup(src);
    it->path = strdup(path);
    it->is_dir = json_is_true(json_object_get(j, "is_dir"));
    it->mtime = (time_t)json_integer_value(json_object_get(j, "mtime"));
    it->lms.kind = (enum lms_kind)kind;
    snprintf(it->lms.user_id, sizeof it->lms.user_id, "%s", uid);
    snprintf(it->lms.submission_id, sizeof it->lms.submission_id, "%s", sid);
    snprintf(it->lms.name, sizeof it->lms.name, "%s", name);
    it->lms.file_off = (size_t)json_integer_value(json_object_get(lms, "file_off"));
    it->lms.late = json_is_true(json_object_get(lms, "late"));
    it->lms.onlinetext = json_is_true(json_object_get(lms, "onlinetext"));
    snprintf(sha256, 65, "%s", sha);
    return it->source && it->path ? 0 : -1;
}

int batch_spool_write(const char *dir, json_t *meta, const struct batch_item *items, char (*sha256)[65], size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
        if (json_array_append_new(arr, item_to_json(&items[i], sha256[i])) != 0) {
            json_decref(arr);
            return lab_err(LAB_EINTERNAL, NULL, "out of memory");
        }
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/items.json", dir);
    int rc = arr ? lab_json_save(p, arr) : lab_err(LAB_EINTERNAL, NULL, "out of memory");
    json_decref(arr);
    json_object_set_new(meta, "format", json_integer(SPOOL_FORMAT));
    snprintf(p, sizeof p, "%s/spool.json", dir);
    return rc ? rc : lab_json_save(p, meta);
}

int batch_spool_save_meta(struct batch_spool *sp)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/spool.json", sp->dir);
    return lab_json_save(p, sp->meta);
}

void batch_spool_close(struct batch_spool *sp)
{
    if (!sp)
        return;
    for (size_t i = 0; sp->items && i < sp->n; i++)
        free(sp->items[i].source), free(sp->items[i].path);
    free(sp->items);
    free(sp->sha256);
    json_decref(sp->meta);
    memset(sp, 0, sizeof *sp);
}

static int bad_spool(const struct batch_spool *sp, const char *what)
{
    return lab_err(LAB_EUSAGE, "give the spool directory that `lab grade --batch ... --slurm` printed (lab explain "
                               "TS-SLURM-SPOOL)",
                   "%s is not a usable spool: %s", sp->dir, what);
}

int batch_spool_open(const char *dir, struct batch_spool *sp)
{
    memset(sp, 0, sizeof *sp);
    char real[PATH_MAX];
    if (!realpath(dir, real))
        return lab_err(LAB_EUSAGE, "give the spool directory that `lab grade --batch ... --slurm` printed",
                       "%s: %s", dir, strerror(errno));
    snprintf(sp->dir, sizeof sp->dir, "%s", real);
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/spool.json", sp->dir);
    if (!lab_path_exists(p))
        return bad_spool(sp, "it has no spool.json");
    int rc = lab_json_load(p, &sp->meta);
    if (rc)
        return lab_err_context(rc, "reading the spool");
    json_t *m = sp->meta;
    struct batch_opts *o = &sp->opts;
    batch_opts_defaults(o);
    o->jobs = 1;
    o->lab = json_string_value(json_object_get(m, "lab"));
    o->grader_version = json_string_value(json_object_get(m, "grader_version"));
    o->device = json_string_value(json_object_get(m, "device"));
    o->data_dir = json_string_value(json_object_get(m, "data_dir"));
    o->reeval = json_is_true(json_object_get(m, "reeval"));
    o->timeout_s = json_number_value(json_object_get(m, "timeout_s"));
    o->mem_mb = (uint64_t)json_integer_value(json_object_get(m, "mem_mb"));
    o->has_due = json_is_true(json_object_get(m, "has_due"));
    o->due = (time_t)json_integer_value(json_object_get(m, "due"));
    o->late_pct_per_day = json_number_value(json_object_get(m, "late_pct_per_day"));
    sp->input_root = json_string_value(json_object_get(m, "input"));
    sp->db_path = json_string_value(json_object_get(m, "db"));
    o->input = sp->input_root;
    o->db_path = sp->db_path;
    json_int_t tasks = json_integer_value(json_object_get(m, "tasks"));
    sp->retries = (int)json_integer_value(json_object_get(m, "retries"));
    if (json_integer_value(json_object_get(m, "format")) != SPOOL_FORMAT)
        return bad_spool(sp, "spool.json is of another format (written by another version of lab)");
    if (!o->lab || !o->grader_version || !o->device || !sp->input_root || !sp->db_path || !(o->timeout_s > 0) ||
        o->mem_mb < 64 || tasks < 1 || tasks > 100000 || sp->retries < 0 || sp->retries > 100 ||
        !json_is_array(json_object_get(m, "attempts")))
        return bad_spool(sp, "spool.json lacks a field or has one out of range");
    sp->tasks = (size_t)tasks;

    json_t *items;
    snprintf(p, sizeof p, "%s/items.json", sp->dir);
    if ((rc = lab_json_load(p, &items)))
        return lab_err_context(rc, "reading the spool");
    size_t n = json_array_size(items);
    sp->items = calloc(n ? n : 1, sizeof *sp->items);
    sp->sha256 = calloc(n ? n : 1, sizeof *sp->sha256);
    if (!sp->items || !sp->sha256) {
        json_decref(items);
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    }
    for (size_t i = 0; i < n; i++, sp->n++)
        if (item_from_json(json_array_get(items, i), &sp->items[i], sp->sha256[i]) != 0) {
            json_decref(items);
            char what[64];
            snprintf(what, sizeof what, "items.json entry %zu is malformed", i);
            return bad_spool(sp, what);
        }
    json_decref(items);
    return LAB_OK;
}

/* ---- results ---- */

int batch_spool_put_result(const struct batch_spool *sp, size_t i, const struct sandbox_outcome *o)
{
    json_t *j = json_pack("{s:i, s:i, s:f, s:I, s:s%}", "how", (int)o->how, "code", o->code, "wall_s", o->wall_s,
                          "max_rss_kib", (json_int_t)o->max_rss_kib, "output", o->output ? o->output : "",
                          o->output ? o->len : (size_t)0);
    if (!j) /* output that is not UTF-8: as malformed as a report can be */
        j = json_pack("{s:i, s:i, s:f, s:I, s:s}", "how", (int)o->how, "code", o->code, "wall_s", o->wall_s,
                      "max_rss_kib", (json_int_t)o->max_rss_kib, "output", "");
    if (!j)
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    char p[PATH_MAX];
    batch_spool_path(sp, "results", i, ".json", p, sizeof p);
    int rc = lab_json_save(p, j);
    json_decref(j);
    return rc;
}

int batch_spool_get_result(const struct batch_spool *sp, size_t i, struct sandbox_outcome *o)
{
    memset(o, 0, sizeof *o);
    char p[PATH_MAX];
    batch_spool_path(sp, "results", i, ".json", p, sizeof p);
    if (!lab_path_exists(p))
        return 1;
    json_t *j;
    if (lab_json_load(p, &j) != LAB_OK) {
        lab_err_clear();
        return 1; /* unreadable: graded again */
    }
    json_t *out = json_object_get(j, "output");
    json_int_t how = json_integer_value(json_object_get(j, "how"));
    if (!json_is_string(out) || how < SANDBOX_EXITED || how > SANDBOX_TOO_MUCH_OUTPUT) {
        json_decref(j);
        return 1;
    }
    o->how = (enum sandbox_end)how;
    o->code = (int)json_integer_value(json_object_get(j, "code"));
    o->wall_s = json_number_value(json_object_get(j, "wall_s"));
    o->max_rss_kib = (long)json_integer_value(json_object_get(j, "max_rss_kib"));
    o->len = json_string_length(out);
    o->output = malloc(o->len + 1);
    if (o->output) {
        memcpy(o->output, json_string_value(out), o->len);
        o->output[o->len] = 0;
    }
    json_decref(j);
    return o->output ? 0 : lab_err(LAB_EINTERNAL, NULL, "out of memory");
}
