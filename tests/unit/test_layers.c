/* labs/models/layers.h against torch.nn (tests/ref/layers.py): the same
 * weights and inputs give the same outputs, input gradients and parameter
 * gradients; seeded layers (dropout, drop path, initialisers) draw the same
 * numbers as PyTorch for the same seed. */
#include "labs/models/layers.h"
#include "tests/unit/shim_testref.h"
#include "tests/unit/testutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dir;
static void generate(void) { dir = shim_ref_generate("layers.py"); }
static void cleanup(void)
{
    tu_rmtree(dir);
    free(dir);
    dir = NULL;
}

#define RTOL 1e-5
#define CONV_RTOL 1e-4

/* Every layer a case may build; a case uses one. */
struct layer {
    struct nn_conv conv;
    struct nn_conv_t convt;
    struct nn_layer_norm ln;
    struct nn_mha mha;
    struct nn_mlp mlp;
    struct nn_embedding emb;
};

struct layer_case {
    const char *name;
    int (*build)(ts_params *p, struct layer *l);
    int (*fwd)(struct layer *l, ts_tensor **in, int training, ts_tensor **out, ts_tensor **attn);
    int nin, training;
    int64_t seed; /* > 0: ts_manual_seed before the forward */
    double rtol;
};

static int b_none(ts_params *p, struct layer *l) { return (void)p, (void)l, 0; }
static int b_conv_grouped(ts_params *p, struct layer *l)
{
    struct nn_conv_opts o = {.stride = 2, .pad = 1, .groups = 2, .bias = 1};
    return nn_conv_init_ex(p, "", 4, 6, 3, &o, &l->conv);
}
static int b_conv_depthwise(ts_params *p, struct layer *l)
{
    struct nn_conv_opts o = {.stride = 1, .pad = 2, .dil = 2, .groups = 6, .bias = 0};
    return nn_conv_init_ex(p, "", 6, 6, 3, &o, &l->conv);
}
static int f_conv(struct layer *l, ts_tensor **in, int tr, ts_tensor **o, ts_tensor **a)
{
    (void)tr, (void)a;
    return nn_conv_fwd(&l->conv, in[0], o);
}
static int b_ln6(ts_params *p, struct layer *l) { return nn_layer_norm_init(p, "", 8, 1e-6, &l->ln); }
static int b_ln2d(ts_params *p, struct layer *l) { return nn_layer_norm_init(p, "", 6, 1e-6, &l->ln); }
static int f_ln(struct layer *l, ts_tensor **in, int tr, ts_tensor **o, ts_tensor **a)
{
    (void)tr, (void)a;
    return nn_layer_norm_fwd(&l->ln, in[0], o);
}
static int f_ln2d(struct layer *l, ts_tensor **in, int tr, ts_tensor **o, ts_tensor **a)
{
    (void)tr, (void)a;
    return nn_layer_norm2d_fwd(&l->ln, in[0], o);
}
static int b_mha_qkv(ts_params *p, struct layer *l) { return nn_mha_init(p, "", 16, 4, NN_MHA_QKV, 0, 0, &l->mha); }
static int b_mha_drop(ts_params *p, struct layer *l)
{
    int rc = nn_mha_init(p, "", 16, 4, NN_MHA_QKV, 0.5, 0, &l->mha);
    l->mha.explicit_math = 1;
    return rc;
}
static int b_mha_torch(ts_params *p, struct layer *l)
{
    return nn_mha_init(p, "attn", 16, 4, NN_MHA_TORCH, 0, 0, &l->mha);
}
static int f_mha(struct layer *l, ts_tensor **in, int tr, ts_tensor **o, ts_tensor **a)
{
    return nn_mha_fwd(&l->mha, in[0], tr, o, a);
}
static int b_mlp(ts_params *p, struct layer *l) { return nn_mlp_init(p, "fc1", "fc2", 16, 32, 16, NN_ACT_GELU, 0, &l->mlp); }
static int f_mlp(struct layer *l, ts_tensor **in, int tr, ts_tensor **o, ts_tensor **a)
{
    (void)a;
    return nn_mlp_fwd(&l->mlp, in[0], tr, o);
}
static int f_gelu(struct layer *l, ts_tensor **in, int tr, ts_tensor **o, ts_tensor **a)
{
    (void)l, (void)tr, (void)a;
    return nn_act_fwd(NN_ACT_GELU, in[0], o);
}
static int f_gelu_tanh(struct layer *l, ts_tensor **in, int tr, ts_tensor **o, ts_tensor **a)
{
    (void)l, (void)tr, (void)a;
    return nn_act_fwd(NN_ACT_GELU_TANH, in[0], o);
}
static int f_silu(struct layer *l, ts_tensor **in, int tr, ts_tensor **o, ts_tensor **a)
{
    (void)l, (void)tr, (void)a;
    return nn_act_fwd(NN_ACT_SILU, in[0], o);
}
static int f_dropout(struct layer *l, ts_tensor **in, int tr, ts_tensor **o, ts_tensor **a)
{
    (void)l, (void)a;
    return nn_dropout(in[0], 0.3, tr, o);
}
static int f_drop_path(struct layer *l, ts_tensor **in, int tr, ts_tensor **o, ts_tensor **a)
{
    (void)l, (void)a;
    return nn_drop_path(in[0], 0.4, tr, o);
}
static int b_convt(ts_params *p, struct layer *l) { return nn_conv_transpose_init(p, "", 4, 6, 2, 2, 0, 0, 2, 1, &l->convt); }
static int b_convt_pad(ts_params *p, struct layer *l)
{
    return nn_conv_transpose_init(p, "", 3, 5, 3, 2, 1, 1, 1, 0, &l->convt);
}
static int f_convt(struct layer *l, ts_tensor **in, int tr, ts_tensor **o, ts_tensor **a)
{
    (void)tr, (void)a;
    return nn_conv_transpose_fwd(&l->convt, in[0], o);
}
static int f_up_bilinear(struct layer *l, ts_tensor **in, int tr, ts_tensor **o, ts_tensor **a)
{
    (void)l, (void)tr, (void)a;
    return nn_upsample(in[0], 2, TS_BILINEAR, 0, o);
}
static int f_up_bilinear_ac(struct layer *l, ts_tensor **in, int tr, ts_tensor **o, ts_tensor **a)
{
    (void)l, (void)tr, (void)a;
    return nn_upsample(in[0], 2, TS_BILINEAR, 1, o);
}
static int f_up_nearest(struct layer *l, ts_tensor **in, int tr, ts_tensor **o, ts_tensor **a)
{
    (void)l, (void)tr, (void)a;
    return nn_upsample(in[0], 3, TS_NEAREST, 0, o);
}
static int f_concat(struct layer *l, ts_tensor **in, int tr, ts_tensor **o, ts_tensor **a)
{
    (void)l, (void)tr, (void)a;
    return nn_concat_skip(in[0], in[1], o);
}
static int b_emb(ts_params *p, struct layer *l) { return nn_embedding_init(p, "", 10, 4, &l->emb); }
static int f_emb(struct layer *l, ts_tensor **in, int tr, ts_tensor **o, ts_tensor **a)
{
    (void)tr, (void)a;
    return nn_embedding_fwd(&l->emb, in[0], o);
}

static const struct layer_case cases[] = {
    {"conv_grouped", b_conv_grouped, f_conv, 1, 0, 0, CONV_RTOL},
    {"conv_depthwise", b_conv_depthwise, f_conv, 1, 0, 0, CONV_RTOL},
    {"layer_norm", b_ln6, f_ln, 1, 0, 0, RTOL},
    {"layer_norm2d", b_ln2d, f_ln2d, 1, 0, 0, RTOL},
    {"mha_qkv", b_mha_qkv, f_mha, 1, 0, 0, RTOL},
    {"mha_torch", b_mha_torch, f_mha, 1, 0, 0, RTOL},
    {"mha_dropout", b_mha_drop, f_mha, 1, 1, 11, RTOL},
    {"mlp", b_mlp, f_mlp, 1, 0, 0, RTOL},
    {"gelu", b_none, f_gelu, 1, 0, 0, RTOL},
    {"gelu_tanh", b_none, f_gelu_tanh, 1, 0, 0, RTOL},
    {"silu", b_none, f_silu, 1, 0, 0, RTOL},
    {"dropout", b_none, f_dropout, 1, 1, 7, RTOL},
    {"drop_path", b_none, f_drop_path, 1, 1, 9, RTOL},
    {"conv_transpose", b_convt, f_convt, 1, 0, 0, CONV_RTOL},
    {"conv_transpose_pad", b_convt_pad, f_convt, 1, 0, 0, CONV_RTOL},
    {"up_bilinear", b_none, f_up_bilinear, 1, 0, 0, RTOL},
    {"up_bilinear_ac", b_none, f_up_bilinear_ac, 1, 0, 0, RTOL},
    {"up_nearest", b_none, f_up_nearest, 1, 0, 0, RTOL},
    {"concat_skip", b_none, f_concat, 2, 0, 0, RTOL},
    {"embedding", b_emb, f_emb, 1, 0, 0, RTOL},
};
#define NCASES ((int)(sizeof cases / sizeof cases[0]))

#define FAIL(...) return snprintf(why, cap, __VA_ARGS__), 1

/* Loads PyTorch's state dict into the store: every entry must have one. */
static int load_state(const char *cname, ts_params *p, char *why, size_t cap)
{
    for (size_t i = 0; i < ts_params_count(p); i++) {
        const char *name;
        ts_tensor *h;
        int kind, group;
        ts_params_at(p, i, &name, &h, &kind, &group);
        char ref[512];
        snprintf(ref, sizeof ref, "%s.sd.%s", cname, name);
        ts_tensor *t = shim_ref_load(dir, ref, NULL);
        if (!t)
            FAIL("%s: PyTorch's state dict has no %s", cname, name);
        if (ts_numel(t) != ts_numel(h) || ts_dim(t) != ts_dim(h))
            FAIL("%s: %s has another shape than PyTorch's", cname, name);
        if (ts_copy_(h, t) != TS_OK)
            FAIL("%s: copying %s: %s", cname, name, ts_last_error());
    }
    return 0;
}

static int run_case(const struct layer_case *c, char *why, size_t cap)
{
    ts_params *p = NULL;
    struct layer l;
    memset(&l, 0, sizeof l);
    ck_assert_int_eq(ts_params_new(&p), TS_OK);
    int bad = 1;
    if (c->build(p, &l)) {
        snprintf(why, cap, "%s: building the layer failed", c->name);
        goto out;
    }
    if ((bad = load_state(c->name, p, why, cap)))
        goto out;
    bad = 1;
    ts_tensor *in[4] = {0}, *out = NULL, *attn = NULL;
    char name[512];
    for (int i = 0; i < c->nin; i++) {
        snprintf(name, sizeof name, "%s.in%d", c->name, i);
        in[i] = shim_ref_load(dir, name, NULL);
        if (!in[i]) {
            snprintf(why, cap, "%s: no input %d", c->name, i);
            goto out;
        }
        if (ts_dtype(in[i]) == TS_F32)
            ts_set_requires_grad(in[i], 1);
    }
    if (c->seed > 0)
        ts_manual_seed((uint64_t)c->seed);
    snprintf(name, sizeof name, "%s.attn", c->name);
    int want_attn = shim_ref_exists(dir, name);
    if (c->fwd(&l, in, c->training, &out, want_attn ? &attn : NULL)) {
        snprintf(why, cap, "%s forward failed: %s", c->name, ts_last_error());
        goto out;
    }
    if (want_attn && shim_ref_compare(dir, name, attn, c->rtol, why, cap))
        goto out;
    snprintf(name, sizeof name, "%s.out", c->name);
    if (shim_ref_compare(dir, name, out, c->rtol, why, cap))
        goto out;
    snprintf(name, sizeof name, "%s.gout", c->name);
    ts_tensor *gout = shim_ref_load(dir, name, NULL);
    if (!gout || ts_backward(out, gout) != TS_OK) {
        snprintf(why, cap, "%s backward: %s", c->name, ts_last_error());
        goto out;
    }
    int ngrads = 0;
    for (int i = 0; i < c->nin; i++) {
        snprintf(name, sizeof name, "%s.grad%d", c->name, i);
        if (!shim_ref_exists(dir, name))
            continue;
        ts_tensor *g = NULL;
        if (ts_grad(&g, in[i]) != TS_OK || !g) {
            snprintf(why, cap, "%s: input %d has no gradient", c->name, i);
            goto out;
        }
        if (shim_ref_compare(dir, name, g, c->rtol, why, cap))
            goto out;
        ngrads++;
    }
    for (size_t i = 0; i < ts_params_count(p); i++) {
        const char *pname;
        ts_tensor *h, *g = NULL;
        int kind, group;
        ts_params_at(p, i, &pname, &h, &kind, &group);
        snprintf(name, sizeof name, "%s.gsd.%s", c->name, pname);
        if (!shim_ref_exists(dir, name))
            continue;
        if (ts_grad(&g, h) != TS_OK || !g) {
            snprintf(why, cap, "%s: parameter %s has no gradient", c->name, pname);
            goto out;
        }
        if (shim_ref_compare(dir, name, g, c->rtol, why, cap))
            goto out;
        ngrads++;
    }
    if (!ngrads) {
        snprintf(why, cap, "%s: no gradient was compared", c->name);
        goto out;
    }
    bad = 0;
out:
    ts_params_free(p);
    return bad;
}

START_TEST(test_layers_match_torch_nn)
{
    long live0 = ts_live_tensors();
    char failures[8192] = "", why[1024];
    int nfail = 0;
    for (int i = 0; i < NCASES; i++) {
        ck_assert_int_eq(ts_scope_begin(), TS_OK);
        if (run_case(&cases[i], why, sizeof why)) {
            nfail++;
            size_t len = strlen(failures);
            snprintf(failures + len, sizeof failures - len, "\n  %s", why);
        }
        ts_scope_end();
    }
    ck_assert_msg(nfail == 0, "%d of %d layers differ from torch.nn:%s", nfail, NCASES, failures);
    ck_assert_int_eq(ts_live_tensors(), live0);
}
END_TEST

/* The state dict a layer registers: PyTorch's names, shapes and order. */
START_TEST(test_layers_register_pytorch_names)
{
    ts_params *p;
    struct layer l;
    ck_assert_int_eq(ts_params_new(&p), TS_OK);
    ck_assert_int_eq(nn_mha_init(p, "encoder.layers.0.self_attn", 256, 8, NN_MHA_TORCH, 0.1, 0.1, &l.mha), 0);
    ck_assert_int_eq(nn_mha_init(p, "blocks.0.attn", 256, 8, NN_MHA_QKV, 0, 0, &l.mha), 0);
    ck_assert_int_eq(nn_layer_norm_init(p, "norm", 256, 1e-5, &l.ln), 0);
    static const char *want[] = {
        "encoder.layers.0.self_attn.in_proj_weight", "encoder.layers.0.self_attn.in_proj_bias",
        "encoder.layers.0.self_attn.out_proj.weight", "encoder.layers.0.self_attn.out_proj.bias",
        "blocks.0.attn.qkv.weight", "blocks.0.attn.qkv.bias", "blocks.0.attn.proj.weight", "blocks.0.attn.proj.bias",
        "norm.weight", "norm.bias"};
    ck_assert_uint_eq(ts_params_count(p), sizeof want / sizeof want[0]);
    for (size_t i = 0; i < ts_params_count(p); i++) {
        const char *name;
        ts_tensor *h;
        int kind, group;
        ts_params_at(p, i, &name, &h, &kind, &group);
        ck_assert_str_eq(name, want[i]);
    }
    ck_assert_int_eq(ts_size(ts_params_get(p, "encoder.layers.0.self_attn.in_proj_weight"), 0), 768);
    /* heads must divide the width */
    ck_assert_int_ne(nn_mha_init(p, "bad", 250, 8, NN_MHA_QKV, 0, 0, &l.mha), 0);
    struct nn_conv_opts o = {.groups = 4, .stride = 1, .bias = 1};
    ck_assert_int_ne(nn_conv_init_ex(p, "badconv", 6, 8, 3, &o, &l.conv), 0);
    ts_params_free(p);
}
END_TEST

/* Initialisers draw what PyTorch's draw for the same seed. */
START_TEST(test_init_matches_torch_for_the_same_seed)
{
    ts_params *p;
    struct layer l;
    ck_assert_int_eq(ts_params_new(&p), TS_OK);
    ts_tensor *pos = NULL;
    int64_t shape[3] = {1, 65, 256};
    ts_manual_seed(21);
    ck_assert_int_eq(nn_param_init(p, "", "pos_embed", 3, shape, 0.02, &pos), 0);
    shim_ref_expect(dir, "init.trunc_normal", pos, 1e-6);
    ts_manual_seed(22);
    struct nn_conv_opts o = {.stride = 1, .groups = 2, .bias = 1};
    ck_assert_int_eq(nn_conv_init_ex(p, "c", 4, 6, 3, &o, &l.conv), 0);
    shim_ref_expect(dir, "init.conv_grouped.weight", l.conv.w, 1e-6);
    ts_manual_seed(23);
    int64_t xs[2] = {48, 16};
    ts_tensor *x = NULL;
    ck_assert_int_eq(nn_param_init(p, "", "x", 2, xs, 0, &x), 0);
    ck_assert_int_eq(nn_init_xavier_uniform(x), 0);
    shim_ref_expect(dir, "init.xavier", x, 1e-6);
    ts_manual_seed(24);
    ck_assert_int_eq(nn_conv_transpose_init(p, "t", 4, 6, 2, 1, 0, 0, 2, 1, &l.convt), 0);
    shim_ref_expect(dir, "init.conv_transpose.weight", l.convt.w, 1e-6);
    ts_manual_seed(25);
    ck_assert_int_eq(nn_embedding_init(p, "e", 10, 4, &l.emb), 0);
    shim_ref_expect(dir, "init.embedding.weight", l.emb.w, 1e-6);
    ts_params_free(p);
}
END_TEST

Suite *suite_layers(void)
{
    Suite *s = suite_create("layers");
    TCase *tc = tcase_create("parity");
    tcase_add_unchecked_fixture(tc, generate, cleanup);
    tcase_add_test(tc, test_layers_match_torch_nn);
    tcase_add_test(tc, test_layers_register_pytorch_names);
    tcase_add_test(tc, test_init_matches_torch_for_the_same_seed);
    suite_add_tcase(s, tc);
    return s;
}
