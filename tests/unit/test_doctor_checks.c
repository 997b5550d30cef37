/* Every doctor check, driven through each status it can report by a fixture
 * root (LAB_DOCTOR_ROOT's stand-in), the environment, and a fake NVML built
 * from tests/fixtures/doctor/fake_nvml.c. Checks run in-process here; the
 * fork guard has its own tests in test_doctor.c. */
#include "base/env.h"
#include "base/error.h"
#include "base/fsutil.h"
#include "datasets/fetch.h"
#include "datasets/manifest.h"
#include "doctor/doctor.h"
#include "doctor/gpu.h"
#include "tests/unit/testutil.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static char *root;
static char fake_nvml[4200];

static void build_fake_nvml(void)
{
    char *dir = tu_tempdir(), cmd[9000], *out = NULL;
    snprintf(fake_nvml, sizeof fake_nvml, "%s/libnvidia-ml.so.1", dir);
    snprintf(cmd, sizeof cmd, "cc -shared -fPIC -O1 -o '%s' '%s/tests/fixtures/doctor/fake_nvml.c' 2>&1", fake_nvml,
             tu_src_dir());
    int rc = tu_run(cmd, &out);
    if (rc != 0)
        fprintf(stderr, "building the fake NVML failed: %s\n", out ? out : "");
    free(out);
    free(dir);
}

static void setup(void)
{
    root = tu_tempdir();
    /* The real environment must not leak into the fixtures. */
    static const char *const vars[] = {"HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "LAB_OFFLINE", "HF_TOKEN",
                                       "HUGGING_FACE_HUB_TOKEN", "HF_HOME", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE",
                                       "XDG_CACHE_HOME", "HF_TOKEN_PATH", "CUDA_VISIBLE_DEVICES",
                                       "CUDA_LAUNCH_BLOCKING", "PYTORCH_CUDA_ALLOC_CONF", "CUDA_INJECTION64_PATH",
                                       "LD_PRELOAD", "NVIDIA_VISIBLE_DEVICES", "LAB_DOCTOR_NVML", "LAB_DOCTOR_LIBCUDA",
                                       "DOCKER_HOST", "TMPDIR", "LAB_DOCTOR_NET_HOSTS"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        unsetenv(vars[i]);
    char home[4200];
    snprintf(home, sizeof home, "%s/home", root);
    setenv("HOME", home, 1);
    doctor_set_runtime_info_fn(NULL);
}

static void teardown(void)
{
    tu_rmtree(root);
    free(root);
}

static void mkd(const char *abs)
{
    char p[4400];
    snprintf(p, sizeof p, "%s%s", root, abs);
    ck_assert_int_eq(lab_mkdir_p(p), 0);
}

/* Writes `text` at `abs` under the root, creating its directories. */
static void put(const char *abs, const char *text)
{
    char p[4400];
    snprintf(p, sizeof p, "%s%s", root, abs);
    char *slash = strrchr(p, '/');
    *slash = '\0';
    ck_assert_int_eq(lab_mkdir_p(p), 0);
    *slash = '/';
    tu_write_file(p, text, strlen(text));
}

/* Copies tests/fixtures/doctor/<name> to `abs` under the root. */
static void fx(const char *name, const char *abs)
{
    char src[4400], *data;
    size_t len;
    snprintf(src, sizeof src, "%s/tests/fixtures/doctor/%s", tu_src_dir(), name);
    ck_assert_int_eq(lab_read_file(src, 1 << 20, &data, &len), 0);
    put(abs, data);
    free(data);
}

static const char *under(const char *abs)
{
    static char p[4400];
    snprintf(p, sizeof p, "%s%s", root, abs);
    return p;
}

/* Runs a check against the fixture root; every KB id it reports must be one
 * it declares (so docs/troubleshooting coverage, tested elsewhere, holds). */
static struct doctor_result run(const char *id)
{
    const struct doctor_check *c = doctor_check_find(id);
    ck_assert_msg(c != NULL, "no check %s", id);
    struct doctor_ctx ctx;
    doctor_ctx_init(&ctx, 0);
    snprintf(ctx.root, sizeof ctx.root, "%s", root);
    struct doctor_result r;
    memset(&r, 0, sizeof r);
    r.status = DOCTOR_CRASH;
    c->fn(&ctx, &r);
    if (r.kb[0]) {
        char padded[256], kb[48];
        snprintf(padded, sizeof padded, " %s ", c->kbs);
        snprintf(kb, sizeof kb, " %s ", r.kb);
        ck_assert_msg(strstr(padded, kb) != NULL, "%s reported %s, which it does not declare", id, r.kb);
    }
    if (r.status != DOCTOR_PASS && r.status != DOCTOR_SKIP) {
        ck_assert_msg(r.kb[0] && r.remediation[0], "%s: a %s without fix or kb: %s", id,
                      doctor_status_name(r.status), r.message);
    }
    return r;
}

#define EXPECT(id, st, text)                                                                                       \
    do {                                                                                                           \
        struct doctor_result r_ = run(id);                                                                         \
        ck_assert_msg(r_.status == (st), "%s: expected %s, got %s: %s", id, doctor_status_name(st),              \
                      doctor_status_name(r_.status), r_.message);                                                 \
        ck_assert_msg(strstr(r_.message, text) != NULL, "%s: expected '%s' in: %s", id, text, r_.message);       \
    } while (0)

/* ---- system ---- */

START_TEST(test_system_os)
{
    fx("os-release-debian12", "/etc/os-release");
    put("/proc/sys/kernel/osrelease", "6.1.0-18-amd64\n");
    EXPECT("system.os", DOCTOR_PASS, "Debian GNU/Linux 12 (bookworm), kernel 6.1.0-18-amd64, glibc ");
    unlink(under("/etc/os-release"));
    EXPECT("system.os", DOCTOR_WARN, "unknown OS");
}
END_TEST

START_TEST(test_system_arch)
{
    put("/proc/sys/kernel/arch", "x86_64\n");
    EXPECT("system.arch", DOCTOR_PASS, "x86_64");
    put("/proc/sys/kernel/arch", "aarch64\n");
    struct doctor_result r = run("system.arch");
    ck_assert_int_eq(r.status, DOCTOR_WARN);
    ck_assert_str_eq(r.kb, "TS-ARM64-PIP");
    ck_assert_ptr_nonnull(strstr(r.remediation, "NGC"));
    put("/proc/sys/kernel/arch", "riscv64\n");
    EXPECT("system.arch", DOCTOR_FAIL, "unsupported CPU architecture riscv64");
}
END_TEST

START_TEST(test_system_cpu_bf16)
{
    EXPECT("system.cpu_bf16", DOCTOR_SKIP, "not readable");
    fx("cpuinfo-x86-bf16", "/proc/cpuinfo");
    EXPECT("system.cpu_bf16", DOCTOR_PASS, "avx512_bf16, amx_bf16");
    fx("cpuinfo-arm64", "/proc/cpuinfo");
    EXPECT("system.cpu_bf16", DOCTOR_PASS, "bf16");
    fx("cpuinfo-x86-nobf16", "/proc/cpuinfo");
    EXPECT("system.cpu_bf16", DOCTOR_WARN, "i7-8700 CPU @ 3.20GHz has no bf16");
}
END_TEST

START_TEST(test_system_memory)
{
    EXPECT("system.memory", DOCTOR_SKIP, "not readable");
    fx("meminfo-ok", "/proc/meminfo");
    EXPECT("system.memory", DOCTOR_PASS, "62.5 GiB RAM, 57.2 GiB available");
    fx("meminfo-small", "/proc/meminfo");
    EXPECT("system.memory", DOCTOR_WARN, "want 8 GiB");
    fx("meminfo-exhausted", "/proc/meminfo");
    EXPECT("system.memory", DOCTOR_FAIL, "only 878.9 MiB available");
}
END_TEST

START_TEST(test_system_disk)
{
    /* The real file system holds the temp root: plenty of space here (the
     * e2e test fills a small tmpfs for the failure). */
    char p[4400];
    snprintf(p, sizeof p, "%s/home/lab", root);
    setenv("LAB_HOME", p, 1);
    setenv("LAB_CACHE", p, 1);
    struct doctor_result r = run("system.disk");
    ck_assert_msg(r.status == DOCTOR_PASS || r.status == DOCTOR_WARN, "%s", r.message);
    ck_assert_ptr_nonnull(strstr(r.message, "LAB_CACHE "));
    ck_assert_ptr_nonnull(strstr(r.message, "temp dir "));
    ck_assert_int_eq(doctor_classify_disk(512ull << 20), DOCTOR_FAIL);
    ck_assert_int_eq(doctor_classify_disk(5ull << 30), DOCTOR_WARN);
    ck_assert_int_eq(doctor_classify_disk(50ull << 30), DOCTOR_PASS);
}
END_TEST

START_TEST(test_system_noexec_tmp)
{
    setenv("TMPDIR", "/tmp", 1);
    EXPECT("system.noexec_tmp", DOCTOR_SKIP, "cannot tell");
    fx("mountinfo-tmp-noexec", "/proc/self/mountinfo");
    EXPECT("system.noexec_tmp", DOCTOR_WARN, "noexec mount (tmpfs");
    setenv("TMPDIR", "/tmp/sub/dir", 1);
    EXPECT("system.noexec_tmp", DOCTOR_WARN, "noexec");
    /* /tmpfoo is not a parent of /tmp: / holds it, and / is exec. */
    fx("mountinfo-tmp-exec", "/proc/self/mountinfo");
    setenv("TMPDIR", "/tmp", 1);
    EXPECT("system.noexec_tmp", DOCTOR_PASS, "(ext4, rw,relatime)");
}
END_TEST

/* LAB_HOME: every way it can be unusable (as root, so no permission
 * bits: a file, a path below a file, lab.db as a directory or a link). */
START_TEST(test_system_lab_home)
{
    char p[4400], f[4400], db[4500];
    snprintf(p, sizeof p, "%s/labhome", root);
    setenv("LAB_HOME", p, 1);
    EXPECT("system.lab_home", DOCTOR_PASS, "does not exist yet");
    ck_assert_int_eq(lab_mkdir_p(p), 0);
    EXPECT("system.lab_home", DOCTOR_PASS, "is writable");
    snprintf(db, sizeof db, "%s/lab.db", p);
    ck_assert_int_eq(mkdir(db, 0755), 0);
    EXPECT("system.lab_home", DOCTOR_FAIL, "lab.db is a directory");
    ck_assert_int_eq(rmdir(db), 0);
    snprintf(f, sizeof f, "%s/elsewhere", root);
    tu_write_file(f, "x", 1);
    ck_assert_int_eq(symlink(f, db), 0);
    EXPECT("system.lab_home", DOCTOR_FAIL, "lab.db is a symbolic link");
    setenv("LAB_HOME", f, 1);
    EXPECT("system.lab_home", DOCTOR_FAIL, "is not a directory");
    snprintf(p, sizeof p, "%s/below/it", f);
    setenv("LAB_HOME", p, 1);
    EXPECT("system.lab_home", DOCTOR_FAIL, "cannot be created");
    /* the probe leaves nothing behind */
    snprintf(p, sizeof p, "%s/labhome", root);
    setenv("LAB_HOME", p, 1);
    unlink(db);
    EXPECT("system.lab_home", DOCTOR_PASS, "is writable");
    char *out = NULL;
    char cmd[4600];
    snprintf(cmd, sizeof cmd, "ls -A '%s'", p);
    ck_assert_int_eq(tu_run(cmd, &out), 0);
    ck_assert_str_eq(out ? out : "", "");
    free(out);
}
END_TEST

/* ---- gpu ---- */

static void nvidia_pci(void) { put("/sys/bus/pci/devices/0000:01:00.0/vendor", "0x10de\n"); }

START_TEST(test_gpu_driver)
{
    put("/sys/bus/pci/devices/0000:00:01.0/vendor", "0x8086\n");
    EXPECT("gpu.driver", DOCTOR_WARN, "no NVIDIA driver (libnvidia-ml.so.1 not found)");
    nvidia_pci();
    EXPECT("gpu.driver", DOCTOR_FAIL, "no NVIDIA driver: an NVIDIA GPU is on the PCI bus");
    setenv("LAB_DOCTOR_NVML", fake_nvml, 1);
    setenv("FAKE_NVML_INIT", "18", 1);
    struct doctor_result r = run("gpu.driver");
    ck_assert_int_eq(r.status, DOCTOR_FAIL);
    ck_assert_ptr_nonnull(strstr(r.message, "version mismatch"));
    ck_assert_ptr_nonnull(strstr(r.remediation, "reboot"));
    setenv("FAKE_NVML_INIT", "0", 1);
    setenv("FAKE_NVML_GPUS", "NVIDIA A100-SXM4-40GB:8.0:40960:1024:0", 1);
    EXPECT("gpu.driver", DOCTOR_PASS, "driver 550.54.14, supports CUDA 12.4, 1 GPU");
    /* The same library found under the root's driver directory. */
    unsetenv("LAB_DOCTOR_NVML");
    char *data;
    size_t len;
    ck_assert_int_eq(lab_read_file(fake_nvml, 64 << 20, &data, &len), 0);
    mkd("/usr/lib/x86_64-linux-gnu");
    tu_write_file(under("/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1"), data, len);
    free(data);
    EXPECT("gpu.driver", DOCTOR_PASS, "1 GPU");
}
END_TEST

START_TEST(test_gpu_devices_and_bf16)
{
    EXPECT("gpu.devices", DOCTOR_SKIP, "no NVIDIA driver");
    EXPECT("gpu.bf16", DOCTOR_SKIP, "no NVIDIA driver");
    setenv("LAB_DOCTOR_NVML", fake_nvml, 1);
    setenv("FAKE_NVML_GPUS", "", 1);
    EXPECT("gpu.devices", DOCTOR_FAIL, "shows no GPU");
    EXPECT("gpu.bf16", DOCTOR_SKIP, "no GPU visible");
    setenv("FAKE_NVML_GPUS", "NVIDIA A100-SXM4-40GB:8.0:40960:1024:0;NVIDIA H100:9.0:81920:0:0", 1);
    EXPECT("gpu.devices", DOCTOR_PASS, "1: NVIDIA H100, 0 B / 80.0 GiB used, compute capability 9.0");
    EXPECT("gpu.bf16", DOCTOR_PASS, "native bf16 on every GPU");
    setenv("FAKE_NVML_GPUS", "NVIDIA A100-SXM4-40GB:8.0:40960:1024:0;Tesla T4:7.5:15360:12000:2", 1);
    EXPECT("gpu.devices", DOCTOR_WARN, "GPU 1 is already in use by other processes");
    EXPECT("gpu.bf16", DOCTOR_WARN, "GPU 1 (Tesla T4, compute capability 7.5) has no native bf16");
}
END_TEST

START_TEST(test_gpu_dev_nodes)
{
    mkd("/dev");
    EXPECT("gpu.dev_nodes", DOCTOR_SKIP, "no NVIDIA GPU");
    nvidia_pci();
    EXPECT("gpu.dev_nodes", DOCTOR_FAIL, "no /dev/nvidia* device nodes");
    put("/dev/nvidia0", "");
    put("/dev/nvidiactl", "");
    EXPECT("gpu.dev_nodes", DOCTOR_FAIL, "/dev/nvidia-uvm is missing");
    put("/dev/nvidia-uvm", "");
    EXPECT("gpu.dev_nodes", DOCTOR_PASS, "1 GPU node, nvidiactl and nvidia-uvm usable");
    unlink(under("/dev/nvidiactl"));
    EXPECT("gpu.dev_nodes", DOCTOR_FAIL, "no /dev/nvidiactl");
}
END_TEST

START_TEST(test_gpu_nouveau)
{
    fx("modules-nvidia", "/proc/modules");
    EXPECT("gpu.nouveau", DOCTOR_PASS, "not loaded");
    fx("modules-nouveau", "/proc/modules");
    EXPECT("gpu.nouveau", DOCTOR_FAIL, "nouveau driver is loaded");
    fx("modules-nvidia", "/proc/modules");
    mkd("/sys/module/nouveau");
    EXPECT("gpu.nouveau", DOCTOR_FAIL, "nouveau driver is loaded");
}
END_TEST

static struct ts_runtime_info fake_info;
static int fake_runtime(struct ts_runtime_info *out)
{
    *out = fake_info;
    return 0;
}

static void runtime_cuda(int cuda_runtime, int cudnn)
{
    memset(&fake_info, 0, sizeof fake_info);
    snprintf(fake_info.libtorch_version, sizeof fake_info.libtorch_version, "2.4.0");
    fake_info.cuda_compiled = 1;
    fake_info.cuda_available = 1;
    fake_info.device_count = 1;
    fake_info.cuda_runtime_version = cuda_runtime;
    fake_info.cudnn_version = cudnn;
    doctor_set_runtime_info_fn(fake_runtime);
}

START_TEST(test_gpu_cuda_version)
{
    EXPECT("gpu.cuda_version", DOCTOR_SKIP, "no NVIDIA driver");
    setenv("LAB_DOCTOR_NVML", fake_nvml, 1);
    setenv("FAKE_NVML_GPUS", "NVIDIA A100:8.0:40960:0:0", 1);
    EXPECT("gpu.cuda_version", DOCTOR_SKIP, "libtorch runtime info unavailable in this build");
    runtime_cuda(0, 0);
    fake_info.cuda_compiled = 0;
    EXPECT("gpu.cuda_version", DOCTOR_SKIP, "CPU build");
    runtime_cuda(12010, 8902);
    EXPECT("gpu.cuda_version", DOCTOR_PASS, "driver supports CUDA 12.4 >= libtorch's CUDA runtime 12.1");
    /* Same major, driver new enough for minor-version compatibility. */
    setenv("FAKE_NVML_CUDA", "12020", 1);
    setenv("FAKE_NVML_DRIVER", "535.104.05", 1);
    runtime_cuda(12040, 8902);
    EXPECT("gpu.cuda_version", DOCTOR_PASS, "minor version compatibility");
    /* Older major: fail naming the driver to install. */
    setenv("FAKE_NVML_CUDA", "11080", 1);
    setenv("FAKE_NVML_DRIVER", "520.61.05", 1);
    struct doctor_result r = run("gpu.cuda_version");
    ck_assert_int_eq(r.status, DOCTOR_FAIL);
    ck_assert_ptr_nonnull(strstr(r.message, "install driver 550.54.14 or newer"));
    ck_assert_ptr_nonnull(strstr(r.remediation, "550.54.14"));
    /* No CUDA version from NVML and no libcuda: a warning. */
    setenv("FAKE_NVML_CUDA", "0", 1);
    setenv("LAB_DOCTOR_LIBCUDA", "/nonexistent/libcuda.so.1", 1);
    EXPECT("gpu.cuda_version", DOCTOR_WARN, "does not say which CUDA");
}
END_TEST

START_TEST(test_cuda_classify)
{
    char note[512];
    ck_assert_int_eq(doctor_classify_cuda(12080, "570.86", 12040, note, sizeof note), DOCTOR_PASS);
    ck_assert_int_eq(doctor_classify_cuda(12000, "525.60.13", 12080, note, sizeof note), DOCTOR_PASS);
    ck_assert_ptr_nonnull(strstr(note, "minor version compatibility"));
    /* Same major but a driver older than the major's minimum (a CUDA 12.0 beta driver). */
    ck_assert_int_eq(doctor_classify_cuda(12000, "525.20", 12080, note, sizeof note), DOCTOR_FAIL);
    ck_assert_int_eq(doctor_classify_cuda(11040, "470.82.01", 12010, note, sizeof note), DOCTOR_FAIL);
    ck_assert_ptr_nonnull(strstr(note, "530.30.02"));
    ck_assert_str_eq(doctor_min_driver_for_cuda(12080), "570.26");
    ck_assert_str_eq(doctor_min_driver_for_cuda(11000), "450.36.06");
}
END_TEST

START_TEST(test_gpu_cudnn)
{
    fx("maps-nocudnn", "/proc/self/maps");
    EXPECT("gpu.cudnn", DOCTOR_SKIP, "no cuDNN loaded");
    runtime_cuda(12040, 8902);
    EXPECT("gpu.cudnn", DOCTOR_FAIL, "no libcudnn is mapped");
    fx("maps-cudnn8", "/proc/self/maps");
    EXPECT("gpu.cudnn", DOCTOR_PASS, "cuDNN 8902 loaded from /usr/lib/x86_64-linux-gnu/libcudnn.so.8.9.2");
    runtime_cuda(12040, 90100);
    EXPECT("gpu.cudnn", DOCTOR_FAIL, "libtorch was built with cuDNN 90100");
}
END_TEST

START_TEST(test_system_blas)
{
    const char *lab = "55d0c0a00000-55d0c0a01000 r--p 00000000 fe:00 1234 /usr/local/bin/lab\n";
    char maps[1024];
    snprintf(maps, sizeof maps, "%s%s", lab,
             "7f1200000000-7f1200400000 r-xp 00000000 fe:00 2345 /usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0\n");
    put("/proc/self/maps", maps);
    EXPECT("system.blas", DOCTOR_WARN, "use the reference BLAS (/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0)");
    ck_assert_ptr_nonnull(strstr(run("system.blas").remediation, "libopenblas0-openmp"));
    snprintf(maps, sizeof maps, "%s%s", lab,
             "7f1200000000-7f1200400000 r-xp 00000000 fe:00 2345 "
             "/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3\n");
    put("/proc/self/maps", maps);
    EXPECT("system.blas", DOCTOR_PASS, "use /usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3");
    snprintf(maps, sizeof maps, "%s%s", lab, "7f1200000000-7f1200400000 r-xp 00000000 fe:00 2345 /opt/libtorch/lib/libmkl_core.so\n");
    put("/proc/self/maps", maps);
    EXPECT("system.blas", DOCTOR_PASS, "use /opt/libtorch/lib/libmkl_core.so");
    put("/proc/self/maps", lab);
    EXPECT("system.blas", DOCTOR_PASS, "maps no system BLAS");
}
END_TEST

START_TEST(test_gpu_libtorch)
{
    EXPECT("gpu.libtorch", DOCTOR_SKIP, "libtorch runtime info unavailable in this build");
    runtime_cuda(0, 0);
    fake_info.cuda_compiled = fake_info.cuda_available = fake_info.device_count = 0;
    EXPECT("gpu.libtorch", DOCTOR_PASS, "libtorch 2.4.0 (CPU build), no GPU to use");
    setenv("LAB_DOCTOR_NVML", fake_nvml, 1);
    setenv("FAKE_NVML_GPUS", "NVIDIA A100:8.0:40960:0:0", 1);
    struct doctor_result r = run("gpu.libtorch");
    ck_assert_int_eq(r.status, DOCTOR_FAIL);
    ck_assert_str_eq(r.kb, "TS-CPU-LIBTORCH");
    ck_assert_ptr_nonnull(strstr(r.message, "is a CPU build"));
    fake_info.cuda_compiled = 1;
    EXPECT("gpu.libtorch", DOCTOR_FAIL, "(built with CUDA) cannot use them");
    runtime_cuda(12040, 8902);
    EXPECT("gpu.libtorch", DOCTOR_PASS, "libtorch 2.4.0 sees 1 GPU (CUDA runtime 12.4, cuDNN 8902)");
}
END_TEST

/* ---- container ---- */

START_TEST(test_container_detect)
{
    fx("cgroup-host", "/proc/1/cgroup");
    EXPECT("container.detect", DOCTOR_PASS, "on the host");
    fx("cgroup-docker", "/proc/1/cgroup");
    EXPECT("container.detect", DOCTOR_PASS, "inside a container: docker in /proc/1/cgroup");
    put("/run/.containerenv", "");
    EXPECT("container.detect", DOCTOR_PASS, "podman: /run/.containerenv");
    put("/.dockerenv", "");
    EXPECT("container.detect", DOCTOR_PASS, "docker: /.dockerenv");
}
END_TEST

START_TEST(test_container_shm)
{
    EXPECT("container.shm", DOCTOR_FAIL, "/dev/shm is missing");
    mkd("/dev/shm");
    /* The temp root's file system stands in; the real small /dev/shm is the
     * e2e test's (a 64 MiB tmpfs in a private mount namespace). */
    struct doctor_result r = run("container.shm");
    ck_assert_msg(r.status == DOCTOR_PASS || strstr(r.remediation, "--ipc=host"), "%s", r.message);
    ck_assert_int_eq(doctor_classify_shm(64ull << 20), DOCTOR_FAIL);
    ck_assert_int_eq(doctor_classify_shm(512ull << 20), DOCTOR_WARN);
    ck_assert_int_eq(doctor_classify_shm(1ull << 30), DOCTOR_PASS);
}
END_TEST

START_TEST(test_container_gpus)
{
    mkd("/dev");
    EXPECT("container.gpus", DOCTOR_SKIP, "not in a container");
    put("/.dockerenv", "");
    EXPECT("container.gpus", DOCTOR_WARN, "no GPU was passed in (and no NVIDIA GPU shows");
    nvidia_pci();
    struct doctor_result r = run("container.gpus");
    ck_assert_int_eq(r.status, DOCTOR_FAIL);
    ck_assert_ptr_nonnull(strstr(r.remediation, "--gpus all"));
    ck_assert_str_eq(r.kb, "TS-CONTAINER-NO-GPU");
    put("/dev/nvidia0", "");
    EXPECT("container.gpus", DOCTOR_PASS, "1 /dev/nvidia* node passed");
}
END_TEST

START_TEST(test_container_visible_devices)
{
    EXPECT("container.visible_devices", DOCTOR_PASS, "not set");
    setenv("NVIDIA_VISIBLE_DEVICES", "all", 1);
    EXPECT("container.visible_devices", DOCTOR_PASS, "NVIDIA_VISIBLE_DEVICES=all");
    setenv("NVIDIA_VISIBLE_DEVICES", "void", 1);
    EXPECT("container.visible_devices", DOCTOR_FAIL, "'void'");
    setenv("NVIDIA_VISIBLE_DEVICES", "None", 1);
    EXPECT("container.visible_devices", DOCTOR_FAIL, "passes no GPU");
}
END_TEST

static void exe(const char *abs) {
    put(abs, "#!/bin/sh\n");
    chmod(under(abs), 0755);
}

START_TEST(test_container_engine)
{
    setenv("PATH", "/usr/bin:/bin", 1);
    fx("cgroup-host", "/proc/1/cgroup");
    EXPECT("container.engine", DOCTOR_WARN, "no container engine");
    exe("/usr/bin/docker");
    EXPECT("container.engine", DOCTOR_WARN, "daemon is not reachable");
    /* A listening socket where the docker daemon's would be. */
    mkd("/var/run");
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", under("/var/run/docker.sock"));
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(fd, 4), 0);
    EXPECT("container.engine", DOCTOR_PASS, "daemon reachable");
    close(fd);
    exe("/bin/podman");
    EXPECT("container.engine", DOCTOR_PASS, "podman at /bin/podman (daemonless)");
    put("/.dockerenv", "");
    EXPECT("container.engine", DOCTOR_SKIP, "inside a container");
}
END_TEST

START_TEST(test_container_nvidia_runtime)
{
    setenv("PATH", "/usr/bin", 1);
    fx("cgroup-host", "/proc/1/cgroup");
    EXPECT("container.nvidia_runtime", DOCTOR_SKIP, "no container engine");
    exe("/usr/bin/podman");
    EXPECT("container.nvidia_runtime", DOCTOR_SKIP, "no NVIDIA GPU");
    nvidia_pci();
    EXPECT("container.nvidia_runtime", DOCTOR_WARN, "neither the nvidia runtime");
    put("/etc/cdi/nvidia.yaml", "cdiVersion: 0.5.0\nkind: nvidia.com/gpu\n");
    EXPECT("container.nvidia_runtime", DOCTOR_PASS, "CDI spec /etc/cdi/nvidia.yaml");
    unlink(under("/etc/cdi/nvidia.yaml"));
    fx("daemon-json-nvidia", "/etc/docker/daemon.json");
    EXPECT("container.nvidia_runtime", DOCTOR_PASS, "nvidia runtime in /etc/docker/daemon.json");
    put("/run/.containerenv", "");
    EXPECT("container.nvidia_runtime", DOCTOR_SKIP, "inside a container");
}
END_TEST

/* ---- caches ---- */

START_TEST(test_cache_hf_resolution)
{
    char out[4096], from[96];
    setenv("HOME", "/h", 1);
    lab_hf_hub_cache(out, sizeof out, from, sizeof from);
    ck_assert_str_eq(out, "/h/.cache/huggingface/hub");
    setenv("XDG_CACHE_HOME", "/x", 1);
    lab_hf_hub_cache(out, sizeof out, from, sizeof from);
    ck_assert_str_eq(out, "/x/huggingface/hub");
    ck_assert_str_eq(from, "XDG_CACHE_HOME + /hub");
    setenv("HF_HOME", "/hf", 1);
    lab_hf_hub_cache(out, sizeof out, from, sizeof from);
    ck_assert_str_eq(out, "/hf/hub");
    setenv("HF_HUB_CACHE", "/hub", 1);
    lab_hf_hub_cache(out, sizeof out, from, sizeof from);
    ck_assert_str_eq(out, "/hub");
    ck_assert_str_eq(from, "HF_HUB_CACHE");
}
END_TEST

START_TEST(test_cache_hf_cache)
{
    EXPECT("cache.hf_cache", DOCTOR_PASS, "not created yet");
    mkd("/home/.cache/huggingface/hub");
    EXPECT("cache.hf_cache", DOCTOR_PASS, "/home/.cache/huggingface/hub (from default ~/.cache/huggingface + /hub), writable");
    put("/afile", "x");
    char p[4400];
    snprintf(p, sizeof p, "%s/afile/hf", root);
    setenv("HF_HOME", p, 1);
    EXPECT("cache.hf_cache", DOCTOR_FAIL, "is not a directory");
}
END_TEST

START_TEST(test_cache_offline)
{
    EXPECT("cache.offline", DOCTOR_PASS, "effective: online");
    setenv("HF_HUB_OFFLINE", "TRUE", 1);
    EXPECT("cache.offline", DOCTOR_PASS, "HF_HUB_OFFLINE='TRUE', TRANSFORMERS_OFFLINE=(unset)");
    EXPECT("cache.offline", DOCTOR_PASS, "effective: offline");
    unsetenv("HF_HUB_OFFLINE");
    setenv("LAB_OFFLINE", "maybe", 1);
    EXPECT("cache.offline", DOCTOR_WARN, "LAB_OFFLINE has a value that is neither true nor false");
    ck_assert_int_eq(lab_env_truthy("On"), 1);
    ck_assert_int_eq(lab_env_truthy("yes"), 1);
    ck_assert_int_eq(lab_env_truthy("0"), 0);
    ck_assert_int_eq(lab_env_truthy("off"), 0);
    ck_assert_int_eq(lab_env_truthy("2"), -1);
}
END_TEST

/* The doctor (its report and the context that skips network checks) and
 * the dataset manifests' fetch read the offline switches through one
 * reader: for every switch and every spelling they agree. */
START_TEST(test_offline_doctor_and_manifests_agree)
{
    static const char *const on[] = {"1", "true", "TRUE", "yes", "On"};
    static const char *const off[] = {"0", "false", "off", "no", "", "maybe"};
    char cache[4400];
    snprintf(cache, sizeof cache, "%s/labcache", root);
    setenv("LAB_CACHE", cache, 1);
    unsetenv("LAB_MIRROR");
    ck_assert_int_eq(ds_registry_load(), LAB_OK);
    const json_t *entry = ds_registry_find("cifar-10");
    ck_assert_ptr_nonnull(entry);
    struct ds_fetch_opts dry = {.dry_run = 1};
    for (size_t v = 0; v < LAB_N_OFFLINE_VARS; v++) {
        for (size_t k = 0; k < sizeof on / sizeof on[0] + sizeof off / sizeof off[0]; k++) {
            int want = k < sizeof on / sizeof on[0];
            const char *value = want ? on[k] : off[k - sizeof on / sizeof on[0]];
            setenv(lab_offline_vars[v], value, 1);
            struct doctor_result r = run("cache.offline");
            int doctor_says = strstr(r.message, "effective: offline") != NULL;
            struct doctor_ctx ctx;
            doctor_ctx_init(&ctx, 0);
            int rc = ds_fetch_entry(entry, &dry);
            int manifest_says = rc == LAB_EENV && strstr(lab_err_message(), "offline") != NULL;
            ck_assert_msg(doctor_says == want && ctx.offline == want && manifest_says == want,
                          "%s='%s': expected %s; doctor report %d, doctor context %d, manifest fetch %d (%s)",
                          lab_offline_vars[v], value, want ? "offline" : "online", doctor_says, ctx.offline,
                          manifest_says, lab_err_message());
            lab_err_clear();
        }
        unsetenv(lab_offline_vars[v]);
    }
    unsetenv("LAB_CACHE");
}
END_TEST

START_TEST(test_cache_hf_token)
{
    static const char secret[] = "hf_SECRETabcdefghijklmnopqrstuvwxyz12";
    EXPECT("cache.hf_token", DOCTOR_PASS, "no Hugging Face token");
    put("/home/.cache/huggingface/token", secret);
    struct doctor_result r = run("cache.hf_token");
    ck_assert_int_eq(r.status, DOCTOR_PASS);
    ck_assert_ptr_nonnull(strstr(r.message, "/home/.cache/huggingface/token"));
    ck_assert_ptr_null(strstr(r.message, "SECRET"));
    put("/home/.cache/huggingface/token", "\n");
    EXPECT("cache.hf_token", DOCTOR_WARN, "is empty");
    setenv("HUGGING_FACE_HUB_TOKEN", secret, 1);
    r = run("cache.hf_token");
    ck_assert_int_eq(r.status, DOCTOR_PASS);
    ck_assert_ptr_nonnull(strstr(r.message, "token from HUGGING_FACE_HUB_TOKEN"));
    ck_assert_ptr_null(strstr(r.message, "SECRET"));
    setenv("HF_TOKEN", "", 1);
    EXPECT("cache.hf_token", DOCTOR_WARN, "HF_TOKEN is set but empty");
}
END_TEST

START_TEST(test_cache_hf_models)
{
    EXPECT("cache.hf_models", DOCTOR_SKIP, "no hub cache yet");
    setenv("HF_HUB_OFFLINE", "1", 1);
    EXPECT("cache.hf_models", DOCTOR_WARN, "offline, and the hub cache");
    mkd("/home/.cache/huggingface/hub/.locks");
    EXPECT("cache.hf_models", DOCTOR_WARN, "offline, and no model is cached");
    mkd("/home/.cache/huggingface/hub/models--facebook--sam-vit-base");
    mkd("/home/.cache/huggingface/hub/models--google--vit-base-patch16-224");
    mkd("/home/.cache/huggingface/hub/datasets--org--thing");
    struct doctor_result r = run("cache.hf_models");
    ck_assert_int_eq(r.status, DOCTOR_PASS);
    ck_assert_ptr_nonnull(strstr(r.message, "2 cached models"));
    ck_assert_ptr_nonnull(strstr(r.message, "facebook/sam-vit-base"));
    ck_assert_ptr_nonnull(strstr(r.message, "google/vit-base-patch16-224"));
}
END_TEST

START_TEST(test_cache_lab)
{
    char p[4400];
    snprintf(p, sizeof p, "%s/cache", root);
    setenv("LAB_CACHE", p, 1);
    EXPECT("cache.lab", DOCTOR_PASS, "(from LAB_CACHE), not created yet");
    mkd("/cache");
    EXPECT("cache.lab", DOCTOR_PASS, "(from LAB_CACHE), writable");
    put("/afile", "x");
    snprintf(p, sizeof p, "%s/afile/cache", root);
    setenv("LAB_CACHE", p, 1);
    EXPECT("cache.lab", DOCTOR_FAIL, "cannot be created");
}
END_TEST

/* ---- env ---- */

START_TEST(test_env_vars)
{
    EXPECT("env.cuda_visible_devices", DOCTOR_PASS, "not set");
    setenv("CUDA_VISIBLE_DEVICES", "1,0", 1);
    EXPECT("env.cuda_visible_devices", DOCTOR_PASS, "CUDA_VISIBLE_DEVICES=1,0");
    setenv("CUDA_VISIBLE_DEVICES", "", 1);
    EXPECT("env.cuda_visible_devices", DOCTOR_FAIL, "hides every GPU");
    setenv("CUDA_VISIBLE_DEVICES", "-1", 1);
    EXPECT("env.cuda_visible_devices", DOCTOR_FAIL, "CUDA_VISIBLE_DEVICES='-1'");

    EXPECT("env.cuda_launch_blocking", DOCTOR_PASS, "(unset)");
    setenv("CUDA_LAUNCH_BLOCKING", "1", 1);
    EXPECT("env.cuda_launch_blocking", DOCTOR_WARN, "synchronous");

    EXPECT("env.alloc_conf", DOCTOR_PASS, "not set");
    setenv("PYTORCH_CUDA_ALLOC_CONF", "expandable_segments:True,max_split_size_mb:128", 1);
    EXPECT("env.alloc_conf", DOCTOR_PASS, "tunes the CUDA caching allocator");
    setenv("PYTORCH_CUDA_ALLOC_CONF", "max_split_size_mb:128,garbage", 1);
    EXPECT("env.alloc_conf", DOCTOR_WARN, "'garbage' is not a key:value");

    EXPECT("env.profiler", DOCTOR_PASS, "no profiler");
    setenv("NSYS_PROFILING_SESSION_ID", "3", 1);
    EXPECT("env.profiler", DOCTOR_WARN, "NSYS_PROFILING_SESSION_ID");
    unsetenv("NSYS_PROFILING_SESSION_ID");
    setenv("LD_PRELOAD", "/opt/nvidia/nsight-systems/lib/libToolsInjection64.so", 1);
    EXPECT("env.profiler", DOCTOR_WARN, "LD_PRELOAD");
    unsetenv("LD_PRELOAD");
    setenv("CUDA_INJECTION64_PATH", "/x/libcupti.so", 1);
    EXPECT("env.profiler", DOCTOR_WARN, "CUDA_INJECTION64_PATH");
}
END_TEST

/* ---- network: only ever 127.0.0.1 ---- */

static int listen_local(int backlog, int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(fd, backlog), 0);
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    *port = ntohs(a.sin_port);
    return fd;
}

/* A port with nothing listening: bind, read the port, close. */
static int closed_port(void)
{
    int port, fd = listen_local(1, &port);
    close(fd);
    return port;
}

START_TEST(test_network)
{
    setenv("HF_HUB_OFFLINE", "1", 1);
    EXPECT("network.reach", DOCTOR_SKIP, "offline");
    unsetenv("HF_HUB_OFFLINE");
    int port, fd = listen_local(8, &port);
    char hosts[256];
    snprintf(hosts, sizeof hosts, "tcp:127.0.0.1:%d", port);
    setenv("LAB_DOCTOR_NET_HOSTS", hosts, 1);
    EXPECT("network.reach", DOCTOR_PASS, "all 1 hosts reachable");
    int dead = closed_port();
    snprintf(hosts, sizeof hosts, "tcp:127.0.0.1:%d tcp:127.0.0.1:%d", port, dead);
    setenv("LAB_DOCTOR_NET_HOSTS", hosts, 1);
    EXPECT("network.reach", DOCTOR_WARN, "TCP refused");
    /* TLS against a plain TCP listener that closes at once: DNS and TCP
     * pass, the handshake fails, and the message says which. */
    snprintf(hosts, sizeof hosts, "127.0.0.1:%d", dead);
    setenv("LAB_DOCTOR_NET_HOSTS", hosts, 1);
    EXPECT("network.reach", DOCTOR_FAIL, "none of 1 hosts reachable; 127.0.0.1:");
    /* A name glibc rejects before asking any DNS server (no packet leaves). */
    setenv("LAB_DOCTOR_NET_HOSTS", "tcp:no-such-host!:443", 1);
    EXPECT("network.reach", DOCTOR_FAIL, "no-such-host!:443: DNS failed (name not found)");
    close(fd);
}
END_TEST

START_TEST(test_network_tls_failure)
{
    /* A listener that accepts and closes: the TLS handshake fails. */
    int port, fd = listen_local(8, &port);
    pid_t pid = fork();
    if (pid == 0) {
        for (int i = 0; i < 4; i++) {
            int c = accept(fd, NULL, NULL);
            if (c >= 0)
                close(c);
        }
        _exit(0);
    }
    char hosts[128];
    snprintf(hosts, sizeof hosts, "127.0.0.1:%d", port);
    setenv("LAB_DOCTOR_NET_HOSTS", hosts, 1);
    EXPECT("network.reach", DOCTOR_FAIL, "DNS ok, TCP ok, TLS handshake failed");
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    close(fd);
}
END_TEST

START_TEST(test_network_tcp_timeout)
{
    /* A full accept queue drops further SYNs: the connect times out (3 s). */
    int port, fd = listen_local(0, &port);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fill[4];
    for (int i = 0; i < 4; i++) {
        fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        connect(fill[i], (struct sockaddr *)&a, sizeof a);
    }
    usleep(100 * 1000);
    char hosts[128];
    snprintf(hosts, sizeof hosts, "tcp:127.0.0.1:%d", port);
    setenv("LAB_DOCTOR_NET_HOSTS", hosts, 1);
    EXPECT("network.reach", DOCTOR_FAIL, "TCP timed out after 3 s");
    for (int i = 0; i < 4; i++)
        close(fill[i]);
    close(fd);
}
END_TEST

/* ---- smoke ---- */

START_TEST(test_smoke)
{
    EXPECT("smoke.conv", DOCTOR_SKIP, "run with --full");
    const struct doctor_check *c = doctor_check_find("smoke.conv");
    struct doctor_ctx ctx;
    doctor_ctx_init(&ctx, 1);
    snprintf(ctx.root, sizeof ctx.root, "%s", root);
    struct doctor_result r;
    c->fn(&ctx, &r);
    ck_assert_int_eq(r.status, DOCTOR_PASS);
    ck_assert_ptr_nonnull(strstr(r.message, "under bf16 autocast on cpu"));
    ck_assert_ptr_nonnull(strstr(r.message, "output dtype bf16"));
}
END_TEST

Suite *suite_doctor_checks(void)
{
    Suite *s = suite_create("doctor_checks");
    TCase *tc = tcase_create("checks");
    tcase_add_unchecked_fixture(tc, build_fake_nvml, NULL);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_system_os);
    tcase_add_test(tc, test_system_arch);
    tcase_add_test(tc, test_system_cpu_bf16);
    tcase_add_test(tc, test_system_memory);
    tcase_add_test(tc, test_system_disk);
    tcase_add_test(tc, test_system_noexec_tmp);
    tcase_add_test(tc, test_system_lab_home);
    tcase_add_test(tc, test_gpu_driver);
    tcase_add_test(tc, test_gpu_devices_and_bf16);
    tcase_add_test(tc, test_gpu_dev_nodes);
    tcase_add_test(tc, test_gpu_nouveau);
    tcase_add_test(tc, test_gpu_cuda_version);
    tcase_add_test(tc, test_cuda_classify);
    tcase_add_test(tc, test_gpu_cudnn);
    tcase_add_test(tc, test_system_blas);
    tcase_add_test(tc, test_gpu_libtorch);
    tcase_add_test(tc, test_container_detect);
    tcase_add_test(tc, test_container_shm);
    tcase_add_test(tc, test_container_gpus);
    tcase_add_test(tc, test_container_visible_devices);
    tcase_add_test(tc, test_container_engine);
    tcase_add_test(tc, test_container_nvidia_runtime);
    tcase_add_test(tc, test_cache_hf_resolution);
    tcase_add_test(tc, test_cache_hf_cache);
    tcase_add_test(tc, test_cache_offline);
    tcase_add_test(tc, test_offline_doctor_and_manifests_agree);
    tcase_add_test(tc, test_cache_hf_token);
    tcase_add_test(tc, test_cache_hf_models);
    tcase_add_test(tc, test_cache_lab);
    tcase_add_test(tc, test_env_vars);
    tcase_add_test(tc, test_network);
    tcase_add_test(tc, test_network_tls_failure);
    tcase_add_test(tc, test_network_tcp_timeout);
    tcase_add_test(tc, test_smoke);
    suite_add_tcase(s, tc);
    return s;
}
