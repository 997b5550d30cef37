/* libFuzzer target for the .pth unpickler (pth_load_pickle: the data.pkl
 * interpreter pth_load uses, with every storage 64 zero bytes), in both
 * modes: plain and PTH_MODULES. Beyond "no crash": an accepted file's
 * tensors must be readable to their last byte and findable by name; a
 * refusal must leave no handle and say why.
 *
 *   make fuzz && FUZZ_SEEDS=corpus-pth build-fuzz/fuzz_pth corpus-pth -max_total_time=60 */
#include "base/error.h"
#include "shim/pth.h"
#include "tests/fuzz/pth_cases.h"
#include "tests/fuzz/pth_module_cases.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
/* Both modes: plain state dicts, and the module trees of YOLOv8
 * checkpoints (PTH_MODULES). */
static void one(const uint8_t *data, size_t size, unsigned flags)
{
    pth_file *f;
    if (pth_load_pickle_ex(data, size, 64, flags, &f) != LAB_OK) {
        if (f || !lab_err_message()[0])
            abort();
        return;
    }
    volatile unsigned sum = 0;
    for (size_t i = 0; i < pth_count(f); i++) {
        const struct pth_tensor *t = pth_at(f, i);
        if (pth_find(f, t->name) != t || t->ndim < 0 || t->ndim > ST_MAX_DIMS)
            abort();
        for (size_t b = 0; b < t->nbytes; b++)
            sum += ((const unsigned char *)t->data)[b];
    }
    (void)sum;
    for (size_t i = 0; i < pth_skipped_count(f); i++)
        if (!pth_skipped_at(f, i))
            abort();
    pth_free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    one(data, size, 0);
    one(data, size, PTH_MODULES);
    return 0;
}
