/* SAM's configurations, construction and postprocessing (labs/models/sam.h);
 * the three parts live in sam_encoder.c, sam_prompt.c and sam_decoder.c. */
#include "labs/models/sam.h"

#include "base/error.h"
#include "labs/models/sam_internal.h"

#include <string.h>

/* modeling/sam.py's defaults, on the 0-255 scale */
const double SAM_PIXEL_MEAN[3] = {123.675, 116.28, 103.53};
const double SAM_PIXEL_STD[3] = {58.395, 57.12, 57.375};

void sam_config_custom(struct sam_config *c, int embed_dim, int depth, int heads, int n_global,
                       const int *global_idx)
{
    memset(c, 0, sizeof *c);
    c->embed_dim = embed_dim;
    c->depth = depth;
    c->heads = heads;
    c->n_global = n_global < 0 ? 0 : n_global > SAM_MAX_GLOBAL ? SAM_MAX_GLOBAL : n_global;
    for (int i = 0; i < c->n_global; i++)
        c->global_idx[i] = global_idx[i];
    c->window = 14;
    c->patch = 16;
    c->img_size = SAM_IMG;
}

int sam_config_named(const char *name, struct sam_config *c)
{
    static const int b[4] = {2, 5, 8, 11}, l[4] = {5, 11, 17, 23}, h[4] = {7, 15, 23, 31};
    if (!strcmp(name, "vit_b"))
        sam_config_custom(c, 768, 12, 12, 4, b);
    else if (!strcmp(name, "vit_l"))
        sam_config_custom(c, 1024, 24, 16, 4, l);
    else if (!strcmp(name, "vit_h") || !strcmp(name, "default"))
        sam_config_custom(c, 1280, 32, 16, 4, h);
    else
        return lab_err(LAB_EUSAGE, "use vit_b, vit_l or vit_h", "no SAM model named '%s'", name);
    return LAB_OK;
}

int sam_config_check(const struct sam_config *c)
{
    if (c->depth < 1 || c->depth > SAM_MAX_DEPTH)
        return lab_err(LAB_EUSAGE, "use an encoder depth such as 12, 24 or 32", "SAM encoder depth %d is outside 1..%d",
                       c->depth, SAM_MAX_DEPTH);
    if (c->heads < 1 || c->embed_dim < 1 || c->embed_dim % c->heads)
        return lab_err(LAB_EUSAGE, "use a head count that divides the encoder width (768 / 12 for vit_b)",
                       "SAM encoder heads %d do not divide width %d", c->heads, c->embed_dim);
    /* the official models are 1024 / 16; a smaller input (quick mode) keeps
     * the embedding grid within the 64 the fixed-size buffers allow */
    if (c->patch < 1 || c->img_size < c->patch || c->img_size > SAM_IMG || c->img_size % c->patch ||
        c->img_size / c->patch > SAM_GRID || c->window < 1)
        return lab_err(LAB_EUSAGE, "use an input that is a multiple of the patch, at most 1024 (SAM's is 1024 / 16), "
                       "and a positive window",
                       "SAM configuration with input %d, patch %d, window %d", c->img_size, c->patch, c->window);
    for (int i = 0; i < c->n_global; i++)
        if (c->global_idx[i] < 0 || c->global_idx[i] >= c->depth)
            return lab_err(LAB_EUSAGE, "list global-attention blocks below the depth",
                           "global-attention index %d is outside 0..%d", c->global_idx[i], c->depth - 1);
    return LAB_OK;
}

static int64_t linear_n(int64_t in, int64_t out) { return in * out + out; }
static int64_t attn_n(int64_t inner) { return 3 * linear_n(SAM_EMBED, inner) + linear_n(inner, SAM_EMBED); }
static int64_t mlp3_n(int64_t out) { return 2 * linear_n(SAM_EMBED, SAM_EMBED) + linear_n(SAM_EMBED, out); }

int64_t sam_param_count(const struct sam_config *c)
{
    int64_t C = c->embed_dim, hd = C / c->heads, side = c->img_size / c->patch;
    int64_t n = side * side * C + 3 * c->patch * c->patch * C + C;
    for (int i = 0; i < c->depth; i++) {
        int global = 0;
        for (int g = 0; g < c->n_global; g++)
            global |= c->global_idx[g] == i;
        int64_t S = global ? side : c->window;
        n += 4 * C + 2 * (2 * S - 1) * hd + linear_n(C, 3 * C) + linear_n(C, C) + linear_n(C, 4 * C) +
             linear_n(4 * C, C);
    }
    n += SAM_EMBED * C + 2 * SAM_EMBED + SAM_EMBED * SAM_EMBED * 9 + 2 * SAM_EMBED;
    /* prompt encoder (the Gaussian matrix is a buffer) */
    n += 6 * SAM_EMBED + (4 * 4 + 4) + 8 + (16 * 4 * 4 + 16) + 32 + linear_n(16, SAM_EMBED);
    /* mask decoder */
    int64_t block = attn_n(SAM_EMBED) + 2 * attn_n(SAM_EMBED / 2) + 8 * SAM_EMBED + linear_n(SAM_EMBED, 2048) +
                    linear_n(2048, SAM_EMBED);
    n += 2 * block + attn_n(SAM_EMBED / 2) + 2 * SAM_EMBED + 5 * SAM_EMBED;
    n += SAM_EMBED * 64 * 4 + 64 + 2 * 64 + 64 * 32 * 4 + 32;
    n += 4 * mlp3_n(32) + mlp3_n(4);
    return n;
}

static int sam_model_forward(struct model *m, const ts_tensor *x, int training, ts_tensor **y)
{
    (void)training;
    return sam_encode(m, x, NULL, y);
}

const struct sam_config *sam_config_of(const struct model *m)
{
    return m && m->forward == sam_model_forward ? &((const struct sam_net *)m->net)->cfg : NULL;
}

int sam_new(const struct sam_config *c, struct model **out)
{
    LAB_TRY(sam_config_check(c));
    struct model *m;
    LAB_TRY(model_new("sam", sizeof(struct sam_net), &m));
    m->forward = sam_model_forward;
    m->forward_named = sam_forward_named;
    struct sam_net *n = m->net;
    n->cfg = *c;
    int rc = sam_encoder_init(m->params, n);
    if (!rc)
        rc = sam_prompt_init(m->params, n);
    if (!rc)
        rc = sam_decoder_init(m->params, n);
    if (rc) {
        model_free(m);
        return rc;
    }
    *out = m;
    return LAB_OK;
}

int sam_postprocess(const ts_tensor *low_res, int img, int in_h, int in_w, int orig_h, int orig_w, ts_tensor **masks)
{
    if (img < 1 || img > SAM_IMG || in_h < 1 || in_w < 1 || in_h > img || in_w > img || orig_h < 1 || orig_w < 1)
        return lab_err(LAB_EUSAGE, NULL, "postprocess sizes %dx%d (input) / %dx%d (original) at %d are invalid", in_h,
                       in_w, orig_h, orig_w, img);
    ts_tensor *full, *rows, *crop;
    NN_TRY(ts_interpolate(&full, low_res, img, img, TS_BILINEAR, 0));
    NN_TRY(ts_narrow(&rows, full, 2, 0, in_h));
    NN_TRY(ts_narrow(&crop, rows, 3, 0, in_w));
    NN_TRY(ts_interpolate(masks, crop, orig_h, orig_w, TS_BILINEAR, 0));
    return LAB_OK;
}
