/* The pretrained checkpoint a lab's mode starts from (lab 2.2.2: timm's
 * weights in full mode, the quick mode's own source), found in the grader's
 * own Hugging Face cache: its repo is the lab's (never the submission's),
 * the revision the run's metrics name (quick mode's is a digest of its
 * recipe), else the lab's. */
#ifndef GRADER_GRADE_CKPT_H
#define GRADER_GRADE_CKPT_H

#include "grader/rubric.h"

struct grade_ckpt {
    char repo[160], revision[80], weights[4400], config[4400]; /* config "" when not cached */
    int found;                                                 /* weights cached */
};

/* `model` (may be NULL: any) is the metrics entry whose revision counts.
 * LAB_EUSAGE when the grader cannot tell the lab's mode. */
int grade_ckpt_find(struct grade_ctx *g, const char *model, struct grade_ckpt *c);

/* 1 when the lab's mode starts from such a checkpoint. */
int grade_ckpt_applies(struct grade_ctx *g);

#endif
