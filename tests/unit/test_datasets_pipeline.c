/* The data pipeline: determinism across thread counts, and the geometry of
 * the augmentations (boxes and masks follow the image). */
#include "base/error.h"
#include "base/fsutil.h"
#include "datasets/augment.h"
#include "datasets/loaders.h"
#include "datasets/pipeline.h"
#include "datasets/rng.h"
#include "tests/unit/testutil.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static struct ds_dataset *random_rgb_dataset(size_t n, int h, int w)
{
    uint8_t *px = malloc(n * (size_t)h * w * 3);
    int64_t *labels = malloc(n * sizeof *labels);
    struct ds_rng r;
    ds_rng_seed(&r, 1, 2, 3);
    for (size_t i = 0; i < n * (size_t)h * w * 3; i++)
        px[i] = (uint8_t)ds_rng_below(&r, 256);
    for (size_t i = 0; i < n; i++)
        labels[i] = (int64_t)(i % 10);
    struct ds_dataset *d;
    ck_assert_int_eq(ds_memory_dataset("random", n, h, w, 3, px, labels, 10, &d), LAB_OK);
    return d;
}

static int next_batch(struct ds_pipeline *p, struct ds_batch **b)
{
    ck_assert_int_eq(ds_pipeline_next(p, b), LAB_OK);
    return *b != NULL;
}

static struct ds_augment heavy_augment(void)
{
    struct ds_augment a = {0};
    a.crop_size = 32, a.crop_padding = 4, a.hflip_p = 0.5f;
    a.randaug_n = 2, a.randaug_m = 9;
    a.jitter[0] = a.jitter[1] = a.jitter[2] = 0.4f, a.jitter[3] = 0.1f;
    a.erase_p = 0.25f;
    a.normalize = 1;
    const float mean[3] = {0.4914f, 0.4822f, 0.4465f}, std[3] = {0.2023f, 0.1994f, 0.2010f};
    memcpy(a.mean, mean, sizeof mean), memcpy(a.std, std, sizeof std);
    return a;
}

/* All batches of two epochs, concatenated, for a given thread count. */
static float *run_epochs(const struct ds_dataset *d, int threads, size_t *len)
{
    struct ds_pipeline_config cfg = {.batch_size = 16, .threads = threads, .seed = 1234, .shuffle = 1};
    cfg.augment = heavy_augment();
    struct ds_pipeline *p;
    ck_assert_int_eq(ds_pipeline_open(d, &cfg, &p), LAB_OK);
    size_t per = 3 * 32 * 32, total = 2 * d->n * (per + 2), k = 0;
    float *all = malloc(total * sizeof *all);
    for (int epoch = 0; epoch < 2; epoch++) {
        if (epoch)
            ck_assert_int_eq(ds_pipeline_start_epoch(p, epoch), LAB_OK);
        size_t seen = 0;
        struct ds_batch *b;
        while (next_batch(p, &b)) {
            ck_assert_int_eq(b->c, 3);
            ck_assert_int_eq(b->h, 32);
            memcpy(all + k, b->images, (size_t)b->n * per * sizeof *all);
            k += (size_t)b->n * per;
            for (int i = 0; i < b->n; i++) {
                all[k++] = (float)b->labels[i];
                all[k++] = (float)b->indices[i];
                ck_assert_int_eq(b->labels[i], b->indices[i] % 10);
            }
            seen += (size_t)b->n;
            ds_batch_free(b);
        }
        ck_assert_uint_eq(seen, d->n);
    }
    ds_pipeline_close(p);
    *len = k;
    return all;
}

START_TEST(test_same_seed_same_batches_any_thread_count)
{
    struct ds_dataset *d = random_rgb_dataset(101, 32, 32);
    size_t l0, l1, l3;
    float *a = run_epochs(d, 0, &l0), *b = run_epochs(d, 1, &l1), *c = run_epochs(d, 3, &l3);
    ck_assert_uint_eq(l0, l1);
    ck_assert_uint_eq(l0, l3);
    ck_assert(memcmp(a, b, l0 * sizeof *a) == 0);
    ck_assert(memcmp(a, c, l0 * sizeof *a) == 0);
    /* and the augmentation did something: epoch 0 and 1 differ */
    size_t half = l0 / 2;
    ck_assert(memcmp(a, a + half, half * sizeof *a) != 0);
    free(a), free(b), free(c);
    ds_dataset_free(d);
}
END_TEST

START_TEST(test_shuffle_is_a_permutation_and_seed_matters)
{
    struct ds_dataset *d = random_rgb_dataset(50, 8, 8);
    int64_t first[2][50];
    for (int seed = 0; seed < 2; seed++) {
        struct ds_pipeline_config cfg = {.batch_size = 7, .threads = 2, .seed = (uint64_t)seed, .shuffle = 1};
        struct ds_pipeline *p;
        ck_assert_int_eq(ds_pipeline_open(d, &cfg, &p), LAB_OK);
        ck_assert_uint_eq(ds_pipeline_num_batches(p), 8);
        int seen[50] = {0}, k = 0;
        struct ds_batch *b;
        while (next_batch(p, &b)) {
            for (int i = 0; i < b->n; i++) {
                seen[b->indices[i]]++;
                first[seed][k++] = b->indices[i];
            }
            ds_batch_free(b);
        }
        for (int i = 0; i < 50; i++)
            ck_assert_int_eq(seen[i], 1);
        ds_pipeline_close(p);
    }
    ck_assert(memcmp(first[0], first[1], sizeof first[0]) != 0);
    ds_dataset_free(d);
}
END_TEST

START_TEST(test_normalize_and_fashion_quick_mode_shape)
{
    struct ds_dataset *fm;
    ck_assert_int_eq(ds_fashion_mnist_open(NULL, 0, &fm), LAB_OK);
    struct ds_pipeline_config cfg = {.batch_size = 4, .threads = 2, .seed = 7};
    cfg.augment.pad = 2, cfg.augment.to_rgb = 1, cfg.augment.normalize = 1;
    for (int i = 0; i < 3; i++)
        cfg.augment.mean[i] = 0.2860f, cfg.augment.std[i] = 0.3530f;
    struct ds_pipeline *p;
    ck_assert_int_eq(ds_pipeline_open(fm, &cfg, &p), LAB_OK);
    struct ds_batch *b;
    ck_assert_int_eq(ds_pipeline_next(p, &b), LAB_OK);
    ck_assert_int_eq(b->n, 4);
    ck_assert_int_eq(b->c, 3);
    ck_assert_int_eq(b->h, 32);
    ck_assert_int_eq(b->w, 32);
    struct ds_sample s;
    ck_assert_int_eq(ds_dataset_get(fm, 0, &s), LAB_OK);
    ck_assert_int_eq(b->labels[0], s.label);
    /* border (padding) is 0 normalized; the inside is the pixel normalized,
     * the same in all three channels */
    ck_assert_float_eq_tol(b->images[0], (0 - 0.2860f) / 0.3530f, 1e-5);
    for (int y = 0; y < 28; y++)
        for (int x = 0; x < 28; x++)
            for (int c = 0; c < 3; c++)
                ck_assert_float_eq_tol(b->images[(size_t)c * 1024 + (y + 2) * 32 + x + 2],
                                       (s.image.px[y * 28 + x] / 255.f - 0.2860f) / 0.3530f, 1e-5);
    ds_sample_free(&s);
    ds_batch_free(b);
    ds_pipeline_close(p);
    ds_dataset_free(fm);
}
END_TEST

/* A 10x6 sample with a 2x2 object at x 1..3, y 2..4 and its mask. */
static void object_sample(struct ds_sample *s)
{
    memset(s, 0, sizeof *s);
    ck_assert_int_eq(ds_image_alloc(&s->image, 10, 6, 1), LAB_OK);
    ck_assert_int_eq(ds_image_alloc(&s->mask, 10, 6, 1), LAB_OK);
    ck_assert_int_eq(ds_image_alloc(&s->inst[0], 10, 6, 1), LAB_OK);
    for (int y = 2; y < 4; y++)
        for (int x = 1; x < 3; x++) {
            s->image.px[y * 10 + x] = 200;
            s->mask.px[y * 10 + x] = 255; /* VOC's ignore value must survive */
            s->inst[0].px[y * 10 + x] = 1;
        }
    s->nobj = 1;
    float b[4] = {1, 2, 3, 4};
    memcpy(s->boxes[0], b, sizeof b);
    s->box_labels[0] = 5;
}

static void assert_consistent(const struct ds_sample *s)
{
    /* the box is exactly the bounding box of the instance mask, and the image
     * and the class mask are non-zero exactly there */
    int x1 = 1 << 20, y1 = 1 << 20, x2 = -1, y2 = -1;
    for (int y = 0; y < s->image.h; y++)
        for (int x = 0; x < s->image.w; x++) {
            int on = s->inst[0].px[y * s->image.w + x];
            ck_assert_int_eq(s->mask.px[y * s->image.w + x], on ? 255 : 0);
            ck_assert_int_eq(s->image.px[y * s->image.w + x], on ? 200 : 0);
            if (on)
                x1 = x < x1 ? x : x1, x2 = x > x2 ? x : x2, y1 = y < y1 ? y : y1, y2 = y > y2 ? y : y2;
        }
    ck_assert_float_eq(s->boxes[0][0], x1);
    ck_assert_float_eq(s->boxes[0][1], y1);
    ck_assert_float_eq(s->boxes[0][2], x2 + 1);
    ck_assert_float_eq(s->boxes[0][3], y2 + 1);
}

START_TEST(test_flip_crop_resize_move_boxes_and_masks)
{
    struct ds_sample s;
    object_sample(&s);
    ds_aug_hflip(&s);
    ck_assert_float_eq(s.boxes[0][0], 7);
    ck_assert_float_eq(s.boxes[0][2], 9);
    assert_consistent(&s);
    ck_assert_int_eq(ds_aug_crop(&s, 5, 1, 5, 4, 0), LAB_OK); /* keeps x 5..9, y 1..4 */
    ck_assert_int_eq(s.image.w, 5);
    ck_assert_float_eq(s.boxes[0][0], 2);
    ck_assert_float_eq(s.boxes[0][1], 1);
    assert_consistent(&s);
    ck_assert_int_eq(ds_aug_resize(&s, 10, 8, DS_RESAMPLE_NEAREST), LAB_OK);
    ck_assert_float_eq(s.boxes[0][0], 4);
    ck_assert_float_eq(s.boxes[0][3], 6);
    assert_consistent(&s);
    /* cropping the object away drops its box */
    ck_assert_int_eq(ds_aug_crop(&s, 0, 0, 3, 3, 0), LAB_OK);
    ck_assert_int_eq(s.nobj, 0);
    ds_sample_free(&s);
}
END_TEST

START_TEST(test_random_crop_with_padding_matches_a_shift)
{
    struct ds_dataset *d = random_rgb_dataset(1, 32, 32);
    struct ds_sample orig, s;
    ck_assert_int_eq(ds_dataset_get(d, 0, &orig), LAB_OK);
    struct ds_augment a = {.crop_size = 32, .crop_padding = 4};
    int nonzero_shift = 0;
    for (uint64_t seed = 0; seed < 20; seed++) {
        ck_assert_int_eq(ds_dataset_get(d, 0, &s), LAB_OK);
        struct ds_rng r;
        ds_rng_seed(&r, seed, 0, 0);
        ck_assert_int_eq(ds_augment_sample(&a, &s, &r), LAB_OK);
        ck_assert_int_eq(s.image.w, 32);
        /* find the shift: each output pixel is an input pixel shifted by (dx, dy), or 0 */
        int found = 0;
        for (int dy = -4; dy <= 4 && !found; dy++)
            for (int dx = -4; dx <= 4 && !found; dx++) {
                int ok = 1;
                for (int y = 0; y < 32 && ok; y++)
                    for (int x = 0; x < 32 && ok; x++) {
                        int sx = x + dx, sy = y + dy;
                        for (int c = 0; c < 3; c++) {
                            uint8_t want = (sx < 0 || sy < 0 || sx >= 32 || sy >= 32)
                                               ? 0
                                               : orig.image.px[(sy * 32 + sx) * 3 + c];
                            ok &= s.image.px[(y * 32 + x) * 3 + c] == want;
                        }
                    }
                if (ok) {
                    found = 1;
                    nonzero_shift |= dx != 0 || dy != 0;
                }
            }
        ck_assert_msg(found, "seed %llu: output is not a shifted crop", (unsigned long long)seed);
        ds_sample_free(&s);
    }
    ck_assert(nonzero_shift);
    ds_sample_free(&orig);
    ds_dataset_free(d);
}
END_TEST

START_TEST(test_augment_from_json)
{
    json_error_t e;
    json_t *data = json_loads("{\"input_size\": [3, 32, 32], \"normalize\": {\"mean\": [0.5, 0.4, 0.3], \"std\": [0.2, "
                              "0.2, 0.2]}, \"augment\": {\"random_crop_padding\": 4, \"hflip\": true, "
                              "\"randaugment\": [2, 9], \"random_erasing\": 0.25}}",
                              0, &e);
    struct ds_augment a;
    ck_assert_int_eq(ds_augment_from_json(data, &a), LAB_OK);
    ck_assert_int_eq(a.crop_size, 32);
    ck_assert_int_eq(a.crop_padding, 4);
    ck_assert_float_eq(a.hflip_p, 0.5f);
    ck_assert_int_eq(a.randaug_n, 2);
    ck_assert_int_eq(a.randaug_m, 9);
    ck_assert_float_eq_tol(a.mean[1], 0.4f, 1e-6);
    json_decref(data);
    data = json_loads("{\"augment\": {\"mixup\": 0.2}}", 0, &e);
    ck_assert_int_eq(ds_augment_from_json(data, &a), LAB_EUSAGE);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "mixup"));
    ck_assert_ptr_nonnull(strstr(lab_err_fix(), "train.mixup"));
    json_decref(data);
}
END_TEST

START_TEST(test_random_erasing_zeroes_a_rectangle)
{
    float buf[3 * 20 * 20];
    struct ds_rng r;
    ds_rng_seed(&r, 9, 9, 9);
    for (size_t i = 0; i < 3 * 400; i++)
        buf[i] = 1.f;
    ds_aug_random_erasing(buf, 3, 20, 20, 1.0f, &r);
    int zeros = 0;
    for (size_t i = 0; i < 400; i++) {
        zeros += buf[i] == 0.f;
        ck_assert(buf[i] == buf[400 + i] && buf[i] == buf[800 + i]); /* all channels alike */
    }
    ck_assert(zeros >= 400 * 0.02 - 2 && zeros <= 400 * 0.33 + 20);
}
END_TEST

/* Resize against PyTorch: tests/ref/datasets_resize.py runs
 * F.interpolate on the same pixels. */
START_TEST(test_resize_matches_torch_interpolate)
{
    char *dir = tu_tempdir(), path[4200], cmd[9000], *out = NULL;
    struct ds_rng r;
    ds_rng_seed(&r, 77, 0, 0);
    struct ds_image src;
    ck_assert_int_eq(ds_image_alloc(&src, 37, 23, 3), LAB_OK);
    for (size_t i = 0; i < 37 * 23 * 3; i++)
        src.px[i] = (uint8_t)ds_rng_below(&r, 256);
    snprintf(path, sizeof path, "%s/in.raw", dir);
    tu_write_file(path, src.px, 37 * 23 * 3);
    const int sizes[][2] = {{64, 48}, {16, 10}, {37, 23}, {100, 7}};
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/tests/ref/datasets_resize.py' '%s' 37 23 3 '%s' 64x48 16x10 37x23 100x7 2>&1",
             tu_src_dir(), path, dir);
    int rc = tu_run(cmd, &out);
    ck_assert_msg(rc == 0, "reference failed: %s", out);
    free(out);
    static const char *const names[] = {"nearest", "bilinear", "bicubic"};
    const enum ds_resample modes[] = {DS_RESAMPLE_NEAREST, DS_RESAMPLE_BILINEAR, DS_RESAMPLE_BICUBIC};
    for (int k = 0; k < 4; k++)
        for (int mode = 0; mode < 3; mode++) {
            struct ds_image im;
            ck_assert_int_eq(ds_image_copy(&im, &src), LAB_OK);
            ck_assert_int_eq(ds_image_resize(&im, sizes[k][0], sizes[k][1], modes[mode]), LAB_OK);
            snprintf(path, sizeof path, "%s/%s_%dx%d.raw", dir, names[mode], sizes[k][0], sizes[k][1]);
            char *want;
            size_t len;
            ck_assert_int_eq(lab_read_file(path, 1 << 20, &want, &len), LAB_OK);
            ck_assert_uint_eq(len, (size_t)im.w * im.h * 3);
            int maxdiff = 0;
            for (size_t i = 0; i < len; i++) {
                int d = abs((int)(unsigned char)want[i] - (int)im.px[i]);
                maxdiff = d > maxdiff ? d : maxdiff;
            }
            /* nearest must be exact; bilinear may differ by 1 where torch's
             * double result sits on a rounding boundary; bicubic is PIL's
             * fixed-point arithmetic restated, so exact */
            ck_assert_msg(maxdiff <= (modes[mode] == DS_RESAMPLE_BILINEAR), "%s %dx%d differs from the reference by %d",
                          names[mode], sizes[k][0], sizes[k][1], maxdiff);
            free(want);
            ds_image_free(&im);
        }
    ds_image_free(&src);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

Suite *suite_datasets_pipeline(void)
{
    Suite *s = suite_create("datasets_pipeline");
    TCase *tc = tcase_create("pipeline");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_same_seed_same_batches_any_thread_count);
    tcase_add_test(tc, test_shuffle_is_a_permutation_and_seed_matters);
    tcase_add_test(tc, test_normalize_and_fashion_quick_mode_shape);
    tcase_add_test(tc, test_flip_crop_resize_move_boxes_and_masks);
    tcase_add_test(tc, test_random_crop_with_padding_matches_a_shift);
    tcase_add_test(tc, test_augment_from_json);
    tcase_add_test(tc, test_random_erasing_zeroes_a_rectangle);
    tcase_add_test(tc, test_resize_matches_torch_interpolate);
    suite_add_tcase(s, tc);
    return s;
}
