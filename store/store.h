/* The local store: sqlite3 at $LAB_HOME/lab.db (WAL, busy timeout, foreign
 * keys), schema versioned by PRAGMA user_version with forward migrations. */
#ifndef LAB_STORE_H
#define LAB_STORE_H

#include <sqlite3.h>
#include <stdint.h>

typedef struct lab_store lab_store;

/* The migrations, in order; migration i brings user_version from i to i+1. */
extern const char *const lab_store_migrations[];
int lab_store_schema_version(void);

/* Opens (creating when absent) and migrates. A locked, corrupt or newer-schema
 * database is LAB_EENV with the path and what to do; its rows are never
 * touched. */
int lab_store_open(const char *path, lab_store **out);
int lab_store_open_default(lab_store **out); /* $LAB_HOME/lab.db */
void lab_store_close(lab_store *s);
sqlite3 *lab_store_db(lab_store *s);
const char *lab_store_path(const lab_store *s);

struct lab_run_record {
    int64_t id;
    char lab[32];
    char started[32];  /* ISO 8601 UTC */
    char finished[32]; /* "" while running */
    char status[16];   /* running, ok, failed, interrupted */
    char device[32];
    char precision[16];
    int64_t seed;
    char run_dir[1024];
};

/* Inserts a row with status "running"; config_json may be NULL. */
int lab_store_run_begin(lab_store *s, const struct lab_run_record *r, const char *config_json, int64_t *id);
int lab_store_run_finish(lab_store *s, int64_t id, const char *status, const char *metrics_json);
/* *found = 0 when the lab has no runs. */
int lab_store_last_run(lab_store *s, const char *lab, struct lab_run_record *out, int *found);

/* Which runs to read, newest first; NULL and 0 fields match every run. */
struct lab_run_query {
    const char *lab;
    const char *status;
    int64_t id;
    int limit; /* 0: no limit */
};
/* Called per run with its config and metrics JSON (NULL when absent);
 * returns nonzero to stop. */
typedef int (*lab_store_run_fn)(void *ctx, const struct lab_run_record *r, const char *config_json,
                                const char *metrics_json);
int lab_store_runs(lab_store *s, const struct lab_run_query *q, lab_store_run_fn fn, void *ctx);
/* The newest run matching q; *found = 0 when none. */
int lab_store_find_run(lab_store *s, const struct lab_run_query *q, struct lab_run_record *out, int *found);

/* Current UTC time as ISO 8601 ("2026-11-22T04:05:06Z"). */
void lab_utc_now(char *buf, int cap);

#endif
