/* Submitted tensors as plain arrays for the checks. The tensors come from
 * safetensors files the reader has validated (shape and offsets agree with
 * the file), but a student chooses dtypes and sizes: every copy is capped in
 * elements before anything is allocated, and data is read with memcpy (a
 * hand-made file need not be aligned). */
#ifndef GRADER_TENSORS_H
#define GRADER_TENSORS_H

#include "shim/safetensors.h"

#include <stddef.h>
#include <stdint.h>

/* The most elements the grader copies out of one tensor (logits of 2^24
 * values are 64 MB of floats: far above any course lab). */
#define GT_MAX_ELEMS ((size_t)1 << 24)

/* Number of elements (product of the shape); SIZE_MAX when it overflows. */
size_t gt_numel(const struct st_tensor *t);
int gt_is_float(enum st_dtype d); /* F16, BF16, F32, F64 */
int gt_is_int(enum st_dtype d);   /* U8, I8, I16, U16, I32, U32, I64, U64 */

/* Copies a floating or integer tensor to float (malloc'd, *n elements);
 * LAB_EUSAGE naming the tensor for bool/fp8 dtypes or more than `max`
 * elements. */
int gt_to_f32(const struct st_tensor *t, size_t max, float **out, size_t *n);
/* Copies an integer tensor to int64; floating dtypes are refused. */
int gt_to_i64(const struct st_tensor *t, size_t max, int64_t **out, size_t *n);

/* "[2000, 10]" into buf. */
const char *gt_shape_str(const int64_t *shape, int ndim, char *buf, size_t cap);

float gt_bf16_to_f32(uint16_t v);
float gt_f16_to_f32(uint16_t v);

#endif
