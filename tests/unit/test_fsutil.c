#include "base/error.h"
#include "base/fsutil.h"
#include "base/jsonio.h"
#include "base/paths.h"
#include "tests/unit/testutil.h"

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

START_TEST(test_atomic_write_replaces_whole_file)
{
    char *dir = tu_tempdir(), path[4200];
    snprintf(path, sizeof path, "%s/f.txt", dir);
    ck_assert_int_eq(lab_write_atomic(path, "old contents", 12), LAB_OK);
    ck_assert_int_eq(lab_write_atomic(path, "new", 3), LAB_OK);
    char *text;
    size_t len;
    ck_assert_int_eq(lab_read_file(path, 100, &text, &len), LAB_OK);
    ck_assert_uint_eq(len, 3);
    ck_assert_str_eq(text, "new");
    free(text);
    ck_assert_int_eq(count_entries(dir), 1); /* no temp file left */
    struct stat st;
    stat(path, &st);
    ck_assert_int_ne(st.st_mode & 0044, 0); /* not mkstemp's 0600 */
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_atomic_write_failure_keeps_old_file)
{
    char *dir = tu_tempdir(), path[4200];
    snprintf(path, sizeof path, "%s/sub", dir);
    ck_assert_int_eq(lab_mkdir_p(path), LAB_OK);
    /* Writing onto a path that is a directory fails at rename: the directory
     * stays and no temp file is left next to it. */
    ck_assert_int_eq(lab_write_atomic(path, "x", 1), LAB_EENV);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), path));
    ck_assert(lab_is_dir(path));
    ck_assert_int_eq(count_entries(dir), 1);
    /* A missing directory: clear error, nothing created. */
    snprintf(path, sizeof path, "%s/missing/f", dir);
    ck_assert_int_eq(lab_write_atomic(path, "x", 1), LAB_EENV);
    ck_assert(!lab_path_exists(path));
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_read_file_limits)
{
    char *dir = tu_tempdir(), path[4200];
    snprintf(path, sizeof path, "%s/big", dir);
    tu_write_file(path, "0123456789", 10);
    char *text;
    ck_assert_int_eq(lab_read_file(path, 9, &text, NULL), LAB_EENV);
    ck_assert_ptr_null(text);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "too large"));
    ck_assert_int_eq(lab_read_file(dir, 100, &text, NULL), LAB_EENV);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_mkdir_p_and_file_in_the_way)
{
    char *dir = tu_tempdir(), path[4200];
    snprintf(path, sizeof path, "%s/a/b/c", dir);
    ck_assert_int_eq(lab_mkdir_p(path), LAB_OK);
    ck_assert(lab_is_dir(path));
    ck_assert_int_eq(lab_mkdir_p(path), LAB_OK);
    snprintf(path, sizeof path, "%s/file", dir);
    tu_write_file(path, "x", 1);
    snprintf(path, sizeof path, "%s/file/below", dir);
    ck_assert_int_eq(lab_mkdir_p(path), LAB_EENV);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "not a directory"));
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_json_round_trip_and_errors)
{
    char *dir = tu_tempdir(), path[4200];
    snprintf(path, sizeof path, "%s/x.json", dir);
    json_t *v = json_pack("{s:i, s:[f, f]}", "b", 2, "a", 0.5, 0.25);
    ck_assert_int_eq(lab_json_save(path, v), LAB_OK);
    json_t *back;
    ck_assert_int_eq(lab_json_load(path, &back), LAB_OK);
    ck_assert(json_equal(v, back));
    json_decref(back);
    json_decref(v);
    tu_write_file(path, "{\"a\": 1,\n \"a\": 2}", 17);
    ck_assert_int_eq(lab_json_load(path, &back), LAB_EUSAGE);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "line 2"));
    tu_write_file(path, "{\"a\": ", 6);
    ck_assert_int_eq(lab_json_load(path, &back), LAB_EUSAGE);
    ck_assert_ptr_null(back);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_paths_resolution)
{
    char out[4096];
    setenv("HOME", "/home/student", 1);
    unsetenv("LAB_HOME");
    unsetenv("LAB_CACHE");
    unsetenv("XDG_DATA_HOME");
    unsetenv("XDG_CACHE_HOME");
    ck_assert_int_eq(lab_dir_resolve(LAB_DIR_HOME, out, sizeof out), LAB_OK);
    ck_assert_str_eq(out, "/home/student/.local/share/lab");
    ck_assert_int_eq(lab_dir_resolve(LAB_DIR_CACHE, out, sizeof out), LAB_OK);
    ck_assert_str_eq(out, "/home/student/.cache/lab");
    setenv("XDG_DATA_HOME", "/xdg/data", 1);
    setenv("XDG_CACHE_HOME", "/xdg/cache", 1);
    lab_dir_resolve(LAB_DIR_HOME, out, sizeof out);
    ck_assert_str_eq(out, "/xdg/data/lab");
    lab_dir_resolve(LAB_DIR_CACHE, out, sizeof out);
    ck_assert_str_eq(out, "/xdg/cache/lab");
    setenv("LAB_HOME", "/course/home", 1);
    setenv("LAB_CACHE", "/course/cache", 1);
    lab_dir_resolve(LAB_DIR_HOME, out, sizeof out);
    ck_assert_str_eq(out, "/course/home");
    lab_dir_resolve(LAB_DIR_CACHE, out, sizeof out);
    ck_assert_str_eq(out, "/course/cache");
}
END_TEST

START_TEST(test_paths_ensure_creates_and_names_variable)
{
    char *dir = tu_tempdir(), want[4200], out[4096];
    snprintf(want, sizeof want, "%s/cache/lab", dir);
    setenv("LAB_CACHE", want, 1);
    ck_assert_int_eq(lab_dir_ensure(LAB_DIR_CACHE, "datasets", out, sizeof out), LAB_OK);
    ck_assert(lab_is_dir(out));
    ck_assert_ptr_nonnull(strstr(out, "/cache/lab/datasets"));
    snprintf(want, sizeof want, "%s/f", dir);
    tu_write_file(want, "x", 1);
    strcat(want, "/lab");
    setenv("LAB_CACHE", want, 1);
    ck_assert_int_eq(lab_dir_ensure(LAB_DIR_CACHE, NULL, out, sizeof out), LAB_EENV);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "LAB_CACHE"));
    ck_assert_ptr_nonnull(strstr(lab_err_fix(), "LAB_CACHE"));
    tu_rmtree(dir);
    free(dir);
}
END_TEST

Suite *suite_fsutil(void)
{
    Suite *s = suite_create("fsutil");
    TCase *tc = tcase_create("files");
    tcase_add_test(tc, test_atomic_write_replaces_whole_file);
    tcase_add_test(tc, test_atomic_write_failure_keeps_old_file);
    tcase_add_test(tc, test_read_file_limits);
    tcase_add_test(tc, test_mkdir_p_and_file_in_the_way);
    tcase_add_test(tc, test_json_round_trip_and_errors);
    tcase_add_test(tc, test_paths_resolution);
    tcase_add_test(tc, test_paths_ensure_creates_and_names_variable);
    suite_add_tcase(s, tc);
    return s;
}
