/* Joint augmentation (datasets/augment_joint.c, lab 2.2.4's data.augment
 * =joint): the image and its class mask move together, masks take no value
 * the input lacked (255 included), and the draw is the seed's alone. The
 * image is a grid of flat blocks whose colour names the block's label, so
 * "mask = label of the image's colour" is a function of the image that any
 * misalignment breaks; blended pixels on block edges match no colour and
 * are left out, and most pixels are block interiors. Also VOC's resize
 * (ds_voc_resize): PIL's nearest source index for masks. */
#include "base/error.h"
#include "datasets/augment.h"
#include "datasets/loaders.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

enum { W = 61, H = 47, BLOCK = 8, NLAB = 7 };
static const uint8_t labels[NLAB] = {0, 3, 7, 12, 15, 20, 255};

static void colour(int k, uint8_t rgb[3])
{
    rgb[0] = (uint8_t)(20 + 33 * k), rgb[1] = (uint8_t)(230 - 29 * k), rgb[2] = (uint8_t)(k % 2 ? 200 : 40);
}

static void make(struct ds_sample *s)
{
    memset(s, 0, sizeof *s);
    ck_assert_int_eq(ds_image_alloc(&s->image, W, H, 3), LAB_OK);
    ck_assert_int_eq(ds_image_alloc(&s->mask, W, H, 1), LAB_OK);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int k = ((x / BLOCK) * 3 + (y / BLOCK) * 5) % NLAB;
            colour(k, s->image.px + 3 * ((size_t)y * W + x));
            s->mask.px[(size_t)y * W + x] = labels[k];
        }
}

/* Block interiors (a block colour, with the 3x3 neighbourhood all that
 * colour, so never a blend that happens to equal another block's colour),
 * and how many of them carry that colour's label in the mask. */
static void agreement(const struct ds_sample *s, size_t *matched, size_t *agree)
{
    *matched = *agree = 0;
    const int w = s->image.w, h = s->image.h;
    for (size_t p = 0; p < (size_t)w * h; p++) {
        int x = (int)(p % (size_t)w), y = (int)(p / (size_t)w), flat = 1;
        for (int dy = -1; dy <= 1; dy++)
            for (int dx = -1; dx <= 1; dx++) {
                int xx = x + dx < 0 ? 0 : x + dx >= w ? w - 1 : x + dx, yy = y + dy < 0 ? 0 : y + dy >= h ? h - 1 : y + dy;
                flat &= memcmp(s->image.px + 3 * p, s->image.px + 3 * ((size_t)yy * w + xx), 3) == 0;
            }
        for (int k = 0; flat && k < NLAB; k++) {
            uint8_t c[3];
            colour(k, c);
            if (memcmp(c, s->image.px + 3 * p, 3) == 0) {
                (*matched)++;
                *agree += s->mask.px[p] == labels[k];
                break;
            }
        }
    }
}

START_TEST(test_image_and_mask_stay_aligned)
{
    int flipped = 0, zoomed = 0, saw255 = 0;
    for (uint64_t seed = 0; seed < 60; seed++) {
        struct ds_sample s, ref;
        make(&s);
        make(&ref);
        struct ds_rng r;
        ds_rng_seed(&r, 42, 3, seed);
        ck_assert_msg(ds_aug_joint(&s, 1.5, &r) == LAB_OK, "%s", lab_err_message());
        ck_assert_int_eq(s.image.w, W);
        ck_assert_int_eq(s.image.h, H);
        ck_assert_int_eq(s.mask.w, W);
        ck_assert_int_eq(s.mask.h, H);
        size_t matched, agree;
        agreement(&s, &matched, &agree);
        ck_assert_msg(matched * 5 > (size_t)W * H * 2, "seed %llu: only %zu of %d pixels are block interiors",
                      (unsigned long long)seed, matched, W * H);
        ck_assert_msg(agree == matched, "seed %llu: the mask disagrees with the image on %zu of %zu pixels",
                      (unsigned long long)seed, matched - agree, matched);
        int has[256] = {0};
        for (int k = 0; k < NLAB; k++)
            has[labels[k]] = 1;
        for (size_t p = 0; p < (size_t)W * H; p++) {
            ck_assert_msg(has[s.mask.px[p]], "seed %llu: label %u appeared", (unsigned long long)seed, s.mask.px[p]);
            saw255 |= s.mask.px[p] == 255;
        }
        zoomed += memcmp(s.image.px, ref.image.px, (size_t)W * H * 3) != 0;
        ds_aug_hflip(&ref);
        zoomed -= memcmp(s.image.px, ref.image.px, (size_t)W * H * 3) == 0;
        /* the same draw without a zoom: a flip of both, or of neither */
        struct ds_sample u, v;
        make(&u), make(&v);
        ds_rng_seed(&r, 42, 3, seed);
        ck_assert_int_eq(ds_aug_joint(&u, 1.0, &r), LAB_OK);
        ds_aug_hflip(&v);
        int fl = memcmp(u.image.px, v.image.px, (size_t)W * H * 3) == 0;
        flipped += fl;
        ck_assert(memcmp(u.mask.px, v.mask.px, (size_t)W * H) == 0 || !fl);
        ds_sample_free(&u);
        ds_sample_free(&v);
        ds_sample_free(&s);
        ds_sample_free(&ref);
    }
    ck_assert_msg(flipped > 5 && zoomed > 30, "the draws barely varied: %d flips, %d changed of 60", flipped, zoomed);
    ck_assert_msg(saw255, "255 never survived the augmentation");
}
END_TEST

START_TEST(test_draw_depends_on_the_seed_alone)
{
    struct ds_sample a, b, c;
    make(&a), make(&b), make(&c);
    struct ds_rng ra, rb, rc;
    ds_rng_seed(&ra, 7, 1, 5);
    ds_rng_seed(&rb, 7, 1, 5);
    ds_rng_seed(&rc, 7, 2, 5);
    ck_assert_int_eq(ds_aug_joint(&a, 2.0, &ra), LAB_OK);
    ck_assert_int_eq(ds_aug_joint(&b, 2.0, &rb), LAB_OK);
    ck_assert_int_eq(ds_aug_joint(&c, 2.0, &rc), LAB_OK);
    ck_assert(memcmp(a.image.px, b.image.px, (size_t)W * H * 3) == 0);
    ck_assert(memcmp(a.mask.px, b.mask.px, (size_t)W * H) == 0);
    ck_assert_msg(memcmp(a.image.px, c.image.px, (size_t)W * H * 3) != 0, "another epoch drew the same geometry");
    /* scale 1 is a flip at most: the mask is the input's, mirrored or not */
    struct ds_sample d, e;
    make(&d), make(&e);
    struct ds_rng rd;
    ds_rng_seed(&rd, 1, 1, 1);
    ck_assert_int_eq(ds_aug_joint(&d, 1.0, &rd), LAB_OK);
    int same = memcmp(d.mask.px, e.mask.px, (size_t)W * H) == 0;
    ds_aug_hflip(&e);
    ck_assert(same || memcmp(d.mask.px, e.mask.px, (size_t)W * H) == 0);
    ck_assert_int_ne(ds_aug_joint(&d, 0.5, &rd), LAB_OK);
    ds_image_free(&d.mask);
    ck_assert_int_ne(ds_aug_joint(&d, 1.5, &rd), LAB_OK);
    ds_sample_free(&a), ds_sample_free(&b), ds_sample_free(&c), ds_sample_free(&d), ds_sample_free(&e);
}
END_TEST

/* PIL's NEAREST (2.2.4 lab [8], checked on PIL 9.4 per the reference
 * notes): output i reads input floor((i + 0.5) * in / out). */
START_TEST(test_voc_resize_uses_pil_nearest_for_masks)
{
    struct ds_sample s;
    memset(&s, 0, sizeof s);
    ck_assert_int_eq(ds_image_alloc(&s.image, 5, 3, 3), LAB_OK);
    ck_assert_int_eq(ds_image_alloc(&s.mask, 5, 3, 1), LAB_OK);
    for (int p = 0; p < 15; p++)
        s.mask.px[p] = (uint8_t)(p == 7 ? 255 : p);
    ck_assert_int_eq(ds_voc_resize(&s, 4), LAB_OK);
    ck_assert_int_eq(s.image.w, 4);
    ck_assert_int_eq(s.image.c, 3);
    /* rows: floor((i + .5) * 3 / 4) = 0 1 1 2; columns: floor((i + .5) * 5 / 4) = 0 1 3 4 */
    const uint8_t want[16] = {0, 1, 3, 4, 5, 6, 8, 9, 5, 6, 8, 9, 10, 11, 13, 14};
    ck_assert(memcmp(s.mask.px, want, 16) == 0);
    ds_sample_free(&s);
    ck_assert_int_eq(ds_image_alloc(&s.image, 5, 3, 3), LAB_OK);
    ck_assert_int_eq(ds_image_alloc(&s.mask, 5, 3, 1), LAB_OK);
    s.mask.px[7] = 255;
    ck_assert_int_eq(ds_voc_resize(&s, 6), LAB_OK);
    int n255 = 0;
    for (int p = 0; p < 36; p++)
        n255 += s.mask.px[p] == 255;
    ck_assert_int_eq(n255, 4); /* input pixel (2, 1): output columns 2 and 3 of rows 2 and 3 */
    ds_sample_free(&s);
}
END_TEST

Suite *suite_augment_joint(void)
{
    Suite *s = suite_create("augment_joint");
    TCase *tc = tcase_create("augment_joint");
    tcase_add_test(tc, test_image_and_mask_stay_aligned);
    tcase_add_test(tc, test_draw_depends_on_the_seed_alone);
    tcase_add_test(tc, test_voc_resize_uses_pil_nearest_for_masks);
    suite_add_tcase(s, tc);
    return s;
}
