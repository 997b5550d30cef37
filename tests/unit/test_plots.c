/* The run's figures: each is a PNG of the size its layout asks for, also
 * for one epoch, several panels and captions of several lines. */
#include "base/error.h"
#include "labs/plots.h"
#include "tests/unit/testutil.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Width and height from the PNG's IHDR; 0 when the file is not a PNG. */
static void png_size(const char *path, uint32_t *w, uint32_t *h)
{
    unsigned char b[24] = {0};
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(b, 1, sizeof b, f) : 0;
    if (f)
        fclose(f);
    *w = *h = 0;
    if (n == sizeof b && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0 && memcmp(b + 12, "IHDR", 4) == 0) {
        *w = (uint32_t)b[16] << 24 | (uint32_t)b[17] << 16 | (uint32_t)b[18] << 8 | b[19];
        *h = (uint32_t)b[20] << 24 | (uint32_t)b[21] << 16 | (uint32_t)b[22] << 8 | b[23];
    }
}

START_TEST(test_one_epoch_and_panels_and_captions)
{
    char *dir = tu_tempdir(), path[4200];
    uint32_t w, h;
    double x[1] = {1}, tr[1] = {0.2148}, te[1] = {0.0781};
    struct plot_series acc[2] = {{"train", x, tr, 1}, {"test", x, te, 1}};
    snprintf(path, sizeof path, "%s/acc.png", dir);
    ck_assert_int_eq(plot_lines(path, "one epoch", "epoch", "accuracy", acc, 2), LAB_OK);
    png_size(path, &w, &h);
    ck_assert_uint_eq(w, 720);
    ck_assert_uint_eq(h, 440);

    const char *labels[4] = {"lenet5", "alexnet", "vgg11", "resnet18"};
    double a[4] = {87.7, 74.15, 66.8, 83.85}, p[4] = {0.062, 35.9, 28.1, 11.2}, s[4] = {734, 7, 10, 6};
    const struct plot_panel panels[3] = {
        {"test accuracy", "%", "%.2f%%", a, 100}, {"parameters", "millions", "%.3gM", p, 0}, {"speed", "images/s", NULL, s, 0}};
    snprintf(path, sizeof path, "%s/cmp.png", dir);
    ck_assert_int_eq(plot_bar_panels(path, "models compared", labels, 4, panels, 3), LAB_OK);
    png_size(path, &w, &h);
    ck_assert_uint_eq(w, 130 + 3 * (250 + 30) + 10); /* one panel per quantity */
    ck_assert_uint_eq(h, 64 + 4 * 36 + 50);

    uint8_t px[28 * 28] = {0};
    struct ds_image ims[2] = {{28, 28, 1, px}, {28, 28, 1, px}};
    const char *caps[2] = {"Sneaker", "T-shirt/top\n(true: Ankle boot)"};
    int ok[2] = {1, 0};
    snprintf(path, sizeof path, "%s/grid.png", dir);
    ck_assert_int_eq(plot_image_grid(path, "samples", ims, 2, caps, ok), LAB_OK);
    png_size(path, &w, &h);
    ck_assert_uint_eq(h, 40 + (28 * 3 + 3 + 13 * 2 + 10)); /* room for two caption lines */
    tu_rmtree(dir);
    free(dir);
}
END_TEST

Suite *suite_plots(void)
{
    Suite *s = suite_create("plots");
    TCase *tc = tcase_create("figures");
    tcase_add_test(tc, test_one_epoch_and_panels_and_captions);
    suite_add_tcase(s, tc);
    return s;
}
