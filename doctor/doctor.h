/* `lab doctor`: checks of the machine, the container, the caches, the network
 * and the environment, each with a fix and a troubleshooting (KB) id.
 *
 * Every check is a plain function that fills a doctor_result. The runner
 * (doctor.c) runs each one in a forked child with its own timeout, so a check
 * that crashes (a broken driver library) or hangs (a dead NFS mount, DNS)
 * becomes a `crash` or `fail` result instead of taking `lab doctor` down.
 *
 * Everything a check reads from the file system goes through doctor_path(),
 * which prefixes LAB_DOCTOR_ROOT (test-only) so fixtures can stand in for
 * /proc, /sys, /dev, /etc and the driver libraries. */
#ifndef LAB_DOCTOR_H
#define LAB_DOCTOR_H

#include <stddef.h>
#include <stdint.h>

enum doctor_status { DOCTOR_PASS, DOCTOR_WARN, DOCTOR_FAIL, DOCTOR_SKIP, DOCTOR_CRASH };

#define DOCTOR_MSG_CAP 1536
#define DOCTOR_FIX_CAP 512

/* Small enough (< PIPE_BUF) to cross the child's pipe in one atomic write. */
struct doctor_result {
    enum doctor_status status;
    char message[DOCTOR_MSG_CAP];
    char remediation[DOCTOR_FIX_CAP]; /* "" for a pass */
    char kb[40];                      /* troubleshooting id, "" for a pass */
    double duration_ms;
};

struct doctor_ctx {
    char root[1024]; /* "" for the real machine */
    int full;        /* --full: smoke test, checksums */
    int offline;     /* effective offline setting (network checks skip) */
};

struct doctor_check {
    const char *id;       /* "container.shm" */
    const char *category; /* "container" */
    const char *title;    /* one line for --list-checks */
    void (*fn)(const struct doctor_ctx *ctx, struct doctor_result *r);
    int timeout_ms;       /* 0: the default for local checks */
    const char *kbs;      /* every KB id the check can report, space-separated */
};

/* The registry, in display order. */
const struct doctor_check *doctor_checks(size_t *count);
const struct doctor_check *doctor_check_find(const char *id);
const char *doctor_status_name(enum doctor_status s); /* "pass" ... */

/* The groups, each ending with id == NULL. */
extern const struct doctor_check doctor_system_checks[];
extern const struct doctor_check doctor_blas_checks[];
extern const struct doctor_check doctor_gpu_checks[];
extern const struct doctor_check doctor_container_checks[];
extern const struct doctor_check doctor_cache_checks[];
extern const struct doctor_check doctor_network_checks[];
extern const struct doctor_check doctor_env_checks[];
extern const struct doctor_check doctor_slurm_checks[];
extern const struct doctor_check doctor_smoke_checks[];

/* Fills the context from the environment (LAB_DOCTOR_ROOT, offline vars). */
void doctor_ctx_init(struct doctor_ctx *ctx, int full);

/* Runs `n` checks, each in its own child, concurrently; results[i] belongs
 * to checks[i]. A child killed by a signal gives DOCTOR_CRASH; one that
 * outlives its timeout is killed and gives DOCTOR_FAIL "timed out".
 * Test hooks: LAB_DOCTOR_TEST_CRASH=<id> and LAB_DOCTOR_TEST_HANG=<id> make
 * that check's child crash or hang; LAB_DOCTOR_TIMEOUT_MS overrides every
 * timeout. */
void doctor_run(const struct doctor_ctx *ctx, const struct doctor_check *const *checks, size_t n,
                struct doctor_result *results);

/* ---- helpers for the checks ---- */

/* Sets status, kb, remediation and a printf message. */
void doctor_set(struct doctor_result *r, enum doctor_status s, const char *kb, const char *fix, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Appends "; <text>" style detail to the message. */
void doctor_append(struct doctor_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The path under the context's root ("/proc/cpuinfo" -> "<root>/proc/cpuinfo"). */
const char *doctor_path(const struct doctor_ctx *ctx, const char *abs, char *out, size_t cap);
/* Reads a (small) file under the root; NULL when absent. Caller frees. */
char *doctor_read(const struct doctor_ctx *ctx, const char *abs);
int doctor_exists(const struct doctor_ctx *ctx, const char *abs);
/* The first file mapped into this process (the root's /proc/self/maps) whose
 * base name `want` accepts, from the process's own mappings: a file search
 * would find copies that are never loaded. 1 when found. */
int doctor_mapped_lib(const struct doctor_ctx *ctx, int (*want)(const char *base), char *path, size_t cap);

/* The value of "key<sep>value" on its own line in text ("MemTotal:" style). */
int doctor_field(const char *text, const char *key, char *out, size_t cap);


/* Mount that holds `path` according to mountinfo text (longest prefix):
 * copies its mount options ("rw,nosuid,noexec") and fs type. 0 when found. */
int doctor_mount_of(const char *mountinfo, const char *path, char *opts, size_t opts_cap, char *fstype,
                    size_t fs_cap);

/* 1 when an NVIDIA PCI device (vendor 0x10de) shows under /sys/bus/pci. */
int doctor_nvidia_pci_present(const struct doctor_ctx *ctx);
/* 1 when in a container (/.dockerenv, /run/.containerenv, /proc/1/cgroup);
 * `how` names the evidence. */
int doctor_in_container(const struct doctor_ctx *ctx, char *how, size_t cap);

/* Container engines, shared with runner/engine*.c: an executable `name` in
 * one of PATH's directories (under the root), its path in `found`; the
 * docker daemon's socket (DOCKER_HOST unix://, else /var/run/docker.sock);
 * whether a unix socket accepts a connection. */
int doctor_in_path(const struct doctor_ctx *ctx, const char *name, char *found, size_t cap);
void doctor_docker_socket(const struct doctor_ctx *ctx, char *out, size_t cap);
int doctor_socket_reachable(const char *path);


/* Human-readable bytes ("1.5 GiB"). */
const char *doctor_bytes(uint64_t n, char *buf, size_t cap);

/* Classifications shared by the checks and their unit tests. */
enum doctor_status doctor_classify_disk(uint64_t free_bytes);
enum doctor_status doctor_classify_shm(uint64_t size_bytes);
/* Driver CUDA support vs the runtime libtorch was built with (both as
 * 12080-style ints). Fills `note`/`need_driver` for the message. */
enum doctor_status doctor_classify_cuda(int driver_cuda, const char *driver_version, int runtime_cuda,
                                        char *note, size_t cap);
/* Minimum Linux driver version for a CUDA runtime, e.g. "525.60.13" for 12.0. */
const char *doctor_min_driver_for_cuda(int cuda_version);

#endif
