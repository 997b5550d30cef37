#include "base/error.h"
#include "store/store.h"
#include "tests/unit/testutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int query_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    int v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

START_TEST(test_new_store_is_current_and_wal)
{
    char *dir = tu_tempdir(), path[4200];
    snprintf(path, sizeof path, "%s/lab.db", dir);
    lab_store *s;
    ck_assert_int_eq(lab_store_open(path, &s), LAB_OK);
    ck_assert_int_eq(query_int(lab_store_db(s), "PRAGMA user_version"), lab_store_schema_version());
    ck_assert_int_eq(query_int(lab_store_db(s), "PRAGMA foreign_keys"), 1);
    sqlite3_stmt *st;
    sqlite3_prepare_v2(lab_store_db(s), "PRAGMA journal_mode", -1, &st, NULL);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    lab_store_close(s);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_old_version_migrates_keeping_rows)
{
    char *dir = tu_tempdir(), path[4200];
    snprintf(path, sizeof path, "%s/lab.db", dir);
    /* A store as schema version 1 left it, with a run in it. */
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(db, lab_store_migrations[0], NULL, NULL, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(db,
                                  "PRAGMA user_version = 1;"
                                  "INSERT INTO runs (lab, started, status, run_dir) VALUES"
                                  " ('2.2.1', '2026-01-01T00:00:00Z', 'ok', '/r/1');",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);

    lab_store *s;
    ck_assert_int_eq(lab_store_open(path, &s), LAB_OK);
    ck_assert_int_eq(query_int(lab_store_db(s), "PRAGMA user_version"), lab_store_schema_version());
    ck_assert_int_eq(query_int(lab_store_db(s), "SELECT count(*) FROM doctor_reports"), 0);
    struct lab_run_record r;
    int found;
    ck_assert_int_eq(lab_store_last_run(s, "2.2.1", &r, &found), LAB_OK);
    ck_assert_int_eq(found, 1);
    ck_assert_str_eq(r.run_dir, "/r/1");
    ck_assert_str_eq(r.status, "ok");
    lab_store_close(s);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_run_begin_finish_last)
{
    char *dir = tu_tempdir(), path[4200];
    snprintf(path, sizeof path, "%s/lab.db", dir);
    lab_store *s;
    ck_assert_int_eq(lab_store_open(path, &s), LAB_OK);
    struct lab_run_record r = {.seed = 7};
    strcpy(r.lab, "2.2.1");
    strcpy(r.device, "cpu");
    strcpy(r.precision, "fp32");
    strcpy(r.run_dir, "/runs/a");
    int64_t id1, id2;
    ck_assert_int_eq(lab_store_run_begin(s, &r, "{\"seed\":7}", &id1), LAB_OK);
    strcpy(r.run_dir, "/runs/b");
    ck_assert_int_eq(lab_store_run_begin(s, &r, NULL, &id2), LAB_OK);
    ck_assert_int_gt(id2, id1);
    ck_assert_int_eq(lab_store_run_finish(s, id2, "interrupted", NULL), LAB_OK);
    struct lab_run_record last;
    int found;
    ck_assert_int_eq(lab_store_last_run(s, "2.2.1", &last, &found), LAB_OK);
    ck_assert_int_eq(found, 1);
    ck_assert_str_eq(last.run_dir, "/runs/b");
    ck_assert_str_eq(last.status, "interrupted");
    ck_assert_int_eq(last.seed, 7);
    ck_assert_int_ne(last.finished[0], '\0');
    ck_assert_int_eq(lab_store_last_run(s, "2.2.4", &last, &found), LAB_OK);
    ck_assert_int_eq(found, 0);
    /* The status column refuses what the schema does not know. */
    ck_assert_int_eq(lab_store_run_finish(s, id1, "bogus", NULL), LAB_EENV);
    lab_store_close(s);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_newer_schema_refused_untouched)
{
    char *dir = tu_tempdir(), path[4200];
    snprintf(path, sizeof path, "%s/lab.db", dir);
    sqlite3 *db;
    sqlite3_open(path, &db);
    sqlite3_exec(db, "CREATE TABLE future(x); PRAGMA user_version = 99;", NULL, NULL, NULL);
    sqlite3_close(db);
    lab_store *s = (lab_store *)1;
    ck_assert_int_eq(lab_store_open(path, &s), LAB_EENV);
    ck_assert_ptr_null(s);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "newer"));
    ck_assert_ptr_nonnull(strstr(lab_err_message(), path));
    sqlite3_open(path, &db);
    ck_assert_int_eq(query_int(db, "PRAGMA user_version"), 99);
    sqlite3_close(db);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_corrupt_store_is_env_error)
{
    char *dir = tu_tempdir(), path[4200];
    snprintf(path, sizeof path, "%s/lab.db", dir);
    char junk[8192];
    memset(junk, 'x', sizeof junk);
    tu_write_file(path, junk, sizeof junk);
    lab_store *s;
    ck_assert_int_eq(lab_store_open(path, &s), LAB_EENV);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "damaged"));
    ck_assert_ptr_nonnull(strstr(lab_err_fix(), "never deletes"));
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* A lab.db that is a directory: the message names that, not "set LAB_HOME
 * to a writable directory" (which it already is). */
START_TEST(test_store_that_is_a_directory_is_named)
{
    char *dir = tu_tempdir(), path[4200];
    snprintf(path, sizeof path, "%s/lab.db", dir);
    ck_assert_int_eq(mkdir(path, 0755), 0);
    lab_store *s;
    ck_assert_int_eq(lab_store_open(path, &s), LAB_EENV);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "is a directory"));
    ck_assert_ptr_nonnull(strstr(lab_err_fix(), "TS-LAB-HOME"));
    ck_assert_ptr_null(strstr(lab_err_fix(), "writable"));
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* A lab.db (or its -wal) that links to a file elsewhere is refused, and the
 * file it points to is left as it was. */
START_TEST(test_store_link_is_not_written_through)
{
    static const char *const names[] = {"lab.db", "lab.db-wal"};
    for (int i = 0; i < 2; i++) {
        char *dir = tu_tempdir(), path[4200], link[4200], victim[4200];
        snprintf(path, sizeof path, "%s/lab.db", dir);
        snprintf(link, sizeof link, "%s/%s", dir, names[i]);
        snprintf(victim, sizeof victim, "%s/notes.txt", dir);
        tu_write_file(victim, "my notes\n", 9);
        ck_assert_int_eq(symlink(victim, link), 0);
        lab_store *s;
        ck_assert_int_eq(lab_store_open(path, &s), LAB_EENV);
        ck_assert_ptr_nonnull(strstr(lab_err_message(), "symbolic link"));
        ck_assert_ptr_nonnull(strstr(lab_err_message(), victim));
        char buf[64] = "";
        FILE *f = fopen(victim, "rb");
        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(fread(buf, 1, sizeof buf, f), 9);
        fclose(f);
        ck_assert_str_eq(buf, "my notes\n");
        tu_rmtree(dir);
        free(dir);
    }
}
END_TEST

START_TEST(test_locked_store_is_env_error)
{
    char *dir = tu_tempdir(), path[4200];
    snprintf(path, sizeof path, "%s/lab.db", dir);
    lab_store *s;
    ck_assert_int_eq(lab_store_open(path, &s), LAB_OK);
    lab_store_close(s);
    /* Another process holds the write lock: a fresh store cannot migrate or
     * write, and says the store is locked after the busy timeout. */
    sqlite3 *holder;
    sqlite3_open(path, &holder);
    ck_assert_int_eq(sqlite3_exec(holder, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
    ck_assert_int_eq(lab_store_open(path, &s), LAB_OK); /* reading is allowed in WAL */
    sqlite3_busy_timeout(lab_store_db(s), 100);
    struct lab_run_record r = {0};
    strcpy(r.lab, "2.2.1");
    int64_t id;
    ck_assert_int_eq(lab_store_run_begin(s, &r, NULL, &id), LAB_EENV);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "locked"));
    lab_store_close(s);
    sqlite3_exec(holder, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(holder);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

Suite *suite_store(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("store");
    tcase_add_test(tc, test_new_store_is_current_and_wal);
    tcase_add_test(tc, test_old_version_migrates_keeping_rows);
    tcase_add_test(tc, test_run_begin_finish_last);
    tcase_add_test(tc, test_newer_schema_refused_untouched);
    tcase_add_test(tc, test_corrupt_store_is_env_error);
    tcase_add_test(tc, test_locked_store_is_env_error);
    tcase_add_test(tc, test_store_that_is_a_directory_is_named);
    tcase_add_test(tc, test_store_link_is_not_written_through);
    suite_add_tcase(s, tc);
    return s;
}
