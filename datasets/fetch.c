#include "datasets/fetch.h"

#include "base/env.h"
#include "base/error.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "datasets/hash.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static long env_long(const char *name, long dflt)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return dflt;
    char *end;
    long n = strtol(v, &end, 10);
    return *end || n < 0 ? dflt : n;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

unsigned long long ds_fetch_cap_for_file(const json_t *file)
{
    json_int_t size = json_integer_value(json_object_get(file, "size"));
    if (size <= 0)
        return 0;
    unsigned long long n = (unsigned long long)size;
    return json_is_true(json_object_get(file, "size_approx")) ? n + n / 4 + (1ull << 20) : n;
}

unsigned long long ds_fetch_parse_size(const char *text)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(text, &end, 10);
    if (errno || end == text || text[0] == '-')
        return 0;
    int shift = 0;
    switch (*end) {
    case 'K': case 'k': shift = 10; end++; break;
    case 'M': case 'm': shift = 20; end++; break;
    case 'G': case 'g': shift = 30; end++; break;
    case 'T': case 't': shift = 40; end++; break;
    }
    if (*end == 'B' || (*end == 'i' && end[1] == 'B' && (end += 1)))
        end++;
    if (*end || n > (~0ull >> shift))
        return 0;
    return n << shift;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

/* One transfer's state, shared with the libcurl callbacks. */
struct transfer {
    CURL *curl;
    FILE *part;
    const char *part_path;
    long long offset; /* bytes already in .part when the request started */
    long long written;
    int checked_code; /* the status has been looked at before the first body byte */
    int discard;      /* an error body: do not write it */
    long long cut_after; /* tests: fail the transfer after this many bytes (LAB_TEST_FETCH_MAX_BYTES) */
    long long cap;       /* the most bytes the whole file may have */
    long status;         /* of the response whose headers are arriving */
    int too_big;         /* the server announced or sent more than cap */
    struct ds_fetch_result *res;
    struct lab_progress *progress;
    int io_error;
    EVP_MD_CTX *sha; /* hashes every byte of the file as it is written */
    long long synced; /* bytes handed to writeback so far */
};

/* Starts writeback of what arrived since the last call, without waiting,
 * so the fsync before the rename finds little left to write: the disk
 * works while the network does. */
static void start_writeback(struct transfer *t)
{
    long long end = t->offset + t->written;
    if (end - t->synced < (32ll << 20) || fflush(t->part) != 0)
        return;
    sync_file_range(fileno(t->part), t->synced, end - t->synced, SYNC_FILE_RANGE_WRITE);
    t->synced = end;
}

/* Starts the running hash over what the .part already holds. */
static int hash_existing(EVP_MD_CTX *sha, const char *path, long long len)
{
    EVP_DigestInit_ex(sha, EVP_sha256(), NULL);
    if (len == 0)
        return 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    static __thread unsigned char buf[1 << 16];
    long long left = len;
    while (left > 0) {
        size_t n = fread(buf, 1, left < (long long)sizeof buf ? (size_t)left : sizeof buf, f);
        if (n == 0)
            break;
        EVP_DigestUpdate(sha, buf, n);
        left -= (long long)n;
    }
    fclose(f);
    return left == 0 ? 0 : -1;
}

static void header_value(const char *line, size_t len, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    if (len <= n + 1 || strncasecmp(line, name, n) != 0 || line[n] != ':' || out[0])
        return;
    const char *v = line + n + 1, *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    if (end - v >= 2 && v[0] == 'W' && v[1] == '/')
        v += 2;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    if (end > v && *v == '"')
        v++;
    if (end > v && end[-1] == '"')
        end--;
    size_t k = (size_t)(end - v) < cap - 1 ? (size_t)(end - v) : cap - 1;
    memcpy(out, v, k);
    out[k] = 0;
}

static size_t on_header(char *buf, size_t size, size_t n, void *arg)
{
    struct transfer *t = arg;
    size_t len = size * n;
    /* The first response that names them wins: Hugging Face sends these on
     * the resolve response, before any redirect to its CDN. */
    char linked[128] = "";
    header_value(buf, len, "X-Linked-Etag", linked, sizeof linked);
    if (linked[0])
        snprintf(t->res->etag, sizeof t->res->etag, "%s", linked);
    header_value(buf, len, "ETag", t->res->etag, sizeof t->res->etag);
    header_value(buf, len, "X-Repo-Commit", t->res->commit, sizeof t->res->commit);
    if (len > 9 && strncmp(buf, "HTTP/", 5) == 0) {
        const char *sp = memchr(buf, ' ', len);
        t->status = sp ? strtol(sp + 1, NULL, 10) : 0;
    }
    /* Refuse an announced size over the cap before a byte is written (a 206
     * announces what follows the offset, a 200 the whole file). */
    char clen[32] = "";
    header_value(buf, len, "Content-Length", clen, sizeof clen);
    if (clen[0] && t->status >= 200 && t->status < 300) {
        char *end;
        unsigned long long n = strtoull(clen, &end, 10);
        unsigned long long base = t->status == 206 ? (unsigned long long)t->offset : 0;
        if (*end || n > (unsigned long long)t->cap - base) {
            t->too_big = 1;
            return 0;
        }
    }
    return len;
}

static size_t on_body(char *buf, size_t size, size_t n, void *arg)
{
    struct transfer *t = arg;
    size_t len = size * n;
    if (!t->checked_code) {
        long code = 0;
        curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
        t->checked_code = 1;
        if (code >= 300)
            t->discard = 1;
        else if (code == 200 && t->offset > 0) {
            /* The server ignored the Range: start the file over. */
            if (ftruncate(fileno(t->part), 0) != 0 || fseek(t->part, 0, SEEK_SET) != 0) {
                t->io_error = errno;
                return 0;
            }
            t->offset = 0;
            t->synced = 0;
            EVP_DigestInit_ex(t->sha, EVP_sha256(), NULL);
        }
    }
    if (t->discard)
        return len;
    if (t->offset + t->written + (long long)len > t->cap) {
        t->too_big = 1;
        return 0;
    }
    if (t->cut_after >= 0 && t->written + (long long)len > t->cut_after) {
        size_t keep = (size_t)(t->cut_after - t->written);
        if (keep && fwrite(buf, 1, keep, t->part) == keep)
            EVP_DigestUpdate(t->sha, buf, keep);
        t->written += (long long)keep;
        t->cut_after = -1;
        return 0; /* simulated cut */
    }
    if (fwrite(buf, 1, len, t->part) != len) {
        t->io_error = errno ? errno : EIO;
        return 0;
    }
    EVP_DigestUpdate(t->sha, buf, len);
    t->written += (long long)len;
    start_writeback(t);
    return len;
}

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    (void)ultotal, (void)ulnow;
    struct transfer *t = arg;
    if (t->progress && !t->discard) {
        if (dltotal > 0)
            t->progress->total = (uint64_t)(t->offset + dltotal);
        lab_progress_update(t->progress, (uint64_t)(t->offset + dlnow), NULL);
    }
    return 0;
}

/* STALLED: under the minimum speed for the stall time (retried while the
 * transfer still moves); TOO_BIG drops what arrived and moves to the next
 * URL; DEADLINE ends the whole download. */
enum outcome { DONE, RETRY, STALLED, NEXT_URL, AUTH, TOO_BIG, DEADLINE, FATAL };

/* What one_attempt needs beyond the URL: the caps of the whole download. */
struct attempt_limits {
    long long cap;
    long long deadline_ms; /* now_ms() clock */
    long long *cut_budget;
};

/* Opens the .part for appending without following a link there: a link
 * planted beside the destination would make lab write wherever it points. */
static FILE *open_part(const char *path, char *why, size_t wcap)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) {
        if (errno == ELOOP)
            snprintf(why, wcap, "%s is a symbolic link; lab does not write through a link it was not given "
                     "(remove it and run the command again)", path);
        else
            snprintf(why, wcap, "cannot write %s: %s", path, strerror(errno));
        return NULL;
    }
    FILE *f = fdopen(fd, "ab");
    if (!f) {
        snprintf(why, wcap, "cannot write %s: %s", path, strerror(errno));
        close(fd);
    }
    return f;
}

static enum outcome one_attempt(const char *url, const char *part_path, const struct ds_fetch_opts *opts,
                                struct ds_fetch_result *res, struct lab_progress *prog,
                                const struct attempt_limits *lim, char *why, size_t wcap)
{
    struct transfer t = {.part_path = part_path, .res = res, .progress = prog, .cut_after = *lim->cut_budget,
                         .cap = lim->cap};
    t.part = open_part(part_path, why, wcap);
    if (!t.part)
        return FATAL;
    struct stat st;
    t.offset = fstat(fileno(t.part), &st) == 0 ? (long long)st.st_size : 0;
    t.synced = t.offset;
    t.sha = EVP_MD_CTX_new();
    if (!t.sha || hash_existing(t.sha, part_path, t.offset) != 0) {
        EVP_MD_CTX_free(t.sha);
        fclose(t.part);
        snprintf(why, wcap, "cannot read %s back", part_path);
        return FATAL;
    }
    res->sha256[0] = 0;
    CURL *c = t.curl = curl_easy_init();
    if (!c) {
        EVP_MD_CTX_free(t.sha);
        fclose(t.part);
        snprintf(why, wcap, "libcurl could not start");
        return FATAL;
    }
    char errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *hdrs = NULL;
    char auth[4200];
    if (opts && opts->bearer_token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", opts->bearer_token);
        hdrs = curl_slist_append(hdrs, auth);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    /* A server may redirect to another web server, never to a local file
     * (file:///etc/shadow) or to another protocol. */
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https,file");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    /* Only a redirect to the same host keeps the token (libcurl's default). */
    curl_easy_setopt(c, CURLOPT_UNRESTRICTED_AUTH, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, env_long("LAB_FETCH_CONNECT_TIMEOUT", 30));
    /* A trickle counts as a stall: under LAB_FETCH_MIN_SPEED bytes/s over
     * the stall time. The deadline bounds the attempt and whatever follows. */
    long stall_s = env_long("LAB_FETCH_STALL_TIMEOUT", 30);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, env_long("LAB_FETCH_MIN_SPEED", 1024));
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, stall_s > 0 ? stall_s : 1);
    long long left_ms = lim->deadline_ms - now_ms();
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, left_ms > 1 ? (long)(left_ms < LONG_MAX ? left_ms : LONG_MAX) : 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "lab/" LAB_VERSION);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 256L * 1024);
    /* A Range header rather than libcurl's resume, which fails ("Cannot
     * resume") on a server that answers 200: on_body then starts over. */
    char range[32];
    if (t.offset > 0) {
        snprintf(range, sizeof range, "%lld-", t.offset);
        curl_easy_setopt(c, CURLOPT_RANGE, range);
    }
    res->etag[0] = res->commit[0] = 0;
    CURLcode cc = curl_easy_perform(c);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    res->http_code = code;
    res->attempts++;
    *lim->cut_budget = t.cut_after;
    int flush_failed = fflush(t.part) != 0 || fsync(fileno(t.part)) != 0;
    fclose(t.part);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned dlen = 0;
    EVP_DigestFinal_ex(t.sha, digest, &dlen);
    EVP_MD_CTX_free(t.sha);
    for (unsigned i = 0; i < dlen && i < 32; i++)
        sprintf(res->sha256 + 2 * i, "%02x", digest[i]);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    if (t.io_error || flush_failed) {
        snprintf(why, wcap, "cannot write %s: %s", part_path, strerror(t.io_error ? t.io_error : errno));
        return FATAL;
    }
    if (t.too_big) {
        snprintf(why, wcap, "%s sends more than %lld bytes, the most this file may have", url, t.cap);
        return TOO_BIG;
    }
    if (cc == CURLE_OPERATION_TIMEDOUT && now_ms() >= lim->deadline_ms - 50) {
        snprintf(why, wcap, "%s: %s", url, errbuf[0] ? errbuf : curl_easy_strerror(cc));
        return DEADLINE;
    }
    /* file:// (a course mirror on a shared disk) has no response code. */
    if (cc == CURLE_OK && ((code >= 200 && code < 300) || (code == 0 && strncmp(url, "file:", 5) == 0))) {
        res->resumed = code == 206;
        snprintf(res->url, sizeof res->url, "%s", url);
        return DONE;
    }
    if (code == 416 && t.offset > 0) {
        /* Range not satisfiable: the .part is already whole (or wrong; the
         * checksum decides). */
        snprintf(res->url, sizeof res->url, "%s", url);
        return DONE;
    }
    if (code == 401 || code == 403) {
        snprintf(why, wcap, "HTTP %ld from %s", code, url);
        return AUTH;
    }
    if (code >= 400 && code < 500) {
        snprintf(why, wcap, "HTTP %ld from %s", code, url);
        return code == 408 || code == 429 ? RETRY : NEXT_URL;
    }
    if (code >= 500) {
        snprintf(why, wcap, "HTTP %ld from %s", code, url);
        return RETRY;
    }
    snprintf(why, wcap, "%s: %s", url, errbuf[0] ? errbuf : curl_easy_strerror(cc));
    if (cc == CURLE_OPERATION_TIMEDOUT)
        return STALLED;
    /* A name that does not resolve will not resolve a second later. */
    if (cc == CURLE_COULDNT_RESOLVE_HOST || cc == CURLE_COULDNT_RESOLVE_PROXY)
        return NEXT_URL;
    if (cc == CURLE_UNSUPPORTED_PROTOCOL || cc == CURLE_URL_MALFORMAT || cc == CURLE_FILE_COULDNT_READ_FILE)
        return NEXT_URL;
    if (cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE || cc == CURLE_SSL_CONNECT_ERROR)
        return NEXT_URL; /* never retried without verification */
    return RETRY;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int lock_dest(const char *dest, int *fd_out)
{
    char lock[4200];
    snprintf(lock, sizeof lock, "%s.lock", dest);
    for (int tries = 0; tries < 100; tries++) {
        int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0 && errno == ELOOP)
            return lab_err(LAB_EENV, "remove the link and run the command again",
                           "%s is a symbolic link; lab does not write through a link it was not given", lock);
        if (fd < 0)
            return lab_err(LAB_EENV, "check the permissions of the cache directory", "cannot create %s: %s", lock,
                           strerror(errno));
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            if (tries == 0)
                fprintf(stderr, "waiting for another lab process downloading %s ...\n", dest);
            if (flock(fd, LOCK_EX) != 0) {
                close(fd);
                return lab_err(LAB_EENV, NULL, "cannot lock %s: %s", lock, strerror(errno));
            }
        }
        /* The holder removes the lock file when it is done; a lock on a
         * removed file protects nothing, so take the new one instead. */
        struct stat held, now;
        if (fstat(fd, &held) == 0 && stat(lock, &now) == 0 && held.st_ino == now.st_ino &&
            held.st_dev == now.st_dev) {
            *fd_out = fd;
            return LAB_OK;
        }
        close(fd);
    }
    return lab_err(LAB_EENV, "remove stale .lock files", "cannot lock %s", lock);
}

static void unlock_dest(const char *dest, int fd)
{
    char lock[4200];
    snprintf(lock, sizeof lock, "%s.lock", dest);
    unlink(lock); /* waiters re-check dest after they get the lock */
    close(fd);
}

int ds_fetch_urls(const char *const *urls, size_t nurls, const char *dest, const char *what, ds_verify_fn verify,
                  void *verify_arg, const struct ds_fetch_opts *opts, struct ds_fetch_result *res)
{
    memset(res, 0, sizeof *res);
    if (lab_offline(NULL))
        return lab_err(LAB_EENV, "see lab explain TS-OFFLINE",
                       "offline mode (LAB_OFFLINE/HF_HUB_OFFLINE/TRANSFORMERS_OFFLINE) forbids downloading %s", what);
    if (nurls == 0)
        return lab_err(LAB_EENV, "set LAB_MIRROR to the course mirror", "no URL to download %s from", what);
    char dir[4200];
    snprintf(dir, sizeof dir, "%s", dest);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = 0;
        int rc = lab_mkdir_p(dir);
        if (rc)
            return rc;
    }
    int lockfd = -1, rc = lock_dest(dest, &lockfd);
    if (rc)
        return rc;
    char part[4200], why[2300] = "", detail[512];
    snprintf(part, sizeof part, "%s.part", dest);
    struct stat st;
    if (stat(dest, &st) == 0 && S_ISREG(st.st_mode)) {
        /* Another process finished it while we waited. */
        unlock_dest(dest, lockfd);
        return LAB_OK;
    }
    pthread_once(&curl_once, curl_init);
    long retries = env_long("LAB_FETCH_RETRIES", 4), backoff = env_long("LAB_FETCH_BACKOFF_MS", 1000);
    long long cut = env_long("LAB_TEST_FETCH_MAX_BYTES", -1);
    unsigned long long cap = opts && opts->max_bytes ? opts->max_bytes : DS_FETCH_DEFAULT_MAX;
    /* Whole download: half an hour, plus the cap at 100 kB/s. */
    long timeout_s = opts && opts->timeout_s > 0 ? opts->timeout_s
                                                  : env_long("LAB_FETCH_TIMEOUT", 1800 + (long)(cap / 100000));
    long long started = now_ms();
    struct attempt_limits lim = {.cap = cap > LLONG_MAX ? LLONG_MAX : (long long)cap,
                                 .deadline_ms = started + (long long)timeout_s * 1000, .cut_budget = &cut};
    int auth_failed = 0, verify_failed = 0, dns_failed = 0, too_big = 0;
    rc = LAB_EENV;
    for (size_t u = 0; u < nurls && rc; u++) {
        int idle_stalls = 0;
        for (long attempt = 0; attempt <= retries; attempt++) {
            struct lab_progress prog;
            lab_progress_start(&prog, opts && opts->progress_out ? opts->progress_out : stderr,
                               opts ? opts->progress_mode : LAB_PROGRESS_AUTO, what, 0, "B");
            long long before = stat(part, &st) == 0 ? (long long)st.st_size : 0;
            enum outcome o = one_attempt(urls[u], part, opts, res, &prog, &lim, why, sizeof why);
            /* curl's words for it; Hugging Face URLs hold "/resolve/" themselves */
            dns_failed = o == NEXT_URL && (strstr(why, "resolve host") || strstr(why, "resolve proxy"));
            too_big = 0;
            if (o == DONE) {
                if (stat(part, &st) == 0)
                    res->bytes = (unsigned long long)st.st_size;
                lab_progress_finish(&prog, NULL);
                enum ds_verdict v = DS_UNCHECKED;
                snprintf(detail, sizeof detail, "not checked");
                if (verify && (rc = verify(part, res, verify_arg, &v, detail, sizeof detail))) {
                    unlock_dest(dest, lockfd);
                    return rc;
                }
                if (v == DS_MISMATCH) {
                    unlink(part);
                    verify_failed = 1;
                    snprintf(why, sizeof why, "checksum mismatch for %s from %s: %s; the download was deleted",
                             what, urls[u], detail);
                    lab_warn("%s", why);
                    rc = LAB_EENV;
                    break; /* a mirror serving a wrong file: try the next */
                }
                if (v == DS_UNCHECKED)
                    fprintf(stderr, "note: %s has no checksum in the manifest; it was not verified\n", what);
                if ((rc = lab_rename_durable(part, dest))) {
                    unlock_dest(dest, lockfd);
                    return rc;
                }
                break;
            }
            lab_progress_finish(&prog, "failed");
            if (o == FATAL) {
                unlock_dest(dest, lockfd);
                return lab_err(LAB_EENV,
                               strstr(why, "symbolic link") ? "remove the link and run the command again"
                                                            : "check free disk space and permissions",
                               "%s", why);
            }
            if (o == TOO_BIG) {
                /* What it sent is not the file: drop it, and ask the next mirror. */
                unlink(part);
                too_big = 1;
                break;
            }
            if (o == DEADLINE) {
                long long kept = stat(part, &st) == 0 ? (long long)st.st_size : 0;
                unlock_dest(dest, lockfd);
                return lab_err(LAB_EENV,
                               kept ? "raise the deadline with --timeout SECONDS (or LAB_FETCH_TIMEOUT), or use "
                                      "a faster mirror (LAB_MIRROR); what arrived is kept in the .part file and "
                                      "resumed next time"
                                    : "raise the deadline with --timeout SECONDS (or LAB_FETCH_TIMEOUT), or use "
                                      "a faster mirror (LAB_MIRROR)",
                               "gave up downloading %s after %ld s, the deadline for the whole download (%s)", what,
                               timeout_s, why);
            }
            if (o == STALLED) {
                /* Silence after the headers, again and again: this server
                 * will not send the file. */
                long long after = stat(part, &st) == 0 ? (long long)st.st_size : 0;
                idle_stalls = after > before ? 0 : idle_stalls + 1;
                if (idle_stalls >= 2)
                    break;
            }
            if (o == AUTH) {
                auth_failed = 1;
                break;
            }
            if (o == NEXT_URL)
                break;
            if (attempt < retries) {
                long wait = backoff << (attempt < 20 ? attempt : 20);
                if (now_ms() + wait >= lim.deadline_ms)
                    break;
                fprintf(stderr, "%s; retrying in %ld ms (%ld/%ld)\n", why, wait, attempt + 1, retries);
                sleep_ms(wait);
            }
        }
        if (rc && u + 1 < nurls)
            fprintf(stderr, "%s; trying the next mirror\n", why);
    }
    long long kept = stat(part, &st) == 0 ? (long long)st.st_size : 0;
    if (!rc || kept == 0)
        unlink(part); /* nothing arrived: no empty .part to explain */
    unlock_dest(dest, lockfd);
    if (!rc)
        return LAB_OK;
    if (verify_failed)
        return lab_err(LAB_EENV, "see lab explain TS-CHECKSUM", "%s", why);
    if (too_big)
        return lab_err(LAB_EENV,
                       "a server (or a proxy) that sends more than the file's size is broken or hostile: use "
                       "another mirror (LAB_MIRROR); if the file really is larger, raise the cap with --max-size",
                       "refused %s: %s; the download was deleted", what, why);
    if (auth_failed)
        return lab_err(LAB_EENV,
                       "the server wants credentials: for Hugging Face set HF_TOKEN (or run huggingface-cli login) "
                       "and accept the model's terms on its page; see lab explain TS-HTTP-AUTH",
                       "access denied downloading %s (%s)", what, why);
    if (dns_failed)
        return lab_err(LAB_EENV,
                       "the host name did not resolve: check the network connection and DNS (lab doctor checks "
                       "both; see lab explain TS-NETWORK), or set LAB_MIRROR to a reachable mirror",
                       "cannot download %s: %s", what, why);
    return lab_err(LAB_EENV,
                   kept ? "check the network (or set LAB_MIRROR); what arrived is kept in the .part file and "
                          "resumed next time"
                        : "check the network (or set LAB_MIRROR); see lab explain TS-NETWORK",
                   "cannot download %s: %s", what, why);
}

struct sha_arg {
    const char *sha256;
};

static int verify_sha(const char *path, const struct ds_fetch_result *res, void *arg, enum ds_verdict *verdict,
                      char *detail, size_t cap)
{
    const struct sha_arg *a = arg;
    char hex[65];
    int rc = res && res->sha256[0] ? (snprintf(hex, sizeof hex, "%s", res->sha256), LAB_OK)
                                   : ds_hash_file(path, "sha256", hex, sizeof hex);
    if (rc)
        return rc;
    *verdict = strcasecmp(hex, a->sha256) == 0 ? DS_VERIFIED : DS_MISMATCH;
    snprintf(detail, cap, "sha256 is %s, expected %s", hex, a->sha256);
    return LAB_OK;
}

int ds_fetch_one(const char *const *urls, size_t nurls, const char *sha256, const char *dest,
                 const struct ds_fetch_opts *opts)
{
    if (!ds_is_hex(sha256, 64))
        return lab_err(LAB_EUSAGE, "give the 64 hex digits of the file's sha256", "--sha256 '%s' is not a sha256",
                       sha256);
    if (opts && opts->dry_run) {
        for (size_t i = 0; i < nurls; i++)
            printf("would download %s -> %s (sha256 %s)\n", urls[i], dest, sha256);
        return LAB_OK;
    }
    struct stat st;
    if (stat(dest, &st) == 0) {
        char hex[65];
        int rc = ds_hash_file(dest, "sha256", hex, sizeof hex);
        if (rc)
            return rc;
        if (strcasecmp(hex, sha256) == 0) {
            printf("%s is already present and verified\n", dest);
            return LAB_OK;
        }
        return lab_err(LAB_EUSAGE, "remove it or choose another -o", "%s exists with a different sha256 (%s)", dest,
                       hex);
    }
    struct sha_arg a = {sha256};
    struct ds_fetch_result res;
    int rc = ds_fetch_urls(urls, nurls, dest, dest, verify_sha, &a, opts, &res);
    if (!rc)
        printf("downloaded %s (%llu bytes%s), sha256 verified\n", dest, res.bytes, res.resumed ? ", resumed" : "");
    return rc;
}
