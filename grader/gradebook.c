#include "grader/gradebook.h"

#include "base/error.h"
#include "base/fsutil.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct gradebook {
    sqlite3 *db;
    char path[4096];
};

const char *const gradebook_migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE students ("
    " id TEXT PRIMARY KEY,"
    " name TEXT,"
    " lms TEXT,"
    " lms_user TEXT,"
    " first_seen TEXT NOT NULL);"
    "CREATE INDEX students_lms ON students(lms, lms_user);"
    "CREATE TABLE labs ("
    " id TEXT PRIMARY KEY,"
    " max_score REAL NOT NULL DEFAULT 0);"
    "CREATE TABLE submissions ("
    " id INTEGER PRIMARY KEY,"
    " lab TEXT NOT NULL REFERENCES labs(id),"
    " student TEXT REFERENCES students(id),"
    " claimed_student TEXT,"
    " lms TEXT, lms_user TEXT, lms_name TEXT,"
    " input TEXT NOT NULL,"
    " source TEXT NOT NULL,"
    " sha256 TEXT NOT NULL,"
    " received TEXT NOT NULL,"
    " graded TEXT NOT NULL,"
    " grader_version TEXT NOT NULL,"
    " status TEXT NOT NULL CHECK (status IN ('graded','not_gradable','crash','timeout','oom')),"
    " status_detail TEXT,"
    " score REAL NOT NULL,"
    " max_score REAL NOT NULL,"
    " late_days INTEGER NOT NULL DEFAULT 0,"
    " late_penalty REAL NOT NULL DEFAULT 0,"
    " final_score REAL NOT NULL,"
    " id_issue TEXT,"
    " report TEXT NOT NULL,"
    " UNIQUE (lab, sha256, grader_version, source));"
    "CREATE INDEX submissions_student ON submissions(lab, student);"
    "CREATE TABLE check_results ("
    " submission INTEGER NOT NULL REFERENCES submissions(id) ON DELETE CASCADE,"
    " seq INTEGER NOT NULL,"
    " check_id TEXT NOT NULL,"
    " name TEXT,"
    " status TEXT NOT NULL,"
    " points REAL NOT NULL,"
    " max_points REAL NOT NULL,"
    " message TEXT,"
    " kb TEXT,"
    " PRIMARY KEY (submission, seq));"
    "CREATE TABLE artifacts ("
    " submission INTEGER NOT NULL REFERENCES submissions(id) ON DELETE CASCADE,"
    " kind TEXT NOT NULL,"
    " model TEXT NOT NULL,"
    " sha256 TEXT NOT NULL,"
    " weights_sha256 TEXT,"
    " PRIMARY KEY (submission, kind, model));"
    "CREATE INDEX artifacts_sha ON artifacts(sha256);"
    "CREATE TABLE plots ("
    " submission INTEGER NOT NULL REFERENCES submissions(id) ON DELETE CASCADE,"
    " name TEXT NOT NULL,"
    " png BLOB NOT NULL,"
    " PRIMARY KEY (submission, name));",
    NULL,
};

int gradebook_schema_version(void)
{
    int n = 0;
    while (gradebook_migrations[n])
        n++;
    return n;
}

int gradebook_error(gradebook *g, int rc, const char *doing)
{
    const char *why = g->db ? sqlite3_errmsg(g->db) : sqlite3_errstr(rc);
    int primary = rc & 0xff;
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED)
        return lab_err(LAB_EENV,
                       "another lab process is writing it; wait for it to finish (see lab explain TS-GRADEBOOK)",
                       "the gradebook %s is locked (%s while %s)", g->path, why, doing);
    if (primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT)
        return lab_err(LAB_EENV,
                       "move it aside and grade again into a new file, or restore a backup; lab never deletes it "
                       "(lab explain TS-GRADEBOOK)",
                       "the gradebook %s is damaged or not a gradebook (%s while %s)", g->path, why, doing);
    if (primary == SQLITE_READONLY || primary == SQLITE_CANTOPEN || primary == SQLITE_PERM)
        return lab_err(LAB_EENV, "choose a writable place with --db, or fix the permissions (lab explain TS-GRADEBOOK)",
                       "cannot write the gradebook %s (%s while %s)", g->path, why, doing);
    return lab_err(LAB_EENV, "check free disk space and the file's permissions (lab explain TS-GRADEBOOK)",
                   "gradebook %s: %s while %s", g->path, why, doing);
}

static int exec(gradebook *g, const char *sql, const char *doing)
{
    int rc = sqlite3_exec(g->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? LAB_OK : gradebook_error(g, rc, doing);
}

static int migrate(gradebook *g)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(g->db, "PRAGMA user_version", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return gradebook_error(g, rc, "reading the schema version");
    rc = sqlite3_step(st);
    int v = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW)
        return gradebook_error(g, rc, "reading the schema version");
    int target = gradebook_schema_version();
    if (v > target)
        return lab_err(LAB_EENV, "upgrade lab to read it (lab explain TS-GRADEBOOK)",
                       "the gradebook %s has schema version %d, newer than this lab knows (%d)", g->path, v, target);
    for (; v < target; v++) {
        if ((rc = exec(g, "BEGIN IMMEDIATE", "starting a migration")))
            return rc;
        char bump[64];
        snprintf(bump, sizeof bump, "PRAGMA user_version = %d", v + 1);
        if ((rc = exec(g, gradebook_migrations[v], "creating the tables")) || (rc = exec(g, bump, "migrating"))) {
            sqlite3_exec(g->db, "ROLLBACK", NULL, NULL, NULL);
            return rc;
        }
        if ((rc = exec(g, "COMMIT", "committing a migration")))
            return rc;
    }
    return LAB_OK;
}

int gradebook_open(const char *path, bool create, gradebook **out)
{
    *out = NULL;
    if (!create && !lab_path_exists(path))
        return lab_err(LAB_EUSAGE, "grade a batch into it first: lab grade --batch DIR --lab ID --db FILE",
                       "no gradebook at %s", path);
    gradebook *g = calloc(1, sizeof *g);
    if (!g)
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    snprintf(g->path, sizeof g->path, "%s", path);
    int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_FULLMUTEX;
    int rc = sqlite3_open_v2(path, &g->db, flags, NULL);
    if (rc != SQLITE_OK) {
        rc = gradebook_error(g, rc, "opening");
        gradebook_close(g);
        return rc;
    }
    sqlite3_busy_timeout(g->db, 10000);
    /* WAL: readers (an export while a batch runs) never block the writer.
     * synchronous=NORMAL: a commit survives the process being killed; only
     * a power cut may lose the last few, never corrupt the file. */
    if ((rc = exec(g, "PRAGMA journal_mode=WAL", "switching to WAL")) ||
        (rc = exec(g, "PRAGMA synchronous=NORMAL", "setting synchronous")) ||
        (rc = exec(g, "PRAGMA foreign_keys=ON", "enabling foreign keys")) || (rc = migrate(g))) {
        gradebook_close(g);
        return rc;
    }
    *out = g;
    return LAB_OK;
}

void gradebook_close(gradebook *g)
{
    if (!g)
        return;
    sqlite3_close_v2(g->db);
    free(g);
}

sqlite3 *gradebook_db(gradebook *g) { return g->db; }
const char *gradebook_path(const gradebook *g) { return g->path; }

int gradebook_has(gradebook *g, const char *lab, const char *sha256, const char *grader_version, const char *source,
                  int *found)
{
    struct gb_open_problems unused;
    return gradebook_open_problems(g, lab, sha256, grader_version, source, &unused, found);
}

int gradebook_open_problems(gradebook *g, const char *lab, const char *sha256, const char *grader_version,
                            const char *source, struct gb_open_problems *out, int *found)
{
    sqlite3_stmt *st;
    memset(out, 0, sizeof *out);
    *found = 0;
    int rc = sqlite3_prepare_v2(g->db,
                                "SELECT status, coalesce(status_detail, ''), coalesce(student, ''), coalesce(id_issue, '')"
                                " FROM submissions WHERE lab = ? AND sha256 = ? AND grader_version = ? AND source = ?",
                                -1, &st, NULL);
    if (rc != SQLITE_OK)
        return gradebook_error(g, rc, "looking up a submission");
    sqlite3_bind_text(st, 1, lab, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, sha256, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, grader_version, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, source, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *status = (const char *)sqlite3_column_text(st, 0);
        if (status && strcmp(status, "graded")) {
            snprintf(out->status, sizeof out->status, "%s", status);
            snprintf(out->detail, sizeof out->detail, "%s", (const char *)sqlite3_column_text(st, 1));
        }
        snprintf(out->student, sizeof out->student, "%s", (const char *)sqlite3_column_text(st, 2));
        snprintf(out->id_issue, sizeof out->id_issue, "%s", (const char *)sqlite3_column_text(st, 3));
        *found = 1;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? LAB_OK : gradebook_error(g, rc, "looking up a submission");
}
