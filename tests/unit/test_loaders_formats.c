/* CIFAR binary, VOC segmentation and EXIF orientation, on fixtures that
 * tests/ref/datasets_fixtures.py generates at test time with numpy/Pillow
 * (the expected pixels come from Pillow, not from lab). */
#include "base/error.h"
#include "base/fsutil.h"
#include "datasets/loaders.h"
#include "datasets/pipeline.h"
#include "datasets/registry.h"
#include "tests/unit/testutil.h"

#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *fx;         /* fixture directory */
static json_t *expected; /* expected.json */

static void setup(void)
{
    fx = tu_tempdir();
    char cmd[8400], *out = NULL;
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/tests/ref/datasets_fixtures.py' '%s' 2>&1", tu_src_dir(), fx);
    int rc = tu_run(cmd, &out);
    ck_assert_msg(rc == 0, "fixture generator failed: %s", out);
    free(out);
    char path[4200];
    snprintf(path, sizeof path, "%s/expected.json", fx);
    json_error_t e;
    expected = json_load_file(path, 0, &e);
    ck_assert_ptr_nonnull(expected);
}

static void teardown(void)
{
    json_decref(expected);
    tu_rmtree(fx);
    free(fx);
}

static unsigned char *read_raw(const char *name, size_t *len)
{
    char path[4200], *data;
    snprintf(path, sizeof path, "%s/%s", fx, name);
    ck_assert_int_eq(lab_read_file(path, 64u << 20, &data, len), LAB_OK);
    return (unsigned char *)data;
}

static void check_cifar(int cifar100, int train, const char *raw_name, const char *labels_key)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/%s", fx, cifar100 ? "cifar-100-binary" : "cifar-10-batches-bin");
    struct ds_dataset *d;
    ck_assert_int_eq(ds_cifar_open(dir, cifar100, train, &d), LAB_OK);
    const json_t *labels = json_object_get(expected, labels_key);
    ck_assert_uint_eq(d->n, json_array_size(labels));
    ck_assert_int_eq(d->num_classes, cifar100 ? 100 : 10);
    size_t len;
    unsigned char *want = read_raw(raw_name, &len);
    ck_assert_uint_eq(len, d->n * 3072);
    for (size_t i = 0; i < d->n; i++) {
        struct ds_sample s;
        ck_assert_int_eq(ds_dataset_get(d, i, &s), LAB_OK);
        ck_assert_int_eq(s.image.w, 32);
        ck_assert_int_eq(s.image.c, 3);
        ck_assert_int_eq(s.label, json_integer_value(json_array_get(labels, i)));
        ck_assert_msg(memcmp(s.image.px, want + i * 3072, 3072) == 0, "record %zu pixels differ", i);
        ds_sample_free(&s);
    }
    free(want);
    ds_dataset_free(d);
}

START_TEST(test_cifar10_binary)
{
    check_cifar(0, 1, "c10_train.raw", "c10_train_labels");
    check_cifar(0, 0, "c10_test.raw", "c10_test_labels");
}
END_TEST

START_TEST(test_cifar100_binary_uses_fine_labels)
{
    check_cifar(1, 1, "c100_train.raw", "c100_train_labels");
    check_cifar(1, 0, "c100_test.raw", "c100_test_labels");
    /* the registry (what lab run and the grader open): 100 named classes, the
     * grader's eval labels the test split's fine labels */
    const struct ds_info *info = ds_info_find("cifar-100");
    ck_assert_ptr_nonnull(info);
    ck_assert_int_eq(info->num_classes, 100);
    ck_assert_str_eq(info->class_names[0], "apple");
    ck_assert_str_eq(info->class_names[99], "worm");
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/cifar-100-binary", fx);
    int64_t *labels;
    size_t n;
    ck_assert_int_eq(info->eval_labels(dir, &labels, &n), LAB_OK);
    const json_t *want = json_object_get(expected, "c100_test_labels");
    ck_assert_uint_eq(n, json_array_size(want));
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(labels[i], json_integer_value(json_array_get(want, i)));
    free(labels);
    struct ds_dataset *d;
    ck_assert_int_eq(ds_info_open(info, dir, 0, &d), LAB_OK);
    ck_assert_uint_eq(d->n, n);
    ds_dataset_free(d);
}
END_TEST

START_TEST(test_cifar_damaged_and_missing)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/cifar-bad", fx);
    struct ds_dataset *d;
    ck_assert_int_eq(ds_cifar_open(dir, 0, 0, &d), LAB_EENV);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "whole number"));
    ck_assert_int_eq(ds_cifar_open(dir, 0, 1, &d), LAB_EENV);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "data_batch_1.bin is missing"));
    ck_assert_ptr_nonnull(strstr(lab_err_fix(), "lab fetch cifar-10"));
}
END_TEST

START_TEST(test_voc_images_and_masks_keep_255)
{
    char root[4200];
    snprintf(root, sizeof root, "%s/VOC2012", fx);
    for (int train = 1; train >= 0; train--) {
        struct ds_dataset *d;
        ck_assert_int_eq(ds_voc_open(root, train, &d), LAB_OK);
        const json_t *ids = json_object_get(json_object_get(expected, "voc_ids"), train ? "train" : "val");
        ck_assert_uint_eq(d->n, json_array_size(ids));
        for (size_t i = 0; i < d->n; i++) {
            const char *id = json_string_value(json_array_get(ids, i));
            const json_t *dims = json_object_get(json_object_get(expected, "voc"), id);
            int w = (int)json_integer_value(json_object_get(dims, "w")), h = (int)json_integer_value(json_object_get(dims, "h"));
            struct ds_sample s;
            ck_assert_int_eq(ds_dataset_get(d, i, &s), LAB_OK);
            ck_assert_int_eq(s.image.w, w);
            ck_assert_int_eq(s.image.h, h);
            ck_assert_int_eq(s.image.c, 3);
            char name[256];
            size_t len;
            snprintf(name, sizeof name, "voc_%s_img.raw", id);
            unsigned char *img = read_raw(name, &len);
            ck_assert_uint_eq(len, (size_t)w * h * 3);
            int maxdiff = 0;
            for (size_t p = 0; p < len; p++) {
                int diff = abs((int)img[p] - (int)s.image.px[p]);
                maxdiff = diff > maxdiff ? diff : maxdiff;
            }
            ck_assert_msg(maxdiff <= 1, "%s: JPEG differs from Pillow by %d", id, maxdiff);
            free(img);
            snprintf(name, sizeof name, "voc_%s_mask.raw", id);
            unsigned char *mask = read_raw(name, &len);
            ck_assert_uint_eq(len, (size_t)w * h);
            ck_assert(memcmp(mask, s.mask.px, len) == 0);
            ck_assert_int_eq(s.mask.px[8 * w + 12], 255); /* the border row */
            ck_assert_int_eq(s.mask.px[0], 20);
            free(mask);
            ds_sample_free(&s);
        }
        ds_dataset_free(d);
    }
}
END_TEST

START_TEST(test_voc_255_survives_the_pipeline)
{
    char root[4200];
    snprintf(root, sizeof root, "%s/VOC2012", fx);
    struct ds_dataset *d;
    ck_assert_int_eq(ds_voc_open(root, 1, &d), LAB_OK);
    struct ds_pipeline_config cfg = {.batch_size = 3, .threads = 2, .seed = 3};
    cfg.augment.resize_w = cfg.augment.resize_h = 64;
    cfg.augment.resample = DS_RESAMPLE_BILINEAR;
    cfg.augment.hflip_p = 0.5f;
    cfg.augment.crop_size = 64, cfg.augment.crop_padding = 8, cfg.augment.mask_fill = 255;
    struct ds_pipeline *p;
    ck_assert_int_eq(ds_pipeline_open(d, &cfg, &p), LAB_OK);
    struct ds_batch *b;
    ck_assert_int_eq(ds_pipeline_next(p, &b), LAB_OK);
    ck_assert_ptr_nonnull(b->masks);
    int has255 = 0;
    for (size_t i = 0; i < (size_t)b->n * 64 * 64; i++) {
        uint8_t v = b->masks[i];
        ck_assert_msg(v <= 20 || v == 255, "mask value %u blended", v);
        has255 |= v == 255;
    }
    ck_assert(has255);
    ds_batch_free(b);
    ds_pipeline_close(p);
    ds_dataset_free(d);
}
END_TEST

START_TEST(test_exif_orientation_matches_pillow)
{
    for (int o = 1; o <= 8; o++)
        for (int png = 0; png < 2; png++) {
            char path[4200], key[32], raw[64];
            snprintf(key, sizeof key, "o%d.%s", o, png ? "png" : "jpg");
            snprintf(path, sizeof path, "%s/exif/%s", fx, key);
            snprintf(raw, sizeof raw, "exif_o%d_%s.raw", o, png ? "png" : "jpg");
            struct ds_image im;
            ck_assert_int_eq(ds_image_load(path, 0, &im), LAB_OK);
            const json_t *dims = json_object_get(json_object_get(expected, "exif"), key);
            ck_assert_int_eq(im.w, json_integer_value(json_object_get(dims, "w")));
            ck_assert_int_eq(im.h, json_integer_value(json_object_get(dims, "h")));
            size_t len;
            unsigned char *want = read_raw(raw, &len);
            ck_assert_uint_eq(len, (size_t)im.w * im.h * 3);
            int maxdiff = 0;
            for (size_t p = 0; p < len; p++) {
                int diff = abs((int)want[p] - (int)im.px[p]);
                maxdiff = diff > maxdiff ? diff : maxdiff;
            }
            ck_assert_msg(maxdiff <= 1, "%s differs from Pillow's exif_transpose by %d", key, maxdiff);
            free(want);
            ds_image_free(&im);
        }
}
END_TEST

START_TEST(test_bad_images_refused)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/not-an-image.jpg", fx);
    tu_write_file(path, "hello", 5);
    struct ds_image im;
    ck_assert_int_eq(ds_image_load(path, 0, &im), LAB_EENV);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "neither"));
    /* a truncated JPEG */
    char src[4200], *data;
    size_t len;
    snprintf(src, sizeof src, "%s/exif/o6.jpg", fx);
    ck_assert_int_eq(lab_read_file(src, 1 << 20, &data, &len), LAB_OK);
    snprintf(path, sizeof path, "%s/trunc.jpg", fx);
    tu_write_file(path, data, 200);
    ck_assert_int_ne(ds_image_load(path, 0, &im), LAB_OK);
    free(data);
    /* EXIF parsing is bounds-checked: a lying IFD offset gives orientation 1 */
    const uint8_t lying[] = {'E', 'x', 'i', 'f', 0, 0, 'I', 'I', 42, 0, 0xff, 0xff, 0, 0};
    ck_assert_int_eq(ds_jpeg_exif_orientation(lying, sizeof lying), 1);
}
END_TEST

Suite *suite_loaders_formats(void)
{
    Suite *s = suite_create("loaders_formats");
    TCase *tc = tcase_create("formats");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_cifar10_binary);
    tcase_add_test(tc, test_cifar100_binary_uses_fine_labels);
    tcase_add_test(tc, test_cifar_damaged_and_missing);
    tcase_add_test(tc, test_voc_images_and_masks_keep_255);
    tcase_add_test(tc, test_voc_255_survives_the_pipeline);
    tcase_add_test(tc, test_exif_orientation_matches_pillow);
    tcase_add_test(tc, test_bad_images_refused);
    suite_add_tcase(s, tc);
    return s;
}
