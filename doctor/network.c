/* Network checks: DNS, TCP and TLS to the Hugging Face endpoint and the
 * dataset hosts, 3 s each, with the failure told apart. Skipped offline.
 * LAB_DOCTOR_NET_HOSTS (space-separated "[tcp:]host[:port]", test-only
 * alongside LAB_DOCTOR_NET_CAINFO) replaces the host list; "tcp:" stops after
 * the TCP connect. */
#include "doctor/doctor.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NET_TIMEOUT_MS 3000
#define MAX_HOSTS 8

static const char default_hosts[] = "huggingface.co:443 cdn-lfs.hf.co:443 download.pytorch.org:443 github.com:443";

struct probe {
    char host[256];
    char port[8];
    int tls;
    int ok;
    char what[256];
    double ms;
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* 0 connected, else an errno (ETIMEDOUT for the 3 s limit). */
static int tcp_connect(const struct addrinfo *ai)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0)
        return errno;
    int err = 0;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        if (errno != EINPROGRESS) {
            err = errno;
        } else {
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            int rc = poll(&p, 1, NET_TIMEOUT_MS);
            if (rc == 0) {
                err = ETIMEDOUT;
            } else {
                socklen_t len = sizeof err;
                if (rc < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
                    err = errno ? errno : EIO;
            }
        }
    }
    close(fd);
    return err;
}

static void *probe_host(void *arg)
{
    struct probe *p = arg;
    double t0 = now_ms();
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    int g = getaddrinfo(p->host, p->port, &hints, &res);
    if (g != 0) {
        snprintf(p->what, sizeof p->what, "DNS failed (%s)",
                 g == EAI_AGAIN ? "no answer from the DNS server" : g == EAI_NONAME ? "name not found" : gai_strerror(g));
        p->ms = now_ms() - t0;
        return NULL;
    }
    int err = tcp_connect(res);
    freeaddrinfo(res);
    if (err) {
        snprintf(p->what, sizeof p->what, "DNS ok, TCP %s",
                 err == ECONNREFUSED ? "refused (nothing listens on that port, or a firewall rejects it)"
                 : err == ETIMEDOUT  ? "timed out after 3 s (a firewall drops the traffic?)"
                 : err == ENETUNREACH || err == EHOSTUNREACH ? "unreachable (no route)"
                                                             : strerror(err));
        p->ms = now_ms() - t0;
        return NULL;
    }
    if (!p->tls) {
        snprintf(p->what, sizeof p->what, "DNS ok, TCP ok");
        p->ok = 1;
        p->ms = now_ms() - t0;
        return NULL;
    }
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(p->what, sizeof p->what, "DNS ok, TCP ok, TLS not tried (libcurl failed to start)");
        return NULL;
    }
    char url[300];
    snprintf(url, sizeof url, "https://%s:%s/", p->host, p->port);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)NET_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)NET_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    const char *ca = getenv("LAB_DOCTOR_NET_CAINFO");
    if (ca && *ca)
        curl_easy_setopt(c, CURLOPT_CAINFO, ca);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_cleanup(c);
    p->ms = now_ms() - t0;
    if (rc == CURLE_OK) {
        snprintf(p->what, sizeof p->what, "DNS ok, TCP ok, TLS ok (%.0f ms)", p->ms);
        p->ok = 1;
    } else if (rc == CURLE_PEER_FAILED_VERIFICATION) {
        snprintf(p->what, sizeof p->what,
                 "DNS ok, TCP ok, TLS certificate not trusted (a proxy intercepting TLS? set SSL_CERT_FILE)");
    } else if (rc == CURLE_OPERATION_TIMEDOUT) {
        snprintf(p->what, sizeof p->what, "DNS ok, TCP ok, TLS handshake timed out after 3 s");
    } else {
        snprintf(p->what, sizeof p->what, "DNS ok, TCP ok, TLS handshake failed (%s)", curl_easy_strerror(rc));
    }
    return NULL;
}

static size_t parse_hosts(struct probe *out, size_t cap)
{
    const char *list = getenv("LAB_DOCTOR_NET_HOSTS");
    char buf[2048];
    snprintf(buf, sizeof buf, "%s", list && *list ? list : default_hosts);
    size_t n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, " ,", &save); tok && n < cap; tok = strtok_r(NULL, " ,", &save)) {
        struct probe *p = &out[n++];
        memset(p, 0, sizeof *p);
        p->tls = 1;
        if (strncmp(tok, "tcp:", 4) == 0) {
            p->tls = 0;
            tok += 4;
        }
        char *colon = strrchr(tok, ':');
        snprintf(p->port, sizeof p->port, "%s", colon ? colon + 1 : "443");
        if (colon)
            *colon = '\0';
        snprintf(p->host, sizeof p->host, "%s", tok);
    }
    return n;
}

static void check_reach(const struct doctor_ctx *ctx, struct doctor_result *r)
{
    if (ctx->offline) {
        doctor_set(r, DOCTOR_SKIP, NULL, NULL, "offline (HF_HUB_OFFLINE/TRANSFORMERS_OFFLINE/LAB_OFFLINE): not contacting any host");
        return;
    }
    struct probe probes[MAX_HOSTS];
    size_t n = parse_hosts(probes, MAX_HOSTS);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pthread_t th[MAX_HOSTS];
    int started[MAX_HOSTS] = {0};
    for (size_t i = 0; i < n; i++)
        started[i] = pthread_create(&th[i], NULL, probe_host, &probes[i]) == 0;
    int ok = 0;
    for (size_t i = 0; i < n; i++) {
        if (started[i])
            pthread_join(th[i], NULL);
        else
            probe_host(&probes[i]);
        ok += probes[i].ok;
    }
    enum doctor_status s = ok == (int)n ? DOCTOR_PASS : ok > 0 ? DOCTOR_WARN : DOCTOR_FAIL;
    if (s == DOCTOR_PASS)
        doctor_set(r, s, NULL, NULL, "all %zu hosts reachable", n);
    else
        doctor_set(r, s, "TS-NETWORK",
                   "check the connection and any proxy (https_proxy); or work offline with `export HF_HUB_OFFLINE=1` "
                   "once the data and models are cached",
                   "%s of %zu hosts reachable", ok ? "some" : "none", n);
    for (size_t i = 0; i < n; i++)
        doctor_append(r, "; %s:%s: %s", probes[i].host, probes[i].port, probes[i].what);
}

const struct doctor_check doctor_network_checks[] = {
    {"network.reach", "network", "DNS, TCP and TLS to Hugging Face and the dataset hosts (3 s each)", check_reach,
     12000, "TS-NETWORK"},
    {NULL, NULL, NULL, NULL, 0, NULL},
};
