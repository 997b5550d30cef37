/* IDX files (the MNIST container): magic 0 0 <type> <ndim>, big-endian
 * uint32 dimensions, then the data. Read through zlib, which passes plain
 * files through unchanged. */
#include "base/error.h"
#include "datasets/loaders.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define IDX_MAX_BYTES ((size_t)1 << 30)

int ds_idx_load(const char *path, struct ds_idx *out)
{
    memset(out, 0, sizeof *out);
    gzFile gz = gzopen(path, "rb");
    if (!gz)
        return lab_err(LAB_EENV, "check that the dataset is present: lab datasets", "cannot open %s: %s", path,
                       strerror(errno ? errno : ENOENT));
    unsigned char head[4 + 16];
    int rc = LAB_OK;
    if (gzread(gz, head, 4) != 4 || head[0] != 0 || head[1] != 0 || head[2] != 0x08 || head[3] < 1 ||
        head[3] > 4) {
        rc = lab_err(LAB_EENV, "fetch it again: lab fetch fashion-mnist",
                     "%s is not an unsigned-byte IDX file (bad magic)", path);
        goto done;
    }
    out->ndim = head[3];
    if (gzread(gz, head + 4, 4 * out->ndim) != 4 * out->ndim) {
        rc = lab_err(LAB_EENV, "fetch it again", "%s is truncated in its header", path);
        goto done;
    }
    size_t total = 1;
    for (int i = 0; i < out->ndim; i++) {
        const unsigned char *p = head + 4 + 4 * i;
        out->dims[i] = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        if (out->dims[i] == 0 || total > IDX_MAX_BYTES / out->dims[i]) {
            rc = lab_err(LAB_EENV, "fetch it again", "%s declares an impossible size", path);
            goto done;
        }
        total *= out->dims[i];
    }
    out->data = malloc(total);
    if (!out->data) {
        rc = lab_err(LAB_EENV, "free some memory", "out of memory reading %s", path);
        goto done;
    }
    size_t got = 0;
    while (got < total) {
        unsigned chunk = total - got > (1u << 30) ? (1u << 30) : (unsigned)(total - got);
        int n = gzread(gz, out->data + got, chunk);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (got != total) {
        rc = lab_err(LAB_EENV, "fetch it again", "%s is truncated: %zu of %zu data bytes", path, got, total);
        goto done;
    }
    out->size = total;
done:
    gzclose(gz);
    if (rc)
        ds_idx_free(out);
    return rc;
}

void ds_idx_free(struct ds_idx *idx)
{
    if (!idx)
        return;
    free(idx->data);
    memset(idx, 0, sizeof *idx);
}
