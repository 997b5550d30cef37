/* System checks: OS, CPU architecture and bf16 support, memory, free disk,
 * a noexec temp dir, a usable LAB_HOME. */
#include "doctor/doctor.h"

#include "base/env.h"
#include "base/error.h"
#include "base/paths.h"

#include <errno.h>
#include <gnu/libc-version.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#define GIB (1024ull * 1024 * 1024)

static void check_os(const struct doctor_ctx *ctx, struct doctor_result *r)
{
    char *osr = doctor_read(ctx, "/etc/os-release");
    char *kernel = doctor_read(ctx, "/proc/sys/kernel/osrelease");
    char name[256] = "";
    if (kernel)
        kernel[strcspn(kernel, "\n")] = '\0';
    if (!osr || !doctor_field(osr, "PRETTY_NAME=", name, sizeof name)) {
        doctor_set(r, DOCTOR_WARN, "TS-OS-UNSUPPORTED",
                   "use a supported Linux (Debian 12, Ubuntu 22.04/24.04) or the course's container image",
                   "unknown OS: /etc/os-release is missing or has no PRETTY_NAME; kernel %s, glibc %s",
                   kernel ? kernel : "?", gnu_get_libc_version());
    } else {
        doctor_set(r, DOCTOR_PASS, NULL, NULL, "%s, kernel %s, glibc %s", name, kernel ? kernel : "?",
                   gnu_get_libc_version());
    }
    free(osr);
    free(kernel);
}

static void check_arch(const struct doctor_ctx *ctx, struct doctor_result *r)
{
    char *arch = doctor_read(ctx, "/proc/sys/kernel/arch");
    char machine[64];
    if (arch) {
        arch[strcspn(arch, "\n")] = '\0';
        snprintf(machine, sizeof machine, "%s", arch);
    } else {
        struct utsname u;
        snprintf(machine, sizeof machine, "%s", uname(&u) == 0 ? u.machine : "?");
    }
    free(arch);
    if (strcmp(machine, "x86_64") == 0)
        doctor_set(r, DOCTOR_PASS, NULL, NULL, "x86_64");
    else if (strcmp(machine, "aarch64") == 0)
        doctor_set(r, DOCTOR_WARN, "TS-ARM64-PIP",
                   "use the course's NGC container image (nvcr.io/nvidia/pytorch); pip's aarch64 torch wheels have no CUDA",
                   "aarch64 (ARM, e.g. Grace Hopper/Jetson): pip's torch wheels for ARM are CPU-only");
    else
        doctor_set(r, DOCTOR_FAIL, "TS-ARM64-PIP", "run lab on an x86_64 or aarch64 Linux machine",
                   "unsupported CPU architecture %s: no libtorch builds exist for it", machine);
}

static void check_cpu_bf16(const struct doctor_ctx *ctx, struct doctor_result *r)
{
    char *info = doctor_read(ctx, "/proc/cpuinfo");
    if (!info) {
        doctor_set(r, DOCTOR_SKIP, NULL, NULL, "/proc/cpuinfo is not readable");
        return;
    }
    char model[256] = "?", flags[8192] = "";
    doctor_field(info, "model name", model, sizeof model);
    if (!doctor_field(info, "flags", flags, sizeof flags))
        doctor_field(info, "Features", flags, sizeof flags); /* aarch64 */
    strcat(flags, " ");
    int avx512 = strstr(flags, " avx512_bf16 ") != NULL || strncmp(flags, "avx512_bf16 ", 12) == 0;
    int amx = strstr(flags, "amx_bf16") != NULL;
    int arm_bf16 = strstr(flags, " bf16 ") != NULL || strncmp(flags, "bf16 ", 5) == 0;
    if (avx512 || amx || arm_bf16)
        doctor_set(r, DOCTOR_PASS, NULL, NULL, "%s: native bf16 (%s%s%s)", model, avx512 ? "avx512_bf16" : "",
                   amx ? (avx512 ? ", amx_bf16" : "amx_bf16") : "", arm_bf16 ? "bf16" : "");
    else
        doctor_set(r, DOCTOR_WARN, "TS-BF16-UNSUPPORTED", "on the CPU run with `--precision fp32`",
                   "%s has no bf16 instructions (avx512_bf16/AMX): bf16 autocast on the CPU is emulated and slow",
                   model);
    free(info);
}

static void check_memory(const struct doctor_ctx *ctx, struct doctor_result *r)
{
    char *mi = doctor_read(ctx, "/proc/meminfo");
    char total_s[64], avail_s[64];
    if (!mi || !doctor_field(mi, "MemTotal:", total_s, sizeof total_s)) {
        doctor_set(r, DOCTOR_SKIP, NULL, NULL, "/proc/meminfo is not readable");
        free(mi);
        return;
    }
    if (!doctor_field(mi, "MemAvailable:", avail_s, sizeof avail_s))
        snprintf(avail_s, sizeof avail_s, "%s", total_s);
    free(mi);
    uint64_t total = strtoull(total_s, NULL, 10) * 1024, avail = strtoull(avail_s, NULL, 10) * 1024;
    char t[32], a[32];
    doctor_bytes(total, t, sizeof t);
    doctor_bytes(avail, a, sizeof a);
    if (avail < 2 * GIB)
        doctor_set(r, DOCTOR_FAIL, "TS-CUDA-OOM", "close other programs, or use `--quick` and a smaller --batch-size",
                   "%s RAM, only %s available: data loading will run out of memory", t, a);
    else if (total < 8 * GIB || avail < 4 * GIB)
        doctor_set(r, DOCTOR_WARN, "TS-CUDA-OOM", "use a smaller --batch-size or close other programs",
                   "%s RAM, %s available: the larger labs (2.2.5, 2.2.6) want 8 GiB", t, a);
    else
        doctor_set(r, DOCTOR_PASS, NULL, NULL, "%s RAM, %s available", t, a);
}

enum doctor_status doctor_classify_disk(uint64_t free_bytes)
{
    if (free_bytes < 1 * GIB)
        return DOCTOR_FAIL;
    if (free_bytes < 10 * GIB)
        return DOCTOR_WARN;
    return DOCTOR_PASS;
}

/* statvfs of the path, or of its nearest existing parent (a cache that is
 * not created yet will live there). */
static int free_space(const char *path, uint64_t *out)
{
    char p[4096];
    snprintf(p, sizeof p, "%s", path);
    struct statvfs sv;
    while (statvfs(p, &sv) != 0) {
        char *slash = strrchr(p, '/');
        if (!slash)
            return -1;
        if (slash == p) {
            if (p[1] == '\0')
                return -1;
            p[1] = '\0';
        } else {
            *slash = '\0';
        }
    }
    *out = (uint64_t)sv.f_bavail * sv.f_frsize;
    return 0;
}

static void check_disk(const struct doctor_ctx *ctx, struct doctor_result *r)
{
    (void)ctx;
    char home[2048] = "", cache[2048] = "", hub[3072], from[96];
    lab_dir_resolve(LAB_DIR_HOME, home, sizeof home);
    lab_dir_resolve(LAB_DIR_CACHE, cache, sizeof cache);
    lab_hf_hub_cache(hub, sizeof hub, from, sizeof from);
    const char *tmp = getenv("TMPDIR");
    const char *names[] = {"LAB_HOME", "LAB_CACHE", "HF cache", "temp dir"};
    const char *paths[] = {home, cache, hub, tmp && *tmp ? tmp : "/tmp"};
    enum doctor_status worst = DOCTOR_PASS;
    const char *worst_name = NULL;
    char detail[1200] = "";
    for (size_t i = 0; i < 4; i++) {
        uint64_t free_b;
        char b[32];
        size_t len = strlen(detail);
        if (!*paths[i] || free_space(paths[i], &free_b) != 0) {
            snprintf(detail + len, sizeof detail - len, "%s%s ?", len ? ", " : "", names[i]);
            continue;
        }
        enum doctor_status s = doctor_classify_disk(free_b);
        snprintf(detail + len, sizeof detail - len, "%s%s %s free", len ? ", " : "", names[i],
                 doctor_bytes(free_b, b, sizeof b));
        if (s > worst) {
            worst = s;
            worst_name = names[i];
        }
    }
    if (worst == DOCTOR_PASS)
        doctor_set(r, DOCTOR_PASS, NULL, NULL, "%s", detail);
    else
        doctor_set(r, worst, "TS-DISK-FULL",
                   "free space (old runs under $LAB_HOME, `huggingface-cli delete-cache`) or point LAB_CACHE/HF_HOME/TMPDIR at a larger disk",
                   "%s is low on space (%s needed for datasets and weights): %s", worst_name,
                   worst == DOCTOR_FAIL ? "at least 1 GiB" : "10 GiB recommended", detail);
}

static void check_noexec_tmp(const struct doctor_ctx *ctx, struct doctor_result *r)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    char *mi = doctor_read(ctx, "/proc/self/mountinfo");
    char opts[512], fs[64];
    if (!mi || doctor_mount_of(mi, tmp, opts, sizeof opts, fs, sizeof fs) != 0) {
        doctor_set(r, DOCTOR_SKIP, NULL, NULL, "cannot tell which mount holds %s (/proc/self/mountinfo unreadable)",
                   tmp);
        free(mi);
        return;
    }
    free(mi);
    char padded[520];
    snprintf(padded, sizeof padded, ",%s,", opts);
    if (strstr(padded, ",noexec,"))
        doctor_set(r, DOCTOR_WARN, "TS-NOEXEC-TMP", "export TMPDIR=$HOME/tmp (a directory on an exec mount)",
                   "temp dir %s is on a noexec mount (%s, %s): compiled kernels and extensions cannot load from it",
                   tmp, fs, opts);
    else
        doctor_set(r, DOCTOR_PASS, NULL, NULL, "temp dir %s (%s, %s)", tmp, fs, opts);
}

/* LAB_HOME holds the store and the runs: a file there, a directory or a
 * link in place of lab.db, or a read-only mount stop every command that
 * records something, so say it before a run does. A probe file is created
 * and removed because permission bits say nothing to root or on a
 * read-only mount. */
static void check_lab_home(const struct doctor_ctx *ctx, struct doctor_result *r)
{
    (void)ctx;
    char home[2048] = "";
    if (lab_dir_resolve(LAB_DIR_HOME, home, sizeof home) != LAB_OK || !home[0]) {
        doctor_set(r, DOCTOR_FAIL, "TS-LAB-HOME", "set LAB_HOME (or HOME) to a writable directory",
                   "cannot tell where LAB_HOME is: %s", lab_err_message());
        return;
    }
    struct stat st;
    if (stat(home, &st) != 0) {
        /* Not there yet: lab creates it, if its nearest existing parent lets it. */
        char parent[2048];
        snprintf(parent, sizeof parent, "%s", home);
        char *slash;
        while ((slash = strrchr(parent, '/')) && slash != parent) {
            *slash = '\0';
            if (stat(parent, &st) == 0)
                break;
        }
        if (slash == parent)
            snprintf(parent, sizeof parent, "/");
        if (stat(parent, &st) != 0 || !S_ISDIR(st.st_mode))
            doctor_set(r, DOCTOR_FAIL, "TS-LAB-HOME", "set LAB_HOME to a directory lab can create or write",
                       "LAB_HOME %s cannot be created: %s is not a directory", home, parent);
        else if (access(parent, W_OK | X_OK) != 0)
            doctor_set(r, DOCTOR_FAIL, "TS-LAB-HOME", "set LAB_HOME to a directory lab can create or write",
                       "LAB_HOME %s cannot be created: %s is not writable (%s)", home, parent, strerror(errno));
        else
            doctor_set(r, DOCTOR_PASS, NULL, NULL, "LAB_HOME %s does not exist yet; lab will create it", home);
        return;
    }
    if (!S_ISDIR(st.st_mode)) {
        doctor_set(r, DOCTOR_FAIL, "TS-LAB-HOME", "move that file aside, or set LAB_HOME to a directory",
                   "LAB_HOME %s is not a directory", home);
        return;
    }
    char probe[2200];
    snprintf(probe, sizeof probe, "%s/.lab-doctor-XXXXXX", home);
    int fd = mkstemp(probe);
    if (fd < 0) {
        doctor_set(r, DOCTOR_FAIL, "TS-LAB-HOME",
                   "fix its permissions (chown/chmod), remount it read-write, or set LAB_HOME to a writable directory",
                   "LAB_HOME %s is not writable: %s", home, strerror(errno));
        return;
    }
    close(fd);
    unlink(probe);
    char db[2200];
    snprintf(db, sizeof db, "%s/lab.db", home);
    if (lstat(db, &st) == 0 && S_ISLNK(st.st_mode)) {
        doctor_set(r, DOCTOR_FAIL, "TS-LAB-HOME", "replace the link with the store itself (mv its target there), "
                   "or set LAB_HOME to the directory that holds it",
                   "the store %s is a symbolic link: lab refuses to write through it", db);
        return;
    }
    if (lstat(db, &st) == 0 && !S_ISREG(st.st_mode)) {
        doctor_set(r, DOCTOR_FAIL, "TS-LAB-HOME", "move it aside (mv lab.db lab.db.moved) to start a new store",
                   "the store %s is %s, not a database file", db, S_ISDIR(st.st_mode) ? "a directory" : "not a file");
        return;
    }
    doctor_set(r, DOCTOR_PASS, NULL, NULL, "LAB_HOME %s is writable%s", home,
               lstat(db, &st) == 0 ? "; the store lab.db is a file" : "");
}

const struct doctor_check doctor_system_checks[] = {
    {"system.os", "system", "OS, kernel and glibc", check_os, 0, "TS-OS-UNSUPPORTED"},
    {"system.arch", "system", "CPU architecture (aarch64 needs the NGC container)", check_arch, 0, "TS-ARM64-PIP"},
    {"system.cpu_bf16", "system", "CPU bf16 instructions (avx512_bf16, AMX)", check_cpu_bf16, 0,
     "TS-BF16-UNSUPPORTED"},
    {"system.memory", "system", "RAM total and available", check_memory, 0, "TS-CUDA-OOM"},
    {"system.disk", "system", "free disk in LAB_HOME, LAB_CACHE, the HF cache and the temp dir", check_disk, 0,
     "TS-DISK-FULL"},
    {"system.noexec_tmp", "system", "temp dir mounted noexec", check_noexec_tmp, 0, "TS-NOEXEC-TMP"},
    {"system.lab_home", "system", "LAB_HOME is a writable directory and lab.db a file", check_lab_home, 0,
     "TS-LAB-HOME"},
    {NULL, NULL, NULL, NULL, 0, NULL},
};
