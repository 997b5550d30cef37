/* What grading a full-mode 2.2.4 submission costs on VOC's val split:
 * the grader's reading and resizing of the val images and masks
 * (truth_voc_masks, as masks.orientation and reeval.masks need them) and
 * the course U-Net's eval forward per image at the lab's size, in the
 * batches reeval.masks uses.
 * Usage: voc_grade VOC_ROOT SIZE THREADS BATCH BATCHES
 * prints "<images> <read s> <unet ms per image>". */
#include "base/error.h"
#include "grader/truth.h"
#include "labs/models/unet.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: voc_grade VOC_ROOT SIZE THREADS BATCH BATCHES\n");
        return 2;
    }
    int size = atoi(argv[2]), batch = atoi(argv[4]), batches = atoi(argv[5]);
    uint8_t *masks, *images;
    size_t n;
    double t0 = now();
    if (truth_voc_masks(argv[1], size, 0, &masks, &images, &n)) {
        fprintf(stderr, "reading VOC failed: %s\n", lab_err_message());
        return 1;
    }
    double read_s = now() - t0;
    free(masks);
    free(images);
    struct model *m;
    if (ts_set_num_threads(atoi(argv[3])) || ts_manual_seed(0) || unet_create(3, 21, 64, &m)) {
        fprintf(stderr, "U-Net set-up failed: %s\n", ts_last_error());
        return 1;
    }
    int prev = ts_no_grad_push();
    int64_t shape[4] = {batch, 3, size, size};
    double total = 0;
    for (int b = -1; b < batches; b++) { /* b = -1 warms up */
        ts_scope_begin();
        ts_tensor *x;
        struct model_tensors in = {0}, out = {0};
        if (ts_randn(&x, 4, shape, TS_F32, TS_CPU) || model_tensors_add(&in, "pixel_values", x))
            return 1;
        double s = now();
        if (model_run(m, &in, 0, &out)) {
            fprintf(stderr, "U-Net forward failed: %s\n", lab_err_message());
            return 1;
        }
        if (b >= 0)
            total += now() - s;
        ts_scope_end();
    }
    ts_grad_mode_pop(prev);
    model_free(m);
    printf("%zu %.2f %.1f\n", n, read_s, total * 1e3 / ((double)batch * batches));
    return 0;
}
