/* Model parity helpers shared by the model suites (tests/unit/model_testref.c). */
#ifndef LAB_MODEL_TESTREF_H
#define LAB_MODEL_TESTREF_H

#include "labs/models/model.h"

/* Our weights in PyTorch: m's state dict saved to DIR/ours.NAME.safetensors,
 * `/usr/bin/python3 tests/ref/SCRIPT check NAME WEIGHTS DIR/NAME.x.t
 * DIR/ours.NAME.eval` loads it strictly into the reference model and runs
 * it on the case's input; our eval forward on that input must match within
 * rtol. */
void model_ref_ours_in_pytorch(struct model *m, const char *dir, const char *script, const char *name, double rtol);

/* PyTorch's weights in ours: m (loaded with the reference's state dict) on
 * DIR/NAME.x gives NAME.eval in eval mode, keeping the input's size with
 * `classes` channels, NAME.train in train mode, and then `bn_mean` (a
 * BatchNorm's running mean) equals NAME.mean_after. */
void model_ref_pytorch_in_ours(struct model *m, const char *dir, const char *name, int64_t classes,
                               const char *bn_mean, double rtol);

#endif
