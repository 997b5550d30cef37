/* Fashion-MNIST through the IDX loader, on Debian's real files. */
#include "base/error.h"
#include "datasets/loaders.h"
#include "tests/unit/testutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define FM_DIR "/usr/share/datasets/fashion-mnist"

static void check_split(int train, size_t want_n, size_t per_class)
{
    struct ds_dataset *d;
    ck_assert_int_eq(ds_fashion_mnist_open(NULL, train, &d), LAB_OK);
    ck_assert_uint_eq(d->n, want_n);
    ck_assert_int_eq(d->num_classes, 10);
    size_t counts[10] = {0};
    double sum = 0;
    for (size_t i = 0; i < d->n; i++) {
        struct ds_sample s;
        ck_assert_int_eq(ds_dataset_get(d, i, &s), LAB_OK);
        ck_assert_int_eq(s.image.w, 28);
        ck_assert_int_eq(s.image.h, 28);
        ck_assert_int_eq(s.image.c, 1);
        ck_assert(s.label >= 0 && s.label < 10);
        counts[s.label]++;
        if (i < 1000)
            for (int p = 0; p < 28 * 28; p++)
                sum += s.image.px[p];
        ds_sample_free(&s);
    }
    for (int c = 0; c < 10; c++)
        ck_assert_uint_eq(counts[c], per_class);
    /* The published mean is 0.2860: the first 1000 images land close to it. */
    double mean = sum / (1000.0 * 784 * 255);
    ck_assert_msg(mean > 0.26 && mean < 0.31, "mean %f", mean);
    ds_dataset_free(d);
}

START_TEST(test_fashion_train_counts) { check_split(1, 60000, 6000); }
END_TEST

START_TEST(test_fashion_test_counts) { check_split(0, 10000, 1000); }
END_TEST

static void write_gz(const char *path, const unsigned char *data, size_t len)
{
    gzFile g = gzopen(path, "wb");
    ck_assert_ptr_nonnull(g);
    ck_assert_int_eq(gzwrite(g, data, (unsigned)len), (int)len);
    gzclose(g);
}

START_TEST(test_idx_truncated_and_bad_magic_refused)
{
    char *dir = tu_tempdir(), path[4200];
    snprintf(path, sizeof path, "%s/x.gz", dir);
    /* 3 images of 2x2 declared, only 5 bytes present */
    unsigned char trunc[] = {0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3, 4, 5};
    write_gz(path, trunc, sizeof trunc);
    struct ds_idx idx;
    ck_assert_int_eq(ds_idx_load(path, &idx), LAB_EENV);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "truncated"));
    ck_assert_ptr_null(idx.data);
    unsigned char magic[] = {0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0};
    write_gz(path, magic, sizeof magic);
    ck_assert_int_eq(ds_idx_load(path, &idx), LAB_EENV);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "magic"));
    /* a huge declared size is refused before any allocation */
    unsigned char huge[] = {0, 0, 8, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 2};
    write_gz(path, huge, sizeof huge);
    ck_assert_int_eq(ds_idx_load(path, &idx), LAB_EENV);
    /* a good one, uncompressed (zlib passes it through) */
    unsigned char good[] = {0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6};
    tu_write_file(path, good, sizeof good);
    ck_assert_int_eq(ds_idx_load(path, &idx), LAB_OK);
    ck_assert_int_eq(idx.ndim, 2);
    ck_assert_uint_eq(idx.dims[1], 3);
    ck_assert_uint_eq(idx.size, 6);
    ck_assert_int_eq(idx.data[5], 6);
    ds_idx_free(&idx);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

Suite *suite_loaders_fashion(void)
{
    Suite *s = suite_create("loaders_fashion");
    TCase *tc = tcase_create("idx");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_fashion_train_counts);
    tcase_add_test(tc, test_fashion_test_counts);
    tcase_add_test(tc, test_idx_truncated_and_bad_magic_refused);
    suite_add_tcase(s, tc);
    return s;
}
