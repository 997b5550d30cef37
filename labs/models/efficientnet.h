/* EfficientNet-B0 exactly as timm 1.0.28 builds `efficientnet_b0`: the
 * state-dict keys and shapes of ../shared/reference/2.2.2-efficientnet_b0*.tsv,
 * so a timm checkpoint (timm/efficientnet_b0.ra_in1k) loads unchanged and our
 * weights load into timm. Blocks: one DepthwiseSeparableConv then
 * InvertedResiduals (expand 6), each with squeeze-excitation reducing to a
 * quarter of the block's input width; BN eps 1e-5 momentum 0.1; SiLU. */
#ifndef LAB_EFFICIENTNET_H
#define LAB_EFFICIENTNET_H

#include "labs/models/model.h"

enum effnet_head {
    EFFNET_HEAD_IMAGENET = 0, /* classifier.{weight,bias}: timm's Linear(1280, n) */
    EFFNET_HEAD_COURSE = 1,   /* classifier.1.{weight,bias}: Sequential(Dropout(p), Linear(1280, n)) */
};

struct effnet_config {
    int num_classes;       /* 1000 for ImageNet, 100 for the course */
    int head;              /* enum effnet_head */
    double head_dropout;   /* the course head's Dropout (0.3) */
    double drop_rate;      /* timm's drop_rate: dropout before the classifier (0) */
    double drop_path_rate; /* timm's drop_path_rate, scaled per block by its index (0) */
};
/* The course model: course head, 100 classes, Dropout(0.3), rates 0. */
void effnet_config_course(struct effnet_config *c);

int effnet_b0_new(const struct effnet_config *c, struct model **out);

/* Outputs of timm's top-level children, in forward order (what forward hooks
 * on them see): conv_stem, bn1, blocks.0 .. blocks.6, conv_head, bn2, then
 * global_pool (pooled, [N,1280]) and the logits. */
#define EFFNET_NSTAGES 14
extern const char *const effnet_stage_names[EFFNET_NSTAGES];
struct effnet_trace {
    ts_tensor *out[EFFNET_NSTAGES];
};
/* forward with every stage's output kept (trace may be NULL). */
int effnet_forward_ex(struct model *m, const ts_tensor *x, int training, struct effnet_trace *trace,
                      ts_tensor **logits);

/* Keeps the BatchNorm layers whose state-dict prefix starts with `prefix`
 * ("" = all, NULL = none) in eval mode even when the model trains: the
 * frozen backbone of feature extraction normalises with its pretrained
 * running statistics and leaves them unchanged. Others return to normal. */
void effnet_bn_eval(struct model *m, const char *const *prefixes, size_t n);
/* 1 when the model was built by effnet_b0_new. */
int effnet_is(const struct model *m);

#endif
