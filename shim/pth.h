/* PyTorch .pth/.pt checkpoints (the zip format of torch.save, PyTorch >= 1.6),
 * read without Python: a restricted unpickler that accepts only what a state
 * dict is made of (dicts, OrderedDicts, lists/tuples, numbers, strings and
 * tensors) and refuses any other Python object, as torch.load(...,
 * weights_only=True) does. The zip container and its records are read by
 * libtorch (caffe2::serialize::PyTorchStreamReader).
 *
 * Nested containers are flattened with '.' between keys, the way
 * state_dict() names parameters: {"model": {"conv.weight": T}, "epoch": 3}
 * gives one tensor "model.conv.weight"; "epoch" (not a tensor) is listed
 * among the skipped entries. */
#ifndef LAB_PTH_H
#define LAB_PTH_H

#include "shim/safetensors.h" /* enum st_dtype, ST_MAX_DIMS */

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
/* The API is what liblabtorch.so exports (it is built with hidden visibility). */
#pragma GCC visibility push(default)
#endif

struct pth_tensor {
    const char *name;            /* flattened key, e.g. "model.conv.weight" */
    enum st_dtype dtype;         /* as stored: F32, F16, BF16, I64, ... */
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    const void *data;            /* host memory, contiguous, row-major */
    size_t nbytes;
};

typedef struct pth_file pth_file;

/* Loads every tensor of `path`. Errors (negative LAB_E*, message via
 * lab_err_message): not a zip checkpoint (legacy pre-1.6 format), a file that
 * pickles Python objects (a whole nn.Module, a custom class) rather than a
 * state dict, a damaged archive, a tensor outside its storage. */
int pth_load(const char *path, pth_file **out);
void pth_free(pth_file *f); /* NULL is a no-op */

/* The unpickler alone, for the fuzz target and tests: interprets `pickle` (a
 * checkpoint's data.pkl) as pth_load does, each storage record being
 * `storage_bytes` zero bytes. */
int pth_load_pickle(const void *pickle, size_t len, size_t storage_bytes, pth_file **out);

/* Flags of the _ex loaders. PTH_MODULES also reads a pickled module tree
 * made only of the classes of an Ultralytics YOLOv8 checkpoint (torch.nn's
 * Sequential, ModuleList, Conv2d, BatchNorm2d, SiLU, MaxPool2d, Upsample,
 * Identity; Ultralytics' DetectionModel, Conv, C2f, Bottleneck, SPPF, Concat,
 * Detect, DFL, IterableSimpleNamespace, from whichever ultralytics.* module
 * path), plus torch.Size and set: no class is constructed and nothing runs;
 * a module flattens to its state_dict() keys under its own key
 * ({"model": DetectionModel} gives "model.model.0.conv.weight"). Any other
 * GLOBAL is refused with a message naming it. */
enum { PTH_MODULES = 1u };
int pth_load_ex(const char *path, unsigned flags, pth_file **out);
int pth_load_pickle_ex(const void *pickle, size_t len, size_t storage_bytes, unsigned flags, pth_file **out);
/* PTH_MODULES: the class name ("SiLU", "Identity") of the module at a
 * flattened key ("model.model.9.cv1.act"), or NULL when there is none;
 * what a checkpoint's own tree says about parameter-free parts. */
const char *pth_module_class(const pth_file *f, const char *key);

/* Tensors in the pickle's order (a state dict's order). */
size_t pth_count(const pth_file *f);
const struct pth_tensor *pth_at(const pth_file *f, size_t i);   /* NULL past the end */
const struct pth_tensor *pth_find(const pth_file *f, const char *name); /* NULL when absent */

/* Keys of entries that are not tensors (numbers, strings, None), flattened
 * like tensor names; they are not loaded. */
size_t pth_skipped_count(const pth_file *f);
const char *pth_skipped_at(const pth_file *f, size_t i);

#ifdef __cplusplus
#pragma GCC visibility pop
}
#endif

#endif
