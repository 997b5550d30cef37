/* The doctor's core: the crash guard and timeouts of the runner, the report
 * (JSON schema, summary, exit semantics), the store, the shared parsers, and
 * the rule that every KB id a check can report has a troubleshooting entry. */
#include "base/fsutil.h"
#include "doctor/doctor.h"
#include "doctor/report.h"
#include "store/store.h"
#include "tests/unit/testutil.h"

#include <check.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void ok_check(const struct doctor_ctx *ctx, struct doctor_result *r)
{
    (void)ctx;
    doctor_set(r, DOCTOR_PASS, NULL, NULL, "fine");
}

static void segv_check(const struct doctor_ctx *ctx, struct doctor_result *r)
{
    (void)ctx;
    (void)r;
    raise(SIGSEGV);
}

static void abort_check(const struct doctor_ctx *ctx, struct doctor_result *r)
{
    (void)ctx;
    (void)r;
    abort();
}

static void hang_check(const struct doctor_ctx *ctx, struct doctor_result *r)
{
    (void)ctx;
    (void)r;
    for (;;)
        pause();
}

static void exit_check(const struct doctor_ctx *ctx, struct doctor_result *r)
{
    (void)ctx;
    (void)r;
    _exit(3);
}

START_TEST(test_runner_guards_crashes_and_hangs)
{
    const struct doctor_check checks[] = {
        {"t.ok", "t", "", ok_check, 0, ""},         {"t.segv", "t", "", segv_check, 0, ""},
        {"t.hang", "t", "", hang_check, 300, ""},   {"t.abort", "t", "", abort_check, 0, ""},
        {"t.exit", "t", "", exit_check, 0, ""},     {"t.ok2", "t", "", ok_check, 0, ""},
    };
    const struct doctor_check *ptrs[6];
    for (int i = 0; i < 6; i++)
        ptrs[i] = &checks[i];
    struct doctor_ctx ctx;
    doctor_ctx_init(&ctx, 0);
    struct doctor_result res[6];
    unsetenv("LAB_DOCTOR_TIMEOUT_MS");
    doctor_run(&ctx, ptrs, 6, res);
    ck_assert_int_eq(res[0].status, DOCTOR_PASS);
    ck_assert_str_eq(res[0].message, "fine");
    ck_assert_int_eq(res[1].status, DOCTOR_CRASH);
    ck_assert_ptr_nonnull(strstr(res[1].message, "signal 11"));
    ck_assert_str_eq(res[1].kb, "TS-DOCTOR-CRASH");
    ck_assert_int_eq(res[2].status, DOCTOR_FAIL);
    ck_assert_ptr_nonnull(strstr(res[2].message, "t.hang timed out after"));
    ck_assert_msg(res[2].duration_ms >= 290 && res[2].duration_ms < 2000, "%f", res[2].duration_ms);
    ck_assert_int_eq(res[3].status, DOCTOR_CRASH);
    ck_assert_ptr_nonnull(strstr(res[3].message, "signal 6"));
    ck_assert_int_eq(res[4].status, DOCTOR_CRASH);
    ck_assert_ptr_nonnull(strstr(res[4].message, "without a result"));
    ck_assert_int_eq(res[5].status, DOCTOR_PASS);
}
END_TEST

/* Every registered check, made to crash and to hang through the test hooks. */
START_TEST(test_every_check_crash_and_timeout)
{
    size_t n;
    const struct doctor_check *all = doctor_checks(&n);
    struct doctor_ctx ctx;
    doctor_ctx_init(&ctx, 0);
    for (size_t i = 0; i < n; i++) {
        const struct doctor_check *one = &all[i];
        struct doctor_result r;
        /* The crash under each check's own limit (a loaded machine or a
         * sanitizer build forks slowly); the hang under a short one. */
        unsetenv("LAB_DOCTOR_TIMEOUT_MS");
        setenv("LAB_DOCTOR_TEST_CRASH", one->id, 1);
        doctor_run(&ctx, &one, 1, &r);
        ck_assert_msg(r.status == DOCTOR_CRASH, "%s: %s", one->id, r.message);
        ck_assert_ptr_nonnull(strstr(r.message, "crashed (signal 11"));
        unsetenv("LAB_DOCTOR_TEST_CRASH");
        setenv("LAB_DOCTOR_TIMEOUT_MS", "150", 1);
        setenv("LAB_DOCTOR_TEST_HANG", one->id, 1);
        doctor_run(&ctx, &one, 1, &r);
        ck_assert_msg(r.status == DOCTOR_FAIL && strstr(r.message, "timed out"), "%s: %s", one->id, r.message);
        unsetenv("LAB_DOCTOR_TEST_HANG");
    }
    unsetenv("LAB_DOCTOR_TIMEOUT_MS");
}
END_TEST

/* A driver library that crashes inside nvmlInit: a crash result, and the
 * other checks of the same run still report. */
START_TEST(test_crashing_nvml_is_contained)
{
    char *dir = tu_tempdir(), lib[4200], cmd[9000];
    snprintf(lib, sizeof lib, "%s/libnvidia-ml.so.1", dir);
    snprintf(cmd, sizeof cmd, "cc -shared -fPIC -o '%s' '%s/tests/fixtures/doctor/fake_nvml.c'", lib, tu_src_dir());
    ck_assert_int_eq(tu_run(cmd, NULL), 0);
    setenv("LAB_DOCTOR_NVML", lib, 1);
    setenv("FAKE_NVML_CRASH", "1", 1);
    const struct doctor_check *two[] = {doctor_check_find("gpu.driver"), doctor_check_find("env.profiler")};
    struct doctor_ctx ctx;
    doctor_ctx_init(&ctx, 0);
    struct doctor_result r[2];
    doctor_run(&ctx, two, 2, r);
    ck_assert_int_eq(r[0].status, DOCTOR_CRASH);
    ck_assert_ptr_nonnull(strstr(r[0].message, "gpu.driver crashed (signal 11"));
    ck_assert_int_ne(r[1].status, DOCTOR_CRASH);
    unsetenv("FAKE_NVML_CRASH");
    unsetenv("LAB_DOCTOR_NVML");
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_registry)
{
    size_t n;
    const struct doctor_check *all = doctor_checks(&n);
    ck_assert_uint_ge(n, 25);
    for (size_t i = 0; i < n; i++) {
        ck_assert_ptr_eq(doctor_check_find(all[i].id), &all[i]);
        /* ids are "<category>.<name>" */
        ck_assert_int_eq(strncmp(all[i].id, all[i].category, strlen(all[i].category)), 0);
        ck_assert_int_eq(all[i].id[strlen(all[i].category)], '.');
        for (size_t j = 0; j < i; j++)
            ck_assert_str_ne(all[i].id, all[j].id);
    }
    ck_assert_ptr_null(doctor_check_find("gpu.nonesuch"));
}
END_TEST

/* Each KB id a check declares (and the runner's TS-DOCTOR-CRASH) has an
 * entry whose front matter names it and the check. */
START_TEST(test_kb_entries_exist)
{
    size_t n;
    const struct doctor_check *all = doctor_checks(&n);
    char ids[4096];
    snprintf(ids, sizeof ids, "TS-DOCTOR-CRASH");
    for (size_t i = 0; i < n; i++) {
        char kbs[256];
        snprintf(kbs, sizeof kbs, "%s", all[i].kbs);
        char *save = NULL;
        for (char *kb = strtok_r(kbs, " ", &save); kb; kb = strtok_r(NULL, " ", &save)) {
            char path[4400], *text;
            size_t len;
            snprintf(path, sizeof path, "%s/docs/troubleshooting/%s.md", tu_src_dir(), kb);
            ck_assert_msg(lab_read_file(path, 1 << 20, &text, &len) == 0, "%s (of %s) has no %s", kb, all[i].id,
                          path);
            char want[128];
            snprintf(want, sizeof want, "\nid: %s\n", kb);
            ck_assert_msg(strncmp(text, "---\n", 4) == 0 && strstr(text, want), "%s: bad front matter", path);
            ck_assert_msg(strstr(text, all[i].id) != NULL, "%s does not list doctor check %s", path, all[i].id);
            /* Each pattern is a POSIX extended regular expression. */
            int patterns = 0;
            for (const char *p = strstr(text, "\npatterns:\n"); p && (p = strstr(p, "\n  - '")) && p < strstr(text, "\nchecks:");) {
                p += 6;
                const char *end = strstr(p, "'\n");
                ck_assert_ptr_nonnull(end);
                char re[512];
                snprintf(re, sizeof re, "%.*s", (int)(end - p), p);
                regex_t rx;
                ck_assert_msg(regcomp(&rx, re, REG_EXTENDED | REG_NOSUB) == 0, "%s: bad pattern %s", path, re);
                regfree(&rx);
                patterns++;
            }
            ck_assert_msg(patterns > 0, "%s has no patterns", path);
            ck_assert_msg(strstr(text, "## Symptoms") && strstr(text, "## Causes") && strstr(text, "## Fixes"),
                          "%s lacks a section", path);
            free(text);
        }
    }
    char path[4400], *text;
    size_t len;
    snprintf(path, sizeof path, "%s/docs/troubleshooting/TS-DOCTOR-CRASH.md", tu_src_dir());
    ck_assert_int_eq(lab_read_file(path, 1 << 20, &text, &len), 0);
    free(text);
}
END_TEST

START_TEST(test_report_json_and_summary)
{
    const struct doctor_check checks[] = {
        {"a.one", "a", "", ok_check, 0, ""}, {"a.two", "a", "", ok_check, 0, ""}, {"b.three", "b", "", ok_check, 0, ""}};
    const struct doctor_check *ptrs[] = {&checks[0], &checks[1], &checks[2]};
    struct doctor_result r[3];
    memset(r, 0, sizeof r);
    doctor_set(&r[0], DOCTOR_PASS, NULL, NULL, "good");
    doctor_set(&r[1], DOCTOR_WARN, "TS-X", "do y", "meh \"quoted\"");
    doctor_set(&r[2], DOCTOR_SKIP, NULL, NULL, "n/a");
    r[1].duration_ms = 1.234;
    json_t *j = doctor_report_json(ptrs, r, 3, 0);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "schema_version")), DOCTOR_SCHEMA_VERSION);
    ck_assert(json_is_true(json_object_get(j, "ok")));
    ck_assert_str_eq(json_string_value(json_object_get(j, "summary")),
                     "1 passed, 1 warning, 0 failed, 0 crashed, 1 skipped");
    json_t *c = json_array_get(json_object_get(j, "checks"), 1);
    ck_assert_str_eq(json_string_value(json_object_get(c, "id")), "a.two");
    ck_assert_str_eq(json_string_value(json_object_get(c, "status")), "warn");
    ck_assert_str_eq(json_string_value(json_object_get(c, "message")), "meh \"quoted\"");
    ck_assert_str_eq(json_string_value(json_object_get(c, "remediation")), "do y");
    ck_assert_str_eq(json_string_value(json_object_get(c, "kb")), "TS-X");
    ck_assert(json_is_number(json_object_get(c, "duration_ms")));
    json_decref(j);
    /* --strict: the warning fails the run. */
    j = doctor_report_json(ptrs, r, 3, 1);
    ck_assert(json_is_false(json_object_get(j, "ok")));
    json_decref(j);

    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    doctor_report_print(f, ptrs, r, 3, 0, 1, 0, 12.0);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(buf, "[warn]  a.two"));
    ck_assert_ptr_nonnull(strstr(buf, "fix: do y"));
    ck_assert_ptr_nonnull(strstr(buf, "kb:  TS-X"));
    ck_assert_ptr_nonnull(strstr(buf, "[skip]  b.three"));
    ck_assert_ptr_nonnull(strstr(buf, "\nok: 1 passed, 1 warning"));
    free(buf);
    f = open_memstream(&buf, &len);
    doctor_report_print(f, ptrs, r, 3, 0, 0, 0, 12.0);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(buf, "✓ a.one"));
    ck_assert_ptr_nonnull(strstr(buf, "! a.two"));
    free(buf);
}
END_TEST

START_TEST(test_report_store)
{
    char *dir = tu_tempdir(), path[4200];
    snprintf(path, sizeof path, "%s/lab.db", dir);
    lab_store *s;
    ck_assert_int_eq(lab_store_open(path, &s), 0);
    int found = 1, ok = 0;
    char created[32], summary[160];
    ck_assert_int_eq(doctor_report_last(s, created, sizeof created, summary, sizeof summary, &ok, &found), 0);
    ck_assert_int_eq(found, 0);
    for (int i = 0; i < 25; i++) {
        json_t *rep = json_pack("{s:i, s:b, s:s, s:[]}", "schema_version", 1, "ok", i % 2, "summary",
                                i == 24 ? "last one" : "older", "checks");
        ck_assert_int_eq(doctor_report_store(s, rep), 0);
        json_decref(rep);
    }
    ck_assert_int_eq(doctor_report_last(s, created, sizeof created, summary, sizeof summary, &ok, &found), 0);
    ck_assert_int_eq(found, 1);
    ck_assert_str_eq(summary, "last one");
    ck_assert_int_eq(ok, 0);
    sqlite3_stmt *st;
    sqlite3_prepare_v2(lab_store_db(s), "SELECT count(*) FROM doctor_reports", -1, &st, NULL);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    ck_assert_int_eq(sqlite3_column_int(st, 0), 20);
    sqlite3_finalize(st);
    lab_store_close(s);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_parsers)
{
    char v[64];
    ck_assert(doctor_field("A: 1\nMemTotal:   123 kB\n", "MemTotal:", v, sizeof v));
    ck_assert_str_eq(v, "123 kB");
    ck_assert(doctor_field("NAME=x\nPRETTY_NAME=\"Deb 12\"\n", "PRETTY_NAME=", v, sizeof v));
    ck_assert_str_eq(v, "Deb 12");
    ck_assert(!doctor_field("A: 1\n", "B:", v, sizeof v));
    char opts[128], fs[32];
    const char *mi = "1 0 8:1 / / rw,relatime - ext4 /dev/sda rw\n"
                     "2 1 0:5 / /data rw,noexec - xfs /dev/sdb rw\n"
                     "3 1 0:6 / /data/x rw - tmpfs tmpfs rw\n";
    ck_assert_int_eq(doctor_mount_of(mi, "/data/y/z", opts, sizeof opts, fs, sizeof fs), 0);
    ck_assert_str_eq(opts, "rw,noexec");
    ck_assert_str_eq(fs, "xfs");
    ck_assert_int_eq(doctor_mount_of(mi, "/data/x", opts, sizeof opts, fs, sizeof fs), 0);
    ck_assert_str_eq(fs, "tmpfs");
    ck_assert_int_eq(doctor_mount_of(mi, "/database", opts, sizeof opts, fs, sizeof fs), 0);
    ck_assert_str_eq(fs, "ext4");
    char b[32];
    ck_assert_str_eq(doctor_bytes(64ull << 20, b, sizeof b), "64.0 MiB");
    ck_assert_str_eq(doctor_bytes(100, b, sizeof b), "100 B");
}
END_TEST

Suite *suite_doctor(void)
{
    Suite *s = suite_create("doctor");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_runner_guards_crashes_and_hangs);
    tcase_add_test(tc, test_every_check_crash_and_timeout);
    tcase_add_test(tc, test_crashing_nvml_is_contained);
    tcase_add_test(tc, test_registry);
    tcase_add_test(tc, test_kb_entries_exist);
    tcase_add_test(tc, test_report_json_and_summary);
    tcase_add_test(tc, test_report_store);
    tcase_add_test(tc, test_parsers);
    suite_add_tcase(s, tc);
    return s;
}
