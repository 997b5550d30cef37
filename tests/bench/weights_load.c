/* Times loading one model's weights both ways: st_open (mmap + header
 * validation) plus touching every page, and pth_load (zip + unpickler), and
 * checks that both hold the same bytes.  Usage: weights_load FILE.safetensors FILE.pth */
#include "base/error.h"
#include "shim/pth.h"
#include "shim/safetensors.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s FILE.safetensors FILE.pth\n", argv[0]);
        return 2;
    }
    double t0 = now();
    st_file *s;
    if (st_open(argv[1], &s) != LAB_OK) {
        fprintf(stderr, "%s\n", lab_err_message());
        return 1;
    }
    double t1 = now();
    volatile unsigned sum = 0;
    for (size_t i = 0; i < st_count(s); i++)
        for (size_t b = 0; b < st_at(s, i)->nbytes; b += 4096)
            sum += ((const unsigned char *)st_at(s, i)->data)[b];
    double t2 = now();
    /* Best of 3, as the Python side measures torch.load. */
    pth_file *f = NULL;
    double best = 1e9;
    for (int run = 0; run < 3; run++) {
        pth_free(f);
        double a = now();
        if (pth_load(argv[2], &f) != LAB_OK) {
            fprintf(stderr, "%s\n", lab_err_message());
            st_close(s);
            return 1;
        }
        best = now() - a < best ? now() - a : best;
    }
    size_t same = 0;
    for (size_t i = 0; i < pth_count(f); i++) {
        const struct pth_tensor *t = pth_at(f, i);
        const struct st_tensor *u = st_find(s, t->name);
        same += u && u->nbytes == t->nbytes && memcmp(u->data, t->data, t->nbytes) == 0;
    }
    printf("st_open %.4f s + first touch of every page %.3f s (%zu tensors); pth_load %.3f s (best of 3); "
           "identical %zu/%zu\n",
           t1 - t0, t2 - t1, st_count(s), best, same, pth_count(f));
    (void)sum;
    int ok = same == pth_count(f) && same == st_count(s);
    pth_free(f);
    st_close(s);
    return ok ? 0 : 1;
}
