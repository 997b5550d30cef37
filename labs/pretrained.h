/* Pretrained timm weights from the Hugging Face cache, laid out as
 * huggingface_hub lays it out (datasets/hf.h), so Python's timm and lab share
 * one download: models--<org>--<name>/snapshots/<commit>/{model.safetensors,
 * config.json}. config.json's "pretrained_cfg" says how the weights expect
 * their input (mean/std, input size, interpolation, crop fraction). The
 * quick mode writes its own source checkpoint in the same layout and loads
 * it through the same functions. */
#ifndef LAB_PRETRAINED_H
#define LAB_PRETRAINED_H

#include "labs/models/model.h"

#include <stddef.h>

struct pretrained_cfg {
    char architecture[64];
    int num_classes;
    int input_size[3];       /* C, H, W */
    char interpolation[16];  /* bicubic | bilinear | nearest */
    double crop_pct;         /* eval: resize to size / crop_pct, then center-crop size */
    double mean[3], std[3];
    int channels;            /* entries used in mean/std (1 or 3) */
};
/* timm's config.json: {"architecture", "num_classes", "pretrained_cfg": {...}}.
 * Bounds-checked; a missing or absurd field fails naming it. */
int pretrained_cfg_parse(const char *text, size_t len, const char *what, struct pretrained_cfg *out);
int pretrained_cfg_read(const char *path, struct pretrained_cfg *out);
/* The eval resize side: round(size / crop_pct) (224 / 0.875 = 256). */
int pretrained_resize_of(const struct pretrained_cfg *c);
/* Evaluation preprocessed as the weights expect, over *ev: resize to
 * pretrained_resize_of and center-crop the input size (when crop_pct < 1),
 * the config's interpolation, its mean/std. The lab's run and the grader's
 * re-evaluation both use it, so they cannot drift apart. LAB_EUSAGE naming
 * `what` for an interpolation lab cannot do. */
struct ds_augment;
int pretrained_eval_augment(const struct pretrained_cfg *c, const char *what, struct ds_augment *ev);

/* Where `repo`@`revision` keeps model.safetensors and config.json in the
 * cache; downloads what is missing unless offline (HF_HUB_OFFLINE,
 * LAB_OFFLINE), which then fails with the snapshot path it looked for. */
int pretrained_resolve(const char *repo, const char *revision, char *weights, char *config, size_t cap);

/* Loads every backbone tensor of `path` into m (keys and shapes must match
 * exactly: a different architecture fails naming the keys) and ignores the
 * checkpoint's head (names starting with `head_prefix`): the model keeps its
 * own freshly initialised head. *n_loaded may be NULL. */
int pretrained_load_backbone(struct model *m, const char *path, const char *head_prefix, size_t *n_loaded);

/* Writes m's state dict and `cfg` as config.json into the cache as
 * repo@revision would be (blobs named by their sha256, snapshot symlinks,
 * refs/<revision>), the commit derived from the weights' digest. `commit`
 * (may be NULL) gets it. */
int pretrained_save_hf(const struct model *m, const struct pretrained_cfg *cfg, const char *repo,
                       const char *revision, char *commit, size_t cap);

/* An order-independent fingerprint of the tensors of `p` (or of a safetensors
 * file) whose names start with one of `prefixes` ("" = all) and do not start
 * with `skip`: sha256 over name, shape and fp32 bytes, in name order. */
int pretrained_fingerprint_params(const ts_params *p, const char *skip, char *hex, size_t cap);
int pretrained_fingerprint_file(const char *path, const char *skip, char *hex, size_t cap);

#endif
