/* Safe unpacking: archives crafted here with libarchive's writer. Each
 * unsafe one is refused, names the entry, and leaves nothing behind. The
 * crafted inputs are also replayed through the fuzz entry point. */
#include "base/error.h"
#include "base/fsutil.h"
#include "datasets/unpack.h"
#include "tests/unit/testutil.h"

#include <archive.h>
#include <archive_entry.h>
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The fuzz target itself, renamed so other fuzz targets replayed by other
 * suites cannot clash with it. */
#define LLVMFuzzerTestOneInput fuzz_unpack_one
#include "tests/fuzz/fuzz_unpack.c"

struct spec {
    const char *path;
    int type; /* AE_IFREG, AE_IFDIR, AE_IFLNK, AE_IFIFO, AE_IFCHR, or 'h' for a hardlink */
    const char *data_or_target;
    size_t size; /* for big files: bytes of zeros */
};

static unsigned char *make_archive(const struct spec *s, size_t n, int zip, int gzip, size_t *len)
{
    size_t cap = 64u << 20;
    unsigned char *buf = malloc(cap);
    struct archive *a = archive_write_new();
    if (zip)
        archive_write_set_format_zip(a);
    else
        archive_write_set_format_pax_restricted(a);
    if (gzip)
        archive_write_add_filter_gzip(a);
    archive_write_set_bytes_in_last_block(a, 1);
    ck_assert_int_eq(archive_write_open_memory(a, buf, cap, len), ARCHIVE_OK);
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, s[i].path);
        archive_entry_set_perm(e, 0644);
        if (s[i].type == 'h') {
            archive_entry_set_filetype(e, AE_IFREG);
            archive_entry_set_hardlink(e, s[i].data_or_target);
        } else {
            archive_entry_set_filetype(e, (unsigned)s[i].type);
        }
        if (s[i].type == AE_IFLNK)
            archive_entry_set_symlink(e, s[i].data_or_target);
        size_t size = s[i].type == AE_IFREG ? (s[i].size ? s[i].size : strlen(s[i].data_or_target)) : 0;
        archive_entry_set_size(e, (la_int64_t)size);
        ck_assert_int_eq(archive_write_header(a, e), ARCHIVE_OK);
        if (s[i].type == AE_IFREG) {
            if (s[i].size) {
                char *z = calloc(1, s[i].size);
                archive_write_data(a, z, s[i].size);
                free(z);
            } else {
                archive_write_data(a, s[i].data_or_target, size);
            }
        }
        archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
    return buf;
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
    closedir(d);
    return n;
}

/* Unpacks into <tmp>/box/dest; returns the status; the refused entry in rep. */
static int try_unpack(const struct spec *s, size_t n, int zip, const struct ds_unpack_limits *lim,
                      struct ds_unpack_report *rep, char **tmp_out)
{
    size_t len;
    unsigned char *buf = make_archive(s, n, zip, 0, &len);
    char *tmp = tu_tempdir(), box[4200], dest[4300];
    snprintf(box, sizeof box, "%s/box", tmp);
    mkdir(box, 0755);
    snprintf(dest, sizeof dest, "%s/dest", box);
    int rc = ds_unpack_memory(buf, len, dest, lim, rep);
    /* replay through the fuzz entry point too: it must not crash */
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    *tmp_out = tmp;
    return rc;
}

static void assert_refused(const struct spec *s, size_t n, int zip, const struct ds_unpack_limits *lim,
                           const char *entry, const char *why)
{
    struct ds_unpack_report rep;
    char *tmp;
    int rc = try_unpack(s, n, zip, lim, &rep, &tmp);
    ck_assert_msg(rc == LAB_EUSAGE, "%s: expected a refusal, got %d (%s)", entry, rc, lab_err_message());
    ck_assert_str_eq(rep.refused_entry, entry);
    ck_assert_msg(strstr(lab_err_message(), why), "message '%s' lacks '%s'", lab_err_message(), why);
    /* nothing written: the box holds nothing (no dest, no staging), and
     * nothing appeared beside it */
    char box[4200];
    snprintf(box, sizeof box, "%s/box", tmp);
    ck_assert_int_eq(count_entries(box), 0);
    ck_assert_int_eq(count_entries(tmp), 1);
    tu_rmtree(tmp);
    free(tmp);
}

START_TEST(test_good_archive_unpacks)
{
    struct spec s[] = {{"top/", AE_IFDIR, "", 0},
                       {"./top/a.txt", AE_IFREG, "hello", 0},
                       {"top/sub//b.bin", AE_IFREG, "world!", 0},
                       {"top/link", AE_IFLNK, "sub/b.bin", 0}};
    for (int zip = 0; zip < 2; zip++) {
        struct ds_unpack_limits lim = ds_unpack_limits_submission();
        lim.allow_symlinks = 1;
        struct ds_unpack_report rep;
        char *tmp, path[4400];
        ck_assert_int_eq(try_unpack(s, 4, zip, &lim, &rep, &tmp), LAB_OK);
        ck_assert_uint_eq(rep.files, 2);
        ck_assert_uint_eq(rep.bytes, 11);
        snprintf(path, sizeof path, "%s/box/dest/top/sub/b.bin", tmp);
        char *text;
        size_t len;
        ck_assert_int_eq(lab_read_file(path, 100, &text, &len), LAB_OK);
        ck_assert_str_eq(text, "world!");
        free(text);
        snprintf(path, sizeof path, "%s/box/dest/top/link", tmp);
        char target[100] = "";
        ck_assert_int_gt(readlink(path, target, sizeof target - 1), 0);
        ck_assert_str_eq(target, "sub/b.bin");
        snprintf(path, sizeof path, "%s/box", tmp);
        ck_assert_int_eq(count_entries(path), 1); /* only dest: staging is gone */
        tu_rmtree(tmp);
        free(tmp);
    }
}
END_TEST

START_TEST(test_unsafe_entries_refused)
{
    struct ds_unpack_limits lim = ds_unpack_limits_submission();
    for (int zip = 0; zip < 2; zip++) {
        struct spec slip[] = {{"ok.txt", AE_IFREG, "x", 0}, {"a/../../evil.txt", AE_IFREG, "pwned", 0}};
        assert_refused(slip, 2, zip, &lim, "a/../../evil.txt", "'..'");
        struct spec abs[] = {{"/tmp/evil.txt", AE_IFREG, "pwned", 0}};
        assert_refused(abs, 1, zip, &lim, "/tmp/evil.txt", "absolute");
        struct spec dup[] = {{"a.txt", AE_IFREG, "1", 0}, {"./a.txt", AE_IFREG, "2", 0}};
        assert_refused(dup, 2, zip, &lim, "./a.txt", "duplicate");
    }
    struct spec link[] = {{"data", AE_IFLNK, "/etc", 0}, {"data/passwd", AE_IFREG, "x", 0}};
    assert_refused(link, 2, 0, &lim, "data", "symbolic link");
    struct ds_unpack_limits with_links = lim;
    with_links.allow_symlinks = 1;
    struct spec escape[] = {{"d/link", AE_IFLNK, "../../outside", 0}};
    assert_refused(escape, 1, 0, &with_links, "d/link", "outside");
    struct spec abs_link[] = {{"link", AE_IFLNK, "/etc/passwd", 0}};
    assert_refused(abs_link, 1, 0, &with_links, "link", "outside");
    struct spec hard[] = {{"a.txt", AE_IFREG, "x", 0}, {"b.txt", 'h', "/etc/passwd", 0}};
    assert_refused(hard, 2, 0, &lim, "b.txt", "hard link");
    struct spec fifo[] = {{"pipe", AE_IFIFO, "", 0}};
    assert_refused(fifo, 1, 0, &lim, "pipe", "fifo");
    struct spec dev[] = {{"sda", AE_IFCHR, "", 0}};
    assert_refused(dev, 1, 0, &lim, "sda", "device");
}
END_TEST

START_TEST(test_limits_refused)
{
    struct ds_unpack_limits lim = ds_unpack_limits_submission();
    lim.max_file_bytes = 1000, lim.max_total_bytes = 1500, lim.max_entries = 5;
    struct spec big[] = {{"big.bin", AE_IFREG, NULL, 2000}};
    assert_refused(big, 1, 0, &lim, "big.bin", "larger than the limit");
    struct spec total[] = {{"a.bin", AE_IFREG, NULL, 900}, {"b.bin", AE_IFREG, NULL, 900}};
    assert_refused(total, 2, 0, &lim, "b.bin", "total size");
    struct spec many[7];
    char names[7][16];
    for (int i = 0; i < 7; i++) {
        snprintf(names[i], sizeof names[i], "f%d", i);
        many[i] = (struct spec){names[i], AE_IFREG, "x", 0};
    }
    assert_refused(many, 7, 0, &lim, "f5", "too many entries");
    /* a zip bomb: 8 MB of zeros compress to a few KB */
    struct ds_unpack_limits ratio = ds_unpack_limits_submission();
    ratio.max_ratio = 50;
    struct spec bomb[] = {{"zeros.bin", AE_IFREG, NULL, 8u << 20}};
    size_t len;
    unsigned char *buf = make_archive(bomb, 1, 1, 0, &len);
    ck_assert_uint_lt(len, 100000);
    char *tmp = tu_tempdir(), dest[4200];
    snprintf(dest, sizeof dest, "%s/dest", tmp);
    struct ds_unpack_report rep;
    ck_assert_int_eq(ds_unpack_memory(buf, len, dest, &ratio, &rep), LAB_EUSAGE);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "ratio"));
    ck_assert_int_eq(count_entries(tmp), 0);
    free(buf);
    tu_rmtree(tmp);
    free(tmp);
}
END_TEST

START_TEST(test_garbage_and_existing_dest)
{
    char *tmp = tu_tempdir(), dest[4200];
    snprintf(dest, sizeof dest, "%s/dest", tmp);
    struct ds_unpack_limits lim = ds_unpack_limits_submission();
    struct ds_unpack_report rep;
    const char junk[] = "this is not an archive at all, just text";
    ck_assert_int_eq(ds_unpack_memory(junk, sizeof junk, dest, &lim, &rep), LAB_EUSAGE);
    ck_assert_int_eq(count_entries(tmp), 0);
    mkdir(dest, 0755);
    struct spec ok[] = {{"a", AE_IFREG, "x", 0}};
    size_t len;
    unsigned char *buf = make_archive(ok, 1, 0, 1, &len);
    ck_assert_int_eq(ds_unpack_memory(buf, len, dest, &lim, &rep), LAB_EUSAGE);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "already exists"));
    rmdir(dest);
    /* the same archive (tar.gz) as a file works */
    char path[4300];
    snprintf(path, sizeof path, "%s/a.tar.gz", tmp);
    tu_write_file(path, buf, len);
    ck_assert_int_eq(ds_unpack_file(path, dest, &lim, &rep), LAB_OK);
    ck_assert_uint_eq(rep.files, 1);
    free(buf);
    tu_rmtree(tmp);
    free(tmp);
}
END_TEST

Suite *suite_unpack(void)
{
    Suite *s = suite_create("unpack");
    TCase *tc = tcase_create("unpack");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_good_archive_unpacks);
    tcase_add_test(tc, test_unsafe_entries_refused);
    tcase_add_test(tc, test_limits_refused);
    tcase_add_test(tc, test_garbage_and_existing_dest);
    suite_add_tcase(s, tc);
    return s;
}
