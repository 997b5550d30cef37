/* Weights at 4 bits for submissions (`lab submit`, the default): the big
 * tensors of a state dict stored as 4-bit codes in groups of 64 values,
 * each group with its own fp16 minimum and step, so that a complete
 * submission of 2.2.1 (four models, 75 million parameters) fits an LMS's
 * upload limit. docs/submission-format.md ("Weights at 4 bits") is the
 * format; docs/grading.md says what re-evaluation allows for it.
 *
 * A tensor NAME of F32/F16/BF16 with at least WQ4_MIN_ELEMS values becomes
 *   NAME:q4         U8  [ceil(numel / 2)]  codes 0..15, value 2i in the low nibble
 *   NAME:q4.params  F16 [groups, 2]         per group of 64 (row-major order): min, step
 *   NAME:q4.shape   I64 [ndim]              the tensor's shape
 * and decodes to min + code * step (F32). Other tensors stay as they are.
 * The file's __metadata__ carries "lab.weights": "q4g64". */
#ifndef GRADER_WEIGHTS_Q4_H
#define GRADER_WEIGHTS_Q4_H

#include "shim/safetensors.h"

#include <stddef.h>
#include <stdint.h>

#define WQ4_GROUP 64
#define WQ4_MIN_ELEMS ((size_t)1 << 16)
#define WQ4_ENCODING "q4g64"
/* The most values a decoded file may hold (1 GiB of F32): far above any
 * course model, so that a hostile file cannot make the grader allocate
 * without bound (the codes themselves are in the file: 2 values a byte). */
#define WQ4_MAX_DECODED ((size_t)1 << 28)

struct wq4_stats {
    size_t tensors, quantized;      /* tensors in the state dict, of them at 4 bits */
    size_t values, quantized_values; /* values in the state dict, of them at 4 bits */
    double max_step;                 /* the largest step of any group (its error is at most step / 2) */
};

/* 1 when the file holds tensors at 4 bits (a name ending in ":q4"). */
int wq4_is_encoded(const st_file *f);

/* The state dict of `in` with its big tensors at 4 bits, as a safetensors
 * file in a malloc'd buffer (caller frees). A tensor that is not finite or
 * beyond fp16's range stays exact. */
int wq4_encode(const st_file *in, void **out, size_t *len, struct wq4_stats *stats);

/* The plain state dict (names and shapes as saved, 4-bit tensors as F32) of
 * an encoded file, in a malloc'd buffer. The file is untrusted: LAB_EENV
 * naming the tensor for a part missing or mis-shaped, a shape that does not
 * match its codes, a non-finite or negative step, a name both plain and
 * encoded, more than WQ4_MAX_DECODED values. `what` names the file. */
int wq4_decode(const st_file *in, const char *what, void **out, size_t *len, struct wq4_stats *stats);

/* f32 -> fp16, round to nearest even (inf beyond the range); exposed for
 * tests. The other way is gt_f16_to_f32 (grader/tensors.h). */
uint16_t wq4_f16_from_f32(float v);

#endif
