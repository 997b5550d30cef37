/* The Vision Transformers of lab 2.2.5, tensor for tensor the course's
 * PyTorch definitions, so weights move between lab and the notebooks
 * unchanged (state dicts: ../shared/reference/2.2.5-*.tsv):
 *
 *   vit           the lab's VisionTransformer: patch embedding (conv k=s=patch,
 *                 "patch_embed.projection"), CLS token, learned positional
 *                 embedding [1, N+1, dim], pre-norm blocks "blocks.i" (norm1 ->
 *                 attn with one qkv linear, scale 1/sqrt(dim/heads) -> +x;
 *                 norm2 -> mlp fc1 -> GELU(erf) -> fc2 -> +x), final norm,
 *                 head on the CLS token. Init: trunc-normal(0.02) for the
 *                 tokens, the positional embedding and every Linear weight,
 *                 Linear biases 0. Dropout as the course: after the positional
 *                 embedding, on the attention weights, after the GELU and
 *                 after fc2. 4,771,082 parameters at the course's sizes.
 *   vit-solution  the solution notebook's ViT on nn.TransformerEncoder
 *                 (norm_first=True): the same math plus nn's dropout after the
 *                 attention projection, keys "encoder.layers.i.self_attn..."
 *                 (2.2.5-vit-solution.tsv, same count).
 *   deit          the solution's DeiT: CLS and distillation tokens, positional
 *                 embedding [1, N+2, dim], a bare conv "patch_embed", post-norm
 *                 nn.TransformerEncoderLayer blocks (GELU), final norm, "head"
 *                 on token 0 and "dist_head" on token 1. 4,774,164 parameters.
 *
 * The model's generic forward (struct model) returns the logits; for deit
 * the average of the two heads (what the course's DeiT returns in eval; in
 * training it returns both, which vit_forward_ex gives). */
#ifndef LAB_VIT_H
#define LAB_VIT_H

#include "labs/models/model.h"

enum vit_variant { VIT_COURSE = 0, VIT_SOLUTION = 1, VIT_DEIT = 2 };

#define VIT_MAX_DEPTH 32

struct vit_config {
    int img_size, patch_size, in_chans, num_classes;
    int embed_dim, depth, num_heads;
    double mlp_ratio, dropout;
    /* 0: the head reads the CLS token (the course's model); 1: the mean of
     * the patch tokens after the final norm (`model.pool=mean`, the common
     * alternative; the grader's vit.cls check tells the two apart). vit only. */
    int mean_pool;
};

/* The course's configuration: 32, 4, 3, 10, 256, 6, 8, 4.0, 0.1. */
void vit_config_course(struct vit_config *c);
/* LAB_EUSAGE naming the bad value and the fix: patch size must divide the
 * image, heads the width, depth 1..VIT_MAX_DEPTH, 0 <= dropout < 1. */
int vit_config_check(const struct vit_config *c);
/* (img_size / patch_size)^2. */
int64_t vit_num_patches(const struct vit_config *c);
/* Tokens per image: patches + 1 (CLS), + 2 for deit. */
int64_t vit_num_tokens(const struct vit_config *c, int variant);

/* A new model named "vit", "vit-solution" or "deit", initialised as the
 * course initialises it (from the shim's generator: seed it first). */
int vit_new(const struct vit_config *c, int variant, struct model **out);
/* The variant and configuration of a model made by vit_new; -1 / NULL for
 * any other model. */
int vit_variant_of(const struct model *m);
const struct vit_config *vit_config_of(const struct model *m);

/* on: every block's attention runs the explicit math; off: the fused kernel
 * where libtorch has one (>= 2.1). The default is what the PyTorch model
 * does, so that dropout draws and bf16 rounding equal PyTorch's for the same
 * seed: on for `vit` (the course's module writes the math out), off for
 * `vit-solution` and `deit` (nn.MultiheadAttention calls the fused kernel). */
void vit_set_explicit_attention(struct model *m, int on);
/* Switches a `vit`'s readout (struct vit_config.mean_pool) on a built
 * model, weights unchanged: the same weights read both ways. */
int vit_set_mean_pool(struct model *m, int on);

struct vit_outputs {
    ts_tensor *logits;      /* [B, classes]: vit's head; deit's CLS head */
    ts_tensor *dist_logits; /* [B, classes]: deit's distillation head, else NULL */
    ts_tensor *attn;        /* [B, heads, T, T] of the last block when asked, else NULL */
};
/* x [B, in_chans, img, img] -> outputs (owned by the caller's scope).
 * want_attn: also return the last block's attention weights (rows sum to 1;
 * forces the explicit attention math for that block). */
int vit_forward_ex(struct model *m, const ts_tensor *x, int training, int want_attn, struct vit_outputs *out);

/* The positional embeddings' cosine-similarity grid [N, N] over the patch
 * positions (the CLS / distillation rows left out), as the solution's
 * visualize_position_embeddings computes it; row r reshaped to the
 * sqrt(N) x sqrt(N) grid is position r's map. */
int vit_pos_embed_similarity(const struct model *m, ts_tensor **grid);
/* The CLS token's attention over the patches: attn [B, heads, T, T] (from
 * vit_forward_ex) -> [B, heads, side, side], side = img / patch. */
int vit_cls_attention_map(const struct model *m, const ts_tensor *attn, ts_tensor **map);

/* The solution's DistillationLoss: alpha * CE(cls, labels) + (1 - alpha) *
 * T^2 * KL(softmax(teacher/T) || softmax(dist/T)) averaged over the batch
 * (KLDivLoss 'batchmean'). teacher_logits carry no gradient. The course uses
 * T = 3.0, alpha = 0.5. */
int vit_distillation_loss(const ts_tensor *cls_logits, const ts_tensor *dist_logits, const ts_tensor *teacher_logits,
                          const ts_tensor *labels, double temperature, double alpha, ts_tensor **loss);

#endif
