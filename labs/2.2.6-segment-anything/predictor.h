/* SamPredictor (segment_anything/predictor.py) over labs/models/sam.h: the
 * image is resized (long side the model's input size: 1024 for the official
 * models, 64 for lab 2.2.6's quick one; Pillow bilinear), normalized and
 * padded once, its embedding kept in memory and, for the official models
 * with a cache directory, on disk under the image's hash and the
 * checkpoint's identity, so a second run on the same image skips the
 * encoder. Prompts are in the original image's
 * pixels and are scaled per axis as SamPredictor scales them. */
#ifndef LAB_SAM_PREDICTOR_H
#define LAB_SAM_PREDICTOR_H

#include "datasets/image.h"
#include "labs/models/model.h"

struct sam_predictor {
    struct model *model;  /* borrowed */
    char checkpoint[80];  /* identity of the weights (cache key part) */
    const char *cache_dir; /* NULL: memory only */
    char image_hash[80];  /* "" before set_image */
    int img_size;         /* the model's input side: 1024 for the official models */
    int orig_h, orig_w, in_h, in_w;
    ts_tensor *embeddings; /* [1, 256, 64, 64], owned */
    int from_cache;        /* the last set_image read the disk cache */
    double encode_ms;      /* the last set_image's encoder time (0 when cached) */
};

/* checkpoint_path names the weights for the cache key (its path, size and
 * modification time: hashing a 2.5 GB file per run would cost more than
 * the cache saves); may be NULL (then no disk cache). */
int sam_predictor_init(struct sam_predictor *p, struct model *m, const char *checkpoint_path, const char *cache_dir);
void sam_predictor_free(struct sam_predictor *p);
/* An RGB (or gray) 8-bit image. Call it outside any ts scope: the
 * embedding belongs to the predictor (sam_predictor_free). */
int sam_predictor_set_image(struct sam_predictor *p, const struct ds_image *im);

/* The side of the decoder's low-res logits, 4x the embedding grid: 256 for
 * the official models. */
int sam_predictor_lowres(const struct sam_predictor *p);

struct sam_query {
    int n_points;
    const double *points; /* [n, 2] x, y in original pixels */
    const int *labels;    /* [n]: 1 foreground, 0 background */
    const double *box;    /* x1, y1, x2, y2 in original pixels, or NULL */
    const ts_tensor *mask_input; /* [1, 1, 256, 256] low-res logits, or NULL */
    int multimask;
};
/* -> masks [1, K, H, W] bool at the original size, iou [1, K], low_res
 * [1, K, l, l] logits (l = sam_predictor_lowres(p)); K = 3 with multimask, else 1. Tensors belong to
 * the caller's scope. */
int sam_predictor_predict(struct sam_predictor *p, const struct sam_query *q, ts_tensor **masks, ts_tensor **iou,
                          ts_tensor **low_res);
/* The same into host buffers sized for K = (q->multimask ? 3 : 1) outputs:
 * masks [K, H, W] 0/1, iou [K], low_res [K, l, l]. */
int sam_predictor_predict_host(struct sam_predictor *p, const struct sam_query *q, uint8_t *masks, float *iou,
                               float *low_res);

#endif
