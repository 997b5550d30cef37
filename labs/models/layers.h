/* The layers transformers, U-Nets and mobile CNNs are built from, over the
 * shim, each equal to its torch.nn counterpart forward and backward
 * (tests/unit/test_layers.c against tests/ref/layers.py). As in nn.h: every
 * *_init registers its tensors under PyTorch's state-dict names below
 * `prefix` (an empty prefix registers top-level names such as "cls_token"),
 * initialised as PyTorch initialises them; forward functions create tensors
 * freely and run inside the caller's ts scope. */
#ifndef LAB_LAYERS_H
#define LAB_LAYERS_H

#include "labs/models/nn.h"

/* ---- Initialisation ---- */
/* nn.init.trunc_normal_(t, std=std): mean 0, cut at the absolute values
 * -2 and 2 (PyTorch's defaults, so at std 0.02 nothing is cut in practice). */
int nn_init_trunc_normal(ts_tensor *t, double std);
/* nn.init.xavier_uniform_ of a 2-d [out, in] weight. */
int nn_init_xavier_uniform(ts_tensor *t);
/* A learned tensor of `shape` named "<prefix>.<leaf>" with
 * trunc-normal(std) values (std <= 0: zeros): class and distillation tokens,
 * learned positional embeddings. */
int nn_param_init(ts_params *p, const char *prefix, const char *leaf, int ndim, const int64_t *shape, double std,
                  ts_tensor **handle);
/* The ViT rule for a Linear: weight trunc-normal(std), bias 0. */
int nn_linear_init_trunc(struct nn_linear *l, double std);

/* ---- Normalisation ---- */
struct nn_layer_norm {
    ts_tensor *w, *b; /* [dim], borrowed from the store */
    int64_t dim;
    double eps;
};
/* nn.LayerNorm(dim, eps): weight 1, bias 0. */
int nn_layer_norm_init(ts_params *p, const char *prefix, int64_t dim, double eps, struct nn_layer_norm *out);
/* Over the last dimension (nn.LayerNorm). */
int nn_layer_norm_fwd(const struct nn_layer_norm *ln, const ts_tensor *x, ts_tensor **y);
/* Over the channels of an NCHW tensor at each position (SAM's and
 * ConvNeXt's LayerNorm2d); same tensors as nn_layer_norm_init. */
int nn_layer_norm2d_fwd(const struct nn_layer_norm *ln, const ts_tensor *x, ts_tensor **y);

/* ---- Activations and regularisation ---- */
enum nn_act { NN_ACT_NONE = 0, NN_ACT_RELU, NN_ACT_GELU, NN_ACT_GELU_TANH, NN_ACT_SILU };
int nn_act_fwd(int act, const ts_tensor *x, ts_tensor **y);
/* F.gelu, exact (erf) or approximate="tanh". */
int nn_gelu(const ts_tensor *x, int tanh_approx, ts_tensor **y);
int nn_silu(const ts_tensor *x, ts_tensor **y);
/* nn.Dropout(p): identity unless training; the same draws as PyTorch's for
 * the same seed. */
int nn_dropout(const ts_tensor *x, double p, int training, ts_tensor **y);
/* Stochastic depth (timm's drop_path, scale_by_keep): each sample (first
 * dimension) is zeroed with probability p, the rest scaled by 1/(1-p);
 * identity unless training. Same draws as timm's for the same seed. */
int nn_drop_path(const ts_tensor *x, double p, int training, ts_tensor **y);

/* ---- Attention and MLP ---- */
/* Multi-head self-attention. Two state-dict layouts, the same math:
 *  NN_MHA_QKV   "<prefix>.qkv.{weight,bias}", "<prefix>.proj.{weight,bias}"
 *               (timm and the course's MultiHeadSelfAttention; Linear init)
 *  NN_MHA_TORCH "<prefix>.in_proj_weight", "<prefix>.in_proj_bias",
 *               "<prefix>.out_proj.{weight,bias}" (nn.MultiheadAttention:
 *               xavier-uniform in_proj, zero biases). */
enum nn_mha_style { NN_MHA_QKV = 0, NN_MHA_TORCH = 1 };
struct nn_mha {
    struct nn_linear qkv, proj;
    int64_t dim, heads;
    double scale;     /* 1/sqrt(dim/heads) */
    double attn_drop; /* dropout on the attention weights */
    double proj_drop; /* dropout on the output (nn.TransformerEncoderLayer's dropout1) */
    int explicit_math; /* 1: never the fused kernel, so training draws PyTorch's explicit-math dropout */
};
int nn_mha_init(ts_params *p, const char *prefix, int64_t dim, int64_t heads, int style, double attn_drop,
                double proj_drop, struct nn_mha *out);
/* x [B, T, dim] -> y [B, T, dim]. attn (may be NULL) receives the attention
 * weights [B, heads, T, T] (softmax rows, after dropout when training, as
 * the course's module returns them); without it (and without explicit_math)
 * the shim runs the fused kernel where libtorch has one (>= 2.1), whose
 * dropout draws differ from the explicit math's. */
int nn_mha_fwd(const struct nn_mha *m, const ts_tensor *x, int training, ts_tensor **y, ts_tensor **attn);

/* fc1 -> act -> dropout -> fc2 -> dropout (the course's MLP, and the
 * feed-forward half of nn.TransformerEncoderLayer). fc1 and fc2 are full
 * prefixes ("blocks.0.mlp.fc1", "encoder.layers.0.linear1"). */
struct nn_mlp {
    struct nn_linear fc1, fc2;
    int act;
    double drop;
};
int nn_mlp_init(ts_params *p, const char *fc1, const char *fc2, int64_t in, int64_t hidden, int64_t out, int act,
                double drop, struct nn_mlp *m);
int nn_mlp_fwd(const struct nn_mlp *m, const ts_tensor *x, int training, ts_tensor **y);

/* ---- Up-sampling and skips ---- */
/* nn.ConvTranspose2d(cin, cout, k, stride, pad, output_padding, groups,
 * bias); weight [cin, cout/groups, k, k]. */
struct nn_conv_t {
    ts_tensor *w, *b;
    int64_t stride[2], pad[2], out_pad[2], dil[2], groups;
};
int nn_conv_transpose_init(ts_params *p, const char *prefix, int64_t cin, int64_t cout, int k, int stride, int pad,
                           int out_pad, int groups, int bias, struct nn_conv_t *out);
int nn_conv_transpose_fwd(const struct nn_conv_t *c, const ts_tensor *x, ts_tensor **y);
/* nn.Upsample(scale_factor=scale, mode, align_corners) for an integer
 * scale; mode TS_NEAREST or TS_BILINEAR (align_corners ignored for nearest). */
int nn_upsample(const ts_tensor *x, int scale, int mode, int align_corners, ts_tensor **y);
/* The U-Net skip: pads `up` (F.pad, zeros, the odd pixel right / bottom)
 * to the spatial size of `skip`, then cat([skip, up], dim=1). */
int nn_concat_skip(const ts_tensor *skip, const ts_tensor *up, ts_tensor **y);

/* ---- Embeddings ---- */
/* nn.Embedding(num, dim): "<prefix>.weight" [num, dim], N(0, 1). */
struct nn_embedding {
    ts_tensor *w;
    int64_t num, dim;
};
int nn_embedding_init(ts_params *p, const char *prefix, int64_t num, int64_t dim, struct nn_embedding *out);
/* ids (i64, any shape) -> [*ids.shape, dim]. */
int nn_embedding_fwd(const struct nn_embedding *e, const ts_tensor *ids, ts_tensor **y);

#endif
