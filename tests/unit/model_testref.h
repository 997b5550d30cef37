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

#endif
