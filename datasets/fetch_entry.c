/* `lab fetch <name>`: the registry side of downloading (mirrors, offline
 * messages, verification stamps, unpacking) and the Hugging Face cache. */
#include "datasets/fetch.h"

#include "base/env.h"
#include "base/error.h"
#include "base/fsutil.h"
#include "datasets/hash.h"
#include "datasets/hf.h"
#include "datasets/unpack.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int ds_verify_manifest_file(const char *path, const struct ds_fetch_result *res, void *file, enum ds_verdict *verdict,
                            char *detail, size_t cap)
{
    return ds_file_verify_known(path, file, res && res->etag[0] ? res->etag : NULL,
                                res && res->sha256[0] ? res->sha256 : NULL, verdict, detail, cap);
}

static void human(unsigned long long n, char *buf, size_t cap)
{
    const char *units[] = {"B", "KB", "MB", "GB", "TB"};
    double v = (double)n;
    int u = 0;
    while (v >= 1000 && u < 4)
        v /= 1000, u++;
    snprintf(buf, cap, "%.*f %s", u ? 1 : 0, v, units[u]);
}

static int offline_error(const char *name, const json_t *f, const char *where)
{
    char size[32], fix[1024];
    human((unsigned long long)json_integer_value(json_object_get(f, "size")), size, sizeof size);
    snprintf(fix, sizeof fix,
             "on a machine with internet run `lab fetch %s` and copy its cache directory (%s) to this machine "
             "(or point LAB_MIRROR at a course mirror and unset LAB_OFFLINE); see lab explain TS-OFFLINE",
             name, where);
    return lab_err(LAB_EENV, fix, "offline: %s of %s (%s%s) is not in the cache", json_string_value(json_object_get(f, "name")),
                   name, json_is_true(json_object_get(f, "size_approx")) ? "about " : "", size);
}

/* Builds the URL list: $LAB_MIRROR/<name>/<file> first, then the manifest's. */
static size_t url_list(const json_t *e, const json_t *f, char **urls, size_t cap)
{
    size_t n = 0;
    const char *mirror = getenv("LAB_MIRROR");
    if (mirror && *mirror) {
        size_t len = strlen(mirror);
        while (len > 0 && mirror[len - 1] == '/')
            len--;
        if (asprintf(&urls[n], "%.*s/%s/%s", (int)len, mirror, json_string_value(json_object_get(e, "name")),
                     json_string_value(json_object_get(f, "name"))) >= 0)
            n++;
    }
    size_t i;
    const json_t *u;
    json_array_foreach(json_object_get(f, "urls"), i, u) if (n < cap && json_string_value(u)) urls[n++] =
        strdup(json_string_value(u));
    return n;
}

static int verify_etag(const char *path, const struct ds_fetch_result *res, void *arg, enum ds_verdict *verdict,
                       char *detail, size_t cap)
{
    (void)arg;
    *verdict = DS_UNCHECKED;
    snprintf(detail, cap, "the server sent no sha256 etag");
    if (!ds_is_hex(res->etag, 64))
        return LAB_OK; /* small files in git (not LFS) have a git-blob etag */
    char hex[65];
    int rc = res->sha256[0] ? (snprintf(hex, sizeof hex, "%s", res->sha256), LAB_OK)
                            : ds_hash_file(path, "sha256", hex, sizeof hex);
    if (rc)
        return rc;
    *verdict = strcasecmp(hex, res->etag) == 0 ? DS_VERIFIED : DS_MISMATCH;
    snprintf(detail, cap, "sha256 is %s, the Hub's etag is %s", hex, res->etag);
    return LAB_OK;
}

int ds_hf_fetch(const char *repo, const char *revision, const char *file, const struct ds_fetch_opts *opts,
                char *out, size_t cap)
{
    int found, rc = ds_hf_cached_path(repo, revision, file, out, cap, &found);
    if (rc || found)
        return rc;
    if (strstr(file, "..") || file[0] == '/')
        return lab_err(LAB_EUSAGE, NULL, "bad file name '%s'", file);
    if (lab_offline(NULL))
        return lab_err(LAB_EENV,
                       "download it once while online (lab fetch, or Python's huggingface_hub) into this cache, or "
                       "point HF_HUB_CACHE at the cache that holds it; see lab explain TS-OFFLINE",
                       "offline: %s of %s (revision %s) is not in the Hugging Face cache: no %s", file, repo, revision,
                       out);
    char dir[4096], url[4096], tmp[4400], key[256], hex[65];
    if ((rc = ds_hf_repo_dir(repo, dir, sizeof dir)))
        return rc;
    snprintf(url, sizeof url, "%s/%s/resolve/%s/%s", ds_hf_endpoint(), repo, revision, file);
    snprintf(key, sizeof key, "%s/%s", revision, file);
    ds_hash_buffer(key, strlen(key), "sha256", hex, sizeof hex);
    snprintf(tmp, sizeof tmp, "%s/blobs/.lab-%.16s", dir, hex);
    if (opts && opts->dry_run) {
        printf("would download %s into %s\n", url, dir);
        return LAB_OK;
    }
    char *token = ds_hf_token();
    struct ds_fetch_opts o = opts ? *opts : (struct ds_fetch_opts){0};
    o.bearer_token = token;
    struct ds_fetch_result res;
    const char *urls[1] = {url};
    rc = ds_fetch_urls(urls, 1, tmp, file, verify_etag, NULL, &o, &res);
    if (token) {
        memset(token, 0, strlen(token));
        free(token);
    }
    /* The Hub answers 404 for a revision (or a file) the repo does not have:
     * the network is fine, the name is not. */
    if (rc && res.http_code == 404)
        return lab_err(LAB_EENV,
                       "use a revision the repo has on the Hub: a branch, a tag or a 40-hex commit (timm's weights "
                       "are on main; for lab run: --set weights.revision=main); check the repo id, and HF_ENDPOINT "
                       "if it is set",
                       "%s has no %s at revision '%s' (HTTP 404 from %s)", repo, file, revision, url);
    if (rc)
        return rc;
    if (!ds_is_hex(res.commit, 40) || !res.etag[0] || strchr(res.etag, '/') || strstr(res.etag, "..")) {
        unlink(tmp);
        return lab_err(LAB_EENV, "check HF_ENDPOINT: it must be a Hugging Face Hub (or a mirror that keeps its headers)",
                       "%s did not send X-Repo-Commit and an ETag, so the file cannot be placed in the cache", url);
    }
    char blob[4400], snap[8800], link[4400], ref[4400];
    snprintf(blob, sizeof blob, "%s/blobs/%s", dir, res.etag);
    if ((rc = lab_rename_durable(tmp, blob))) {
        unlink(tmp);
        return rc;
    }
    snprintf(snap, sizeof snap, "%s/snapshots/%s/%s", dir, res.commit, file);
    char sdir[8800];
    snprintf(sdir, sizeof sdir, "%s", snap);
    *strrchr(sdir, '/') = 0;
    if ((rc = lab_mkdir_p(sdir)))
        return rc;
    /* Relative, like huggingface_hub: ../../blobs/<etag>, one more ../ per
     * directory level inside the repo. */
    size_t k = 0;
    for (const char *p = file; *p; p++)
        if (*p == '/')
            k += (size_t)snprintf(link + k, sizeof link - k, "../");
    snprintf(link + k, sizeof link - k, "../../blobs/%s", res.etag);
    unlink(snap);
    if (symlink(link, snap) != 0)
        return lab_err(LAB_EENV, NULL, "cannot create %s: %s", snap, strerror(errno));
    if (!ds_is_hex(revision, 40)) {
        snprintf(ref, sizeof ref, "%s/refs/%s", dir, revision);
        char rdir[4400];
        snprintf(rdir, sizeof rdir, "%s/refs", dir);
        if ((rc = lab_mkdir_p(rdir)) || (rc = lab_write_atomic(ref, res.commit, strlen(res.commit))))
            return rc;
    }
    if (snprintf(out, cap, "%s", snap) >= (int)cap)
        return lab_err(LAB_EUSAGE, NULL, "path too long");
    return LAB_OK;
}

static int unpack_entry(const json_t *e, const char *archive, const struct ds_fetch_opts *opts)
{
    const char *inner = json_string_value(json_object_get(e, "unpack"));
    char dir[4096], dest[4300], data[4700];
    int rc = ds_entry_cache_dir(e, dir, sizeof dir);
    if (rc)
        return rc;
    snprintf(dest, sizeof dest, "%s/unpacked", dir);
    snprintf(data, sizeof data, "%s/%s", dest, inner);
    if (lab_is_dir(data))
        return LAB_OK;
    if (opts && opts->dry_run) {
        printf("would unpack %s into %s\n", archive, dest);
        return LAB_OK;
    }
    if (lab_path_exists(dest))
        return lab_err(LAB_EENV, "remove it and run lab fetch again", "%s exists but lacks %s", dest, inner);
    struct ds_unpack_limits lim = ds_unpack_limits_dataset();
    struct ds_unpack_report rep;
    fprintf(stderr, "unpacking %s ...\n", archive);
    if ((rc = ds_unpack_file(archive, dest, &lim, &rep)))
        return rc;
    if (!lab_is_dir(data))
        return lab_err(LAB_EENV, "the archive is not the expected one; remove it and fetch again",
                       "%s does not contain %s", archive, inner);
    return LAB_OK;
}

int ds_fetch_entry(const json_t *e, const struct ds_fetch_opts *opts)
{
    const char *name = json_string_value(json_object_get(e, "name"));
    const json_t *hf = json_object_get(e, "hf");
    char dir[4096];
    int rc = ds_entry_cache_dir(e, dir, sizeof dir);
    if (rc)
        return rc;
    size_t i;
    const json_t *f;
    char first_archive[4400] = "";
    json_array_foreach(json_object_get(e, "files"), i, f)
    {
        const char *fname = json_string_value(json_object_get(f, "name"));
        char path[4400], detail[600];
        int found;
        if ((rc = ds_file_locate(e, f, path, sizeof path, &found)))
            return rc;
        if (found) {
            enum ds_verdict v = DS_VERIFIED;
            if (!ds_stamp_matches(path) && (rc = ds_file_verify(path, f, NULL, &v, detail, sizeof detail)))
                return rc;
            if (v != DS_MISMATCH) {
                if (v == DS_VERIFIED)
                    ds_stamp_write(path);
                printf("%s/%s: present%s (%s)\n", name, fname, v == DS_VERIFIED ? " and verified" : "", path);
                if (!i)
                    snprintf(first_archive, sizeof first_archive, "%s", path);
                continue;
            }
            fprintf(stderr, "%s: %s; fetching a fresh copy (see lab explain TS-CHECKSUM)\n", path, detail);
            char cache_copy[4400];
            snprintf(cache_copy, sizeof cache_copy, "%s/%s", dir, fname);
            if (strcmp(cache_copy, path) == 0 && !(opts && opts->dry_run))
                unlink(path);
        }
        /* The manifest's size caps what a server may send for this file. */
        struct ds_fetch_opts capped = opts ? *opts : (struct ds_fetch_opts){0};
        if (!capped.max_bytes)
            capped.max_bytes = ds_fetch_cap_for_file(f);
        if (hf) {
            const char *rev = json_string_value(json_object_get(hf, "revision"));
            const char *repo = json_string_value(json_object_get(hf, "repo"));
            if (lab_offline(NULL)) {
                char where[4096];
                ds_hf_repo_dir(repo, where, sizeof where);
                return offline_error(name, f, where);
            }
            if ((rc = ds_hf_fetch(repo, rev ? rev : "main", fname, &capped, path, sizeof path)))
                return rc;
            if (!(opts && opts->dry_run))
                printf("%s/%s: downloaded (%s)\n", name, fname, path);
            continue;
        }
        if (lab_offline(NULL))
            return offline_error(name, f, dir);
        char *urls[16] = {0};
        size_t n = url_list(e, f, urls, 16);
        snprintf(path, sizeof path, "%s/%s", dir, fname);
        if (n == 0) {
            rc = lab_err(LAB_EENV,
                         json_is_true(json_object_get(e, "mirror_only"))
                             ? "these files are hosted by the course: set LAB_MIRROR to the course mirror's URL"
                             : "set LAB_MIRROR to a mirror that has it",
                         "%s/%s has no download URL", name, fname);
        } else if (opts && opts->dry_run) {
            char size[32];
            human((unsigned long long)json_integer_value(json_object_get(f, "size")), size, sizeof size);
            printf("would download %s/%s (%s%s) to %s from:\n", name, fname,
                   json_is_true(json_object_get(f, "size_approx")) ? "~" : "", size, path);
            for (size_t k = 0; k < n; k++)
                printf("  %s\n", urls[k]);
        } else {
            struct ds_fetch_result res;
            rc = ds_fetch_urls((const char *const *)urls, n, path, fname, ds_verify_manifest_file, (void *)f,
                               &capped, &res);
            if (!rc) {
                enum ds_verdict v;
                if (ds_file_verify(path, f, res.etag[0] ? res.etag : NULL, &v, detail, sizeof detail) == LAB_OK &&
                    v == DS_VERIFIED)
                    ds_stamp_write(path);
                lab_err_clear();
                printf("%s/%s: downloaded from %s%s\n", name, fname, res.url, res.resumed ? " (resumed)" : "");
            }
        }
        for (size_t k = 0; k < n; k++)
            free(urls[k]);
        if (rc)
            return rc;
        if (!i)
            snprintf(first_archive, sizeof first_archive, "%s", path);
    }
    if (json_string_value(json_object_get(e, "unpack")) && first_archive[0])
        return unpack_entry(e, first_archive, opts);
    return LAB_OK;
}
