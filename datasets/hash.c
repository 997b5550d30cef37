#include "datasets/hash.h"

#include "base/error.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

static const EVP_MD *pick(const char *algo)
{
    if (strcmp(algo, "sha256") == 0)
        return EVP_sha256();
    if (strcmp(algo, "md5") == 0)
        return EVP_md5();
    return NULL;
}

static void to_hex(const unsigned char *d, unsigned n, char *hex)
{
    for (unsigned i = 0; i < n; i++)
        sprintf(hex + 2 * i, "%02x", d[i]);
    hex[2 * n] = 0;
}

int ds_hash_buffer(const void *data, size_t len, const char *algo, char *hex, size_t cap)
{
    const EVP_MD *md = pick(algo);
    if (!md || cap < 65)
        return lab_err(LAB_EINTERNAL, NULL, "unknown digest '%s'", algo);
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    if (!EVP_Digest(data, len, d, &n, md, NULL))
        return lab_err(LAB_EINTERNAL, NULL, "OpenSSL %s failed", algo);
    to_hex(d, n, hex);
    return LAB_OK;
}

int ds_hash_file(const char *path, const char *algo, char *hex, size_t cap)
{
    const EVP_MD *md = pick(algo);
    if (!md || cap < 65)
        return lab_err(LAB_EINTERNAL, NULL, "unknown digest '%s'", algo);
    FILE *f = fopen(path, "rb");
    if (!f)
        return lab_err(LAB_EENV, NULL, "cannot open %s: %s", path, strerror(errno));
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int rc = LAB_OK;
    if (!ctx || !EVP_DigestInit_ex(ctx, md, NULL)) {
        rc = lab_err(LAB_EINTERNAL, NULL, "OpenSSL %s init failed", algo);
        goto done;
    }
    static __thread unsigned char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        EVP_DigestUpdate(ctx, buf, n);
    if (ferror(f)) {
        rc = lab_err(LAB_EENV, "check the disk", "error reading %s", path);
        goto done;
    }
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_DigestFinal_ex(ctx, d, &len);
    to_hex(d, len, hex);
done:
    EVP_MD_CTX_free(ctx);
    fclose(f);
    return rc;
}

int ds_is_hex(const char *s, size_t len)
{
    if (!s || strlen(s) != len)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!isxdigit((unsigned char)s[i]))
            return 0;
    return 1;
}
