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
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

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

static void assert_contents(const char *path, const char *want)
{
    char *text;
    size_t len;
    ck_assert_int_eq(lab_read_file(path, 1 << 20, &text, &len), LAB_OK);
    ck_assert_str_eq(text, want);
    free(text);
}

/* A write that fails half way (the file-size limit, as a full disk would):
 * the old file is whole and no temp file is left, for both the whole-buffer
 * call and the streaming one. */
START_TEST(test_atomic_write_failed_write_keeps_old_file)
{
    char *dir = tu_tempdir(), path[4200];
    snprintf(path, sizeof path, "%s/weights.bin", dir);
    ck_assert_int_eq(lab_write_atomic(path, "old", 3), LAB_OK);
    struct rlimit old;
    getrlimit(RLIMIT_FSIZE, &old);
    struct rlimit small = {.rlim_cur = 64, .rlim_max = old.rlim_max};
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &small), 0);
    char big[4096];
    memset(big, 'x', sizeof big);
    int whole = lab_write_atomic(path, big, sizeof big);
    char msg[2048];
    snprintf(msg, sizeof msg, "%s", lab_err_message());
    struct lab_atomic_file f;
    int opened = lab_atomic_open(&f, path);
    int wrote = opened ? opened : lab_atomic_write(&f, big, sizeof big);
    int committed = opened ? opened : lab_atomic_commit(&f);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, prev);
    ck_assert_int_eq(whole, LAB_EENV);
    ck_assert_ptr_nonnull(strstr(msg, path));
    ck_assert_int_eq(opened, LAB_OK);
    ck_assert_int_eq(wrote, LAB_EENV);
    ck_assert_int_eq(committed, LAB_EENV); /* a commit after a failed write never publishes it */
    assert_contents(path, "old");
    ck_assert_int_eq(count_entries(dir), 1);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_atomic_stream_commit_and_abort)
{
    char *dir = tu_tempdir(), path[4200];
    snprintf(path, sizeof path, "%s/out.txt", dir);
    ck_assert_int_eq(lab_write_atomic(path, "old", 3), LAB_OK);
    struct lab_atomic_file f;
    ck_assert_int_eq(lab_atomic_open(&f, path), LAB_OK);
    ck_assert_int_eq(lab_atomic_write(&f, "ne", 2), LAB_OK);
    assert_contents(path, "old"); /* nothing visible before the commit */
    ck_assert_int_eq(count_entries(dir), 2);
    lab_atomic_abort(&f);
    assert_contents(path, "old");
    ck_assert_int_eq(count_entries(dir), 1);
    lab_atomic_abort(&f); /* ended: a no-op */
    ck_assert_int_eq(lab_atomic_open(&f, path), LAB_OK);
    ck_assert_int_eq(lab_atomic_write(&f, "ne", 2), LAB_OK);
    ck_assert_int_eq(lab_write_full(f.fd, "w", 1), 0);
    ck_assert_int_eq(lab_atomic_commit(&f), LAB_OK);
    assert_contents(path, "new");
    ck_assert_int_eq(count_entries(dir), 1);
    ck_assert_int_eq(lab_atomic_commit(&f), LAB_EINTERNAL);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* A link at the destination is neither written through nor replaced. */
START_TEST(test_atomic_write_refuses_symlink)
{
    char *dir = tu_tempdir(), path[4200], target[4200];
    snprintf(target, sizeof target, "%s/target", dir);
    snprintf(path, sizeof path, "%s/link", dir);
    tu_write_file(target, "precious", 8);
    ck_assert_int_eq(symlink(target, path), 0);
    ck_assert_int_eq(lab_write_atomic(path, "x", 1), LAB_EENV);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "symbolic link"));
    assert_contents(target, "precious");
    struct stat st;
    ck_assert_int_eq(lstat(path, &st), 0);
    ck_assert(S_ISLNK(st.st_mode));
    ck_assert_int_eq(count_entries(dir), 2);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_rename_durable)
{
    char *dir = tu_tempdir(), from[4200], to[4200];
    snprintf(from, sizeof from, "%s/f.part", dir);
    snprintf(to, sizeof to, "%s/f", dir);
    tu_write_file(from, "done", 4);
    ck_assert_int_eq(lab_rename_durable(from, to), LAB_OK);
    assert_contents(to, "done");
    ck_assert(!lab_path_exists(from));
    ck_assert_int_eq(lab_rename_durable(from, to), LAB_EENV);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), from));
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* The short-write loop: a pipe takes a big buffer in several writes, and
 * every byte arrives in order. */
START_TEST(test_write_full_pipe)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    size_t n = 1 << 20;
    char *buf = malloc(n), *back = malloc(n);
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)(i * 7);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        _exit(lab_write_full(p[1], buf, n) == 0 ? 0 : 1);
    }
    close(p[1]);
    size_t got = 0;
    for (ssize_t r; got < n && (r = read(p[0], back + got, n - got)) > 0;)
        got += (size_t)r;
    close(p[0]);
    int status;
    waitpid(pid, &status, 0);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_uint_eq(got, n);
    ck_assert(memcmp(buf, back, n) == 0);
    ck_assert_int_eq(lab_write_full(-1, "x", 1), -1);
    free(buf);
    free(back);
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
    tcase_add_test(tc, test_atomic_write_failed_write_keeps_old_file);
    tcase_add_test(tc, test_atomic_stream_commit_and_abort);
    tcase_add_test(tc, test_atomic_write_refuses_symlink);
    tcase_add_test(tc, test_rename_durable);
    tcase_add_test(tc, test_write_full_pipe);
    tcase_add_test(tc, test_read_file_limits);
    tcase_add_test(tc, test_mkdir_p_and_file_in_the_way);
    tcase_add_test(tc, test_json_round_trip_and_errors);
    tcase_add_test(tc, test_paths_resolution);
    tcase_add_test(tc, test_paths_ensure_creates_and_names_variable);
    suite_add_tcase(s, tc);
    return s;
}
