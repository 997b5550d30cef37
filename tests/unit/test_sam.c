/* Lab 2.2.6's SAM (labs/models/sam.h) against segment_anything itself: the
 * vit_b state dict is ../shared/reference/2.2.6-sam_vit_b.tsv key for key,
 * the parameter counts are the README's, and the tiny model's weights give
 * segment_anything's embeddings, per-block summaries, prompt embeddings,
 * masks and IoU predictions (2.2.6-sam_tiny.parity*.safetensors). */
#include "base/error.h"
#include "labs/models/sam.h"
#include "labs/models/weights.h"
#include "shim/safetensors.h"
#include "tests/unit/testutil.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RTOL 1e-4 /* fp32, relative to the largest reference value */

static char *ref_path(const char *name)
{
    char *p = malloc(4200);
    snprintf(p, 4200, "%s/../shared/reference/%s", tu_src_dir(), name);
    return p;
}

static int have_ref(const char *name)
{
    char *p = ref_path(name);
    FILE *f = fopen(p, "rb");
    free(p);
    if (f)
        fclose(f);
    return f != NULL;
}

static void expect_tsv(const struct model *m, const char *tsv)
{
    char *path = ref_path(tsv);
    tu_expect_state_keys(m, path);
    free(path);
}

/* The "| vit_x | 93,735,472 |" row of the README's SAM table. */
static int64_t readme_total(const char *model)
{
    char *path = ref_path("README.md"), line[1024], want[64];
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    free(path);
    snprintf(want, sizeof want, "| %s ", model);
    int64_t total = -1;
    while (total < 0 && fgets(line, sizeof line, f)) {
        if (strncmp(line, want, strlen(want)))
            continue;
        char *p = strchr(line + 1, '|');
        if (!p)
            continue;
        total = 0;
        for (p++; *p && *p != '|'; p++)
            if (*p >= '0' && *p <= '9')
                total = total * 10 + (*p - '0');
    }
    fclose(f);
    ck_assert_msg(total > 0, "README has no SAM row for %s", model);
    return total;
}

START_TEST(test_vit_b_state_dict_is_segment_anythings)
{
    if (!have_ref("2.2.6-sam_vit_b.tsv"))
        return;
    struct sam_config c;
    ck_assert_int_eq(sam_config_named("vit_b", &c), 0);
    struct model *m = NULL;
    ck_assert_msg(sam_new(&c, &m) == 0, "%s", lab_err_message());
    expect_tsv(m, "2.2.6-sam_vit_b.tsv");
    ck_assert_int_eq(model_num_params(m), sam_param_count(&c));
    ck_assert_ptr_eq(sam_config_of(m), sam_config_of(m));
    model_free(m);
}
END_TEST

START_TEST(test_param_counts_are_the_libraries)
{
    if (!have_ref("README.md"))
        return;
    static const char *const names[3] = {"vit_b", "vit_l", "vit_h"};
    for (int i = 0; i < 3; i++) {
        struct sam_config c;
        ck_assert_int_eq(sam_config_named(names[i], &c), 0);
        ck_assert_int_eq(sam_param_count(&c), readme_total(names[i]));
    }
    /* the count is the built model's for a configuration of its own too */
    static const int g[2] = {1, 3};
    struct sam_config c;
    sam_config_custom(&c, 32, 4, 4, 2, g);
    struct model *m = NULL;
    ck_assert_int_eq(sam_new(&c, &m), 0);
    ck_assert_int_eq(model_num_params(m), sam_param_count(&c));
    model_free(m);
    /* and bad configurations say why */
    sam_config_custom(&c, 30, 4, 4, 2, g);
    ck_assert_int_eq(sam_new(&c, &m), LAB_EUSAGE);
    int bad = 9;
    sam_config_custom(&c, 32, 4, 4, 1, &bad);
    ck_assert_int_eq(sam_new(&c, &m), LAB_EUSAGE);
    ck_assert_int_eq(sam_config_named("vit_x", &c), LAB_EUSAGE);
}
END_TEST

/* ---- the tiny model's parity vectors ---- */
static st_file *enc_file, *dec_file;

static ts_tensor *st_tensor(const st_file *f, const char *name)
{
    const struct st_tensor *t = st_find(f, name);
    ck_assert_msg(t != NULL, "no %s in the parity file", name);
    int dt = t->dtype == ST_F32 ? TS_F32 : t->dtype == ST_I64 ? TS_I64 : t->dtype == ST_U8 ? TS_U8 : -1;
    ck_assert_int_ge(dt, 0);
    ts_tensor *out = NULL;
    ck_assert_int_eq(ts_from_host(&out, t->data, dt, t->ndim, t->shape, TS_CPU), TS_OK);
    return out;
}

/* `floor`: the smallest scale the tolerance is relative to. A mean over a
 * whole mask of logits of both signs can cancel to near 0, where float
 * summation order alone moves it more than rtol of itself: its tolerance is
 * relative to the values averaged, as an element's is. */
static void expect_close_floor(const char *name, const ts_tensor *got, double rtol, double floor)
{
    ts_tensor *ref = st_tensor(enc_file, name), *g32, *d, *a, *mx, *ra, *rmx;
    ck_assert_msg(ts_dim(got) == ts_dim(ref), "%s: %d-d here, %d-d in the file", name, ts_dim(got), ts_dim(ref));
    for (int i = 0; i < ts_dim(ref); i++)
        ck_assert_msg(ts_size(got, i) == ts_size(ref, i), "%s: dim %d is %lld here, %lld in the file", name, i,
                      (long long)ts_size(got, i), (long long)ts_size(ref, i));
    ck_assert_int_eq(ts_to(&g32, got, TS_CPU, TS_F32), TS_OK);
    ck_assert_int_eq(ts_sub(&d, g32, ref), TS_OK);
    ck_assert_int_eq(ts_abs(&a, d), TS_OK);
    ck_assert_int_eq(ts_max(&mx, a, TS_ALL, 0), TS_OK);
    ck_assert_int_eq(ts_abs(&ra, ref), TS_OK);
    ck_assert_int_eq(ts_max(&rmx, ra, TS_ALL, 0), TS_OK);
    double err, scale;
    ts_item_f64(mx, &err);
    ts_item_f64(rmx, &scale);
    ck_assert_msg(err <= rtol * fmax(scale, floor), "%s: max |diff| %g, largest |ref| %g, floor %g (rtol %g)", name,
                  err, scale, floor, rtol);
}

static void expect_close(const char *name, const ts_tensor *got, double rtol)
{
    expect_close_floor(name, got, rtol, 1e-6);
}

static double largest_abs(const ts_tensor *t)
{
    ts_tensor *a, *m;
    double v = 0;
    ck_assert_int_eq(ts_abs(&a, t), TS_OK);
    ck_assert_int_eq(ts_max(&m, a, TS_ALL, 0), TS_OK);
    ts_item_f64(m, &v);
    return v;
}

static void means(const ts_tensor *t, int bhwc, ts_tensor **hw, ts_tensor **c)
{
    ts_tensor *a;
    int h = bhwc ? 1 : 2, ch = bhwc ? 3 : 1;
    ck_assert_int_eq(ts_mean(&a, t, h, 0), TS_OK);
    ck_assert_int_eq(ts_mean(hw, a, h, 0), TS_OK);
    ck_assert_int_eq(ts_mean(c, t, ch, 0), TS_OK);
}

static void expect_means(const char *stem, const ts_tensor *t, int bhwc)
{
    ts_tensor *hw, *c;
    char name[128];
    means(t, bhwc, &hw, &c);
    snprintf(name, sizeof name, "%s.mean_hw", stem);
    expect_close(name, hw, RTOL);
    snprintf(name, sizeof name, "%s.mean_c", stem);
    expect_close(name, c, RTOL);
}

static struct model *tiny_model(void)
{
    char *p1 = ref_path("2.2.6-sam_tiny.parity.safetensors"), *p2 = ref_path("2.2.6-sam_tiny.parity.decoder.safetensors");
    ck_assert_msg(st_open(p1, &enc_file) == 0, "%s", lab_err_message());
    ck_assert_msg(st_open(p2, &dec_file) == 0, "%s", lab_err_message());
    free(p1);
    free(p2);
    static const int g[2] = {1, 3};
    struct sam_config c;
    sam_config_custom(&c, 32, 4, 4, 2, g);
    struct model *m = NULL;
    ck_assert_int_eq(sam_new(&c, &m), 0);
    /* sd.<key> of both files, loaded strictly */
    struct ts_host_tensor *items = calloc(st_count(enc_file) + st_count(dec_file), sizeof *items);
    size_t n = 0;
    const st_file *files[2] = {enc_file, dec_file};
    for (int f = 0; f < 2; f++)
        for (size_t i = 0; i < st_count(files[f]); i++) {
            const struct st_tensor *t = st_at(files[f], i);
            if (strncmp(t->name, "sd.", 3))
                continue;
            items[n] = (struct ts_host_tensor){.name = t->name + 3, .dtype = weights_ts_dtype(t->dtype),
                                               .ndim = t->ndim, .data = t->data, .nbytes = t->nbytes};
            memcpy(items[n].shape, t->shape, sizeof t->shape);
            n++;
        }
    ck_assert_msg(ts_params_load_host(m->params, items, n, 1, NULL) == TS_OK, "%s", ts_last_error());
    ck_assert_int_eq(n, ts_params_count(m->params));
    free(items);
    return m;
}

/* image.u8_192x256 nearest x4, normalized, padded at the bottom */
static ts_tensor *tiny_input(void)
{
    ts_tensor *u8 = st_tensor(enc_file, "image.u8_192x256"), *f, *up, *mean, *std, *c, *nrm, *pad;
    ck_assert_int_eq(ts_to(&f, u8, TS_CPU, TS_F32), TS_OK);
    ck_assert_int_eq(ts_interpolate(&up, f, 768, 1024, TS_NEAREST, 0), TS_OK);
    float mv[3], sv[3];
    for (int i = 0; i < 3; i++) {
        mv[i] = (float)SAM_PIXEL_MEAN[i];
        sv[i] = (float)SAM_PIXEL_STD[i];
    }
    int64_t s4[4] = {1, 3, 1, 1}, pads[4] = {0, 0, 0, 256};
    ck_assert_int_eq(ts_from_host(&mean, mv, TS_F32, 4, s4, TS_CPU), TS_OK);
    ck_assert_int_eq(ts_from_host(&std, sv, TS_F32, 4, s4, TS_CPU), TS_OK);
    ck_assert_int_eq(ts_sub(&c, up, mean), TS_OK);
    ck_assert_int_eq(ts_div(&nrm, c, std), TS_OK);
    ck_assert_int_eq(ts_pad(&pad, nrm, 4, pads, 0.0), TS_OK);
    return pad;
}

static void tiny_close(struct model *m)
{
    model_free(m);
    st_close(enc_file);
    st_close(dec_file);
    enc_file = dec_file = NULL;
}

START_TEST(test_tiny_encoder_matches_segment_anything)
{
    if (!have_ref("2.2.6-sam_tiny.parity.safetensors"))
        return;
    ck_assert_int_eq(ts_scope_begin(), TS_OK);
    struct model *m = tiny_model();
    struct sam_encoder_trace tr = {0};
    ts_tensor *emb;
    ck_assert_msg(sam_encode(m, tiny_input(), &tr, &emb) == 0, "%s", lab_err_message());
    expect_close("out.image_embeddings", emb, RTOL);
    expect_means("out.patch_embed", tr.patch_embed, 1);
    for (int i = 0; i < 4; i++) {
        char stem[32];
        snprintf(stem, sizeof stem, "out.block.%d", i);
        expect_means(stem, tr.blocks[i], 1);
    }
    for (int i = 0; i < 3; i++) {
        char stem[32];
        snprintf(stem, sizeof stem, "out.neck.%d", i);
        expect_means(stem, tr.neck[i], 0);
    }
    ts_scope_end();
    tiny_close(m);
}
END_TEST

static void host_f32(const ts_tensor *t, float *out, size_t n)
{
    ck_assert_int_eq(ts_numel(t), (int64_t)n);
    ck_assert_int_eq(ts_to_host(t, TS_F32, out, n * sizeof *out), TS_OK);
}

/* One prompt case through the prompt encoder and decoder, from the stored
 * image embedding (the encoder has its own test). */
static void check_case(struct model *m, const ts_tensor *emb, const char *cs, int n_points, int box)
{
    char name[160];
    float coords[4] = {0}, boxv[4] = {0};
    int labels[2] = {0};
    if (n_points) {
        snprintf(name, sizeof name, "%s.point_coords", cs);
        host_f32(st_tensor(enc_file, name), coords, (size_t)n_points * 2);
        snprintf(name, sizeof name, "%s.point_labels", cs);
        int64_t l[2];
        ck_assert_int_eq(ts_to_host(st_tensor(enc_file, name), TS_I64, l, sizeof(int64_t) * (size_t)n_points), 0);
        for (int i = 0; i < n_points; i++)
            labels[i] = (int)l[i];
    }
    if (box) {
        snprintf(name, sizeof name, "%s.boxes", cs);
        host_f32(st_tensor(enc_file, name), boxv, 4);
    }
    struct sam_prompts p = {.batch = 1, .n_points = n_points, .coords = coords, .labels = labels,
                            .boxes = box ? boxv : NULL};
    ts_tensor *sparse, *dense, *d00, *d0;
    ck_assert_msg(sam_prompt_encode(m, &p, &sparse, &dense) == 0, "%s", lab_err_message());
    snprintf(name, sizeof name, "%s.sparse_embeddings", cs);
    expect_close(name, sparse, RTOL);
    ck_assert_int_eq(ts_narrow(&d0, dense, 2, 0, 1), TS_OK);
    ck_assert_int_eq(ts_narrow(&d00, d0, 3, 0, 1), TS_OK);
    int64_t s2[2] = {1, SAM_EMBED};
    ck_assert_int_eq(ts_reshape(&d00, d00, 2, s2), TS_OK);
    snprintf(name, sizeof name, "%s.dense_embeddings[:,:,0,0]", cs);
    expect_close(name, d00, RTOL);
    for (int multi = 1; multi >= 0; multi--) {
        const char *mode = multi ? "multi" : "single";
        ts_tensor *low, *iou, *rows, *hw, *c, *post, *bottom, *pos, *area;
        ck_assert_msg(sam_decode(m, emb, sparse, dense, multi, &low, &iou) == 0, "%s", lab_err_message());
        snprintf(name, sizeof name, "%s.%s.iou_predictions", cs, mode);
        expect_close(name, iou, RTOL);
        ck_assert_int_eq(ts_narrow(&rows, low, 2, 96, 64), TS_OK);
        snprintf(name, sizeof name, "%s.%s.low_res_masks[:,:,96:160,:]", cs, mode);
        expect_close(name, rows, RTOL);
        means(low, 0, &hw, &c);
        snprintf(name, sizeof name, "%s.%s.low_res_masks.mean_hw", cs, mode);
        expect_close_floor(name, hw, RTOL, largest_abs(low));
        ck_assert_msg(sam_postprocess(low, SAM_IMG, 768, 1024, 600, 800, &post) == 0, "%s", lab_err_message());
        snprintf(name, sizeof name, "%s.%s.postprocessed.shape", cs, mode);
        int64_t shape[4];
        ck_assert_int_eq(ts_to_host(st_tensor(enc_file, name), TS_I64, shape, sizeof shape), 0);
        for (int i = 0; i < 4; i++)
            ck_assert_int_eq(ts_size(post, i), shape[i]);
        means(post, 0, &hw, &c);
        snprintf(name, sizeof name, "%s.%s.postprocessed.mean_hw", cs, mode);
        expect_close_floor(name, hw, RTOL, largest_abs(post));
        ck_assert_int_eq(ts_narrow(&bottom, post, 2, 592, 8), TS_OK);
        snprintf(name, sizeof name, "%s.%s.postprocessed[:,:,592:600,:]", cs, mode);
        expect_close(name, bottom, RTOL);
        /* areas: a logit within rounding of 0 may fall either side */
        ts_tensor *pf, *s1;
        ck_assert_int_eq(ts_gt_scalar(&pos, post, 0.0), TS_OK);
        ck_assert_int_eq(ts_to(&pf, pos, TS_CPU, TS_I64), TS_OK);
        ck_assert_int_eq(ts_sum(&s1, pf, 3, 0), TS_OK);
        ck_assert_int_eq(ts_sum(&area, s1, 2, 0), TS_OK);
        snprintf(name, sizeof name, "%s.%s.postprocessed.area", cs, mode);
        int64_t got[3], want[3], k = multi ? 3 : 1;
        ck_assert_int_eq(ts_to_host(area, TS_I64, got, sizeof(int64_t) * (size_t)k), 0);
        ck_assert_int_eq(ts_to_host(st_tensor(enc_file, name), TS_I64, want, sizeof(int64_t) * (size_t)k), 0);
        for (int i = 0; i < k; i++)
            ck_assert_msg(llabs(got[i] - want[i]) <= 10, "%s[%d]: %lld pixels here, %lld upstream", name, i,
                          (long long)got[i], (long long)want[i]);
    }
}

START_TEST(test_tiny_prompts_match_segment_anything)
{
    if (!have_ref("2.2.6-sam_tiny.parity.safetensors"))
        return;
    ck_assert_int_eq(ts_scope_begin(), TS_OK);
    struct model *m = tiny_model();
    ts_tensor *pe, *row0, *g;
    ck_assert_int_eq(sam_dense_pe(m, &pe), 0);
    ck_assert_int_eq(ts_narrow(&row0, pe, 2, 0, 1), TS_OK);
    ck_assert_int_eq(ts_squeeze(&row0, row0, 2), TS_OK);
    expect_close("pe.image_pe.row0", row0, RTOL);
    ck_assert_int_eq(ts_tensor_ref(&g, ts_params_get(m->params, "prompt_encoder.pe_layer.positional_encoding_gaussian_matrix")), 0);
    expect_close("pe.gaussian_matrix", g, 0);
    ts_tensor *emb = st_tensor(enc_file, "out.image_embeddings");
    check_case(m, emb, "case_a", 1, 0);
    check_case(m, emb, "case_b", 0, 1);
    check_case(m, emb, "case_c", 2, 1);
    ts_scope_end();
    tiny_close(m);
}
END_TEST

/* every entry of b equals a's, bit for bit */
static void expect_same_weights(const struct model *a, const struct model *b)
{
    ck_assert_int_eq(ts_params_count(a->params), ts_params_count(b->params));
    for (size_t i = 0; i < ts_params_count(a->params); i++) {
        const char *name;
        ts_tensor *ta, *tb, *eq, *all;
        int kind, group;
        ts_params_at(a->params, i, &name, &ta, &kind, &group);
        tb = ts_params_get(b->params, name);
        ck_assert_msg(tb != NULL, "%s missing", name);
        ck_assert_int_eq(ts_eq(&eq, ta, tb), TS_OK);
        ck_assert_int_eq(ts_min(&all, eq, TS_ALL, 0), TS_OK);
        int64_t v = 0;
        ck_assert_int_eq(ts_item_i64(all, &v), TS_OK);
        ck_assert_msg(v == 1, "%s differs after the round trip", name);
    }
}

/* torch.save(state_dict()) as the official checkpoints are, read without
 * Python; then our safetensors with the same keys. */
START_TEST(test_official_pth_and_safetensors_load)
{
    if (!have_ref("2.2.6-sam_tiny.parity.safetensors"))
        return;
    char *dir = tu_tempdir(), cmd[16384], path[4300], *out = NULL;
    char *ref = ref_path("");
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/tests/ref/sam_pth.py' '%s' '%s' 2>&1", tu_src_dir(), dir, ref);
    ck_assert_msg(tu_run(cmd, &out) == 0, "sam_pth.py: %s", out ? out : "");
    free(out);
    free(ref);
    ck_assert_int_eq(ts_scope_begin(), TS_OK);
    struct model *want = tiny_model(), *got = NULL, *again = NULL;
    static const int g[2] = {1, 3};
    struct sam_config c;
    sam_config_custom(&c, 32, 4, 4, 2, g);
    ck_assert_int_eq(sam_new(&c, &got), 0);
    snprintf(path, sizeof path, "%s/sam_tiny.pth", dir);
    ck_assert_msg(weights_load_any(got->params, path, 1, NULL, NULL) == 0, "%s", lab_err_message());
    expect_same_weights(want, got);
    snprintf(path, sizeof path, "%s/sam_tiny.safetensors", dir);
    ck_assert_msg(weights_save(got->params, path, NULL, NULL, 0) == 0, "%s", lab_err_message());
    ck_assert_int_eq(sam_new(&c, &again), 0);
    ck_assert_msg(weights_load_any(again->params, path, 1, NULL, NULL) == 0, "%s", lab_err_message());
    expect_same_weights(want, again);
    /* a vit_b checkpoint does not fit the tiny encoder: refused, naming a key */
    struct sam_config b;
    sam_config_named("vit_b", &b);
    b.depth = 1;
    b.n_global = 0;
    struct model *wrong = NULL;
    ck_assert_int_eq(sam_new(&b, &wrong), 0);
    snprintf(path, sizeof path, "%s/sam_tiny.pth", dir);
    ck_assert_int_eq(weights_load_any(wrong->params, path, 1, NULL, NULL), LAB_EUSAGE);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "image_encoder."));
    ts_scope_end();
    model_free(wrong);
    model_free(got);
    model_free(again);
    tiny_close(want);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

Suite *suite_sam(void)
{
    Suite *s = suite_create("sam");
    TCase *tc = tcase_create("parity");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_vit_b_state_dict_is_segment_anythings);
    tcase_add_test(tc, test_param_counts_are_the_libraries);
    tcase_add_test(tc, test_tiny_encoder_matches_segment_anything);
    tcase_add_test(tc, test_tiny_prompts_match_segment_anything);
    tcase_add_test(tc, test_official_pth_and_safetensors_load);
    suite_add_tcase(s, tc);
    return s;
}
