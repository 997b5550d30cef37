/* Loader throughput: one epoch through the pipeline with augmentation,
 * images per second. Built and run by scripts/bench/datasets.sh.
 *   bench_loader fashion <threads>          Fashion-MNIST train, 2.2.1 quick recipe
 *   bench_loader cifar <dir> <threads> [vit] CIFAR-format files in <dir> */
#include "base/error.h"
#include "base/progress.h"
#include "datasets/loaders.h"
#include "datasets/pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int run(const struct ds_dataset *d, struct ds_pipeline_config *cfg, const char *what)
{
    struct ds_pipeline *p;
    int rc = ds_pipeline_open(d, cfg, &p);
    if (rc)
        return rc;
    double t0 = lab_monotonic_s();
    size_t n = 0;
    struct ds_batch *b;
    while ((rc = ds_pipeline_next(p, &b)) == LAB_OK && b) {
        n += (size_t)b->n;
        ds_batch_free(b);
    }
    double dt = lab_monotonic_s() - t0;
    ds_pipeline_close(p);
    if (!rc)
        printf("%-48s %2d threads  %7zu images  %6.2f s  %9.0f images/s\n", what, cfg->threads, n, dt, n / dt);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    struct ds_pipeline_config cfg = {.batch_size = 128, .seed = 42, .shuffle = 1};
    struct ds_dataset *d = NULL;
    int rc;
    if (strcmp(argv[1], "fashion") == 0) {
        cfg.threads = atoi(argv[2]);
        if ((rc = ds_fashion_mnist_open(NULL, 1, &d)))
            goto out;
        cfg.augment.pad = 2, cfg.augment.to_rgb = 1;
        cfg.augment.crop_size = 32, cfg.augment.crop_padding = 4, cfg.augment.hflip_p = 0.5f;
        cfg.augment.normalize = 1;
        for (int i = 0; i < 3; i++)
            cfg.augment.mean[i] = 0.2860f, cfg.augment.std[i] = 0.3530f;
        rc = run(d, &cfg, "fashion-mnist pad+crop+flip+rgb+normalize");
    } else {
        cfg.threads = atoi(argv[3]);
        if ((rc = ds_cifar_open(argv[2], 0, 1, &d)))
            goto out;
        const float mean[3] = {0.4914f, 0.4822f, 0.4465f}, std[3] = {0.2023f, 0.1994f, 0.2010f};
        cfg.augment.crop_size = 32, cfg.augment.crop_padding = 4, cfg.augment.hflip_p = 0.5f;
        cfg.augment.normalize = 1;
        memcpy(cfg.augment.mean, mean, sizeof mean), memcpy(cfg.augment.std, std, sizeof std);
        if (argc > 4) {
            cfg.augment.randaug_n = 2, cfg.augment.randaug_m = 9, cfg.augment.erase_p = 0.25f;
            rc = run(d, &cfg, "cifar-10 crop+flip+RandAugment(2,9)+erasing");
        } else {
            rc = run(d, &cfg, "cifar-10 crop+flip+normalize");
        }
    }
out:
    if (rc)
        fprintf(stderr, "error: %s\n", lab_err_message());
    ds_dataset_free(d);
    return rc ? 1 : 0;
}
