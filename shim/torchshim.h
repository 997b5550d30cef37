/* torchshim: the C API over libtorch. The only C++ in lab lives behind this
 * header (the shim/ .cpp files); no C++ exception ever crosses it. */
#ifndef TORCHSHIM_H
#define TORCHSHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
/* The API is what liblabtorch.so exports (it is built with hidden visibility). */
#pragma GCC visibility push(default)
#endif

/* ---- Conventions (docs/shim.md) ----
 * - Every call returns TS_OK (0) or a negative status; results go to
 *   out-parameters (first argument). Every failure is recorded through
 *   lab_err (base/error.h); ts_last_error() is that message while the last
 *   call on this thread failed, "" after a success (docs/shim.md).
 * - Tensors returned through `ts_tensor **out` belong to the caller: free
 *   them with ts_tensor_free (NULL is a no-op) or let the enclosing scope
 *   free them. Input tensors are borrowed. Optional tensor inputs may be NULL.
 * - Handles owned by a parameter store (ts_params_*) are borrowed: never free
 *   them; they live as long as the store. */
enum ts_status {
    TS_OK = 0,
    TS_ETORCH = -1, /* libtorch raised an error (message from PyTorch) */
    TS_EOOM = -2,   /* out of host or device memory */
    TS_EARG = -3,   /* a bad argument caught before libtorch saw it */
    TS_EIO = -4,    /* reading or writing a file */
};

/* Stable dtype numbers (they may appear in files); mapped inside. */
enum ts_dtype { TS_U8 = 0, TS_I64 = 1, TS_F16 = 2, TS_BF16 = 3, TS_F32 = 4, TS_BOOL = 5, TS_I32 = 6, TS_F64 = 7 };
/* Devices: TS_CPU, or a CUDA ordinal >= 0 (TS_CUDA(n)). */
typedef int ts_device;
#define TS_CPU (-1)
#define TS_CUDA(n) (n)
/* Reductions for the losses, as PyTorch's `reduction=` argument. */
enum ts_reduction { TS_RED_NONE = 0, TS_RED_MEAN = 1, TS_RED_SUM = 2 };

typedef struct ts_tensor ts_tensor;
typedef struct ts_params ts_params;
typedef struct ts_optim ts_optim;

const char *ts_last_error(void);
size_t ts_dtype_size(int dtype);
const char *ts_dtype_name(int dtype);

/* ---- Scopes: every tensor created on this thread while a scope is open
 * belongs to the innermost scope and is freed by ts_scope_end, unless it
 * was freed before or kept. Scopes nest (depth limited to 64). ---- */
int ts_scope_begin(void);
/* Frees what the innermost scope still holds. No-op without a scope. */
void ts_scope_end(void);
/* Takes t out of its scope: it moves to the enclosing scope, or, with none,
 * to the caller (who frees it). */
void ts_scope_keep(ts_tensor *t);
/* Tensors currently alive through handles (all threads); for leak tests. */
long ts_live_tensors(void);

/* ---- Tensors: creation, host transfer, metadata ---- */
void ts_tensor_free(ts_tensor *t);
/* A second handle to the same tensor (shares storage and autograd). */
int ts_tensor_ref(ts_tensor **out, const ts_tensor *t);
/* Copies host data into a new contiguous tensor on `device`. */
int ts_from_host(ts_tensor **out, const void *data, int dtype, int ndim, const int64_t *shape, ts_device device);
/* Zero-copy on the CPU: wraps caller memory, which must outlive the tensor
 * and every view of it (keep it until ts_tensor_free of all of them). */
int ts_from_blob(ts_tensor **out, void *data, int dtype, int ndim, const int64_t *shape);
/* Copies the tensor (any device, any layout) to host memory as `dtype`;
 * nbytes must equal numel * ts_dtype_size(dtype). */
int ts_to_host(const ts_tensor *t, int dtype, void *dst, size_t nbytes);
/* Zero-copy read access: the data of a CPU tensor that is contiguous, or
 * NULL (then use ts_to_host). Valid while the tensor is alive and unchanged. */
const void *ts_data_ptr(const ts_tensor *t);
/* The value of a one-element tensor. */
int ts_item_f64(const ts_tensor *t, double *out);
int ts_item_i64(const ts_tensor *t, int64_t *out);
int ts_dim(const ts_tensor *t);
int64_t ts_size(const ts_tensor *t, int dim); /* negative dim counts from the end; -1 when out of range */
int64_t ts_numel(const ts_tensor *t);
/* Copies the shape into shape[0..cap) and returns ndim. */
int ts_shape(const ts_tensor *t, int64_t *shape, int cap);
int ts_dtype(const ts_tensor *t);   /* a ts_dtype, or -1 for one we do not name */
ts_device ts_device_of(const ts_tensor *t);
int ts_to(ts_tensor **out, const ts_tensor *t, ts_device device, int dtype); /* dtype -1: keep */
int ts_contiguous(ts_tensor **out, const ts_tensor *t);
int ts_clone(ts_tensor **out, const ts_tensor *t);
/* In place: dst <- src (shapes broadcastable), outside autograd's view. */
int ts_copy_(ts_tensor *dst, const ts_tensor *src);

int ts_zeros(ts_tensor **out, int ndim, const int64_t *shape, int dtype, ts_device device);
int ts_ones(ts_tensor **out, int ndim, const int64_t *shape, int dtype, ts_device device);
int ts_full(ts_tensor **out, int ndim, const int64_t *shape, double value, int dtype, ts_device device);
int ts_scalar(ts_tensor **out, double value, int dtype, ts_device device);   /* 0-d */
int ts_arange(ts_tensor **out, double start, double end, double step, int dtype, ts_device device);
int ts_zeros_like(ts_tensor **out, const ts_tensor *t);

/* ---- Randomness: one seed for CPU and every CUDA device. Values from the
 * CPU generator equal PyTorch's after torch.manual_seed(seed). ---- */
int ts_manual_seed(uint64_t seed);
int ts_rand(ts_tensor **out, int ndim, const int64_t *shape, int dtype, ts_device device);
int ts_randn(ts_tensor **out, int ndim, const int64_t *shape, int dtype, ts_device device);
int ts_randint(ts_tensor **out, int64_t low, int64_t high, int ndim, const int64_t *shape, ts_device device);
int ts_randperm(ts_tensor **out, int64_t n, ts_device device);
/* In place, as torch.nn.init: normal_, uniform_, trunc_normal_ (same
 * algorithm, so the same numbers for the same seed). */
int ts_normal_(ts_tensor *t, double mean, double std);
int ts_uniform_(ts_tensor *t, double low, double high);
int ts_trunc_normal_(ts_tensor *t, double mean, double std, double a, double b);
int ts_fill_(ts_tensor *t, double value);
/* cuDNN switches (no-ops on a CPU build). */
int ts_set_deterministic(int deterministic, int benchmark);
int ts_set_num_threads(int n);

/* ---- Autograd ---- */
int ts_set_requires_grad(ts_tensor *t, int requires_grad);
int ts_requires_grad(const ts_tensor *t);
/* backward of a scalar (grad NULL) or with an explicit output gradient. */
int ts_backward(const ts_tensor *t, const ts_tensor *grad);
/* *out = NULL when the tensor has no gradient. */
int ts_grad(ts_tensor **out, const ts_tensor *t);
int ts_zero_grad(ts_tensor *t); /* sets the gradient to none */
int ts_detach(ts_tensor **out, const ts_tensor *t);
/* Returns the previous grad mode (0/1); pass it to ts_grad_mode_pop. */
int ts_no_grad_push(void);
void ts_grad_mode_pop(int previous);
int ts_grad_enabled(void);
/* torch.nn.utils.clip_grad_norm_ over every parameter of the store that has a
 * gradient; *total_norm (may be NULL) receives the norm before clipping. */
int ts_clip_grad_norm(ts_params *p, double max_norm, double norm_type, double *total_norm);

/* ---- Autocast (torch.autocast) ----
 * push enables autocast for the device type of `device` with a low-precision
 * dtype (TS_BF16 or TS_F16) and returns a token for pop; pops must nest. */
int ts_autocast_push(ts_device device, int dtype, int *token);
int ts_autocast_pop(int token);
int ts_autocast_enabled(ts_device device);

/* ---- Elementwise and math (ops_math.cpp) ---- */
int ts_add(ts_tensor **out, const ts_tensor *a, const ts_tensor *b);
int ts_sub(ts_tensor **out, const ts_tensor *a, const ts_tensor *b);
int ts_mul(ts_tensor **out, const ts_tensor *a, const ts_tensor *b);
int ts_div(ts_tensor **out, const ts_tensor *a, const ts_tensor *b);
int ts_add_scalar(ts_tensor **out, const ts_tensor *a, double s);
int ts_mul_scalar(ts_tensor **out, const ts_tensor *a, double s);
int ts_pow_scalar(ts_tensor **out, const ts_tensor *a, double exponent);
int ts_neg(ts_tensor **out, const ts_tensor *a);
int ts_exp(ts_tensor **out, const ts_tensor *a);
int ts_log(ts_tensor **out, const ts_tensor *a);
int ts_sqrt(ts_tensor **out, const ts_tensor *a);
/* SAM's random Fourier positional encoding */
int ts_sin(ts_tensor **out, const ts_tensor *a);
int ts_cos(ts_tensor **out, const ts_tensor *a);
int ts_abs(ts_tensor **out, const ts_tensor *a);
int ts_atan(ts_tensor **out, const ts_tensor *a); /* CIoU's aspect term (YOLOv8 loss) */
int ts_clamp(ts_tensor **out, const ts_tensor *a, double lo, double hi); /* NAN: unbounded side */
int ts_eq(ts_tensor **out, const ts_tensor *a, const ts_tensor *b);     /* bool */
int ts_gt_scalar(ts_tensor **out, const ts_tensor *a, double s);        /* bool */
int ts_matmul(ts_tensor **out, const ts_tensor *a, const ts_tensor *b);
int ts_bmm(ts_tensor **out, const ts_tensor *a, const ts_tensor *b);
/* Reductions: dim TS_ALL reduces everything. */
#define TS_ALL (-1000)
int ts_sum(ts_tensor **out, const ts_tensor *a, int dim, int keepdim);
int ts_mean(ts_tensor **out, const ts_tensor *a, int dim, int keepdim);
int ts_max(ts_tensor **out, const ts_tensor *a, int dim, int keepdim);   /* values */
int ts_min(ts_tensor **out, const ts_tensor *a, int dim, int keepdim);
int ts_argmax(ts_tensor **out, const ts_tensor *a, int dim, int keepdim); /* TS_ALL: flat index */
int ts_topk(ts_tensor **values, ts_tensor **indices, const ts_tensor *a, int64_t k, int dim, int largest, int sorted);
int ts_sort(ts_tensor **values, ts_tensor **indices, const ts_tensor *a, int dim, int descending);
int ts_cumsum(ts_tensor **out, const ts_tensor *a, int dim);

/* ---- Shapes and indexing ---- */
int ts_reshape(ts_tensor **out, const ts_tensor *a, int ndim, const int64_t *shape);
int ts_view(ts_tensor **out, const ts_tensor *a, int ndim, const int64_t *shape);
int ts_flatten(ts_tensor **out, const ts_tensor *a, int start_dim, int end_dim);
int ts_permute(ts_tensor **out, const ts_tensor *a, int ndim, const int64_t *dims);
int ts_transpose(ts_tensor **out, const ts_tensor *a, int dim0, int dim1);
int ts_unsqueeze(ts_tensor **out, const ts_tensor *a, int dim);
int ts_squeeze(ts_tensor **out, const ts_tensor *a, int dim);
int ts_cat(ts_tensor **out, const ts_tensor *const *ts, int n, int dim);
int ts_stack(ts_tensor **out, const ts_tensor *const *ts, int n, int dim);
/* Splits into pieces of `size` (the last may be smaller); outs has room for
 * cap handles; *n receives the count. */
int ts_split(ts_tensor **outs, int cap, int *n, const ts_tensor *a, int64_t size, int dim);
int ts_chunk(ts_tensor **outs, int cap, int *n, const ts_tensor *a, int chunks, int dim);
int ts_narrow(ts_tensor **out, const ts_tensor *a, int dim, int64_t start, int64_t length);
int ts_index_select(ts_tensor **out, const ts_tensor *a, int dim, const ts_tensor *index);
int ts_gather(ts_tensor **out, const ts_tensor *a, int dim, const ts_tensor *index);
int ts_where(ts_tensor **out, const ts_tensor *cond, const ts_tensor *a, const ts_tensor *b);
int ts_masked_fill(ts_tensor **out, const ts_tensor *a, const ts_tensor *mask, double value);

/* ---- Neural-network ops (ops_nn.cpp), as torch.nn.functional ---- */
/* stride/padding/dilation are {h, w}; bias may be NULL. */
int ts_conv2d(ts_tensor **out, const ts_tensor *x, const ts_tensor *w, const ts_tensor *b,
              const int64_t stride[2], const int64_t padding[2], const int64_t dilation[2], int64_t groups);
int ts_conv_transpose2d(ts_tensor **out, const ts_tensor *x, const ts_tensor *w, const ts_tensor *b,
                        const int64_t stride[2], const int64_t padding[2], const int64_t output_padding[2],
                        int64_t groups, const int64_t dilation[2]);
int ts_linear(ts_tensor **out, const ts_tensor *x, const ts_tensor *w, const ts_tensor *b);
/* F.batch_norm: in training the running stats (may be NULL) are updated in
 * place with `momentum`; num_batches_tracked (0-d i64, may be NULL) is
 * incremented as nn.BatchNorm does. */
int ts_batch_norm(ts_tensor **out, const ts_tensor *x, ts_tensor *running_mean, ts_tensor *running_var,
                  const ts_tensor *weight, const ts_tensor *bias, int training, double momentum, double eps,
                  ts_tensor *num_batches_tracked);
int ts_layer_norm(ts_tensor **out, const ts_tensor *x, int nnorm, const int64_t *normalized_shape,
                  const ts_tensor *weight, const ts_tensor *bias, double eps);
int ts_relu(ts_tensor **out, const ts_tensor *x);
int ts_gelu(ts_tensor **out, const ts_tensor *x, int tanh_approx);
int ts_silu(ts_tensor **out, const ts_tensor *x);
/* In place, for inference: autograd must not need t's old values (call it
 * under ts_no_grad_push, on a tensor nothing else reads). */
int ts_silu_(ts_tensor *t);
int ts_sigmoid(ts_tensor **out, const ts_tensor *x);
int ts_tanh(ts_tensor **out, const ts_tensor *x);
int ts_softmax(ts_tensor **out, const ts_tensor *x, int dim);
int ts_log_softmax(ts_tensor **out, const ts_tensor *x, int dim);
int ts_max_pool2d(ts_tensor **out, const ts_tensor *x, const int64_t kernel[2], const int64_t stride[2],
                  const int64_t padding[2], int ceil_mode);
int ts_avg_pool2d(ts_tensor **out, const ts_tensor *x, const int64_t kernel[2], const int64_t stride[2],
                  const int64_t padding[2], int ceil_mode, int count_include_pad);
int ts_adaptive_avg_pool2d(ts_tensor **out, const ts_tensor *x, int64_t oh, int64_t ow);
enum ts_interp { TS_NEAREST = 0, TS_BILINEAR = 1, TS_BICUBIC = 2 };
/* F.interpolate to size (oh, ow); align_corners ignored for nearest. */
int ts_interpolate(ts_tensor **out, const ts_tensor *x, int64_t oh, int64_t ow, int mode, int align_corners);
/* F.pad, constant mode, pads as PyTorch orders them (last dim first). */
int ts_pad(ts_tensor **out, const ts_tensor *x, int npad, const int64_t *pads, double value);
int ts_dropout(ts_tensor **out, const ts_tensor *x, double p, int training);
/* softmax(q k^T * scale + mask) v over the last two dims; mask (may be
 * NULL) is bool (true = keep) or additive float; scale <= 0: 1/sqrt(d). */
int ts_attention(ts_tensor **out, const ts_tensor *q, const ts_tensor *k, const ts_tensor *v,
                 const ts_tensor *mask, double scale);
/* The same with dropout_p on the attention weights (applied when training)
 * and, when weights is not NULL, the weights themselves [.., Tq, Tk] (after
 * dropout, as the course's module returns them). libtorch >= 2.0 runs the
 * fused scaled_dot_product_attention when weights is NULL; otherwise, and on
 * 1.13, the explicit math. */
int ts_attention_ex(ts_tensor **out, ts_tensor **weights, const ts_tensor *q, const ts_tensor *k, const ts_tensor *v,
                    const ts_tensor *mask, double scale, double dropout_p, int training);
/* Losses. cross_entropy takes class indices (i64); ignore_index as PyTorch
 * (-100 by default). */
int ts_cross_entropy(ts_tensor **out, const ts_tensor *logits, const ts_tensor *target, const ts_tensor *weight,
                     int reduction, int64_t ignore_index, double label_smoothing);
int ts_bce_with_logits(ts_tensor **out, const ts_tensor *logits, const ts_tensor *target,
                       const ts_tensor *pos_weight, int reduction);
int ts_mse_loss(ts_tensor **out, const ts_tensor *x, const ts_tensor *target, int reduction);
int ts_l1_loss(ts_tensor **out, const ts_tensor *x, const ts_tensor *target, int reduction);
int ts_smooth_l1_loss(ts_tensor **out, const ts_tensor *x, const ts_tensor *target, int reduction, double beta);

/* ---- Parameter store (params.cpp) ----
 * Named tensors in insertion order. Parameters get requires_grad; buffers
 * (BatchNorm running stats, num_batches_tracked) do not. Every entry carries
 * a group tag (>= 0) that optimizers use for per-group lr and weight decay. */
enum ts_param_kind { TS_PARAM = 0, TS_BUFFER = 1 };
int ts_params_new(ts_params **out);
void ts_params_free(ts_params *p);
/* Adds `t` (shared, not copied) under a unique name; *handle (may be NULL)
 * receives the store's borrowed handle. */
int ts_params_add(ts_params *p, const char *name, const ts_tensor *t, int kind, int group, ts_tensor **handle);
/* Borrowed handle by name, or NULL. */
ts_tensor *ts_params_get(const ts_params *p, const char *name);
size_t ts_params_count(const ts_params *p);            /* every entry */
size_t ts_params_count_kind(const ts_params *p, int kind);
int64_t ts_params_numel(const ts_params *p, int kind); /* -1: every kind */
/* The i-th entry in insertion order: borrowed name and handle. */
int ts_params_at(const ts_params *p, size_t i, const char **name, ts_tensor **handle, int *kind, int *group);
int ts_params_set_group(ts_params *p, const char *name, int group);
/* Moves every entry to device/dtype (floating entries only for dtype). */
int ts_params_to(ts_params *p, ts_device device, int dtype);

/* A named tensor in host memory, for loading and saving weights. */
struct ts_host_tensor {
    const char *name;
    int dtype;
    int ndim;
    int64_t shape[8];
    const void *data;
    size_t nbytes;
};
#define TS_REPORT_MAX 64
struct ts_load_report {
    size_t loaded;
    size_t n_missing, n_unexpected, n_mismatched; /* true counts */
    /* The first TS_REPORT_MAX names of each kind, owned by the report. */
    char *missing[TS_REPORT_MAX];
    char *unexpected[TS_REPORT_MAX];
    char *mismatched[TS_REPORT_MAX]; /* "name: file [3, 4] vs model [4, 3]" */
};
/* Copies matching entries by name (f16/bf16/f64 -> the entry's dtype).
 * strict: any missing, unexpected or mismatched key fails with TS_EARG and
 * nothing is changed. Non-strict: loads what matches, reports the rest.
 * report may be NULL; release it with ts_load_report_free. */
int ts_params_load_host(ts_params *p, const struct ts_host_tensor *items, size_t n, int strict,
                        struct ts_load_report *report);
void ts_load_report_free(struct ts_load_report *report);
/* Every entry as contiguous CPU data in its own dtype: items[i].name and
 * .data point into `*blob` (malloc'd, one block; caller frees blob and
 * items). */
int ts_params_export_host(const ts_params *p, struct ts_host_tensor **items, size_t *n, void **blob);

/* ---- Optimizers (optim.cpp): the update math of torch.optim ----
 * Groups are the store's group tags; each has its own lr and weight decay,
 * settable at any step. A frozen group is skipped entirely. Parameters
 * without a gradient are skipped, as in PyTorch. */
struct ts_sgd_opts { double lr, momentum, dampening, weight_decay; int nesterov; };
struct ts_adamw_opts { double lr, beta1, beta2, eps, weight_decay; };
int ts_optim_sgd(ts_optim **out, ts_params *p, const struct ts_sgd_opts *opts);
int ts_optim_adamw(ts_optim **out, ts_params *p, const struct ts_adamw_opts *opts);
void ts_optim_free(ts_optim *o);
int ts_optim_step(ts_optim *o);
int ts_optim_zero_grad(ts_optim *o); /* gradients set to none */
int ts_optim_set_lr(ts_optim *o, int group, double lr);      /* group -1: all */
int ts_optim_set_weight_decay(ts_optim *o, int group, double wd);
int ts_optim_set_momentum(ts_optim *o, int group, double momentum); /* SGD momentum or AdamW beta1 */
int ts_optim_set_frozen(ts_optim *o, int group, int frozen);
double ts_optim_get_lr(const ts_optim *o, int group);
/* The per-parameter state (momentum buffers, Adam moments and step) as host
 * tensors named "optim.<param>.buf1|buf2|step", for checkpoints; same
 * ownership as ts_params_export_host. Import restores it by those names. */
int ts_optim_state_export(const ts_optim *o, struct ts_host_tensor **items, size_t *n, void **blob);
int ts_optim_state_import(ts_optim *o, const struct ts_host_tensor *items, size_t n);

/* ---- Learning-rate schedules (schedule.cpp): pure functions of the step
 * number, equal to torch.optim.lr_scheduler's values after `step` calls of
 * scheduler.step(). ---- */
/* CosineAnnealingLR(T_max, eta_min). */
double ts_lr_cosine(double base_lr, double eta_min, long step, long t_max);
/* LinearLR(start_factor, end_factor, total_iters). */
double ts_lr_linear(double base_lr, double start_factor, double end_factor, long step, long total_iters);
/* SequentialLR(LinearLR(start_factor, 1, warmup), CosineAnnealingLR(total - warmup, eta_min), [warmup]). */
double ts_lr_warmup_cosine(double base_lr, double start_factor, long warmup, double eta_min, long step, long total);
/* StepLR(step_size, gamma). */
double ts_lr_step(double base_lr, long step_size, double gamma, long step);
/* OneCycleLR(max_lr, total_steps, pct_start, 'cos', div_factor,
 * final_div_factor, three_phase=False); *momentum (may be NULL) receives the
 * cycled momentum between base_momentum and max_momentum. */
double ts_lr_onecycle(double max_lr, long total_steps, double pct_start, double div_factor,
                      double final_div_factor, double base_momentum, double max_momentum, long step,
                      double *momentum);

/* libtorch's version as compiled against, e.g. "1.13.0". Static string. */
const char *ts_libtorch_version(void);
/* 1 when the linked libtorch has CUDA compiled in (not whether a GPU is present). */
int ts_cuda_compiled(void);

/* ---- Runtime information, for `lab doctor` and result fingerprints ---- */
#define TS_MAX_DEVICES 16
struct ts_device_info {
    char name[128];
    int cc_major, cc_minor;    /* compute capability */
    uint64_t total_bytes, free_bytes;
    uint64_t allocated_bytes, reserved_bytes; /* by libtorch's caching allocator */
    int bf16_native;           /* compute capability >= 8.0 */
};
struct ts_runtime_info {
    char libtorch_version[32];
    int cuda_compiled;         /* libtorch built with CUDA */
    int cuda_available;        /* ... and a usable GPU is present */
    int device_count;
    int cuda_runtime_version;  /* e.g. 12080 for 12.8; 0 when none */
    int cudnn_version;         /* e.g. 90100 for 9.1.0; 0 when none */
    int num_threads;           /* intra-op threads */
    struct ts_device_info devices[TS_MAX_DEVICES];
};
/* Never fails on a machine without a GPU: the CUDA fields are then zero.
 * Returns 0 (ok) or a negative status with ts_last_error() set. */
int ts_runtime_info_get(struct ts_runtime_info *out);
/* The same as a JSON object (malloc'd, caller frees). */
char *ts_runtime_info_json(const struct ts_runtime_info *info);

#ifdef __cplusplus
#pragma GCC visibility pop
}
#endif

#endif
