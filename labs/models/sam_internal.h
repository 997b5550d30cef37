/* The layers of a SAM model (labs/models/sam.h), shared by its encoder,
 * prompt encoder and decoder files; nothing outside labs/models/sam*.c
 * includes this. */
#ifndef LAB_SAM_INTERNAL_H
#define LAB_SAM_INTERNAL_H

#include "labs/models/layers.h"
#include "labs/models/sam.h"

struct sam_vit_block {
    struct nn_layer_norm norm1, norm2;
    struct nn_linear qkv, proj, lin1, lin2;
    ts_tensor *rel_h, *rel_w; /* [2S-1, head_dim] */
    int window;               /* 0: global */
};

/* segment_anything's Attention of the decoder: q/k/v/out projections to an
 * internal width of 256 / downsample. */
struct sam_attn {
    struct nn_linear q, k, v, out;
    int64_t heads;
};

struct sam_twoway_block {
    struct sam_attn self_attn, t2i, i2t;
    struct nn_layer_norm norm1, norm2, norm3, norm4;
    struct nn_linear lin1, lin2;
    int skip_first_pe;
};

struct sam_mlp3 {
    struct nn_linear layers[3];
};

struct sam_net {
    struct sam_config cfg;
    /* image encoder */
    ts_tensor *pos_embed;
    struct nn_conv patch, neck0, neck2;
    struct nn_layer_norm neck1, neck3;
    struct sam_vit_block blocks[SAM_MAX_DEPTH];
    /* prompt encoder */
    ts_tensor *gauss;              /* [2, 128] */
    struct nn_embedding point_emb[4], not_a_point, no_mask;
    struct nn_conv md0, md3, md6;
    struct nn_layer_norm md1, md4;
    /* mask decoder */
    struct sam_twoway_block tw[2];
    struct sam_attn final_attn;
    struct nn_layer_norm norm_final;
    struct nn_embedding iou_token, mask_tokens;
    struct nn_conv_t up0, up3;
    struct nn_layer_norm up1;
    struct sam_mlp3 hyper[4], iou_head;
};

/* the embedding grid's side: 64 for the official models */
static inline int64_t sam_side(const struct sam_net *n) { return n->cfg.img_size / n->cfg.patch; }

int sam_encoder_init(ts_params *p, struct sam_net *n);
int sam_prompt_init(ts_params *p, struct sam_net *n);
int sam_decoder_init(ts_params *p, struct sam_net *n);

#endif
