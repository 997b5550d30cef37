#include "base/error.h"
#include "datasets/loaders.h"
#include "datasets/manifest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const ds_fashion_mnist_classes[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                  "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

int ds_fashion_mnist_open(const char *dir, int train, struct ds_dataset **out)
{
    char found[4096], ipath[4200], lpath[4200];
    int rc;
    if (!dir) {
        if ((rc = ds_data_dir("fashion-mnist", found, sizeof found)))
            return rc;
        dir = found;
    }
    const char *prefix = train ? "train" : "t10k";
    snprintf(ipath, sizeof ipath, "%s/%s-images-idx3-ubyte.gz", dir, prefix);
    snprintf(lpath, sizeof lpath, "%s/%s-labels-idx1-ubyte.gz", dir, prefix);
    struct ds_idx im, lb;
    if ((rc = ds_idx_load(ipath, &im)))
        return rc;
    if ((rc = ds_idx_load(lpath, &lb))) {
        ds_idx_free(&im);
        return rc;
    }
    if (im.ndim != 3 || lb.ndim != 1 || im.dims[0] != lb.dims[0] || im.dims[1] != 28 || im.dims[2] != 28) {
        rc = lab_err(LAB_EENV, "fetch it again: lab fetch fashion-mnist",
                     "%s and %s do not hold matching 28x28 images and labels", ipath, lpath);
        goto fail;
    }
    size_t n = lb.dims[0];
    int64_t *labels = malloc(n * sizeof *labels);
    if (!labels) {
        rc = lab_err(LAB_EENV, "free some memory", "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        if (lb.data[i] > 9) {
            free(labels);
            rc = lab_err(LAB_EENV, "fetch it again: lab fetch fashion-mnist", "%s: label %u at %zu is not 0..9",
                         lpath, lb.data[i], i);
            goto fail;
        }
        labels[i] = lb.data[i];
    }
    ds_idx_free(&lb);
    uint8_t *px = im.data;
    im.data = NULL; /* ownership moves to the dataset */
    return ds_memory_dataset(train ? "fashion-mnist/train" : "fashion-mnist/test", n, 28, 28, 1, px, labels, 10,
                             out);
fail:
    ds_idx_free(&im);
    ds_idx_free(&lb);
    return rc;
}
