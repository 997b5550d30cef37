#include "store/store.h"

#include "base/error.h"
#include "base/paths.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct lab_store {
    sqlite3 *db;
    char path[4096];
};

const char *const lab_store_migrations[] = {
    /* 0 -> 1: runs */
    "CREATE TABLE runs ("
    " id INTEGER PRIMARY KEY,"
    " lab TEXT NOT NULL,"
    " started TEXT NOT NULL,"
    " finished TEXT,"
    " status TEXT NOT NULL CHECK (status IN ('running','ok','failed','interrupted')),"
    " device TEXT,"
    " precision TEXT,"
    " seed INTEGER,"
    " config TEXT,"
    " metrics TEXT,"
    " run_dir TEXT);"
    "CREATE INDEX runs_lab ON runs(lab, id);",
    /* 1 -> 2: the last doctor reports, for submission fingerprints */
    "CREATE TABLE doctor_reports ("
    " id INTEGER PRIMARY KEY,"
    " created TEXT NOT NULL,"
    " ok INTEGER NOT NULL,"
    " summary TEXT NOT NULL,"
    " report TEXT NOT NULL);",
    NULL,
};

int lab_store_schema_version(void)
{
    int n = 0;
    while (lab_store_migrations[n])
        n++;
    return n;
}

static int db_error(lab_store *s, int rc, const char *doing)
{
    const char *why = s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);
    int primary = rc & 0xff;
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED)
        return lab_err(LAB_EENV, "another lab process is writing it; wait for it to finish and try again",
                       "the store %s is locked (%s while %s)", s->path, why, doing);
    if (primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT)
        return lab_err(LAB_EENV,
                       "move the file aside (mv lab.db lab.db.broken) to start a new store, or restore it from a "
                       "backup; lab never deletes it",
                       "the store %s is damaged or not a lab database (%s while %s)", s->path, why, doing);
    if (primary == SQLITE_READONLY || primary == SQLITE_CANTOPEN || primary == SQLITE_PERM)
        return lab_err(LAB_EENV, "set LAB_HOME to a writable directory, or fix the permissions; see lab explain "
                       "TS-LAB-HOME",
                       "cannot write the store %s (%s while %s)", s->path, why, doing);
    return lab_err(LAB_EENV, "check free disk space and the file's permissions", "store %s: %s while %s", s->path, why,
                   doing);
}

static int exec(lab_store *s, const char *sql, const char *doing)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? LAB_OK : db_error(s, rc, doing);
}

static int user_version(lab_store *s, int *v)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return db_error(s, rc, "reading the schema version");
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        return db_error(s, rc, "reading the schema version");
    }
    *v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return LAB_OK;
}

static int migrate(lab_store *s)
{
    int v = 0, target = lab_store_schema_version();
    int rc = user_version(s, &v);
    if (rc)
        return rc;
    if (v > target)
        return lab_err(LAB_EENV, "upgrade lab, or point LAB_HOME elsewhere",
                       "the store %s has schema version %d, newer than this lab knows (%d)", s->path, v, target);
    for (; v < target; v++) {
        /* One transaction per step: a failure leaves the previous version intact. */
        if ((rc = exec(s, "BEGIN IMMEDIATE", "starting a migration")))
            return rc;
        char bump[64];
        snprintf(bump, sizeof bump, "PRAGMA user_version = %d", v + 1);
        if ((rc = exec(s, lab_store_migrations[v], "migrating the schema")) || (rc = exec(s, bump, "migrating"))) {
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            return rc;
        }
        if ((rc = exec(s, "COMMIT", "committing a migration")))
            return rc;
    }
    return LAB_OK;
}

/* sqlite follows links and, on a directory, says only "unable to open":
 * name what is really there, and never turn a linked file elsewhere into a
 * database (nor its -wal/-shm/-journal companions). */
static int check_store_path(const char *path)
{
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        char p[4200], target[4096];
        snprintf(p, sizeof p, "%s%s", path, suffixes[i]);
        struct stat st;
        if (lstat(p, &st) != 0)
            continue;
        if (S_ISLNK(st.st_mode)) {
            ssize_t n = readlink(p, target, sizeof target - 1);
            target[n > 0 ? n : 0] = 0;
            char fix[4600];
            snprintf(fix, sizeof fix,
                     "lab does not write through a link it was not given: if %s is your store, move it here "
                     "(rm %s && mv %s %s), or set LAB_HOME to the directory that holds it; see lab explain "
                     "TS-LAB-HOME",
                     target, p, target, p);
            return lab_err(LAB_EENV, fix, "the store %s is a symbolic link (to %s)", p, target);
        }
        if (!S_ISREG(st.st_mode)) {
            char fix[4400];
            snprintf(fix, sizeof fix, "move it aside (mv %s %s.moved) to start a new store, or set LAB_HOME to "
                     "another directory; see lab explain TS-LAB-HOME", p, p);
            return lab_err(LAB_EENV, fix, "the store %s is %s, not a database file", p,
                           S_ISDIR(st.st_mode) ? "a directory" : "not a regular file");
        }
    }
    return LAB_OK;
}

int lab_store_open(const char *path, lab_store **out)
{
    *out = NULL;
    int bad = check_store_path(path);
    if (bad)
        return bad;
    lab_store *s = calloc(1, sizeof *s);
    if (!s)
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    snprintf(s->path, sizeof s->path, "%s", path);
    int rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
    if (rc != SQLITE_OK) {
        rc = db_error(s, rc, "opening");
        lab_store_close(s);
        return rc;
    }
    sqlite3_busy_timeout(s->db, 5000);
    if ((rc = exec(s, "PRAGMA journal_mode=WAL", "switching to WAL")) ||
        (rc = exec(s, "PRAGMA foreign_keys=ON", "enabling foreign keys")) || (rc = migrate(s))) {
        lab_store_close(s);
        return rc;
    }
    *out = s;
    return LAB_OK;
}

int lab_store_open_default(lab_store **out)
{
    char dir[4096], path[4200];
    int rc = lab_dir_ensure(LAB_DIR_HOME, NULL, dir, sizeof dir);
    if (rc)
        return rc;
    snprintf(path, sizeof path, "%s/lab.db", dir);
    return lab_store_open(path, out);
}

void lab_store_close(lab_store *s)
{
    if (!s)
        return;
    sqlite3_close_v2(s->db);
    free(s);
}

sqlite3 *lab_store_db(lab_store *s) { return s->db; }
const char *lab_store_path(const lab_store *s) { return s->path; }

void lab_utc_now(char *buf, int cap)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, (size_t)cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int lab_store_run_begin(lab_store *s, const struct lab_run_record *r, const char *config_json, int64_t *id)
{
    sqlite3_stmt *st;
    char now[32];
    lab_utc_now(now, sizeof now);
    int rc = sqlite3_prepare_v2(s->db,
                                "INSERT INTO runs (lab, started, status, device, precision, seed, config, run_dir)"
                                " VALUES (?, ?, 'running', ?, ?, ?, ?, ?)",
                                -1, &st, NULL);
    if (rc != SQLITE_OK)
        return db_error(s, rc, "recording a run");
    sqlite3_bind_text(st, 1, r->lab, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, r->started[0] ? r->started : now, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, r->device, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, r->precision, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 5, r->seed);
    if (config_json)
        sqlite3_bind_text(st, 6, config_json, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 7, r->run_dir, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return db_error(s, rc, "recording a run");
    *id = sqlite3_last_insert_rowid(s->db);
    return LAB_OK;
}

int lab_store_run_finish(lab_store *s, int64_t id, const char *status, const char *metrics_json)
{
    sqlite3_stmt *st;
    char now[32];
    lab_utc_now(now, sizeof now);
    int rc = sqlite3_prepare_v2(s->db, "UPDATE runs SET finished = ?, status = ?, metrics = ? WHERE id = ?", -1, &st,
                                NULL);
    if (rc != SQLITE_OK)
        return db_error(s, rc, "finishing a run");
    sqlite3_bind_text(st, 1, now, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, status, -1, SQLITE_TRANSIENT);
    if (metrics_json)
        sqlite3_bind_text(st, 3, metrics_json, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, id);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return db_error(s, rc, "finishing a run");
    return LAB_OK;
}

static void copy_col(sqlite3_stmt *st, int col, char *dst, size_t cap)
{
    const unsigned char *v = sqlite3_column_text(st, col);
    snprintf(dst, cap, "%s", v ? (const char *)v : "");
}

int lab_store_last_run(lab_store *s, const char *lab, struct lab_run_record *out, int *found)
{
    sqlite3_stmt *st;
    *found = 0;
    memset(out, 0, sizeof *out);
    int rc = sqlite3_prepare_v2(s->db,
                                "SELECT id, lab, started, finished, status, device, precision, seed, run_dir"
                                " FROM runs WHERE lab = ? ORDER BY id DESC LIMIT 1",
                                -1, &st, NULL);
    if (rc != SQLITE_OK)
        return db_error(s, rc, "reading runs");
    sqlite3_bind_text(st, 1, lab, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *found = 1;
        out->id = sqlite3_column_int64(st, 0);
        copy_col(st, 1, out->lab, sizeof out->lab);
        copy_col(st, 2, out->started, sizeof out->started);
        copy_col(st, 3, out->finished, sizeof out->finished);
        copy_col(st, 4, out->status, sizeof out->status);
        copy_col(st, 5, out->device, sizeof out->device);
        copy_col(st, 6, out->precision, sizeof out->precision);
        out->seed = sqlite3_column_int64(st, 7);
        copy_col(st, 8, out->run_dir, sizeof out->run_dir);
        rc = SQLITE_DONE;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return db_error(s, rc, "reading runs");
    return LAB_OK;
}
