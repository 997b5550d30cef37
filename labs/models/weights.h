/* Model weights on disk: a parameter store to and from safetensors files
 * whose keys and shapes are PyTorch's state-dict, so a model trained here
 * loads in the course notebook and the reverse. */
#ifndef LAB_WEIGHTS_H
#define LAB_WEIGHTS_H

#include "shim/safetensors.h"
#include "shim/torchshim.h"

#include <jansson.h>

/* Writes every entry of `p` (and `extra` tensors, e.g. optimizer state, may
 * be NULL) atomically. `metadata` (may be NULL) is an object of strings that
 * goes to `__metadata__`. */
int weights_save(const ts_params *p, const char *path, const json_t *metadata, const struct ts_host_tensor *extra,
                 size_t n_extra);

/* Loads by name into `p`. strict: any missing, unexpected (other than
 * names starting with `skip_prefix`, may be NULL) or mis-shaped key fails
 * with LAB_EUSAGE listing them and nothing changes. report may be NULL. */
int weights_load(ts_params *p, const char *path, int strict, const char *skip_prefix, struct ts_load_report *report);

/* weights_load for a safetensors file or a PyTorch checkpoint (torch.save
 * of a state dict, read by shim/pth.h without Python), told apart by the
 * file's first bytes, so a notebook's `torch.save(model.state_dict(), ...)`
 * loads as it is. */
int weights_load_any(ts_params *p, const char *path, int strict, const char *skip_prefix,
                     struct ts_load_report *report);

/* Appends "; <total> <label> (a, b, ...)" to buf, naming at most five of the
 * `shown` names (a load report keeps the first TS_REPORT_MAX). */
void weights_append_names(char *buf, size_t cap, const char *label, char *const *names, size_t shown, size_t total);

/* The tensors of an open file as host tensors (views into the file), minus
 * those starting with skip_prefix; *items is malloc'd. */
int weights_host_view(const st_file *f, const char *skip_prefix, struct ts_host_tensor **items, size_t *n);

/* ts dtype <-> safetensors dtype; -1 when the other side has none. */
int weights_st_dtype(int ts_dtype);
int weights_ts_dtype(enum st_dtype st);

/* Writes named host tensors (not a store) to a safetensors file. */
int weights_save_host(const struct ts_host_tensor *items, size_t n, const char *path, const json_t *metadata);

#endif
