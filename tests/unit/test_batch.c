/* The batch grader without the real grader: LMS names, dates and penalties,
 * the gradebook's idempotency and student-id rules, and whole batches run
 * through the sandbox with a stand-in grade function and the test-only
 * fault switch (LAB_TEST_GRADE_FAULT) proving crash, timeout and oom are
 * recorded and the batch completes. Hostile archives end not gradable with
 * nothing written outside the staging area. */
#include "base/error.h"
#include "base/fsutil.h"
#include "datasets/hash.h"
#include "grader/batch.h"
#include "grader/batch_input.h"
#include "grader/gradebook.h"
#include "grader/grades.h"
#include "grader/kb.h"
#include "grader/lms_names.h"
#include "grader/pack.h"
#include "shim/safetensors.h"
#include "tests/unit/testutil.h"

#include <archive.h>
#include <archive_entry.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- LMS names ---- */

START_TEST(test_lms_names)
{
    struct lms_name n;
    const char *base = "doe_jane_12345_67890_lab221.tar.gz";
    ck_assert(lms_parse_name(base, &n));
    ck_assert_int_eq(n.kind, LMS_CANVAS);
    ck_assert_str_eq(n.user_id, "12345");
    ck_assert_str_eq(n.submission_id, "67890");
    ck_assert_str_eq(n.name, "doe_jane");
    ck_assert_str_eq(base + n.file_off, "lab221.tar.gz");
    ck_assert(!n.late);

    ck_assert(lms_parse_name("doejane_LATE_12345_67890_my_lab_2_1.zip", &n));
    ck_assert_int_eq(n.kind, LMS_CANVAS);
    ck_assert(n.late);
    ck_assert_str_eq(n.name, "doejane");
    ck_assert_str_eq(n.user_id, "12345");
    ck_assert(lms_parse_name("doe_jane_late_1_2_x", &n) && n.late && strcmp(n.name, "doe_jane") == 0);

    char id[64];
    lms_student_id(&n, id, sizeof id);
    ck_assert_str_eq(id, "canvas:1");

    base = "Jane van Doe_4021_assignsubmission_file_";
    ck_assert(lms_parse_name(base, &n));
    ck_assert_int_eq(n.kind, LMS_MOODLE);
    ck_assert_str_eq(n.name, "Jane van Doe");
    ck_assert_str_eq(n.user_id, "4021");
    ck_assert_str_eq(base + n.file_off, "");
    base = "Jane Doe_4021_assignsubmission_file_lab.zip";
    ck_assert(lms_parse_name(base, &n));
    ck_assert_str_eq(base + n.file_off, "lab.zip");
    ck_assert(lms_parse_name("Jane Doe_4021_assignsubmission_onlinetext_onlinetext.html", &n) && n.onlinetext);

    /* Not LMS names: nothing is guessed. */
    static const char *const not_lms[] = {"alice-2.2.1.tar.gz", "12345_67890_file.zip", "doe_12345_67890_",
                                          "doe_12345_x_f", "_12_34_f", "Jane_x_assignsubmission_file_",
                                          "_4021_assignsubmission_file_", "a/b_1_2_c", "",
                                          "doe_123456789012345678901234_1_f"};
    for (size_t i = 0; i < sizeof not_lms / sizeof *not_lms; i++) {
        ck_assert_msg(!lms_parse_name(not_lms[i], &n), "'%s' parsed as an LMS name", not_lms[i]);
        ck_assert_int_eq(n.kind, LMS_NONE);
    }
    ck_assert(!lms_parse_name(NULL, &n));
}
END_TEST

/* The fuzz target, replayed on the table above and odd bytes. */
#define LLVMFuzzerTestOneInput fuzz_lms_names_one
#include "tests/fuzz/fuzz_lms_names.c"

START_TEST(test_lms_names_fuzz_replay)
{
    static const char *const inputs[] = {"a_1_2_b", "x_late_1_2_", "N_1_assignsubmission_file_f", "\xff_1_2_\x01",
                                         "____", "_assignsubmission_", "a_1_assignsubmission_"};
    for (size_t i = 0; i < sizeof inputs / sizeof *inputs; i++)
        LLVMFuzzerTestOneInput((const unsigned char *)inputs[i], strlen(inputs[i]));
    char big[3000];
    memset(big, '1', sizeof big);
    big[1] = '_';
    LLVMFuzzerTestOneInput((const unsigned char *)big, sizeof big);
}
END_TEST

/* ---- dates and penalties ---- */

START_TEST(test_due_and_penalty)
{
    time_t t;
    ck_assert_int_eq(batch_parse_due("2026-11-22T10:00:00Z", &t), LAB_OK);
    ck_assert_int_eq((long long)t, 1795341600LL);
    ck_assert_int_eq(batch_parse_due("2026-11-22T11:00+01:00", &t), LAB_OK);
    ck_assert_int_eq((long long)t, 1795341600LL);
    ck_assert_int_eq(batch_parse_due("2026-11-22", &t), LAB_OK);
    ck_assert_int_eq(batch_parse_due("22/11/2026", &t), LAB_EUSAGE);
    ck_assert_int_eq(batch_parse_due("2026-13-01", &t), LAB_EUSAGE);
    ck_assert_int_eq(batch_parse_due("2026-11-22T10:00Zulu", &t), LAB_EUSAGE);

    double p;
    ck_assert_int_eq(batch_parse_penalty("10%/day", &p), LAB_OK);
    ck_assert(p == 10);
    ck_assert_int_eq(batch_parse_penalty("2.5", &p), LAB_OK);
    ck_assert(p == 2.5);
    ck_assert_int_eq(batch_parse_penalty("150", &p), LAB_EUSAGE);
    ck_assert_int_eq(batch_parse_penalty("ten", &p), LAB_EUSAGE);

    struct batch_opts o;
    batch_opts_defaults(&o);
    o.has_due = true;
    o.due = 1795341600;
    ck_assert_int_eq(batch_late_days(&o, o.due - 5, LMS_NONE, false), 0);
    ck_assert_int_eq(batch_late_days(&o, o.due + 1, LMS_NONE, false), 1);
    ck_assert_int_eq(batch_late_days(&o, o.due + 86400 * 2 + 1, LMS_MOODLE, false), 3);
    /* Canvas decides whether it was late; the file time only how late. */
    ck_assert_int_eq(batch_late_days(&o, o.due + 86400 * 3, LMS_CANVAS, false), 0);
    ck_assert_int_eq(batch_late_days(&o, o.due - 100, LMS_CANVAS, true), 1);
    ck_assert_int_eq(batch_late_days(&o, o.due + 86400 * 2 - 1, LMS_CANVAS, true), 2);
    o.has_due = false;
    ck_assert_int_eq(batch_late_days(&o, o.due + 86400 * 9, LMS_CANVAS, true), 0);
}
END_TEST

/* ---- the gradebook ---- */

static struct grade_report *report(const char *student, enum grade_status st, double score)
{
    struct grade_report *r = calloc(1, sizeof *r);
    r->lab = strdup("2.2.1");
    r->student = student ? strdup(student) : NULL;
    r->status = st;
    r->score = score;
    r->max_score = 10;
    r->grader_version = strdup("test");
    r->checks = calloc(2, sizeof *r->checks);
    r->n_checks = 2;
    r->checks[0] = (struct check_result){strdup("values.finite"), strdup("finite"), CHECK_PASS, score, 5,
                                         strdup("ok"), NULL};
    r->checks[1] = (struct check_result){strdup("norm.config"), strdup("norm"), CHECK_FAIL, 3, 5, strdup("bad"),
                                         strdup("TS-NORM-MISMATCH")};
    return r;
}

static long long count(gradebook *g, const char *sql)
{
    sqlite3_stmt *st;
    ck_assert_int_eq(sqlite3_prepare_v2(gradebook_db(g), sql, -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    long long n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

static void record(gradebook *g, const char *input, const char *source, const char *sha, const char *student,
                   const char *lms_name, double score, struct gb_outcome *oc)
{
    struct lms_name l;
    bool has_lms = lms_name && lms_parse_name(lms_name, &l);
    struct grade_report *r = report(student, GRADE_GRADED, score);
    struct gb_artifact a = {"model", "lenet5", sha, sha};
    static const unsigned char png[] = "\x89PNG\r\n\x1a\nrest";
    struct gb_plot p = {"loss.png", png, sizeof png - 1};
    struct gb_submission s = {.lab = "2.2.1", .input = input, .source = source, .sha256 = sha,
                              .received = "2026-11-22T10:00:00Z", .graded = "2026-11-23T10:00:00Z",
                              .grader_version = "test", .lms = has_lms ? &l : NULL, .report = r,
                              .late_penalty = 20, .artifacts = &a, .n_artifacts = 1, .plots = &p, .n_plots = 1};
    ck_assert_int_eq(gradebook_record(g, &s, oc), LAB_OK);
    grade_report_free(r);
}

START_TEST(test_gradebook_keys_and_ids)
{
    char *tmp = tu_tempdir(), db[4200];
    snprintf(db, sizeof db, "%s/gb.sqlite", tmp);
    gradebook *g;
    ck_assert_int_eq(gradebook_open(db, false, &g), LAB_EUSAGE);
    ck_assert_int_eq(gradebook_open(db, true, &g), LAB_OK);
    struct gb_outcome oc;
    const char *sha1 = "1111111111111111111111111111111111111111111111111111111111111111";
    const char *sha2 = "2222222222222222222222222222222222222222222222222222222222222222";

    record(g, "/in", "alice.tar.gz", sha1, "alice", NULL, 8, &oc);
    ck_assert_str_eq(oc.student, "alice");
    ck_assert_str_eq(oc.id_issue, "");
    ck_assert(oc.final_score > 6.39 && oc.final_score < 6.41); /* 8 less 20% */
    int found;
    ck_assert_int_eq(gradebook_has(g, "2.2.1", sha1, "test", "alice.tar.gz", &found), LAB_OK);
    ck_assert_int_eq(found, 1);
    ck_assert_int_eq(gradebook_has(g, "2.2.1", sha1, "other-version", "alice.tar.gz", &found), LAB_OK);
    ck_assert_int_eq(found, 0);
    /* The same key again (a regrade) replaces the row and its checks. */
    record(g, "/in", "alice.tar.gz", sha1, "alice", NULL, 8, &oc);
    ck_assert_int_eq(count(g, "SELECT count(*) FROM submissions"), 1);
    ck_assert_int_eq(count(g, "SELECT count(*) FROM check_results"), 2);
    ck_assert_int_eq(count(g, "SELECT count(*) FROM plots"), 1);
    /* A failed check never earns points, whatever the report says. */
    ck_assert_int_eq(count(g, "SELECT sum(points) FROM check_results"), 8);

    /* Byte-identical archives from two students: both graded (source is in the key). */
    record(g, "/in", "bob.tar.gz", sha1, "bob", NULL, 8, &oc);
    ck_assert_int_eq(count(g, "SELECT count(*) FROM submissions"), 2);

    /* No id at all: recorded, reported, not guessed. */
    record(g, "/in", "mystery.tar.gz", sha2, NULL, NULL, 5, &oc);
    ck_assert_str_eq(oc.student, "");
    ck_assert_ptr_nonnull(strstr(oc.id_issue, "no student id"));

    /* Only the LMS name: its id, and later the student it is known as. */
    record(g, "/in2", "doe_jane_77_1_x.zip", sha2, NULL, "doe_jane_77_1_x.zip", 5, &oc);
    ck_assert_str_eq(oc.student, "canvas:77");
    record(g, "/in2", "roe_rick_78_2_x.zip", sha1, "rick", "roe_rick_78_2_x.zip", 5, &oc);
    ck_assert_str_eq(oc.id_issue, "");
    record(g, "/in3", "roe_rick_78_3_y.zip", sha2, NULL, "roe_rick_78_3_y.zip", 5, &oc);
    ck_assert_str_eq(oc.student, "rick");
    ck_assert_str_eq(oc.id_issue, ""); /* a resubmission of the same LMS user */

    /* Two LMS users claiming one student: both rows flagged. */
    record(g, "/in2", "poe_ann_79_4_x.zip", sha2, "rick", "poe_ann_79_4_x.zip", 5, &oc);
    ck_assert_ptr_nonnull(strstr(oc.id_issue, "rick"));
    ck_assert_int_eq(count(g, "SELECT count(*) FROM submissions WHERE source = 'roe_rick_78_2_x.zip'"
                              " AND id_issue LIKE '%poe_ann_79_4_x.zip%'"),
                     1);
    /* Two files in one folder for one student, without an LMS: flagged. */
    record(g, "/in", "alice-again.tar.gz", sha2, "alice", NULL, 5, &oc);
    ck_assert_ptr_nonnull(strstr(oc.id_issue, "alice.tar.gz"));
    ck_assert_int_eq(count(g, "SELECT count(*) FROM submissions WHERE source = 'alice.tar.gz' AND id_issue IS NOT NULL"),
                     1);
    gradebook_close(g);

    /* A reader sees it while another connection holds it open. */
    gradebook *g2, *g3;
    ck_assert_int_eq(gradebook_open(db, false, &g2), LAB_OK);
    ck_assert_int_eq(gradebook_open(db, false, &g3), LAB_OK);
    ck_assert_int_eq(count(g3, "SELECT count(*) FROM submissions"), 8);
    gradebook_close(g2);
    gradebook_close(g3);

    /* Not a gradebook: refused, untouched. */
    char junk[4200];
    snprintf(junk, sizeof junk, "%s/junk.sqlite", tmp);
    tu_write_file(junk, "this is not sqlite at all, not even close......", 48);
    ck_assert_int_eq(gradebook_open(junk, true, &g), LAB_EENV);
    ck_assert_ptr_nonnull(strstr(lab_err_fix(), "TS-GRADEBOOK"));
    tu_rmtree(tmp);
    free(tmp);
}
END_TEST

/* ---- whole batches with a stand-in grader ---- */

/* Grades what fake submissions hold: submission.json's student and
 * score.txt's number. */
static int fake_grade(const char *path, const struct grade_opts *opts, struct grade_report **out)
{
    char p[4200], *text = NULL;
    snprintf(p, sizeof p, "%s/submission.json", path);
    json_t *j = json_load_file(p, 0, NULL);
    snprintf(p, sizeof p, "%s/score.txt", path);
    double score = lab_read_file(p, 64, &text, NULL) == LAB_OK ? atof(text) : 0;
    free(text);
    const char *student = json_string_value(json_object_get(j, "student"));
    struct grade_report *r = report(student, j ? GRADE_GRADED : GRADE_NOT_GRADABLE, j ? score : 0);
    free(r->lab);
    r->lab = strdup(opts->lab);
    if (!j)
        r->status_detail = strdup("missing submission.json");
    json_decref(j);
    *out = r;
    return LAB_OK;
}

struct entry {
    const char *path;
    int type; /* AE_IFREG, AE_IFDIR, AE_IFLNK */
    const char *data;
    size_t zeros; /* a file of this many zero bytes instead */
};

static void write_archive(const char *path, const struct entry *e, size_t n, int zip)
{
    struct archive *a = archive_write_new();
    if (zip)
        archive_write_set_format_zip(a);
    else {
        archive_write_set_format_pax_restricted(a);
        archive_write_add_filter_gzip(a);
    }
    ck_assert_int_eq(archive_write_open_filename(a, path), ARCHIVE_OK);
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *ae = archive_entry_new();
        archive_entry_set_pathname(ae, e[i].path);
        archive_entry_set_filetype(ae, (unsigned)e[i].type);
        archive_entry_set_perm(ae, 0644);
        if (e[i].type == AE_IFLNK)
            archive_entry_set_symlink(ae, e[i].data);
        size_t size = e[i].type == AE_IFREG ? (e[i].zeros ? e[i].zeros : strlen(e[i].data)) : 0;
        archive_entry_set_size(ae, (la_int64_t)size);
        ck_assert_int_eq(archive_write_header(a, ae), ARCHIVE_OK);
        if (e[i].zeros) {
            char *z = calloc(1, 1 << 20);
            for (size_t k = 0; k < e[i].zeros; k += 1 << 20)
                archive_write_data(a, z, e[i].zeros - k < (1u << 20) ? e[i].zeros - k : 1u << 20);
            free(z);
        } else if (size) {
            archive_write_data(a, e[i].data, size);
        }
        archive_entry_free(ae);
    }
    archive_write_close(a);
    archive_write_free(a);
}

static void weights_file(const char *path, float value)
{
    st_writer *w;
    float data[6] = {value, 2, 3, 4, 5, 6};
    int64_t shape[2] = {2, 3};
    ck_assert_int_eq(st_writer_new(&w), LAB_OK);
    ck_assert_int_eq(st_writer_add(w, "fc.weight", ST_F32, 2, shape, data, sizeof data), LAB_OK);
    ck_assert_int_eq(st_writer_write(w, path), LAB_OK);
    st_writer_free(w);
}

/* A submission folder (dir) or tar.gz (archive) at root/name. */
static void make_submission(const char *root, const char *name, const char *student, const char *score, int archive)
{
    char dir[4200], p[4400];
    snprintf(dir, sizeof dir, "%s/%s%s", root, name, archive ? ".src" : "");
    snprintf(p, sizeof p, "%s/models/lenet5", dir);
    ck_assert_int_eq(lab_mkdir_p(p), LAB_OK);
    snprintf(p, sizeof p, "%s/plots", dir);
    ck_assert_int_eq(lab_mkdir_p(p), LAB_OK);
    json_t *info = json_pack("{s:s, s:s}", "student", student, "lab", "2.2.1");
    char *json = json_dumps(info, 0);
    snprintf(p, sizeof p, "%s/submission.json", dir);
    tu_write_file(p, json, strlen(json));
    free(json);
    json_decref(info);
    snprintf(p, sizeof p, "%s/score.txt", dir);
    tu_write_file(p, score, strlen(score));
    snprintf(p, sizeof p, "%s/models/lenet5/model.safetensors", dir);
    weights_file(p, 1);
    snprintf(p, sizeof p, "%s/plots/loss.png", dir);
    tu_write_file(p, "\x89PNG\r\n\x1a\nnot really", 18);
    if (archive) {
        char cmd[9000];
        snprintf(cmd, sizeof cmd, "cd '%s' && tar czf '../%s' . && cd .. && rm -rf '%s'", dir, name, dir);
        ck_assert_int_eq(tu_run(cmd, NULL), 0);
    }
}

static struct batch_opts batch_defaults(const char *in, const char *db)
{
    struct batch_opts o;
    batch_opts_defaults(&o);
    o.input = in;
    o.lab = "2.2.1";
    o.db_path = db;
    o.jobs = 3;
    o.timeout_s = 2;
    o.mem_mb = 2048;
    o.grader_version = "test";
    o.grade = fake_grade;
    o.progress_mode = LAB_PROGRESS_QUIET;
    return o;
}

static void status_of(const char *db, const char *source, char *status, size_t cap, char *detail, size_t dcap)
{
    gradebook *g;
    ck_assert_int_eq(gradebook_open(db, false, &g), LAB_OK);
    sqlite3_stmt *st;
    ck_assert_int_eq(sqlite3_prepare_v2(gradebook_db(g),
                                        "SELECT s.status, coalesce(s.status_detail, ''), c.check_id FROM submissions s"
                                        " JOIN check_results c ON c.submission = s.id WHERE s.source = ? AND c.seq = 0",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, source, -1, SQLITE_STATIC);
    ck_assert_msg(sqlite3_step(st) == SQLITE_ROW, "no row for %s", source);
    snprintf(status, cap, "%s", (const char *)sqlite3_column_text(st, 0));
    snprintf(detail, dcap, "%s [%s]", (const char *)sqlite3_column_text(st, 1),
             (const char *)sqlite3_column_text(st, 2));
    sqlite3_finalize(st);
    gradebook_close(g);
}

static void expect_status(const char *db, const char *source, const char *status, const char *detail_part)
{
    char st[32], detail[2048];
    status_of(db, source, st, sizeof st, detail, sizeof detail);
    ck_assert_msg(strcmp(st, status) == 0, "%s: status %s, expected %s (%s)", source, st, status, detail);
    ck_assert_msg(!detail_part || strstr(detail, detail_part), "%s: detail '%s' lacks '%s'", source, detail,
                  detail_part);
}

START_TEST(test_batch_faults_are_recorded)
{
    char *tmp = tu_tempdir(), in[4200], db[4200];
    snprintf(in, sizeof in, "%s/in", tmp);
    snprintf(db, sizeof db, "%s/gb.sqlite", tmp);
    ck_assert_int_eq(lab_mkdir_p(in), LAB_OK);
    static const char *const names[] = {"ok-a", "ok-b", "fault-crash", "fault-timeout", "fault-alloc", "fault-oomkill",
                                        "fault-abort", "fault-exit", "fault-garbage", "fault-flood", "fault-orphan"};
    size_t n = sizeof names / sizeof *names;
    for (size_t i = 0; i < n; i++) {
        char name[64], student[64];
        snprintf(name, sizeof name, "%s%s", names[i], i % 2 ? ".tar.gz" : "");
        snprintf(student, sizeof student, "s%zu", i);
        make_submission(in, name, student, "7", i % 2);
    }
    char notes[4300];
    snprintf(notes, sizeof notes, "%s/notes.txt", in);
    tu_write_file(notes, "hi", 2);
    setenv("LAB_TEST_GRADE_FAULT",
           "crash@fault-crash,timeout@fault-timeout,oom@fault-alloc,oomkill@fault-oomkill,abort@fault-abort,"
           "exit@fault-exit,garbage@fault-garbage,flood@fault-flood,orphan@fault-orphan",
           1);
    struct batch_opts o = batch_defaults(in, db);
    struct batch_summary s;
    double t0 = (double)time(NULL);
    int rc = batch_run(&o, &s);
    ck_assert_msg(rc == LAB_OK, "batch failed: %s", lab_err_message());
    ck_assert_uint_eq(s.total, n);
    ck_assert_uint_eq(s.done, n);
    ck_assert_uint_eq(s.n_ignored, 1);
    ck_assert_uint_eq(s.counts[GRADE_GRADED], 3); /* ok-a, ok-b, orphan */
    ck_assert_uint_eq(s.counts[GRADE_CRASH], 5);   /* crash abort exit garbage flood */
    ck_assert_uint_eq(s.counts[GRADE_TIMEOUT], 1);
    ck_assert_uint_eq(s.counts[GRADE_OOM], 2);
    ck_assert_msg((double)time(NULL) - t0 < 10, "the batch waited for the orphan or the timeout too long");
    batch_summary_free(&s);

    expect_status(db, "ok-a", "graded", NULL);
    expect_status(db, "fault-orphan", "graded", NULL);
    expect_status(db, "fault-crash", "crash", "SIGSEGV");
    expect_status(db, "fault-abort", "crash", "SIGABRT");
    expect_status(db, "fault-exit.tar.gz", "crash", "status 1");
    expect_status(db, "fault-garbage", "crash", "malformed");
    expect_status(db, "fault-flood.tar.gz", "crash", "MiB");
    expect_status(db, "fault-timeout.tar.gz", "timeout", "[sandbox.timeout]");
    expect_status(db, "fault-alloc", "oom", "--mem");
    expect_status(db, "fault-oomkill.tar.gz", "oom", "SIGKILL");

    gradebook *g;
    ck_assert_int_eq(gradebook_open(db, false, &g), LAB_OK);
    /* Nothing but graded rows has points; the crashed ones still know their student. */
    ck_assert_int_eq(count(g, "SELECT count(*) FROM submissions WHERE status != 'graded' AND final_score != 0"), 0);
    ck_assert_int_eq(count(g, "SELECT count(*) FROM submissions WHERE source = 'fault-crash' AND student = 's2'"), 1);
    ck_assert_int_eq(count(g, "SELECT count(*) FROM plots"), 3);
    ck_assert_int_eq(count(g, "SELECT count(*) FROM artifacts WHERE weights_sha256 IS NOT NULL"), 3);
    gradebook_close(g);

    /* Rerun: everything is known, nothing graded again. */
    unsetenv("LAB_TEST_GRADE_FAULT");
    ck_assert_int_eq(batch_run(&o, &s), LAB_OK);
    ck_assert_uint_eq(s.skipped, n);
    batch_summary_free(&s);
    /* --regrade: graded again, one row per submission still. */
    o.regrade = true;
    ck_assert_int_eq(batch_run(&o, &s), LAB_OK);
    ck_assert_uint_eq(s.counts[GRADE_GRADED], n);
    batch_summary_free(&s);
    ck_assert_int_eq(gradebook_open(db, false, &g), LAB_OK);
    ck_assert_int_eq(count(g, "SELECT count(*) FROM submissions"), (long long)n);
    ck_assert_int_eq(count(g, "SELECT count(DISTINCT source) FROM submissions"), (long long)n);
    gradebook_close(g);
    tu_rmtree(tmp);
    free(tmp);
}
END_TEST

START_TEST(test_batch_hostile_archives)
{
    char *tmp = tu_tempdir(), in[4200], db[4200], p[4400];
    snprintf(in, sizeof in, "%s/in", tmp);
    snprintf(db, sizeof db, "%s/gb.sqlite", tmp);
    ck_assert_int_eq(lab_mkdir_p(in), LAB_OK);
    make_submission(in, "good.tar.gz", "good", "9", 1);

    struct entry slip[] = {{"submission.json", AE_IFREG, "{\"student\":\"x\"}", 0},
                           {"../../escaped.txt", AE_IFREG, "gotcha", 0}};
    snprintf(p, sizeof p, "%s/zipslip.zip", in);
    write_archive(p, slip, 2, 1);
    struct entry abs[] = {{"/tmp/lab-batch-test-absolute.txt", AE_IFREG, "gotcha", 0}};
    snprintf(p, sizeof p, "%s/absolute.tar.gz", in);
    write_archive(p, abs, 1, 0);
    struct entry link[] = {{"models", AE_IFLNK, "/etc", 0}, {"submission.json", AE_IFREG, "{}", 0}};
    snprintf(p, sizeof p, "%s/symlink.tar.gz", in);
    write_archive(p, link, 2, 0);
    struct entry bomb[] = {{"submission.json", AE_IFREG, "{}", 0}, {"zeros.bin", AE_IFREG, NULL, 64u << 20}};
    snprintf(p, sizeof p, "%s/bomb.tar.gz", in);
    write_archive(p, bomb, 2, 0);
    struct entry *many = calloc(12000, sizeof *many);
    char (*names)[32] = calloc(12000, 32);
    for (int i = 0; i < 12000; i++) {
        snprintf(names[i], 32, "f%05d", i);
        many[i] = (struct entry){names[i], AE_IFREG, "x", 0};
    }
    snprintf(p, sizeof p, "%s/many-files.tar.gz", in);
    write_archive(p, many, 12000, 0);
    free(many), free(names);
    struct entry dup[] = {{"a.txt", AE_IFREG, "1", 0}, {"./a.txt", AE_IFREG, "2", 0}};
    snprintf(p, sizeof p, "%s/duplicate.zip", in);
    write_archive(p, dup, 2, 1);
    snprintf(p, sizeof p, "%s/not-an-archive.zip", in);
    tu_write_file(p, "PK but not really", 17);
    /* A folder submission with a link out. */
    make_submission(in, "linkdir", "linkdir", "9", 0);
    snprintf(p, sizeof p, "%s/linkdir/models/lenet5/predictions.safetensors", in);
    ck_assert_int_eq(symlink("/etc/passwd", p), 0);

    struct batch_opts o = batch_defaults(in, db);
    o.timeout_s = 60; /* unpacking 10,000 files before refusing takes a while on a busy machine */
    struct batch_summary s;
    ck_assert_int_eq(batch_run(&o, &s), LAB_OK);
    ck_assert_uint_eq(s.total, 9);
    ck_assert_uint_eq(s.counts[GRADE_GRADED], 1);
    ck_assert_uint_eq(s.counts[GRADE_NOT_GRADABLE], 8);
    batch_summary_free(&s);
    expect_status(db, "good.tar.gz", "graded", NULL);
    expect_status(db, "zipslip.zip", "not_gradable", "'..'");
    expect_status(db, "absolute.tar.gz", "not_gradable", "absolute path");
    expect_status(db, "symlink.tar.gz", "not_gradable", "symbolic link");
    expect_status(db, "bomb.tar.gz", "not_gradable", "compression ratio");
    expect_status(db, "many-files.tar.gz", "not_gradable", "too many entries");
    expect_status(db, "duplicate.zip", "not_gradable", "duplicate path");
    expect_status(db, "not-an-archive.zip", "not_gradable", "[integrity.archive]");
    expect_status(db, "linkdir", "not_gradable", "symbolic link");
    /* Each is 0 out of the rubric's whole max_score, never 0/0. */
    gradebook *g;
    ck_assert_int_eq(gradebook_open(db, false, &g), LAB_OK);
    ck_assert_double_gt(grade_max_score("2.2.1"), 20);
    ck_assert_int_eq(count(g, "SELECT count(*) FROM submissions WHERE status = 'not_gradable' AND max_score > 20"), 8);
    gradebook_close(g);
    /* Nothing escaped. */
    snprintf(p, sizeof p, "%s/escaped.txt", tmp);
    ck_assert(!lab_path_exists(p));
    snprintf(p, sizeof p, "%s/../escaped.txt", tmp);
    ck_assert(!lab_path_exists(p));
    ck_assert(!lab_path_exists("/tmp/lab-batch-test-absolute.txt"));
    tu_rmtree(tmp);
    free(tmp);
}
END_TEST

START_TEST(test_bulk_zip_input)
{
    char *tmp = tu_tempdir(), src[4200], db[4200], zip[4200], cmd[9000];
    snprintf(src, sizeof src, "%s/src", tmp);
    snprintf(db, sizeof db, "%s/gb.sqlite", tmp);
    snprintf(zip, sizeof zip, "%s/bulk.zip", tmp);
    ck_assert_int_eq(lab_mkdir_p(src), LAB_OK);
    make_submission(src, "doe_jane_101_9001_lab.tar.gz", "jane", "6", 1);
    make_submission(src, "roe_rick_LATE_102_9002_lab.tar.gz", "", "6", 1);
    char moodle[4300];
    snprintf(moodle, sizeof moodle, "%s/Ann Poe_555_assignsubmission_file_", src);
    ck_assert_int_eq(lab_mkdir_p(moodle), LAB_OK);
    make_submission(moodle, "ann.tar.gz", "ann", "5", 1);
    snprintf(cmd, sizeof cmd, "cd '%s' && zip -qr '%s' . ", src, zip);
    if (tu_run(cmd, NULL) != 0) {
        tu_rmtree(tmp);
        free(tmp);
        return; /* no zip(1): the e2e test covers bulk zips */
    }
    struct batch_opts o = batch_defaults(zip, db);
    o.has_due = true;
    o.due = time(NULL) + 3600;
    o.late_pct_per_day = 10;
    struct batch_summary s;
    ck_assert_msg(batch_run(&o, &s) == LAB_OK, "%s", lab_err_message());
    ck_assert_uint_eq(s.total, 3);
    ck_assert_uint_eq(s.counts[GRADE_GRADED], 3);
    batch_summary_free(&s);
    gradebook *g;
    ck_assert_int_eq(gradebook_open(db, false, &g), LAB_OK);
    ck_assert_int_eq(count(g, "SELECT count(*) FROM submissions WHERE student = 'jane' AND lms_user = '101'"
                              " AND late_days = 0"),
                     1);
    /* No id in submission.json: the Canvas id; Canvas says late: a day's penalty. */
    ck_assert_int_eq(count(g, "SELECT count(*) FROM submissions WHERE student = 'canvas:102' AND late_days = 1"
                              " AND late_penalty = 10 AND abs(final_score - 5.4) < 1e-9"),
                     1);
    ck_assert_int_eq(count(g, "SELECT count(*) FROM submissions WHERE student = 'ann' AND lms = 'moodle'"
                              " AND source = 'Ann Poe_555_assignsubmission_file_/ann.tar.gz'"),
                     1);
    gradebook_close(g);
    tu_rmtree(tmp);
    free(tmp);
}
END_TEST


/* ---- lab grades: export, feedback, duplicates ---- */

static char *read_all(const char *path)
{
    char *text = NULL;
    ck_assert_msg(lab_read_file(path, 64u << 20, &text, NULL) == LAB_OK, "%s", lab_err_message());
    return text;
}

START_TEST(test_grades_outputs)
{
    char *tmp = tu_tempdir(), in[4200], db[4200], p[4400], cmd[9000];
    snprintf(in, sizeof in, "%s/in", tmp);
    snprintf(db, sizeof db, "%s/gb.sqlite", tmp);
    ck_assert_int_eq(lab_mkdir_p(in), LAB_OK);
    make_submission(in, "alice.tar.gz", "alice", "8", 1);
    make_submission(in, "bob", "=cmd|' /C calc'!A0", "6", 0); /* a formula for an id */
    make_submission(in, "carol", "<carol & \"co\">", "4", 0);
    make_submission(in, "nobody.tar.gz", "", "5", 1);
    struct batch_opts o = batch_defaults(in, db);
    struct batch_summary s;
    ck_assert_int_eq(batch_run(&o, &s), LAB_OK);
    ck_assert_uint_eq(s.id_issues, 1);
    batch_summary_free(&s);

    gradebook *g;
    ck_assert_int_eq(gradebook_open(db, false, &g), LAB_OK);
    snprintf(p, sizeof p, "%s/export.csv", tmp);
    FILE *f = fopen(p, "w");
    ck_assert_int_eq(grades_export(g, "2.2.1", GRADES_CSV, f, NULL), LAB_OK);
    fclose(f);
    char *csv = read_all(p);
    ck_assert_ptr_nonnull(strstr(csv, "student,lab,score,max_score,status,late_penalty,graded_at,grader_version"));
    ck_assert_ptr_nonnull(strstr(csv, "\r\nalice,2.2.1,8,10,graded,0,"));
    ck_assert_ptr_nonnull(strstr(csv, "\"'=cmd|' /C calc'!A0\""));
    ck_assert_ptr_nonnull(strstr(csv, "\"<carol & \"\"co\"\">\""));
    ck_assert_ptr_null(strstr(csv, "nobody"));
    free(csv);
    /* The CSV is what Python's csv module reads back. */
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import csv,sys; r=list(csv.DictReader(open(sys.argv[1], newline=''))); "
             "assert len(r)==3, r; assert {x['student'] for x in r}=={'alice', \\\"'=cmd|' /C calc'!A0\\\", "
             "'<carol & \\\"co\\\">'}, r\" '%s'",
             p);
    ck_assert_int_eq(tu_run(cmd, NULL), 0);

    snprintf(p, sizeof p, "%s/export.json", tmp);
    f = fopen(p, "w");
    ck_assert_int_eq(grades_export(g, NULL, GRADES_JSON, f, NULL), LAB_OK);
    fclose(f);
    json_t *j = json_load_file(p, 0, NULL);
    ck_assert_uint_eq(json_array_size(j), 3);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(j, 0), "status")), "graded");
    json_decref(j);

    char out[4300];
    snprintf(out, sizeof out, "%s/feedback", tmp);
    size_t pages = 0;
    ck_assert_int_eq(grades_feedback(g, NULL, out, NULL, &pages), LAB_OK);
    ck_assert_uint_eq(pages, 3);
    snprintf(p, sizeof p, "%s/alice.html", out);
    char *page = read_all(p);
    ck_assert_ptr_nonnull(strstr(page, "Normalization constants")); /* the KB entry of the failed check */
    ck_assert_ptr_nonnull(strstr(page, "data:image/png;base64,"));
    free(page);
    snprintf(p, sizeof p, "%s/index.html", out);
    page = read_all(p);
    ck_assert_ptr_nonnull(strstr(page, "&lt;carol &amp; &quot;co&quot;&gt;"));
    ck_assert_ptr_null(strstr(page, "<carol"));
    ck_assert_ptr_nonnull(strstr(page, "nobody.tar.gz"));
    free(page);
    /* Every page is well-formed XML (and so balanced HTML). */
    snprintf(cmd, sizeof cmd,
             "cd '%s' && ls *.html | wc -l | grep -qx 4 && for f in *.html; do /usr/bin/python3 -c "
             "\"import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])\" \"$f\" || exit 1; done",
             out);
    ck_assert_int_eq(tu_run(cmd, NULL), 0);

    /* All four hold the same weights file: one group of byte-identical models. */
    snprintf(p, sizeof p, "%s/dups.txt", tmp);
    f = fopen(p, "w");
    size_t groups = 0;
    ck_assert_int_eq(grades_duplicates(g, NULL, false, f, &groups), LAB_OK);
    fclose(f);
    ck_assert_uint_eq(groups, 1);
    char *dups = read_all(p);
    ck_assert_ptr_nonnull(strstr(dups, "byte-identical model.safetensors"));
    ck_assert_ptr_nonnull(strstr(dups, "alice"));
    free(dups);
    gradebook_close(g);

    char page_name[128];
    grades_page_name("alice", page_name, sizeof page_name);
    ck_assert_str_eq(page_name, "alice.html");
    grades_page_name("../x", page_name, sizeof page_name);
    ck_assert_ptr_null(strchr(page_name, '/'));
    grades_page_name("index", page_name, sizeof page_name);
    ck_assert_str_ne(page_name, "index.html");
    tu_rmtree(tmp);
    free(tmp);
}
END_TEST

/* An upload whose file name is not UTF-8 (Latin-1 from an LMS) is in every
 * export and its pages are well-formed: escaped, never dropped. */
START_TEST(test_names_not_utf8_are_kept)
{
    char *tmp = tu_tempdir(), in[4200], db[4200], p[4400], cmd[9000];
    snprintf(in, sizeof in, "%s/in", tmp);
    snprintf(db, sizeof db, "%s/gb.sqlite", tmp);
    ck_assert_int_eq(lab_mkdir_p(in), LAB_OK);
    make_submission(in, "dora-caf\xe9.tar.gz", "dora", "7", 1);
    make_submission(in, "erin.tar.gz", "erin", "6", 1);
    struct batch_opts o = batch_defaults(in, db);
    struct batch_summary s;
    ck_assert_int_eq(batch_run(&o, &s), LAB_OK);
    batch_summary_free(&s);
    gradebook *g;
    ck_assert_int_eq(gradebook_open(db, false, &g), LAB_OK);
    snprintf(p, sizeof p, "%s/export.json", tmp);
    FILE *f = fopen(p, "w");
    ck_assert_int_eq(grades_export(g, NULL, GRADES_JSON, f, NULL), LAB_OK);
    fclose(f);
    json_t *j = json_load_file(p, 0, NULL);
    ck_assert_uint_eq(json_array_size(j), 2);
    char *text = read_all(p);
    ck_assert_msg(strstr(text, "dora-caf\\\\xe9.tar.gz"), "%s", text);
    free(text);
    json_decref(j);
    snprintf(p, sizeof p, "%s/export.csv", tmp);
    f = fopen(p, "w");
    ck_assert_int_eq(grades_export(g, NULL, GRADES_CSV, f, NULL), LAB_OK);
    fclose(f);
    text = read_all(p);
    ck_assert_msg(strstr(text, "dora-caf\\xe9.tar.gz"), "%s", text);
    free(text);
    char out[4300];
    snprintf(out, sizeof out, "%s/feedback", tmp);
    size_t pages = 0;
    ck_assert_int_eq(grades_feedback(g, NULL, out, NULL, &pages), LAB_OK);
    ck_assert_uint_eq(pages, 2);
    snprintf(cmd, sizeof cmd,
             "cd '%s' && for f in *.html; do /usr/bin/python3 -c "
             "\"import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])\" \"$f\" || exit 1; done",
             out);
    ck_assert_int_eq(tu_run(cmd, NULL), 0);
    gradebook_close(g);
    tu_rmtree(tmp);
    free(tmp);
}
END_TEST

/* A rerun skips what is recorded, and still lists every open problem; the
 * export keeps both rows of an id conflict, flagged. */
START_TEST(test_rerun_lists_open_problems)
{
    char *tmp = tu_tempdir(), in[4200], db[4200], p[4400];
    snprintf(in, sizeof in, "%s/in", tmp);
    snprintf(db, sizeof db, "%s/gb.sqlite", tmp);
    ck_assert_int_eq(lab_mkdir_p(in), LAB_OK);
    make_submission(in, "alice.tar.gz", "alice", "8", 1);
    make_submission(in, "alice-again.tar.gz", "alice", "9", 1);
    make_submission(in, "bob.tar.gz", "bob", "7", 1);
    snprintf(p, sizeof p, "%s/junk.zip", in);
    tu_write_file(p, "PK but not really", 17);
    struct batch_opts o = batch_defaults(in, db);
    for (int run = 0; run < 2; run++) {
        struct batch_summary s;
        ck_assert_int_eq(batch_run(&o, &s), LAB_OK);
        ck_assert_uint_eq(s.skipped, run ? 4 : 0);
        size_t not_gradable = 0, ids = 0;
        for (size_t i = 0; i < s.n_problems; i++) {
            not_gradable += !strcmp(s.problems[i].status, "not_gradable") && !strcmp(s.problems[i].source, "junk.zip");
            ids += !strcmp(s.problems[i].status, "id");
        }
        ck_assert_msg(not_gradable == 1, "run %d lists junk.zip %zu times", run, not_gradable);
        ck_assert_msg(ids >= 1 && s.id_issues >= 1, "run %d lists %zu id problems", run, ids);
        ck_assert_uint_eq(s.counts[GRADE_NOT_GRADABLE] + s.still_not_graded, 1);
        batch_summary_free(&s);
    }
    gradebook *g;
    ck_assert_int_eq(gradebook_open(db, false, &g), LAB_OK);
    snprintf(p, sizeof p, "%s/export.csv", tmp);
    FILE *f = fopen(p, "w"), *warn = tmpfile();
    ck_assert_int_eq(grades_export(g, NULL, GRADES_CSV, f, warn), LAB_OK);
    fclose(f);
    char *csv = read_all(p);
    ck_assert_msg(strstr(csv, "\r\nalice,") && strstr(csv, ",alice.tar.gz,") && strstr(csv, ",alice-again.tar.gz,"),
                  "both of alice's rows are not in: %s", csv);
    ck_assert_ptr_nonnull(strstr(csv, ",bob.tar.gz,\r\n")); /* no id issue: the column is empty */
    free(csv);
    char warned[4096] = "";
    rewind(warn);
    size_t got = fread(warned, 1, sizeof warned - 1, warn);
    warned[got] = 0;
    fclose(warn);
    ck_assert_msg(strstr(warned, "alice.tar.gz") && strstr(warned, "alice-again.tar.gz"), "%s", warned);
    gradebook_close(g);
    tu_rmtree(tmp);
    free(tmp);
}
END_TEST

/* Records a report; `model_sha` (or NULL) is its lenet5 model.safetensors. */
static void record_report(gradebook *g, const char *source, const char *model_sha, struct grade_report *r)
{
    struct gb_outcome oc;
    char sha[65];
    ds_hash_buffer(source, strlen(source), "sha256", sha, sizeof sha);
    struct gb_artifact a = {"model", "lenet5", model_sha, model_sha};
    struct gb_submission s = {.lab = "2.2.1", .input = "/home/prof/course/in", .source = source, .sha256 = sha,
                              .received = "2026-11-22T10:00:00Z", .graded = "2026-11-23T10:00:00Z",
                              .grader_version = "test", .report = r, .artifacts = model_sha ? &a : NULL,
                              .n_artifacts = model_sha ? 1 : 0};
    ck_assert_int_eq(gradebook_record(g, &s, &oc), LAB_OK);
    grade_report_free(r);
}

/* `lab run --student` gives each student a seed of their own: identical
 * files under one student's own seed mean the others did not train theirs. */
START_TEST(test_duplicates_borrowed_seed)
{
    char *tmp = tu_tempdir(), db[4200], p[4400];
    snprintf(db, sizeof db, "%s/gb.sqlite", tmp);
    gradebook *g;
    ck_assert_int_eq(gradebook_open(db, true, &g), LAB_OK);
    const char *sha = "5555555555555555555555555555555555555555555555555555555555555555";
    ck_assert(pack_student_seed("erin") != pack_student_seed("frank"));
    ck_assert(pack_student_seed("erin") == pack_student_seed("erin") && pack_student_seed("erin") > 0);
    const char *who[] = {"erin", "frank"};
    for (size_t i = 0; i < 2; i++) {
        struct grade_report *r = report(who[i], GRADE_GRADED, 8);
        r->fingerprint = json_pack("{s:s, s:I}", "device", "cpu", "seed", (json_int_t)pack_student_seed("erin"));
        char source[64];
        snprintf(source, sizeof source, "%s.tar.gz", who[i]);
        record_report(g, source, sha, r);
    }
    snprintf(p, sizeof p, "%s/dups.json", tmp);
    FILE *f = fopen(p, "w");
    size_t groups = 0;
    ck_assert_int_eq(grades_duplicates(g, NULL, true, f, &groups), LAB_OK);
    fclose(f);
    ck_assert_uint_eq(groups, 1);
    json_t *j = json_load_file(p, 0, NULL);
    json_t *grp = json_array_get(json_object_get(j, "groups"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(grp, "seeds")), "borrowed");
    ck_assert(json_is_true(json_object_get(grp, "look")));
    json_t *members = json_object_get(grp, "members");
    for (size_t i = 0; i < 2; i++) {
        json_t *m = json_array_get(members, i);
        int erin = !strcmp(json_string_value(json_object_get(m, "student")), "erin");
        ck_assert(json_is_true(json_object_get(m, "own_seed")) == erin);
    }
    json_decref(j);
    gradebook_close(g);
    tu_rmtree(tmp);
    free(tmp);
}
END_TEST

/* Students who kept the default seed get identical files from honest work;
 * identical files under different seeds are what to look at. */
START_TEST(test_duplicates_read_seeds)
{
    char *tmp = tu_tempdir(), db[4200], p[4400];
    snprintf(db, sizeof db, "%s/gb.sqlite", tmp);
    gradebook *g;
    ck_assert_int_eq(gradebook_open(db, true, &g), LAB_OK);
    const char *honest = "3333333333333333333333333333333333333333333333333333333333333333";
    const char *copied = "4444444444444444444444444444444444444444444444444444444444444444";
    const struct {
        const char *student, *sha;
        int seed;
    } who[] = {{"alice", honest, 42}, {"bob", honest, 42}, {"carol", copied, 7}, {"dan", copied, 1234}};
    for (size_t i = 0; i < 4; i++) {
        struct grade_report *r = report(who[i].student, GRADE_GRADED, 8);
        r->fingerprint = json_pack("{s:s, s:i}", "device", "cpu", "seed", who[i].seed);
        char source[64];
        snprintf(source, sizeof source, "%s.tar.gz", who[i].student);
        record_report(g, source, who[i].sha, r);
    }
    snprintf(p, sizeof p, "%s/dups.json", tmp);
    FILE *f = fopen(p, "w");
    size_t groups = 0;
    ck_assert_int_eq(grades_duplicates(g, NULL, true, f, &groups), LAB_OK);
    fclose(f);
    ck_assert_uint_eq(groups, 2);
    json_t *j = json_load_file(p, 0, NULL);
    json_t *gs = json_object_get(j, "groups");
    ck_assert_uint_eq(json_array_size(gs), 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *grp = json_array_get(gs, i);
        const char *first = json_string_value(json_object_get(json_array_get(json_object_get(grp, "members"), 0),
                                                              "student"));
        int same = !strcmp(first, "alice");
        ck_assert_str_eq(json_string_value(json_object_get(grp, "seeds")), same ? "same" : "different");
        ck_assert(json_is_true(json_object_get(grp, "look")) == !same);
    }
    json_decref(j);
    snprintf(p, sizeof p, "%s/dups.txt", tmp);
    f = fopen(p, "w");
    ck_assert_int_eq(grades_duplicates(g, NULL, false, f, &groups), LAB_OK);
    fclose(f);
    char *text = read_all(p);
    ck_assert_msg(strstr(text, "1 under one seed (expected of deterministic training), 1 under different seeds"),
                  "%s", text);
    ck_assert_ptr_nonnull(strstr(text, "different seeds, identical results"));
    free(text);
    gradebook_close(g);
    tu_rmtree(tmp);
    free(tmp);
}
END_TEST

/* Feedback pages: a skipped check is no green tick, instructor paths stay
 * off students' pages, the class mean says it counts the not graded, and a
 * check is counted where it ran. */
START_TEST(test_feedback_says_what_ran)
{
    char *tmp = tu_tempdir(), db[4200], out[4300], p[4400];
    snprintf(db, sizeof db, "%s/gb.sqlite", tmp);
    gradebook *g;
    ck_assert_int_eq(gradebook_open(db, true, &g), LAB_OK);
    struct grade_report *r = report("alice", GRADE_GRADED, 5);
    r->checks = realloc(r->checks, 4 * sizeof *r->checks);
    r->n_checks = 4;
    free(r->checks[1].message);
    r->checks[1].message = strdup("constants differ; see /home/prof/course/in/alice.tar.gz");
    r->checks[2] = (struct check_result){strdup("reeval.logits"), strdup("reeval"), CHECK_SKIPPED, 0, 0,
                                         strdup("not asked for (lab grade --reeval)"), NULL};
    r->checks[3] = (struct check_result){strdup("honesty.accuracy"), strdup("honesty"), CHECK_SKIPPED, 0, 3,
                                         strdup("skipped: the logits are not [N, 10]"), NULL};
    record_report(g, "alice.tar.gz", NULL, r);
    r = report("bob", GRADE_NOT_GRADABLE, 0);
    r->status_detail = strdup("cannot read /home/prof/course/in/bob.tar.gz: damaged");
    record_report(g, "bob.tar.gz", NULL, r);
    snprintf(out, sizeof out, "%s/feedback", tmp);
    size_t pages = 0;
    ck_assert_int_eq(grades_feedback(g, NULL, out, NULL, &pages), LAB_OK);
    ck_assert_uint_eq(pages, 2);
    snprintf(p, sizeof p, "%s/alice.html", out);
    char *page = read_all(p);
    size_t ticks = 0;
    for (const char *q = page; (q = strstr(q, "&#10003;")); q++)
        ticks++;
    ck_assert_msg(ticks == 1, "%zu green ticks, one check passed", ticks);
    ck_assert_ptr_nonnull(strstr(page, "not counted"));
    ck_assert_ptr_nonnull(strstr(page, "0 / 3"));
    ck_assert_ptr_null(strstr(page, "/home/prof"));
    ck_assert_ptr_nonnull(strstr(page, "alice.tar.gz"));
    free(page);
    snprintf(p, sizeof p, "%s/bob.html", out);
    page = read_all(p);
    ck_assert_ptr_null(strstr(page, "/home/prof"));
    ck_assert_ptr_nonnull(strstr(page, "bob.tar.gz: damaged"));
    free(page);
    snprintf(p, sizeof p, "%s/index.html", out);
    page = read_all(p);
    ck_assert_msg(strstr(page, "counting the 1 not graded at their 0"), "%s", page);
    ck_assert_ptr_nonnull(strstr(page, "<code>reeval.logits</code></td><td>0</td><td>0</td>"));
    ck_assert_ptr_nonnull(strstr(page, "<code>norm.config</code></td><td>2</td><td>2</td>"));
    free(page);
    gradebook_close(g);
    tu_rmtree(tmp);
    free(tmp);
}
END_TEST

START_TEST(test_troubleshooting_ids_exist)
{
    ck_assert_int_eq(kb_load(), LAB_OK);
    static const char *const ids[] = {"TS-GRADE-SANDBOX", "TS-SUBMISSION-ARCHIVE", "TS-STUDENT-ID", "TS-GRADEBOOK"};
    for (size_t i = 0; i < sizeof ids / sizeof *ids; i++)
        ck_assert_msg(kb_find(ids[i]), "%s is referenced by the batch grader but has no entry", ids[i]);
    /* The checks the batch reports itself are listed by their entries. */
    static const char *const pairs[][2] = {{"integrity.archive", "TS-SUBMISSION-ARCHIVE"},
                                           {"sandbox.crash", "TS-GRADE-SANDBOX"},
                                           {"sandbox.timeout", "TS-GRADE-SANDBOX"},
                                           {"sandbox.oom", "TS-GRADE-SANDBOX"}};
    for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++) {
        const struct kb_entry *e = kb_find(pairs[i][1]);
        int listed = 0;
        for (size_t c = 0; c < e->n_checks; c++)
            listed |= strcmp(e->checks[c], pairs[i][0]) == 0;
        ck_assert_msg(listed, "%s does not list check %s", pairs[i][1], pairs[i][0]);
    }
    kb_free();
}
END_TEST

Suite *suite_batch(void)
{
    Suite *s = suite_create("batch");
    TCase *tc = tcase_create("units");
    tcase_add_test(tc, test_lms_names);
    tcase_add_test(tc, test_lms_names_fuzz_replay);
    tcase_add_test(tc, test_due_and_penalty);
    tcase_add_test(tc, test_gradebook_keys_and_ids);
    tcase_add_test(tc, test_troubleshooting_ids_exist);
    suite_add_tcase(s, tc);
    TCase *tb = tcase_create("batches");
    tcase_set_timeout(tb, 120);
    tcase_add_test(tb, test_batch_faults_are_recorded);
    tcase_add_test(tb, test_batch_hostile_archives);
    tcase_add_test(tb, test_bulk_zip_input);
    tcase_add_test(tb, test_grades_outputs);
    tcase_add_test(tb, test_names_not_utf8_are_kept);
    tcase_add_test(tb, test_rerun_lists_open_problems);
    tcase_add_test(tb, test_feedback_says_what_ran);
    tcase_add_test(tb, test_duplicates_read_seeds);
    tcase_add_test(tb, test_duplicates_borrowed_seed);
    suite_add_tcase(s, tb);
    return s;
}
