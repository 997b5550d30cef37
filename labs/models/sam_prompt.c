/* SAM's prompt encoder (segment_anything/modeling/prompt_encoder.py). Labels
 * arrive as host data, so "zero the padding points, add the embedding of the
 * label" becomes pe * keep + onehot(label) @ table, which rounds exactly as
 * upstream's masked assignments (every extra term is an exact zero). */
#include "base/error.h"
#include "labs/models/sam_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int sam_prompt_init(ts_params *p, struct sam_net *n)
{
    int64_t g[2] = {2, SAM_EMBED / 2};
    LAB_TRY(nn_add_tensor(p, "prompt_encoder.pe_layer", "positional_encoding_gaussian_matrix", TS_BUFFER, 2, g,
                          TS_F32, 0, 0, &n->gauss));
    NN_TRY(ts_normal_(n->gauss, 0.0, 1.0));
    char name[96];
    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "prompt_encoder.point_embeddings.%d", i);
        LAB_TRY(nn_embedding_init(p, name, 1, SAM_EMBED, &n->point_emb[i]));
    }
    LAB_TRY(nn_embedding_init(p, "prompt_encoder.not_a_point_embed", 1, SAM_EMBED, &n->not_a_point));
    LAB_TRY(nn_conv_init(p, "prompt_encoder.mask_downscaling.0", 1, 4, 2, 2, 0, 1, &n->md0));
    LAB_TRY(nn_layer_norm_init(p, "prompt_encoder.mask_downscaling.1", 4, 1e-6, &n->md1));
    LAB_TRY(nn_conv_init(p, "prompt_encoder.mask_downscaling.3", 4, 16, 2, 2, 0, 1, &n->md3));
    LAB_TRY(nn_layer_norm_init(p, "prompt_encoder.mask_downscaling.4", 16, 1e-6, &n->md4));
    LAB_TRY(nn_conv_init(p, "prompt_encoder.mask_downscaling.6", 16, SAM_EMBED, 1, 1, 0, 1, &n->md6));
    LAB_TRY(nn_embedding_init(p, "prompt_encoder.no_mask_embed", 1, SAM_EMBED, &n->no_mask));
    return LAB_OK;
}

/* coords [..., 2] in [0, 1] -> [..., 256] = [sin, cos](2 pi (2c - 1) G) */
static int pe_encode(const struct sam_net *n, const ts_tensor *coords, ts_tensor **out)
{
    ts_tensor *c2, *c1, *proj, *ang, *s, *co;
    NN_TRY(ts_mul_scalar(&c2, coords, 2.0));
    NN_TRY(ts_add_scalar(&c1, c2, -1.0));
    NN_TRY(ts_matmul(&proj, c1, n->gauss));
    NN_TRY(ts_mul_scalar(&ang, proj, 2.0 * M_PI));
    NN_TRY(ts_sin(&s, ang));
    NN_TRY(ts_cos(&co, ang));
    const ts_tensor *parts[2] = {s, co};
    NN_TRY(ts_cat(out, parts, 2, -1));
    return LAB_OK;
}

int sam_dense_pe(struct model *m, ts_tensor **pe)
{
    if (!sam_config_of(m))
        return lab_err(LAB_EINTERNAL, NULL, "%s is not a SAM model", m ? m->name : "(null)");
    const struct sam_net *n = m->net;
    static float grid[SAM_GRID * SAM_GRID * 2];
    int G = (int)sam_side(n);
    for (int y = 0; y < G; y++)
        for (int x = 0; x < G; x++) {
            /* cumsum of ones - 0.5, over the side: (i + 0.5) / 64 */
            grid[(y * G + x) * 2] = ((float)x + 0.5f) / (float)G;
            grid[(y * G + x) * 2 + 1] = ((float)y + 0.5f) / (float)G;
        }
    int64_t shape[3] = {G, G, 2}, perm[3] = {2, 0, 1};
    ts_tensor *g, *e, *chw;
    NN_TRY(ts_from_host(&g, grid, TS_F32, 3, shape, ts_device_of(n->gauss)));
    LAB_TRY(pe_encode(n, g, &e));
    NN_TRY(ts_permute(&chw, e, 3, perm));
    NN_TRY(ts_unsqueeze(pe, chw, 0));
    return LAB_OK;
}

/* Token codes: 0 padding (-1), 1 background, 2 foreground, 3 / 4 box corners. */
static int label_code(int label, int *code)
{
    if (label < -1 || label > 1)
        return lab_err(LAB_EUSAGE, "label points 1 (foreground) or 0 (background)",
                       "point label %d is not -1, 0 or 1", label);
    *code = label + 1;
    return LAB_OK;
}

static int sparse_from_host(const struct sam_net *n, int64_t B, int64_t T, const float *xy, const int *codes,
                            ts_tensor **out)
{
    size_t cnt = (size_t)(B * T);
    float *keep = malloc(sizeof *keep * cnt), *onehot = calloc(cnt * 5, sizeof *onehot);
    if (!keep || !onehot) {
        free(keep);
        free(onehot);
        return lab_err(LAB_EINTERNAL, NULL, "no memory for %zu prompt tokens", cnt);
    }
    for (size_t i = 0; i < cnt; i++) {
        keep[i] = codes[i] == 0 ? 0.0f : 1.0f;
        onehot[i * 5 + (size_t)codes[i]] = 1.0f;
    }
    ts_device dev = ts_device_of(n->gauss);
    int64_t s3[3] = {B, T, 2}, k3[3] = {B, T, 1}, o3[3] = {B, T, 5};
    ts_tensor *c = NULL, *k = NULL, *oh = NULL;
    int rc = ts_from_host(&c, xy, TS_F32, 3, s3, dev);
    if (rc == TS_OK)
        rc = ts_from_host(&k, keep, TS_F32, 3, k3, dev);
    if (rc == TS_OK)
        rc = ts_from_host(&oh, onehot, TS_F32, 3, o3, dev);
    free(keep);
    free(onehot);
    NN_TRY(rc);
    ts_tensor *pe, *kept, *table, *add;
    LAB_TRY(pe_encode(n, c, &pe));
    NN_TRY(ts_mul(&kept, pe, k));
    const ts_tensor *rows[5] = {n->not_a_point.w, n->point_emb[0].w, n->point_emb[1].w, n->point_emb[2].w,
                                n->point_emb[3].w};
    NN_TRY(ts_cat(&table, rows, 5, 0));
    NN_TRY(ts_matmul(&add, oh, table));
    NN_TRY(ts_add(out, kept, add));
    return LAB_OK;
}

static int dense_embed(const struct sam_net *n, const struct sam_prompts *p, ts_tensor **dense)
{
    if (!p->mask_input) {
        int64_t shape[4] = {p->batch, SAM_EMBED, sam_side(n), sam_side(n)}, w4[4] = {1, SAM_EMBED, 1, 1};
        ts_tensor *z, *w;
        NN_TRY(ts_zeros(&z, 4, shape, TS_F32, ts_device_of(n->gauss)));
        NN_TRY(ts_reshape(&w, n->no_mask.w, 4, w4));
        NN_TRY(ts_add(dense, z, w));
        return LAB_OK;
    }
    const ts_tensor *mi = p->mask_input;
    if (ts_dim(mi) != 4 || ts_size(mi, 0) != p->batch || ts_size(mi, 1) != 1 || ts_size(mi, 2) != 4 * sam_side(n) ||
        ts_size(mi, 3) != 4 * sam_side(n))
        return lab_err(LAB_EUSAGE, "pass a previous low-res mask (logits [B, 1, 256, 256]) as the mask input",
                       "SAM's mask input must be [%lld, 1, 256, 256]", (long long)p->batch);
    ts_tensor *a, *b, *c, *d, *e, *f, *g;
    LAB_TRY(nn_conv_fwd(&n->md0, mi, &a));
    LAB_TRY(nn_layer_norm2d_fwd(&n->md1, a, &b));
    NN_TRY(ts_gelu(&c, b, 0));
    LAB_TRY(nn_conv_fwd(&n->md3, c, &d));
    LAB_TRY(nn_layer_norm2d_fwd(&n->md4, d, &e));
    NN_TRY(ts_gelu(&f, e, 0));
    LAB_TRY(nn_conv_fwd(&n->md6, f, &g));
    *dense = g;
    return LAB_OK;
}

int sam_prompt_encode(struct model *m, const struct sam_prompts *p, ts_tensor **sparse, ts_tensor **dense)
{
    if (!sam_config_of(m))
        return lab_err(LAB_EINTERNAL, NULL, "%s is not a SAM model", m ? m->name : "(null)");
    const struct sam_net *n = m->net;
    if (p->batch < 1 || p->n_points < 0 || (p->n_points > 0 && (!p->coords || !p->labels)))
        return lab_err(LAB_EUSAGE, "give points as (N, 2) coordinates with N labels",
                       "prompt batch %lld with %lld points", (long long)p->batch, (long long)p->n_points);
    int pad = p->n_points > 0 && !p->boxes;
    int64_t B = p->batch, T = (p->n_points + pad) + (p->boxes ? 2 : 0);
    if (T == 0) {
        /* upstream: an empty [B, 0, 256] sparse prompt */
        int64_t shape[3] = {B, 0, SAM_EMBED};
        NN_TRY(ts_zeros(sparse, 3, shape, TS_F32, ts_device_of(n->gauss)));
        return dense_embed(n, p, dense);
    }
    float *xy = malloc(sizeof *xy * (size_t)(B * T * 2));
    int *codes = malloc(sizeof *codes * (size_t)(B * T));
    if (!xy || !codes) {
        free(xy);
        free(codes);
        return lab_err(LAB_EINTERNAL, NULL, "no memory for %lld prompt tokens", (long long)(B * T));
    }
    int rc = LAB_OK;
    for (int64_t b = 0; b < B && rc == LAB_OK; b++) {
        int64_t t = b * T;
        for (int64_t i = 0; i < p->n_points && rc == LAB_OK; i++, t++) {
            const float *c = p->coords + (b * p->n_points + i) * 2;
            xy[t * 2] = (c[0] + 0.5f) / (float)n->cfg.img_size;
            xy[t * 2 + 1] = (c[1] + 0.5f) / (float)n->cfg.img_size;
            rc = label_code(p->labels[b * p->n_points + i], &codes[t]);
        }
        if (pad) {
            xy[t * 2] = xy[t * 2 + 1] = 0.5f / (float)n->cfg.img_size;
            codes[t++] = 0;
        }
        if (p->boxes)
            for (int k = 0; k < 2; k++, t++) {
                xy[t * 2] = (p->boxes[b * 4 + k * 2] + 0.5f) / (float)n->cfg.img_size;
                xy[t * 2 + 1] = (p->boxes[b * 4 + k * 2 + 1] + 0.5f) / (float)n->cfg.img_size;
                codes[t] = 3 + k;
            }
    }
    if (rc == LAB_OK)
        rc = sparse_from_host(n, B, T, xy, codes, sparse);
    free(xy);
    free(codes);
    LAB_TRY(rc);
    return dense_embed(n, p, dense);
}
