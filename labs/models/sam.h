/* Segment Anything (lab 2.2.6) tensor for tensor as segment_anything's
 * build_sam.py builds it, so the official sam_vit_{b,l,h} checkpoints load
 * strictly (key set: ../shared/reference/2.2.6-sam_vit_b.tsv):
 *
 *   image_encoder   ViT on a 1024x1024 input, patch 16 -> 64x64 tokens (BHWC),
 *                   absolute pos_embed, pre-norm blocks with windowed (14) or
 *                   global attention and decomposed relative positions, then
 *                   the neck (1x1 conv, LayerNorm2d, 3x3 conv, LayerNorm2d)
 *                   to 1x256x64x64.
 *   prompt_encoder  random Fourier positional encoding, point / box corner /
 *                   not-a-point embeddings, mask downscaling or no_mask_embed.
 *   mask_decoder    two-way transformer (depth 2, 8 heads, MLP 2048), 4 mask
 *                   tokens with hypernetwork MLPs, IoU head (no sigmoid),
 *                   x4 upscaling to 256x256 logits.
 *
 * pixel_mean / pixel_std are not in the checkpoints (non-persistent buffers
 * upstream): SAM_PIXEL_MEAN / SAM_PIXEL_STD. */
#ifndef LAB_SAM_H
#define LAB_SAM_H

#include "labs/models/model.h"

#include <stddef.h>
#include <stdint.h>

#define SAM_MAX_DEPTH 64
#define SAM_MAX_GLOBAL 16
#define SAM_IMG 1024
#define SAM_EMBED 256 /* prompt / decoder width */
#define SAM_GRID 64   /* embedding side */
#define SAM_LOWRES 256

extern const double SAM_PIXEL_MEAN[3], SAM_PIXEL_STD[3];

struct sam_config {
    int embed_dim, depth, heads;
    int n_global, global_idx[SAM_MAX_GLOBAL];
    int window, patch, img_size;
};

/* "vit_b", "vit_l", "vit_h" (also "default" = vit_h) -> 0, or LAB_EUSAGE. */
int sam_config_named(const char *name, struct sam_config *c);
/* A small configuration (embed dim, depth, heads, global indexes) with the
 * library's other defaults. */
void sam_config_custom(struct sam_config *c, int embed_dim, int depth, int heads, int n_global,
                       const int *global_idx);
int sam_config_check(const struct sam_config *c);
/* Parameter elements (state dict, buffers included) of the model sam_new
 * builds, without building it. */
int64_t sam_param_count(const struct sam_config *c);

int sam_new(const struct sam_config *c, struct model **out);
/* NULL when m is not a SAM. */
const struct sam_config *sam_config_of(const struct model *m);

/* Per-stage summaries of the encoder, for parity tests (may be NULL). */
struct sam_encoder_trace {
    ts_tensor *patch_embed;           /* [1, 64, 64, C] before pos_embed */
    ts_tensor *blocks[SAM_MAX_DEPTH]; /* [1, 64, 64, C] after each block */
    ts_tensor *neck[3];               /* after neck.0, neck.1, neck.2 */
};
/* x [B, 3, 1024, 1024] normalized and padded -> [B, 256, 64, 64]. */
int sam_encode(struct model *m, const ts_tensor *x, struct sam_encoder_trace *trace, ts_tensor **embeddings);

/* Prompts for a batch of B prompt sets, host data in the 1024 input frame:
 * coords [B*N*2], labels [B*N] (1 foreground, 0 background, -1 padding),
 * boxes [B*4] xyxy (NULL: none), mask_input [B, 1, 256, 256] logits (NULL:
 * none). n_points may be 0. */
struct sam_prompts {
    int64_t batch, n_points;
    const float *coords;
    const int *labels;
    const float *boxes;
    const ts_tensor *mask_input;
};
/* -> sparse [B, n, 256], dense [B, 256, 64, 64]. */
int sam_prompt_encode(struct model *m, const struct sam_prompts *p, ts_tensor **sparse, ts_tensor **dense);
/* get_dense_pe(): [1, 256, 64, 64]. */
int sam_dense_pe(struct model *m, ts_tensor **pe);
/* embeddings [1 or B, 256, 64, 64] -> low-res logits [B, 3|1, 256, 256] and
 * IoU predictions [B, 3|1]. */
int sam_decode(struct model *m, const ts_tensor *embeddings, const ts_tensor *sparse, const ts_tensor *dense,
               int multimask, ts_tensor **low_res, ts_tensor **iou);
/* Sam.postprocess_masks: bilinear to the model's input size `img` (1024
 * for the official models), crop to the resized input (in_h, in_w),
 * bilinear to the original (orig_h, orig_w); logits. */
int sam_postprocess(const ts_tensor *low_res, int img, int in_h, int in_w, int orig_h, int orig_w, ts_tensor **masks);

/* A gray canvas (0-255, px pixels) as SAM's normalized three-channel input
 * x [3, px]: the gray replicated to RGB, then SAM_PIXEL_MEAN / _STD. */
void sam_normalize_gray(const uint8_t *gray, size_t px, float *x);
/* model_run on a SAM (sam_named.c): "pixel_values" [1, 3, S, S] normalized
 * and its prompts in the input frame, "boxes" [nb, 4] xyxy and/or
 * "point_coords" [np, 2] (one foreground point a prompt), single-mask
 * output -> "masks" [nb + np, S, S] logits resized bilinearly to the input,
 * the boxes' first, and "iou_predictions" [nb + np]. */
int sam_forward_named(struct model *m, const struct model_tensors *in, int training, struct model_tensors *out);

#endif
