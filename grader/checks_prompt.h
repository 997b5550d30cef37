/* The prompt task's state for one model, shared by its rubric checks
 * (checks_prompt.c) and its re-evaluation (reeval_prompt.c). */
#ifndef GRADER_CHECKS_PROMPT_H
#define GRADER_CHECKS_PROMPT_H

#include "grader/checks.h"
#include "grader/rubric.h"
#include "grader/truth.h"

#include <stdint.h>

struct prompt_state {
    int size_known, shape_ok, prompts_ok;
    char err[600], prompt_err[600];
    int64_t size, need, p; /* canvas side, held-out canvases, submitted prompts */
    uint64_t seed;
    const uint8_t *masks; /* views the predictions file */
    float *prompts;
    int64_t *image;
    struct truth_once truth_once;
    struct truth_instances truth;
    int has_miou;
    double miou[2]; /* box, point */
    /* The full mode (the notebook's prompt study on its placeholder): no
     * ground truth, so only the format, the prompts and the reported
     * predicted IoUs are checked (docs/labs/2.2.6.md). */
    int full;
    int64_t h, w;    /* the masks' size: size x size in the quick mode */
    float *iou_pred; /* [p] in the full mode */
};

/* The state when the masks decoded, else NULL with o set to skipped. */
struct prompt_state *prompt_decoded(struct grade_ctx *g, struct check_out *o);
/* 1 when the grader's instances (and canvases) are rendered, else 0 with o set. */
int prompt_truth(struct grade_ctx *g, struct prompt_state *s, struct check_out *o);
/* 1 when the rows are the lab's prompts (predictions.prompts passed), else
 * 0 with o set to skipped; *sp is the state either way (NULL undecoded). */
int prompt_prompted(struct grade_ctx *g, struct check_out *o, struct prompt_state **sp);
/* Row r's truth instance and kind (0 box, 1 point) in the lab's order: per
 * canvas, each instance's box, then each instance's point. */
void prompt_expected_rows(const struct truth_instances *t, int64_t *inst, int *kind);

/* reeval_prompt.c: reeval.masks for the prompt task (TS-REEVAL-MISMATCH). */
enum check_status prompt_reeval_masks(struct grade_ctx *g, struct check_out *o);

#endif
