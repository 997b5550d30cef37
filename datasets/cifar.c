/* CIFAR-10/100 binary version: fixed-size records, a label byte (CIFAR-100:
 * coarse then fine) and 3072 bytes of planar RGB (1024 R, 1024 G, 1024 B). */
#include "base/error.h"
#include "base/fsutil.h"
#include "datasets/loaders.h"
#include "datasets/manifest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CIFAR_PIXELS 3072

int ds_cifar_open(const char *dir, int cifar100, int train, struct ds_dataset **out)
{
    char found[4096];
    int rc;
    if (!dir) {
        if ((rc = ds_data_dir(cifar100 ? "cifar-100" : "cifar-10", found, sizeof found)))
            return rc;
        dir = found;
    }
    const char *c10_train[] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
                               "data_batch_5.bin"};
    const char *c10_test[] = {"test_batch.bin"}, *c100_train[] = {"train.bin"}, *c100_test[] = {"test.bin"};
    const char **files = cifar100 ? (train ? c100_train : c100_test) : (train ? c10_train : c10_test);
    size_t nfiles = cifar100 || !train ? 1 : 5;
    const size_t label_bytes = cifar100 ? 2 : 1, rec = label_bytes + CIFAR_PIXELS;
    const char *name = cifar100 ? "cifar-100" : "cifar-10";
    /* sizes first, so the whole set is allocated once */
    size_t total = 0;
    char path[4200];
    for (size_t f = 0; f < nfiles; f++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[f]);
        struct stat st;
        if (stat(path, &st) != 0) {
            char fix[128];
            snprintf(fix, sizeof fix, "fetch it: lab fetch %s", name);
            return lab_err(LAB_EENV, fix, "%s is missing", path);
        }
        if (st.st_size == 0 || (size_t)st.st_size % rec != 0)
            return lab_err(LAB_EENV, "the file is damaged: remove it and fetch again",
                           "%s is %lld bytes, not a whole number of %zu-byte %s records", path,
                           (long long)st.st_size, rec, name);
        total += (size_t)st.st_size / rec;
    }
    uint8_t *px = malloc(total * CIFAR_PIXELS);
    int64_t *labels = malloc(total * sizeof *labels);
    if (!px || !labels) {
        free(px), free(labels);
        return lab_err(LAB_EENV, "free some memory", "out of memory loading %s", name);
    }
    size_t k = 0;
    unsigned char *buf = malloc(rec);
    rc = buf ? LAB_OK : lab_err(LAB_EENV, NULL, "out of memory");
    for (size_t f = 0; f < nfiles && !rc; f++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[f]);
        FILE *fp = fopen(path, "rb");
        if (!fp) {
            rc = lab_err(LAB_EENV, NULL, "cannot open %s", path);
            break;
        }
        while (!rc && k < total && fread(buf, 1, rec, fp) == rec) {
            int label = buf[label_bytes - 1];
            if (label >= (cifar100 ? 100 : 10)) {
                rc = lab_err(LAB_EENV, "the file is damaged: remove it and fetch again",
                             "%s: record %zu has label %d", path, k, label);
                break;
            }
            labels[k] = label;
            /* planar to interleaved HWC */
            const unsigned char *p = buf + label_bytes;
            uint8_t *o = px + k * CIFAR_PIXELS;
            for (int i = 0; i < 1024; i++)
                o[3 * i] = p[i], o[3 * i + 1] = p[1024 + i], o[3 * i + 2] = p[2048 + i];
            k++;
        }
        fclose(fp);
    }
    free(buf);
    if (!rc && k != total)
        rc = lab_err(LAB_EENV, "the files changed while reading; try again", "read %zu of %zu records", k, total);
    if (rc) {
        free(px), free(labels);
        return rc;
    }
    char dname[64];
    snprintf(dname, sizeof dname, "%s/%s", name, train ? "train" : "test");
    return ds_memory_dataset(dname, total, 32, 32, 3, px, labels, cifar100 ? 100 : 10, out);
}
