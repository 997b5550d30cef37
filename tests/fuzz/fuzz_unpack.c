/* libFuzzer target for the archive unpacker (datasets/unpack.h), which also
 * unpacks untrusted student submissions. Each input is unpacked with small
 * limits into a fresh directory that is then removed. Build: make fuzz-unpack;
 * run: build-fuzz/fuzz_unpack -max_total_time=60. The unit tests replay
 * crafted inputs through this same function. */
#include "datasets/unpack.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    remove(p);
    return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    const char *base = getenv("TMPDIR");
    char dir[4096], dest[4200];
    snprintf(dir, sizeof dir, "%s/labfuzz.XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(dir))
        return 0;
    snprintf(dest, sizeof dest, "%s/out", dir);
    struct ds_unpack_limits lim = ds_unpack_limits_submission();
    lim.max_total_bytes = 4u << 20;
    lim.max_file_bytes = 1u << 20;
    lim.max_entries = 256;
    lim.allow_symlinks = 1;
    struct ds_unpack_report rep;
    ds_unpack_memory(data, size, dest, &lim, &rep);
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}
