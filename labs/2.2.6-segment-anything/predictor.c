/* SamPredictor: preprocessing, the embedding cache, prompt transforms. */
#include "labs/2.2.6-segment-anything/predictor.h"

#include "base/error.h"
#include "base/fsutil.h"
#include "datasets/hash.h"
#include "labs/2.2.6-segment-anything/resize.h"
#include "labs/models/nn.h"
#include "labs/models/sam.h"
#include "labs/models/weights.h"
#include "shim/safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

int sam_predictor_init(struct sam_predictor *p, struct model *m, const char *checkpoint_path, const char *cache_dir)
{
    memset(p, 0, sizeof *p);
    if (!sam_config_of(m))
        return lab_err(LAB_EINTERNAL, NULL, "the predictor needs a SAM model, not %s", m ? m->name : "(null)");
    p->model = m;
    p->img_size = sam_config_of(m)->img_size;
    struct stat st;
    /* The disk cache holds the official models' 64x64 embedding grid. */
    if (checkpoint_path && cache_dir && p->img_size == SAM_IMG && stat(checkpoint_path, &st) == 0) {
        char id[4200];
        int n = snprintf(id, sizeof id, "%s|%lld|%lld", checkpoint_path, (long long)st.st_size,
                         (long long)st.st_mtime);
        LAB_TRY(ds_hash_buffer(id, (size_t)n, "sha256", p->checkpoint, sizeof p->checkpoint));
        p->cache_dir = cache_dir;
    }
    return LAB_OK;
}

int sam_predictor_lowres(const struct sam_predictor *p)
{
    const struct sam_config *c = sam_config_of(p->model);
    return 4 * c->img_size / c->patch;
}

void sam_predictor_free(struct sam_predictor *p)
{
    ts_tensor_free(p->embeddings);
    p->embeddings = NULL;
}

static void cache_path(const struct sam_predictor *p, char *out, size_t cap)
{
    snprintf(out, cap, "%s/sam-%.16s-%.16s.safetensors", p->cache_dir, p->image_hash, p->checkpoint);
}

static int cache_read(struct sam_predictor *p)
{
    char path[4200];
    cache_path(p, path, sizeof path);
    if (!lab_path_exists(path))
        return 1;
    st_file *f = NULL;
    if (st_open(path, &f))
        return 1; /* a damaged entry is recomputed and replaced */
    const struct st_tensor *t = st_find(f, "image_embeddings");
    int rc = 1;
    if (t && t->dtype == ST_F32 && t->ndim == 4 && t->shape[0] == 1 && t->shape[1] == SAM_EMBED &&
        t->shape[2] == SAM_GRID && t->shape[3] == SAM_GRID) {
        ts_tensor *e = NULL;
        if (ts_from_host(&e, t->data, TS_F32, 4, t->shape, TS_CPU) == TS_OK) {
            ts_tensor *dev = NULL;
            const ts_tensor *any = NULL;
            const char *name;
            int kind, group;
            ts_params_at(p->model->params, 0, &name, (ts_tensor **)&any, &kind, &group);
            if (ts_to(&dev, e, ts_device_of(any), -1) == TS_OK) {
                ts_scope_keep(dev);
                p->embeddings = dev;
                rc = 0;
            }
            ts_tensor_free(e);
        }
    }
    st_close(f);
    return rc;
}

static int cache_write(const struct sam_predictor *p)
{
    char path[4200];
    LAB_TRY(lab_mkdir_p(p->cache_dir));
    cache_path(p, path, sizeof path);
    size_t n = (size_t)SAM_EMBED * SAM_GRID * SAM_GRID;
    float *buf = malloc(n * sizeof *buf);
    if (!buf)
        return lab_err(LAB_EINTERNAL, NULL, "no memory for the embedding cache");
    int rc = ts_to_host(p->embeddings, TS_F32, buf, n * sizeof *buf) == TS_OK ? LAB_OK : nn_fail(TS_ETORCH, "embedding");
    if (!rc) {
        struct ts_host_tensor t = {.name = "image_embeddings", .dtype = TS_F32, .ndim = 4,
                                   .shape = {1, SAM_EMBED, SAM_GRID, SAM_GRID}, .data = buf, .nbytes = n * sizeof *buf};
        json_t *meta = json_pack("{s:s, s:s}", "image_sha256", p->image_hash, "checkpoint", p->checkpoint);
        rc = weights_save_host(&t, 1, path, meta);
        json_decref(meta);
    }
    free(buf);
    return rc;
}

/* resized HWC bytes -> [1, 3, img, img]: (x - mean) / std, zero padding
 * right and bottom after normalizing, as Sam.preprocess */
static int preprocess(const struct ds_image *rs, int img, ts_device dev, ts_tensor **x)
{
    ts_tensor *u8, *chw, *f, *mean, *std, *c, *nrm, *b;
    int64_t hwc[3] = {rs->h, rs->w, rs->c}, perm[3] = {2, 0, 1};
    NN_TRY(ts_from_host(&u8, rs->px, TS_U8, 3, hwc, TS_CPU));
    NN_TRY(ts_permute(&chw, u8, 3, perm));
    NN_TRY(ts_to(&f, chw, dev, TS_F32));
    float mv[3], sv[3];
    for (int i = 0; i < 3; i++) {
        mv[i] = (float)SAM_PIXEL_MEAN[i];
        sv[i] = (float)SAM_PIXEL_STD[i];
    }
    int64_t s3[3] = {3, 1, 1}, pads[4] = {0, img - rs->w, 0, img - rs->h};
    NN_TRY(ts_from_host(&mean, mv, TS_F32, 3, s3, dev));
    NN_TRY(ts_from_host(&std, sv, TS_F32, 3, s3, dev));
    NN_TRY(ts_sub(&c, f, mean));
    NN_TRY(ts_div(&nrm, c, std));
    NN_TRY(ts_unsqueeze(&b, nrm, 0));
    NN_TRY(ts_pad(x, b, 4, pads, 0.0));
    return LAB_OK;
}

int sam_predictor_set_image(struct sam_predictor *p, const struct ds_image *im)
{
    if (im->w < 1 || im->h < 1 || (im->c != 1 && im->c != 3))
        return lab_err(LAB_EUSAGE, "give SAM an RGB or gray image", "a %dx%d image with %d channels", im->w, im->h,
                       im->c);
    struct ds_image rgb = {0};
    LAB_TRY(ds_image_copy(&rgb, im));
    int rc = ds_image_to_rgb(&rgb);
    char hash[80] = "";
    if (!rc) {
        size_t len = (size_t)rgb.w * rgb.h * 3;
        char *buf = malloc(len + 32);
        if (!buf)
            rc = lab_err(LAB_EINTERNAL, NULL, "no memory to hash the image");
        else {
            int hl = snprintf(buf, 32, "%dx%d:", rgb.w, rgb.h);
            memcpy(buf + hl, rgb.px, len);
            rc = ds_hash_buffer(buf, len + (size_t)hl, "sha256", hash, sizeof hash);
            free(buf);
        }
    }
    if (!rc && p->embeddings && !strcmp(hash, p->image_hash)) {
        ds_image_free(&rgb);
        p->from_cache = 1;
        p->encode_ms = 0;
        return LAB_OK; /* the same image: the embedding is still good */
    }
    if (!rc) {
        sam_predictor_free(p);
        snprintf(p->image_hash, sizeof p->image_hash, "%s", hash);
        p->orig_h = rgb.h;
        p->orig_w = rgb.w;
        sam_preprocess_shape(rgb.h, rgb.w, p->img_size, &p->in_h, &p->in_w);
        p->from_cache = p->cache_dir && cache_read(p) == 0;
        p->encode_ms = 0;
    }
    if (!rc && !p->from_cache) {
        struct ds_image rs = {0};
        rc = sam_pil_resize_bilinear(&rgb, p->in_w, p->in_h, &rs);
        if (!rc) {
            const char *name;
            ts_tensor *any;
            int kind, group;
            ts_params_at(p->model->params, 0, &name, &any, &kind, &group);
            struct timespec t0, t1;
            clock_gettime(CLOCK_MONOTONIC, &t0);
            ts_scope_begin();
            int prev = ts_no_grad_push();
            ts_tensor *x = NULL, *e = NULL;
            rc = preprocess(&rs, p->img_size, ts_device_of(any), &x);
            if (!rc)
                rc = sam_encode(p->model, x, NULL, &e);
            ts_grad_mode_pop(prev);
            if (!rc) {
                ts_scope_keep(e);
                p->embeddings = e;
            }
            ts_scope_end();
            clock_gettime(CLOCK_MONOTONIC, &t1);
            p->encode_ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
            if (!rc && p->cache_dir)
                rc = cache_write(p);
        }
        ds_image_free(&rs);
    }
    ds_image_free(&rgb);
    if (rc)
        p->image_hash[0] = '\0';
    return rc;
}

int sam_predictor_predict(struct sam_predictor *p, const struct sam_query *q, ts_tensor **masks, ts_tensor **iou,
                          ts_tensor **low_res)
{
    if (!p->embeddings)
        return lab_err(LAB_EUSAGE, "set an image before prompting (sam_predictor_set_image)",
                       "SAM has no image embedding yet");
    if (q->n_points < 0 || q->n_points > 1024 || (q->n_points && (!q->points || !q->labels)))
        return lab_err(LAB_EUSAGE, "give points as (N, 2) coordinates with N labels",
                       "%d points without their coordinates or labels", q->n_points);
    /* ResizeLongestSide.apply_coords: per-axis scale in float64, then float32 */
    double sx = (double)p->in_w / p->orig_w, sy = (double)p->in_h / p->orig_h;
    float coords[2048], box[4];
    for (int i = 0; i < q->n_points; i++) {
        coords[i * 2] = (float)(q->points[i * 2] * sx);
        coords[i * 2 + 1] = (float)(q->points[i * 2 + 1] * sy);
    }
    if (q->box)
        for (int k = 0; k < 2; k++) {
            box[k * 2] = (float)(q->box[k * 2] * sx);
            box[k * 2 + 1] = (float)(q->box[k * 2 + 1] * sy);
        }
    struct sam_prompts pr = {.batch = 1, .n_points = q->n_points, .coords = coords, .labels = q->labels,
                             .boxes = q->box ? box : NULL, .mask_input = q->mask_input};
    int prev = ts_no_grad_push();
    ts_tensor *sparse, *dense, *post;
    int rc = sam_prompt_encode(p->model, &pr, &sparse, &dense);
    if (!rc)
        rc = sam_decode(p->model, p->embeddings, sparse, dense, q->multimask, low_res, iou);
    if (!rc)
        rc = sam_postprocess(*low_res, p->img_size, p->in_h, p->in_w, p->orig_h, p->orig_w, &post);
    ts_grad_mode_pop(prev);
    LAB_TRY(rc);
    NN_TRY(ts_gt_scalar(masks, post, 0.0));
    return LAB_OK;
}

int sam_predictor_predict_host(struct sam_predictor *p, const struct sam_query *q, uint8_t *masks, float *iou,
                               float *low_res)
{
    int K = q->multimask ? 3 : 1;
    size_t hw = (size_t)p->orig_w * p->orig_h, ll = (size_t)sam_predictor_lowres(p) * sam_predictor_lowres(p);
    ts_scope_begin();
    ts_tensor *mt, *it, *lt;
    int rc = sam_predictor_predict(p, q, &mt, &it, &lt);
    if (!rc && ts_size(it, 1) != K)
        rc = lab_err(LAB_EINTERNAL, NULL, "SAM gave %lld masks, not %d", (long long)ts_size(it, 1), K);
    if (!rc && (ts_to_host(mt, TS_U8, masks, (size_t)K * hw) || ts_to_host(it, TS_F32, iou, sizeof *iou * (size_t)K) ||
                ts_to_host(lt, TS_F32, low_res, sizeof *low_res * (size_t)K * ll)))
        rc = nn_fail(TS_ETORCH, "reading the masks");
    ts_scope_end();
    return rc;
}
