/* Downloads over HTTP(S) with libcurl: TLS verification on; proxies from
 * the standard variables (libcurl reads http_proxy, https_proxy, all_proxy
 * and no_proxy itself when no proxy is set in code, and lab sets none);
 * resume into <dest>.part with a Range request; bounded retries with
 * exponential backoff on timeouts, cut connections and 5xx, none on 4xx; a
 * 404 moves to the next URL; 401/403 stop with an explanation
 * (TS-HTTP-AUTH); an flock on <dest>.lock so two lab processes never write
 * the same file; the file is verified before an atomic rename, and deleted
 * when its checksum is wrong (TS-CHECKSUM). Offline mode (lab_offline(NULL))
 * refuses before any connection is opened (TS-OFFLINE). Caps: no file over
 * max_bytes (announced or sent), no download past its deadline, no
 * redirect but to http(s), no write through a link at .part or .lock. */
#ifndef DS_FETCH_H
#define DS_FETCH_H

#include "base/progress.h"
#include "datasets/manifest.h"

#include <stddef.h>
#include <stdio.h>

struct ds_fetch_opts {
    int dry_run;
    FILE *progress_out;                /* NULL: stderr */
    enum lab_progress_mode progress_mode;
    const char *bearer_token;          /* sent as Authorization: Bearer; never printed */
    unsigned long long max_bytes;      /* the largest file accepted; 0: DS_FETCH_DEFAULT_MAX */
    long timeout_s;                    /* the whole download, retries included; 0: derived from max_bytes */
};

/* The cap for a file of unknown size (lab fetch --url without --max-size):
 * four times the largest file in the registry. */
#define DS_FETCH_DEFAULT_MAX (8ull << 30)

/* The cap for a manifest file entry: its size, with room for an approximate
 * one (size_approx) to have grown; 0 when the manifest gives no size. */
unsigned long long ds_fetch_cap_for_file(const json_t *file);

/* Parses a size such as 1048576, 50M, 2G (powers of 1024); 0 on junk. */
unsigned long long ds_fetch_parse_size(const char *text);

struct ds_fetch_result {
    long http_code;
    int resumed;        /* the last transfer continued a .part file (HTTP 206) */
    int attempts;
    char etag[128];     /* X-Linked-Etag if sent, else ETag, without quotes */
    char commit[64];    /* X-Repo-Commit (Hugging Face) */
    char url[2048];     /* the URL that served the file */
    char sha256[65];    /* computed while the bytes arrived (whole file, .part included) */
    unsigned long long bytes;
};

/* Decides whether a finished download at `path` is right; sets *verdict and
 * a human `detail`. */
typedef int (*ds_verify_fn)(const char *path, const struct ds_fetch_result *res, void *arg, enum ds_verdict *verdict,
                            char *detail, size_t cap);

/* Downloads the first URL of `urls` that works into `dest`. `what` names the
 * file in messages. `verify` may be NULL (accept anything). */
int ds_fetch_urls(const char *const *urls, size_t nurls, const char *dest, const char *what, ds_verify_fn verify,
                  void *verify_arg, const struct ds_fetch_opts *opts, struct ds_fetch_result *res);

/* lab fetch --url URL [--url MIRROR ...] --sha256 HEX -o PATH */
int ds_fetch_one(const char *const *urls, size_t nurls, const char *sha256, const char *dest,
                 const struct ds_fetch_opts *opts);

/* Everything a registry entry needs (download, verify, unpack). Files
 * already present and verified are not downloaded again. */
int ds_fetch_entry(const json_t *entry, const struct ds_fetch_opts *opts);

/* The verify callback for a manifest file entry (json_t *file as arg). */
int ds_verify_manifest_file(const char *path, const struct ds_fetch_result *res, void *file, enum ds_verdict *verdict,
                            char *detail, size_t cap);

#endif
