#include "grader/truth.h"

#include "base/error.h"
#include "datasets/loaders.h"
#include "datasets/manifest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int fashion_mnist(const char *dir, int64_t **labels, size_t *n)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/t10k-labels-idx1-ubyte.gz", dir);
    struct ds_idx idx;
    int rc = ds_idx_load(path, &idx);
    if (rc)
        return lab_err_context(LAB_EENV, "the grader's labels");
    if (idx.ndim != 1 || idx.size == 0) {
        ds_idx_free(&idx);
        return lab_err(LAB_EENV, "fetch it again: lab fetch fashion-mnist", "%s is not a label file", path);
    }
    int64_t *v = malloc(idx.size * sizeof *v);
    if (!v) {
        ds_idx_free(&idx);
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    }
    for (size_t i = 0; i < idx.size; i++)
        v[i] = idx.data[i];
    *labels = v;
    *n = idx.size;
    ds_idx_free(&idx);
    return LAB_OK;
}

/* CIFAR-10 records are <label byte><3072 pixel bytes>: read the label bytes only. */
static int cifar10(const char *dir, int64_t **labels, size_t *n)
{
    enum { REC = 3073 };
    char path[4200];
    snprintf(path, sizeof path, "%s/test_batch.bin", dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0)
            close(fd);
        return lab_err(LAB_EENV, "fetch it: lab fetch cifar-10 (or give --data DIR)", "cannot read %s: %s", path,
                       strerror(errno));
    }
    if (st.st_size <= 0 || st.st_size % REC) {
        close(fd);
        return lab_err(LAB_EENV, "fetch it again: lab fetch cifar-10", "%s is not a whole number of CIFAR-10 records",
                       path);
    }
    size_t count = (size_t)st.st_size / REC;
    int64_t *v = malloc(count * sizeof *v);
    int rc = v ? LAB_OK : lab_err(LAB_EINTERNAL, NULL, "out of memory");
    for (size_t i = 0; !rc && i < count; i++) {
        unsigned char b;
        if (pread(fd, &b, 1, (off_t)(i * REC)) != 1 || b > 9)
            rc = lab_err(LAB_EENV, "fetch it again: lab fetch cifar-10", "%s: record %zu has no label in 0..9", path, i);
        else
            v[i] = b;
    }
    close(fd);
    if (rc) {
        free(v);
        return rc;
    }
    *labels = v;
    *n = count;
    return LAB_OK;
}

int truth_eval_labels(const char *dataset, const char *data_dir, int64_t **labels, size_t *n)
{
    *labels = NULL;
    *n = 0;
    int fm = strcmp(dataset, "fashion-mnist") == 0, c10 = strcmp(dataset, "cifar-10") == 0;
    if (!fm && !c10)
        return lab_err(LAB_EUSAGE, "the config must name fashion-mnist or cifar-10 (data.dataset)",
                       "the grader has no labels for dataset '%s'", dataset);
    char found[4096];
    if (!data_dir) {
        int rc = ds_data_dir(dataset, found, sizeof found);
        if (rc)
            return rc;
        data_dir = found;
    }
    return fm ? fashion_mnist(data_dir, labels, n) : cifar10(data_dir, labels, n);
}
