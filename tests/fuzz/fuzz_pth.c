/* libFuzzer target for the .pth unpickler (pth_load_pickle: the data.pkl
 * interpreter pth_load uses, with every storage 64 zero bytes). Beyond "no
 * crash": an accepted file's tensors must be readable to their last byte and
 * findable by name; a refusal must leave no handle and say why.
 *
 *   make fuzz && FUZZ_SEEDS=corpus-pth build-fuzz/fuzz_pth corpus-pth -max_total_time=60 */
#include "base/error.h"
#include "shim/pth.h"
#include "tests/fuzz/pth_cases.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *dir = getenv("FUZZ_SEEDS");
    if (!dir || !*dir)
        return 0;
    mkdir(dir, 0755);
    for (size_t i = 0; i < PTH_NCASES; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/seed-%s", dir, pth_cases[i].name);
        FILE *f = fopen(path, "wb");
        if (f) {
            fwrite(pth_cases[i].pickle, 1, pth_cases[i].len, f);
            fclose(f);
        }
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pth_file *f;
    if (pth_load_pickle(data, size, 64, &f) != LAB_OK) {
        if (f || !lab_err_message()[0])
            abort();
        return 0;
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
    return 0;
}
