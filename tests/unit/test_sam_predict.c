/* Lab 2.2.6's preprocessing against segment_anything's: ResizeLongestSide
 * through Pillow's bilinear resize gives the same bytes here
 * (tests/ref/sam_resize.py). */
#include "base/error.h"
#include "base/fsutil.h"
#include "labs/2.2.6-segment-anything/amg.h"
#include "labs/2.2.6-segment-anything/generator.h"
#include "labs/2.2.6-segment-anything/predictor.h"
#include "labs/2.2.6-segment-anything/resize.h"
#include "labs/models/sam.h"
#include "shim/safetensors.h"
#include "tests/unit/testutil.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_resize_longest_side_is_pillows)
{
    char *dir = tu_tempdir(), cmd[8192], *out = NULL, path[4300];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/tests/ref/sam_resize.py' '%s' 2>&1", tu_src_dir(), dir);
    ck_assert_msg(tu_run(cmd, &out) == 0, "sam_resize.py: %s", out ? out : "");
    free(out);
    snprintf(path, sizeof path, "%s/resize.txt", dir);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char name[64];
    int h, w, nh, nw, cases = 0;
    while (fscanf(f, "%63s %d %d %d %d", name, &h, &w, &nh, &nw) == 5) {
        int gh, gw;
        sam_preprocess_shape(h, w, 1024, &gh, &gw);
        ck_assert_msg(gh == nh && gw == nw, "%s: %dx%d here, %dx%d upstream", name, gh, gw, nh, nw);
        char *in = NULL, *want = NULL;
        size_t in_len, want_len;
        snprintf(path, sizeof path, "%s/%s.in.raw", dir, name);
        ck_assert_int_eq(lab_read_file(path, 1u << 30, &in, &in_len), 0);
        snprintf(path, sizeof path, "%s/%s.out.raw", dir, name);
        ck_assert_int_eq(lab_read_file(path, 1u << 30, &want, &want_len), 0);
        ck_assert_int_eq(in_len, (size_t)h * w * 3);
        struct ds_image im = {.w = w, .h = h, .c = 3, .px = (uint8_t *)in}, res = {0};
        ck_assert_msg(sam_pil_resize_bilinear(&im, nw, nh, &res) == 0, "%s", lab_err_message());
        ck_assert_int_eq(want_len, (size_t)nw * nh * 3);
        size_t diff = 0;
        for (size_t i = 0; i < want_len; i++)
            diff += res.px[i] != (uint8_t)want[i];
        ck_assert_msg(diff == 0, "%s: %zu of %zu bytes differ from Pillow's", name, diff, want_len);
        ds_image_free(&res);
        free(in);
        free(want);
        cases++;
    }
    fclose(f);
    ck_assert_int_eq(cases, 4);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

static const struct st_tensor *need(const st_file *f, const char *name)
{
    const struct st_tensor *t = st_find(f, name);
    ck_assert_msg(t != NULL, "no %s in the parity file", name);
    return t;
}

static double max_rel_diff(const ts_tensor *got, const struct st_tensor *ref)
{
    size_t n = (size_t)ts_numel(got);
    ck_assert_int_eq(n * 4, ref->nbytes);
    float *g = malloc(n * 4);
    ck_assert_int_eq(ts_to_host(got, TS_F32, g, n * 4), TS_OK);
    const float *r = ref->data;
    double err = 0, scale = 1e-6;
    for (size_t i = 0; i < n; i++) {
        err = fmax(err, fabs((double)g[i] - r[i]));
        scale = fmax(scale, fabs((double)r[i]));
    }
    free(g);
    return err / scale;
}

/* The predictor on the parity image at its resized size (768x1024, so the
 * resize is the identity) gives segment_anything's embedding and case a;
 * a second predictor on the same image reads the disk cache instead. */
START_TEST(test_predictor_matches_and_caches)
{
    char ref[4200], ref2[4200];
    snprintf(ref, sizeof ref, "%s/../shared/reference/2.2.6-sam_tiny.parity.safetensors", tu_src_dir());
    snprintf(ref2, sizeof ref2, "%s/../shared/reference/2.2.6-sam_tiny.parity.decoder.safetensors", tu_src_dir());
    if (!lab_path_exists(ref))
        return;
    st_file *f = NULL, *fd = NULL;
    ck_assert_int_eq(st_open(ref, &f), 0);
    ck_assert_int_eq(st_open(ref2, &fd), 0);
    static const int g[2] = {1, 3};
    struct sam_config c;
    sam_config_custom(&c, 32, 4, 4, 2, g);
    struct model *m = NULL;
    ck_assert_int_eq(sam_new(&c, &m), 0);
    struct ts_host_tensor items[256];
    size_t n = 0;
    const st_file *files[2] = {f, fd};
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < st_count(files[k]); i++) {
            const struct st_tensor *t = st_at(files[k], i);
            if (strncmp(t->name, "sd.", 3))
                continue;
            ck_assert_int_lt(n, 256);
            items[n] = (struct ts_host_tensor){.name = t->name + 3, .dtype = TS_F32, .ndim = t->ndim, .data = t->data,
                                               .nbytes = t->nbytes};
            memcpy(items[n].shape, t->shape, sizeof t->shape);
            n++;
        }
    ck_assert_msg(ts_params_load_host(m->params, items, n, 1, NULL) == TS_OK, "%s", ts_last_error());
    /* image.u8_192x256 (CHW) nearest x4 as an HWC image */
    const struct st_tensor *u8 = need(f, "image.u8_192x256");
    struct ds_image im = {0};
    ck_assert_int_eq(ds_image_alloc(&im, 1024, 768, 3), 0);
    const uint8_t *src = u8->data;
    for (int y = 0; y < 768; y++)
        for (int x = 0; x < 1024; x++)
            for (int ch = 0; ch < 3; ch++)
                im.px[((size_t)y * 1024 + x) * 3 + ch] = src[((size_t)ch * 192 + y / 4) * 256 + x / 4];
    char *cache = tu_tempdir();
    struct sam_predictor p;
    ck_assert_int_eq(sam_predictor_init(&p, m, ref, cache), 0);
    ck_assert_msg(sam_predictor_set_image(&p, &im) == 0, "%s", lab_err_message());
    ck_assert_int_eq(p.from_cache, 0);
    ck_assert_int_eq(p.in_h, 768);
    ck_assert_int_eq(p.in_w, 1024);
    double e = max_rel_diff(p.embeddings, need(f, "out.image_embeddings"));
    ck_assert_msg(e <= 1e-4, "embedding differs by %g of its largest value", e);
    const float *pt = need(f, "case_a.point_coords")->data;
    double point[2] = {pt[0], pt[1]};
    int label = 1;
    for (int pass = 0; pass < 2; pass++) {
        ck_assert_int_eq(ts_scope_begin(), TS_OK);
        struct sam_query q = {.n_points = 1, .points = point, .labels = &label, .multimask = 1};
        ts_tensor *masks, *iou, *low;
        ck_assert_msg(sam_predictor_predict(&p, &q, &masks, &iou, &low) == 0, "%s", lab_err_message());
        ck_assert_int_eq(ts_dtype(masks), TS_BOOL);
        ck_assert_int_eq(ts_size(masks, 1), 3);
        ck_assert_int_eq(ts_size(masks, 2), 768);
        ck_assert_int_eq(ts_size(masks, 3), 1024);
        double ie = max_rel_diff(iou, need(f, "case_a.multi.iou_predictions"));
        ck_assert_msg(ie <= 1e-4, "pass %d: IoU predictions differ by %g", pass, ie);
        ts_tensor *rows;
        ck_assert_int_eq(ts_narrow(&rows, low, 2, 96, 64), TS_OK);
        ie = max_rel_diff(rows, need(f, "case_a.multi.low_res_masks[:,:,96:160,:]"));
        ck_assert_msg(ie <= 1e-4, "pass %d: low-res logits differ by %g", pass, ie);
        ts_scope_end();
        if (pass == 0) {
            /* a fresh predictor on the same image and weights: read from disk */
            sam_predictor_free(&p);
            ck_assert_int_eq(sam_predictor_init(&p, m, ref, cache), 0);
            ck_assert_msg(sam_predictor_set_image(&p, &im) == 0, "%s", lab_err_message());
            ck_assert_int_eq(p.from_cache, 1);
        }
    }
    /* prompting needs an image; labels must be 0 or 1 */
    struct sam_predictor empty;
    ck_assert_int_eq(sam_predictor_init(&empty, m, NULL, NULL), 0);
    struct sam_query q = {.n_points = 1, .points = point, .labels = &label};
    ts_tensor *a, *b, *d;
    ck_assert_int_eq(sam_predictor_predict(&empty, &q, &a, &b, &d), LAB_EUSAGE);
    int bad = 7;
    q.labels = &bad;
    ck_assert_int_eq(ts_scope_begin(), TS_OK);
    ck_assert_int_eq(sam_predictor_predict(&p, &q, &a, &b, &d), LAB_EUSAGE);
    ts_scope_end();
    sam_predictor_free(&p);
    ds_image_free(&im);
    model_free(m);
    st_close(f);
    st_close(fd);
    tu_rmtree(cache);
    free(cache);
}
END_TEST

/* The generator end to end on a small random SAM: every mask it returns
 * decodes to its area inside its box, passed the filters, and no two kept
 * boxes overlap beyond the NMS threshold. */
START_TEST(test_automatic_masks_are_consistent)
{
    ts_manual_seed(3);
    static const int g[1] = {1};
    struct sam_config c;
    sam_config_custom(&c, 16, 2, 2, 1, g);
    struct model *m = NULL;
    ck_assert_int_eq(sam_new(&c, &m), 0);
    struct ds_image im = {0};
    ck_assert_int_eq(ds_image_alloc(&im, 128, 96, 3), 0);
    for (size_t i = 0; i < (size_t)128 * 96 * 3; i++)
        im.px[i] = (uint8_t)((i * 2654435761u) >> 24);
    struct sam_predictor p;
    ck_assert_int_eq(sam_predictor_init(&p, m, NULL, NULL), 0);
    struct sam_amg_opts o;
    sam_amg_defaults(&o);
    o.points_per_side = 4;
    o.pred_iou_thresh = -10; /* random weights predict IoUs around 0 */
    o.stability_score_thresh = 0;
    o.min_mask_region_area = 10;
    struct sam_amg_result r;
    ck_assert_msg(sam_amg_generate(&p, &im, &o, &r) == 0, "%s", lab_err_message());
    ck_assert_int_gt(r.n, 0);
    ck_assert_int_le(r.n, 16 * 3);
    uint8_t *mask = malloc((size_t)96 * 128);
    for (size_t i = 0; i < r.n; i++) {
        const struct sam_amg_mask *a = &r.masks[i];
        ck_assert_int_eq(sam_amg_rle_decode(a->rle, a->n_rle, 96, 128, mask), 0);
        long area = 0;
        int64_t box[4];
        for (size_t k = 0; k < (size_t)96 * 128; k++)
            area += mask[k];
        ck_assert_int_eq(area, a->area);
        sam_amg_mask_box(mask, 96, 128, box);
        ck_assert(box[0] == a->bbox_xywh[0] && box[1] == a->bbox_xywh[1]);
        ck_assert(box[2] == a->bbox_xywh[0] + a->bbox_xywh[2] && box[3] == a->bbox_xywh[1] + a->bbox_xywh[3]);
        ck_assert(a->stability >= 0 && a->predicted_iou > -10);
        ck_assert_int_eq(a->crop_xywh[2], 128);
        for (size_t j = 0; j < i; j++) {
            const double *u = a->bbox_xywh, *v = r.masks[j].bbox_xywh;
            double ix = fmax(0, fmin(u[0] + u[2], v[0] + v[2]) - fmax(u[0], v[0]));
            double iy = fmax(0, fmin(u[1] + u[3], v[1] + v[3]) - fmax(u[1], v[1]));
            double inter = ix * iy, uni = u[2] * u[3] + v[2] * v[3] - inter;
            ck_assert_msg(uni <= 0 || inter / uni <= 0.7 + 1e-6, "masks %zu and %zu overlap %g", i, j, inter / uni);
        }
    }
    free(mask);
    sam_amg_result_free(&r);
    sam_predictor_free(&p);
    ds_image_free(&im);
    model_free(m);
}
END_TEST

Suite *suite_sam_predict(void)
{
    Suite *s = suite_create("sam_predict");
    TCase *tc = tcase_create("preprocess");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_resize_longest_side_is_pillows);
    tcase_add_test(tc, test_predictor_matches_and_caches);
    tcase_add_test(tc, test_automatic_masks_are_consistent);
    suite_add_tcase(s, tc);
    return s;
}
