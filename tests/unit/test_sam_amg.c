/* The automatic mask generator's host pieces (labs/2.2.6-segment-anything/
 * amg.h) against segment_anything's own outputs in
 * ../shared/reference/2.2.6-sam_amg.json: crop boxes, point grids and their
 * 1024-frame coordinates, stability scores, mask boxes and RLE; then the
 * NMS and small-region rules on masks built for them. */
#include "base/error.h"
#include "labs/2.2.6-segment-anything/amg.h"
#include "labs/2.2.6-segment-anything/resize.h"
#include "tests/unit/testutil.h"

#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *fixture(void)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/../shared/reference/2.2.6-sam_amg.json", tu_src_dir());
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    fclose(f);
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e);
    ck_assert_msg(j != NULL, "%s: %s", path, e.text);
    return j;
}

static double num(const json_t *j) { return json_number_value(j); }

START_TEST(test_crops_and_grids_are_segment_anythings)
{
    json_t *j = fixture();
    if (!j)
        return;
    const json_t *par = json_object_get(j, "params");
    int H = (int)json_integer_value(json_array_get(json_object_get(par, "image_hw"), 0));
    int W = (int)json_integer_value(json_array_get(json_object_get(par, "image_hw"), 1));
    int side = (int)json_integer_value(json_object_get(par, "points_per_side"));
    int layers_n = (int)json_integer_value(json_object_get(par, "crop_n_layers"));
    int down = (int)json_integer_value(json_object_get(par, "crop_n_points_downscale_factor"));
    double ratio = num(json_object_get(par, "crop_overlap_ratio"));
    int boxes[SAM_AMG_MAX_CROPS][4], layers[SAM_AMG_MAX_CROPS], n = 0;
    ck_assert_int_eq(sam_amg_crop_boxes(H, W, layers_n, ratio, boxes, layers, &n), 0);
    const json_t *gb = json_object_get(j, "generate_crop_boxes");
    const json_t *want = json_object_get(gb, "crop_boxes_xyxy");
    ck_assert_int_eq(n, (int)json_array_size(want));
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < 4; k++)
            ck_assert_int_eq(boxes[i][k], json_integer_value(json_array_get(json_array_get(want, (size_t)i), (size_t)k)));
        ck_assert_int_eq(layers[i], json_integer_value(json_array_get(json_object_get(gb, "layer_idxs"), (size_t)i)));
    }
    /* the grids per layer */
    const json_t *gl = json_object_get(json_object_get(j, "build_all_layer_point_grids"), "layers");
    for (size_t l = 0; l < json_array_size(gl); l++) {
        const json_t *L = json_array_get(gl, l);
        int s = sam_amg_layer_side(side, (int)l, down);
        ck_assert_int_eq(s, json_integer_value(json_object_get(L, "n_per_side")));
        double *pts = malloc(sizeof *pts * 2 * (size_t)s * s);
        ck_assert_int_eq(sam_amg_point_grid(s, pts), 0);
        const json_t *one = json_object_get(L, "points_one_side_normalised");
        for (int i = 0; i < s; i++) {
            ck_assert_msg(pts[2 * i] == num(json_array_get(one, (size_t)i)), "layer %zu x[%d]", l, i);
            ck_assert_msg(pts[2 * i * s + 1] == num(json_array_get(one, (size_t)i)), "layer %zu y[%d]", l, i);
        }
        free(pts);
    }
    /* per crop: grid * crop size, then ResizeLongestSide.apply_coords */
    const json_t *crops = json_object_get(j, "crops");
    ck_assert_int_eq(json_array_size(crops), (size_t)n);
    for (int i = 0; i < n; i++) {
        const json_t *c = json_array_get(crops, (size_t)i);
        int cw = boxes[i][2] - boxes[i][0], ch = boxes[i][3] - boxes[i][1], nh, nw;
        sam_preprocess_shape(ch, cw, 1024, &nh, &nw);
        ck_assert_int_eq(nh, json_integer_value(json_array_get(json_object_get(c, "resized_input_size_hw"), 0)));
        ck_assert_int_eq(nw, json_integer_value(json_array_get(json_object_get(c, "resized_input_size_hw"), 1)));
        int s = sam_amg_layer_side(side, layers[i], down);
        double *pts = malloc(sizeof *pts * 2 * (size_t)s * s);
        ck_assert_int_eq(sam_amg_point_grid(s, pts), 0);
        const json_t *xs = json_object_get(c, "points_x_crop_px"), *x1024 = json_object_get(c, "points_x_1024");
        const json_t *ys = json_object_get(c, "points_y_crop_px"), *y1024 = json_object_get(c, "points_y_1024");
        for (int k = 0; k < s; k++) {
            double x = pts[2 * k] * cw, y = pts[2 * k * s + 1] * ch;
            ck_assert_msg(x == num(json_array_get(xs, (size_t)k)), "crop %d x %d", i, k);
            ck_assert_msg(y == num(json_array_get(ys, (size_t)k)), "crop %d y %d", i, k);
            ck_assert_msg(x * ((double)nw / cw) == num(json_array_get(x1024, (size_t)k)), "crop %d x1024 %d", i, k);
            ck_assert_msg(y * ((double)nh / ch) == num(json_array_get(y1024, (size_t)k)), "crop %d y1024 %d", i, k);
        }
        free(pts);
    }
    json_decref(j);
}
END_TEST

START_TEST(test_stability_boxes_and_rle_are_segment_anythings)
{
    json_t *j = fixture();
    if (!j)
        return;
    const json_t *st = json_object_get(j, "calculate_stability_score");
    const json_t *ml = json_object_get(st, "masks_logits_3x4x5"), *out = json_object_get(st, "output");
    for (size_t m = 0; m < json_array_size(ml); m++) {
        float v[20];
        size_t k = 0;
        for (size_t r = 0; r < 4; r++)
            for (size_t c = 0; c < 5; c++)
                v[k++] = (float)num(json_array_get(json_array_get(json_array_get(ml, m), r), c));
        float s = sam_amg_stability(v, 20, 0.0f, 1.0f);
        const json_t *w = json_array_get(out, m);
        if (json_is_null(w))
            ck_assert_msg(isnan(s), "mask %zu: %g, upstream NaN", m, s);
        else
            ck_assert_msg(s == (float)num(w), "mask %zu: %.9g, upstream %.9g", m, s, num(w));
    }
    const json_t *mb = json_object_get(j, "batched_mask_to_box");
    const json_t *masks = json_object_get(mb, "input_masks_3x7x9"), *bx = json_object_get(mb, "output_xyxy");
    const json_t *rle = json_object_get(j, "mask_to_rle_pytorch");
    for (size_t m = 0; m < json_array_size(masks); m++) {
        uint8_t px[63], back[63];
        for (size_t r = 0; r < 7; r++)
            for (size_t c = 0; c < 9; c++) {
                const json_t *v = json_array_get(json_array_get(json_array_get(masks, m), r), c);
                px[r * 9 + c] = json_is_true(v) || (json_is_integer(v) && json_integer_value(v));
            }
        int64_t box[4];
        sam_amg_mask_box(px, 7, 9, box);
        for (size_t k = 0; k < 4; k++)
            ck_assert_int_eq(box[k], json_integer_value(json_array_get(json_array_get(bx, m), k)));
        int64_t *counts;
        size_t n;
        ck_assert_int_eq(sam_amg_rle_encode(px, 7, 9, &counts, &n), 0);
        const json_t *wc = json_object_get(json_array_get(json_object_get(rle, "output"), m), "counts");
        ck_assert_int_eq(n, json_array_size(wc));
        int64_t area = 0;
        for (size_t k = 0; k < n; k++) {
            ck_assert_int_eq(counts[k], json_integer_value(json_array_get(wc, k)));
            area += k % 2 ? counts[k] : 0;
        }
        ck_assert_int_eq(area, json_integer_value(json_array_get(json_object_get(rle, "area_from_rle"), m)));
        ck_assert_int_eq(sam_amg_rle_decode(counts, n, 7, 9, back), 0);
        ck_assert_int_eq(memcmp(px, back, 63), 0);
        counts[0] += 1; /* runs past the mask are refused */
        ck_assert_int_eq(sam_amg_rle_decode(counts, n, 7, 9, back), LAB_EUSAGE);
        free(counts);
    }
    json_decref(j);
}
END_TEST

START_TEST(test_nms_and_small_regions)
{
    /* 1 overlaps 0 by IoU 0.81 (dropped at 0.7), 2 is apart; by score order */
    const float boxes[3][4] = {{0, 0, 10, 10}, {1, 1, 10, 10}, {20, 20, 30, 30}}, scores[3] = {0.5f, 0.9f, 0.7f};
    size_t keep[3], n = 0;
    ck_assert_int_eq(sam_amg_box_nms(boxes, scores, 3, 0.7f, keep, &n), 0);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(keep[0], 1);
    ck_assert_int_eq(keep[1], 2);
    ck_assert_int_eq(sam_amg_box_nms(boxes, scores, 3, 0.9f, keep, &n), 0);
    ck_assert_int_eq(n, 3);
    /* a 6x6 square with a 1-pixel hole, a diagonal neighbour (8-connected,
     * so part of it) and a lone 2-pixel island */
    enum { H = 10, W = 12 };
    uint8_t m[H * W] = {0};
    for (int y = 1; y < 7; y++)
        for (int x = 1; x < 7; x++)
            m[y * W + x] = 1;
    m[3 * W + 3] = 0;
    m[7 * W + 7] = 1;
    m[8 * W + 10] = m[8 * W + 11] = 1;
    int changed;
    uint8_t holes[H * W];
    memcpy(holes, m, sizeof m);
    ck_assert_int_eq(sam_amg_remove_small_regions(holes, H, W, 5, SAM_AMG_HOLES, &changed), 0);
    ck_assert_int_eq(changed, 1);
    ck_assert_int_eq(holes[3 * W + 3], 1);
    ck_assert_int_eq(holes[0], 0); /* the big background stays background */
    uint8_t isl[H * W];
    memcpy(isl, m, sizeof m);
    ck_assert_int_eq(sam_amg_remove_small_regions(isl, H, W, 5, SAM_AMG_ISLANDS, &changed), 0);
    ck_assert_int_eq(changed, 1);
    ck_assert_int_eq(isl[8 * W + 10], 0);
    ck_assert_int_eq(isl[7 * W + 7], 1);
    ck_assert_int_eq(isl[1 * W + 1], 1);
    /* every island small: the largest survives */
    memcpy(isl, m, sizeof m);
    ck_assert_int_eq(sam_amg_remove_small_regions(isl, H, W, 1000, SAM_AMG_ISLANDS, &changed), 0);
    ck_assert_int_eq(isl[1 * W + 1], 1);
    ck_assert_int_eq(isl[8 * W + 10], 0);
    /* nothing under the threshold: unchanged */
    memcpy(isl, m, sizeof m);
    ck_assert_int_eq(sam_amg_remove_small_regions(isl, H, W, 1, SAM_AMG_ISLANDS, &changed), 0);
    ck_assert_int_eq(changed, 0);
    ck_assert_int_eq(memcmp(isl, m, sizeof m), 0);
}
END_TEST

Suite *suite_sam_amg(void)
{
    Suite *s = suite_create("sam_amg");
    TCase *tc = tcase_create("amg");
    tcase_add_test(tc, test_crops_and_grids_are_segment_anythings);
    tcase_add_test(tc, test_stability_boxes_and_rle_are_segment_anythings);
    tcase_add_test(tc, test_nms_and_small_regions);
    suite_add_tcase(s, tc);
    return s;
}
