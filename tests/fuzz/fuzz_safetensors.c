/* libFuzzer target for the safetensors reader (st_open_memory, the entry
 * point st_open uses too). Beyond "no crash": every view it accepts must lie
 * inside the input, and writing the accepted file back out and reading it
 * again must give the same tensors and metadata.
 *
 *   make fuzz && FUZZ_SEEDS=corpus build-fuzz/fuzz_safetensors corpus -max_total_time=60
 * FUZZ_SEEDS=DIR writes the crafted cases of safetensors_cases.h into DIR
 * first, as the seed corpus. */
#include "base/error.h"
#include "shim/safetensors.h"
#include "tests/fuzz/safetensors_cases.h"

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
    for (size_t i = 0; i < ST_NCASES; i++) {
        size_t len;
        unsigned char *b = st_case_bytes(&st_cases[i], &len);
        char path[4096];
        snprintf(path, sizeof path, "%s/seed-%s", dir, st_cases[i].name);
        FILE *f = fopen(path, "wb");
        if (f) {
            fwrite(b, 1, len, f);
            fclose(f);
        }
        free(b);
    }
    return 0;
}

static void same_or_die(const st_file *a, const st_file *b)
{
    if (st_count(a) != st_count(b) || st_metadata_count(a) != st_metadata_count(b))
        abort();
    for (size_t i = 0; i < st_count(a); i++) {
        const struct st_tensor *x = st_at(a, i), *y = st_find(b, x->name);
        if (!y || x->dtype != y->dtype || x->ndim != y->ndim || x->nbytes != y->nbytes ||
            memcmp(x->shape, y->shape, sizeof x->shape) != 0 || (x->nbytes && memcmp(x->data, y->data, x->nbytes)))
            abort();
    }
    for (size_t i = 0; i < st_metadata_count(a); i++) {
        const char *k, *v, *w;
        if (st_metadata_at(a, i, &k, &v) != 0 || !(w = st_metadata_get(b, k)) || strcmp(v, w) != 0)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    st_file *f;
    if (st_open_memory(data, size, "<fuzz>", &f) != LAB_OK) {
        if (f || !lab_err_message()[0])
            abort(); /* an error must leave no handle and say something */
        return 0;
    }
    st_writer *w;
    if (st_writer_new(&w) != LAB_OK)
        abort();
    for (size_t i = 0; i < st_count(f); i++) {
        const struct st_tensor *t = st_at(f, i);
        const uint8_t *p = t->data;
        if (p < data || p + t->nbytes > data + size || st_find(f, t->name) != t)
            abort();
        if (st_writer_add(w, t->name, t->dtype, t->ndim, t->shape, t->data, t->nbytes) != LAB_OK)
            abort();
    }
    for (size_t i = 0; i < st_metadata_count(f); i++) {
        const char *k, *v;
        if (st_metadata_at(f, i, &k, &v) != LAB_OK || st_writer_set_metadata(w, k, v) != LAB_OK)
            abort();
    }
    void *buf;
    size_t len;
    st_file *g;
    if (st_writer_to_memory(w, &buf, &len) != LAB_OK || st_open_memory(buf, len, "<rewritten>", &g) != LAB_OK)
        abort();
    same_or_die(f, g);
    same_or_die(g, f);
    st_close(g);
    free(buf);
    st_writer_free(w);
    st_close(f);
    return 0;
}
