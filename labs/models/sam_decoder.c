/* SAM's mask decoder (segment_anything/modeling/mask_decoder.py and
 * transformer.py): the two-way transformer between the output tokens plus
 * prompts and the image embedding, then hypernetwork MLPs that turn each
 * mask token into weights over the upscaled features. */
#include "base/error.h"
#include "labs/models/sam_internal.h"

#include <math.h>
#include <stdio.h>

#define TW_HEADS 8
#define TW_MLP 2048

static int attn_init(ts_params *p, const char *prefix, int downsample, struct sam_attn *a)
{
    char name[160];
    int64_t inner = SAM_EMBED / downsample;
    a->heads = TW_HEADS;
    snprintf(name, sizeof name, "%s.q_proj", prefix);
    LAB_TRY(nn_linear_init(p, name, SAM_EMBED, inner, 1, &a->q));
    snprintf(name, sizeof name, "%s.k_proj", prefix);
    LAB_TRY(nn_linear_init(p, name, SAM_EMBED, inner, 1, &a->k));
    snprintf(name, sizeof name, "%s.v_proj", prefix);
    LAB_TRY(nn_linear_init(p, name, SAM_EMBED, inner, 1, &a->v));
    snprintf(name, sizeof name, "%s.out_proj", prefix);
    LAB_TRY(nn_linear_init(p, name, inner, SAM_EMBED, 1, &a->out));
    return LAB_OK;
}

static int mlp3_init(ts_params *p, const char *prefix, int64_t out, struct sam_mlp3 *m)
{
    char name[160];
    int64_t in[3] = {SAM_EMBED, SAM_EMBED, SAM_EMBED}, outs[3] = {SAM_EMBED, SAM_EMBED, out};
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "%s.layers.%d", prefix, i);
        LAB_TRY(nn_linear_init(p, name, in[i], outs[i], 1, &m->layers[i]));
    }
    return LAB_OK;
}

int sam_decoder_init(ts_params *p, struct sam_net *n)
{
    char pre[96], name[160];
    for (int i = 0; i < 2; i++) {
        struct sam_twoway_block *b = &n->tw[i];
        b->skip_first_pe = i == 0;
        snprintf(pre, sizeof pre, "mask_decoder.transformer.layers.%d", i);
        snprintf(name, sizeof name, "%s.self_attn", pre);
        LAB_TRY(attn_init(p, name, 1, &b->self_attn));
        snprintf(name, sizeof name, "%s.norm1", pre);
        LAB_TRY(nn_layer_norm_init(p, name, SAM_EMBED, 1e-5, &b->norm1));
        snprintf(name, sizeof name, "%s.cross_attn_token_to_image", pre);
        LAB_TRY(attn_init(p, name, 2, &b->t2i));
        snprintf(name, sizeof name, "%s.norm2", pre);
        LAB_TRY(nn_layer_norm_init(p, name, SAM_EMBED, 1e-5, &b->norm2));
        snprintf(name, sizeof name, "%s.mlp.lin1", pre);
        LAB_TRY(nn_linear_init(p, name, SAM_EMBED, TW_MLP, 1, &b->lin1));
        snprintf(name, sizeof name, "%s.mlp.lin2", pre);
        LAB_TRY(nn_linear_init(p, name, TW_MLP, SAM_EMBED, 1, &b->lin2));
        snprintf(name, sizeof name, "%s.norm3", pre);
        LAB_TRY(nn_layer_norm_init(p, name, SAM_EMBED, 1e-5, &b->norm3));
        snprintf(name, sizeof name, "%s.norm4", pre);
        LAB_TRY(nn_layer_norm_init(p, name, SAM_EMBED, 1e-5, &b->norm4));
        snprintf(name, sizeof name, "%s.cross_attn_image_to_token", pre);
        LAB_TRY(attn_init(p, name, 2, &b->i2t));
    }
    LAB_TRY(attn_init(p, "mask_decoder.transformer.final_attn_token_to_image", 2, &n->final_attn));
    LAB_TRY(nn_layer_norm_init(p, "mask_decoder.transformer.norm_final_attn", SAM_EMBED, 1e-5, &n->norm_final));
    LAB_TRY(nn_embedding_init(p, "mask_decoder.iou_token", 1, SAM_EMBED, &n->iou_token));
    LAB_TRY(nn_embedding_init(p, "mask_decoder.mask_tokens", 4, SAM_EMBED, &n->mask_tokens));
    LAB_TRY(nn_conv_transpose_init(p, "mask_decoder.output_upscaling.0", SAM_EMBED, SAM_EMBED / 4, 2, 2, 0, 0, 1, 1,
                                   &n->up0));
    LAB_TRY(nn_layer_norm_init(p, "mask_decoder.output_upscaling.1", SAM_EMBED / 4, 1e-6, &n->up1));
    LAB_TRY(nn_conv_transpose_init(p, "mask_decoder.output_upscaling.3", SAM_EMBED / 4, SAM_EMBED / 8, 2, 2, 0, 0, 1,
                                   1, &n->up3));
    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "mask_decoder.output_hypernetworks_mlps.%d", i);
        LAB_TRY(mlp3_init(p, name, SAM_EMBED / 8, &n->hyper[i]));
    }
    return mlp3_init(p, "mask_decoder.iou_prediction_head", 4, &n->iou_head);
}

/* [B, T, inner] <-> [B, heads, T, inner / heads] */
static int split_heads(const ts_tensor *x, int64_t heads, ts_tensor **y)
{
    int64_t shape[4] = {ts_size(x, 0), ts_size(x, 1), heads, ts_size(x, 2) / heads};
    ts_tensor *r;
    NN_TRY(ts_reshape(&r, x, 4, shape));
    NN_TRY(ts_transpose(y, r, 1, 2));
    return LAB_OK;
}

static int attn_fwd(const struct sam_attn *a, const ts_tensor *q, const ts_tensor *k, const ts_tensor *v,
                    ts_tensor **y)
{
    ts_tensor *qp, *kp, *vp, *qh, *kh, *vh, *o, *ot, *merged;
    LAB_TRY(nn_linear_fwd(&a->q, q, &qp));
    LAB_TRY(nn_linear_fwd(&a->k, k, &kp));
    LAB_TRY(nn_linear_fwd(&a->v, v, &vp));
    LAB_TRY(split_heads(qp, a->heads, &qh));
    LAB_TRY(split_heads(kp, a->heads, &kh));
    LAB_TRY(split_heads(vp, a->heads, &vh));
    NN_TRY(ts_attention(&o, qh, kh, vh, NULL, 1.0 / sqrt((double)ts_size(qh, 3))));
    NN_TRY(ts_transpose(&ot, o, 1, 2));
    int64_t shape[3] = {ts_size(q, 0), ts_size(q, 1), ts_size(qp, 2)};
    NN_TRY(ts_reshape(&merged, ot, 3, shape));
    return nn_linear_fwd(&a->out, merged, y);
}

static int twoway_fwd(const struct sam_twoway_block *b, ts_tensor **queries, ts_tensor **keys,
                      const ts_tensor *query_pe, const ts_tensor *key_pe)
{
    ts_tensor *q, *k, *a, *r, *h, *f, *g;
    if (b->skip_first_pe) {
        LAB_TRY(attn_fwd(&b->self_attn, *queries, *queries, *queries, &r));
    } else {
        NN_TRY(ts_add(&q, *queries, query_pe));
        LAB_TRY(attn_fwd(&b->self_attn, q, q, *queries, &a));
        NN_TRY(ts_add(&r, *queries, a));
    }
    LAB_TRY(nn_layer_norm_fwd(&b->norm1, r, queries));
    NN_TRY(ts_add(&q, *queries, query_pe));
    NN_TRY(ts_add(&k, *keys, key_pe));
    LAB_TRY(attn_fwd(&b->t2i, q, k, *keys, &a));
    NN_TRY(ts_add(&r, *queries, a));
    LAB_TRY(nn_layer_norm_fwd(&b->norm2, r, queries));
    LAB_TRY(nn_linear_fwd(&b->lin1, *queries, &h));
    NN_TRY(ts_relu(&g, h));
    LAB_TRY(nn_linear_fwd(&b->lin2, g, &f));
    NN_TRY(ts_add(&r, *queries, f));
    LAB_TRY(nn_layer_norm_fwd(&b->norm3, r, queries));
    NN_TRY(ts_add(&q, *queries, query_pe));
    NN_TRY(ts_add(&k, *keys, key_pe));
    LAB_TRY(attn_fwd(&b->i2t, k, q, *queries, &a));
    NN_TRY(ts_add(&r, *keys, a));
    return nn_layer_norm_fwd(&b->norm4, r, keys);
}

static int mlp3_fwd(const struct sam_mlp3 *m, const ts_tensor *x, ts_tensor **y)
{
    ts_tensor *h = (ts_tensor *)x;
    for (int i = 0; i < 3; i++) {
        ts_tensor *o;
        LAB_TRY(nn_linear_fwd(&m->layers[i], h, &o));
        if (i < 2)
            NN_TRY(ts_relu(&o, o));
        h = o;
    }
    *y = h;
    return LAB_OK;
}

int sam_decode(struct model *m, const ts_tensor *embeddings, const ts_tensor *sparse, const ts_tensor *dense,
               int multimask, ts_tensor **low_res, ts_tensor **iou)
{
    if (!sam_config_of(m))
        return lab_err(LAB_EINTERNAL, NULL, "%s is not a SAM model", m ? m->name : "(null)");
    const struct sam_net *n = m->net;
    int64_t B = ts_size(sparse, 0);
    if (ts_dim(embeddings) != 4 || ts_size(embeddings, 1) != SAM_EMBED || ts_size(embeddings, 2) != sam_side(n) ||
        ts_size(embeddings, 3) != sam_side(n) || (ts_size(embeddings, 0) != 1 && ts_size(embeddings, 0) != B))
        return lab_err(LAB_EUSAGE, "decode with the embedding of one image (1x256x64x64) or one per prompt set",
                       "SAM's decoder takes [1 or %lld, 256, 64, 64] image embeddings", (long long)B);
    /* output tokens: the IoU token, then the 4 mask tokens, then the prompts */
    ts_tensor *out_tok, *zeros, *tok_b, *tokens, *pe, *src, *src_f, *src_t, *pe_f, *pe_t;
    const ts_tensor *ot[2] = {n->iou_token.w, n->mask_tokens.w};
    NN_TRY(ts_cat(&out_tok, ot, 2, 0));
    int64_t zs[3] = {B, 5, SAM_EMBED};
    NN_TRY(ts_zeros(&zeros, 3, zs, ts_dtype(sparse), ts_device_of(sparse)));
    NN_TRY(ts_add(&tok_b, zeros, out_tok));
    const ts_tensor *tp[2] = {tok_b, sparse};
    NN_TRY(ts_cat(&tokens, tp, 2, 1));
    /* repeat_interleave of a one-image embedding over the prompt sets is a broadcast */
    NN_TRY(ts_add(&src, embeddings, dense));
    LAB_TRY(sam_dense_pe(m, &pe));
    int64_t perm[3] = {0, 2, 1};
    NN_TRY(ts_flatten(&src_f, src, 2, -1));
    NN_TRY(ts_permute(&src_t, src_f, 3, perm));
    NN_TRY(ts_flatten(&pe_f, pe, 2, -1));
    NN_TRY(ts_permute(&pe_t, pe_f, 3, perm));
    ts_tensor *queries = tokens, *keys = src_t;
    for (int i = 0; i < 2; i++)
        LAB_TRY(twoway_fwd(&n->tw[i], &queries, &keys, tokens, pe_t));
    ts_tensor *q, *k, *a, *r, *hs;
    NN_TRY(ts_add(&q, queries, tokens));
    NN_TRY(ts_add(&k, keys, pe_t));
    LAB_TRY(attn_fwd(&n->final_attn, q, k, keys, &a));
    NN_TRY(ts_add(&r, queries, a));
    LAB_TRY(nn_layer_norm_fwd(&n->norm_final, r, &hs));
    /* upscale the image side */
    ts_tensor *kt, *img, *u0, *u1, *u2, *u3, *up;
    NN_TRY(ts_transpose(&kt, keys, 1, 2));
    int64_t s4[4] = {B, SAM_EMBED, sam_side(n), sam_side(n)};
    NN_TRY(ts_reshape(&img, kt, 4, s4));
    LAB_TRY(nn_conv_transpose_fwd(&n->up0, img, &u0));
    LAB_TRY(nn_layer_norm2d_fwd(&n->up1, u0, &u1));
    NN_TRY(ts_gelu(&u2, u1, 0));
    LAB_TRY(nn_conv_transpose_fwd(&n->up3, u2, &u3));
    NN_TRY(ts_gelu(&up, u3, 0));
    /* one hypernetwork MLP per mask token */
    ts_tensor *hyper[4], *hyper_in, *up_f, *masks, *iou_tok, *iou_row, *iou_all;
    for (int i = 0; i < 4; i++) {
        ts_tensor *t, *t2;
        NN_TRY(ts_narrow(&t, hs, 1, 1 + i, 1));
        NN_TRY(ts_squeeze(&t2, t, 1));
        LAB_TRY(mlp3_fwd(&n->hyper[i], t2, &hyper[i]));
    }
    NN_TRY(ts_stack(&hyper_in, (const ts_tensor *const *)hyper, 4, 1)); /* [B, 4, 32] */
    int64_t C = ts_size(up, 1), H = ts_size(up, 2), W = ts_size(up, 3), s3[3] = {B, C, H * W};
    NN_TRY(ts_reshape(&up_f, up, 3, s3));
    ts_tensor *mm;
    NN_TRY(ts_matmul(&mm, hyper_in, up_f));
    int64_t m4[4] = {B, 4, H, W};
    NN_TRY(ts_reshape(&masks, mm, 4, m4));
    NN_TRY(ts_narrow(&iou_tok, hs, 1, 0, 1));
    NN_TRY(ts_squeeze(&iou_row, iou_tok, 1));
    LAB_TRY(mlp3_fwd(&n->iou_head, iou_row, &iou_all));
    int64_t start = multimask ? 1 : 0, len = multimask ? 3 : 1;
    NN_TRY(ts_narrow(low_res, masks, 1, start, len));
    NN_TRY(ts_narrow(iou, iou_all, 1, start, len));
    return LAB_OK;
}
