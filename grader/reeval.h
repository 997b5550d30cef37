/* Re-evaluation of a submitted image classifier (`lab grade --reeval`): the
 * weights go into the lab's own architecture, the eval images the student
 * was scored on are run again on the grading device, and the logits are
 * compared with the submitted ones; then a few images one at a time against
 * the same images in a full batch. */
#ifndef GRADER_REEVAL_H
#define GRADER_REEVAL_H

#include "grader/rubric.h"
#include "labs/models/model.h"

#include <stddef.h>

/* The relative tolerance of both comparisons: max |ours - theirs| over
 * max |theirs|, the measure lab's PyTorch parity tests use. */
#define REEVAL_REL_TOL 5e-3
/* Weights at 4 bits (grader/weights_q4.h) give other logits than the
 * weights they came from, by up to a few percent of the largest logit.
 * reeval.logits then allows REEVAL_Q4_REL_TOL and asks that the top-1
 * class agree on at least REEVAL_Q4_AGREE of the images, which bounds the
 * accuracy the submitted logits could claim beyond the weights' by 1 -
 * REEVAL_Q4_AGREE. Measured on real quick runs: docs/grading.md. */
#define REEVAL_Q4_REL_TOL 0.15
#define REEVAL_Q4_AGREE 0.97
/* Images compared one at a time against their full batch. */
#define REEVAL_BATCH_SAMPLES 8

struct lab_impl;

/* reeval.load: builds the model with the lab's builder (for the
 * submission's configuration where the lab has one) and loads
 * model.safetensors strictly (TS-STATE-DICT-MISMATCH lists what does not fit). */
enum check_status reeval_load(struct grade_ctx *g, const struct lab_impl *impl, struct check_out *o);
/* reeval.load with the builder the lab registry has for the submission's lab. */
enum check_status reeval_load_registered(struct grade_ctx *g, struct check_out *o);
/* reeval.logits (TS-REEVAL-MISMATCH) and reeval.batch (TS-BATCH-DEPENDENT). */
enum check_status reeval_logits(struct grade_ctx *g, struct check_out *o);
enum check_status reeval_batch(struct grade_ctx *g, struct check_out *o);

/* For a lab's own re-evaluation checks, after reeval.logits: the model as
 * loaded (NULL when it did not load), and the logits of its full-batch run
 * in the split's order (NULL when that run did not complete). */
struct model *reeval_model(struct grade_ctx *g);
const float *reeval_full_logits(struct grade_ctx *g);
/* Runs the loaded model again over the first `count` eval images in one
 * batch into out [count, classes]: LAB_* status with the message set. */
int reeval_rerun(struct grade_ctx *g, size_t count, float *out);
/* For a task whose eval images the grader renders itself (segment): the
 * loaded model on host images [n, c, h, w], gradients off, in batches of
 * `batch`, its output `name` (per_image floats an image) into out. */
int reeval_forward(struct grade_ctx *g, float *images, const int64_t shape[4], int batch, const char *name,
                   size_t per_image, float *out);
/* One named host tensor (f32) in or out of reeval_run_named: inputs give
 * ndim and shape, outputs the numel their buffer holds. */
struct reeval_io {
    const char *name;
    float *data;
    int ndim;
    int64_t shape[4];
    size_t numel;
};
/* For a task whose model takes more than images (prompt): the loaded model
 * once on named host inputs, gradients off, each output into its buffer. */
int reeval_run_named(struct grade_ctx *g, const struct reeval_io *in, size_t n_in, const struct reeval_io *out,
                     size_t n_out);
/* The submitted logits of the first `count` eval images, in the split's
 * order, into out [count, classes]. */
void reeval_submitted(const struct grade_ctx *g, size_t count, float *out);
/* The tolerance reeval.logits held these weights to (4-bit or exact). */
double reeval_tolerance(const struct grade_ctx *g);

/* When every unexpected key is a missing key with one prefix added
 * ("module.conv1.weight" for "conv1.weight"), or the reverse, writes a hint
 * naming the prefix into buf and returns 1. */
int reeval_prefix_hint(char *const *unexpected, size_t n_unexpected, char *const *missing, size_t n_missing,
                       char *buf, size_t cap);

#endif
