/* GPU checks: the NVIDIA driver (through NVML, loaded with dlopen so lab runs
 * on machines without it), the GPUs, their device nodes, nouveau, the CUDA
 * version the driver supports against libtorch's runtime, the cuDNN actually
 * loaded, and whether libtorch itself sees the GPUs. */
#include "doctor/gpu.h"

#include <dirent.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim/lazy.h"
#include "shim/torchshim.h"

static doctor_runtime_info_fn runtime_info_override;
static int runtime_info_overridden;

void doctor_set_runtime_info_fn(doctor_runtime_info_fn fn)
{
    runtime_info_override = fn;
    runtime_info_overridden = 1;
}

doctor_runtime_info_fn doctor_get_runtime_info_fn(void)
{
    if (runtime_info_overridden)
        return runtime_info_override;
    return ts_runtime_info_get;
}

static const char *const lib_dirs[] = {
    "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/lib/wsl/lib",
    "/usr/local/nvidia/lib64",   "/usr/local/cuda/compat",
};

/* dlopen a driver library: by name on the real machine, by path under the
 * test root otherwise. */
static void *open_driver_lib(const struct doctor_ctx *ctx, const char *env, const char *soname, char *err, size_t cap)
{
    const char *forced = getenv(env);
    void *h = NULL;
    if (forced && *forced) {
        h = dlopen(forced, RTLD_NOW | RTLD_LOCAL);
    } else if (ctx->root[0]) {
        for (size_t i = 0; !h && i < sizeof lib_dirs / sizeof lib_dirs[0]; i++) {
            char rel[512], path[2048];
            snprintf(rel, sizeof rel, "%s/%s", lib_dirs[i], soname);
            if (access(doctor_path(ctx, rel, path, sizeof path), F_OK) == 0)
                h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        }
        if (!h) {
            snprintf(err, cap, "%s not found under %s", soname, ctx->root);
            return NULL;
        }
    } else {
        h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    }
    if (!h) {
        const char *e = dlerror();
        snprintf(err, cap, "%s", e ? e : "dlopen failed");
    }
    return h;
}

typedef int (*nvml_void_fn)(void);
typedef int (*nvml_str_fn)(char *, unsigned);
typedef int (*nvml_int_fn)(int *);
typedef int (*nvml_uint_fn)(unsigned *);
typedef int (*nvml_handle_fn)(unsigned, void **);
typedef int (*nvml_name_fn)(void *, char *, unsigned);
struct nvml_memory {
    unsigned long long total, free, used;
};
typedef int (*nvml_mem_fn)(void *, struct nvml_memory *);
typedef int (*nvml_cc_fn)(void *, int *, int *);
typedef int (*nvml_procs_fn)(void *, unsigned *, void *);
typedef const char *(*nvml_errstr_fn)(int);
typedef int (*cu_version_fn)(int *);

void doctor_nvml_probe(const struct doctor_ctx *ctx, struct doctor_nvml *out)
{
    memset(out, 0, sizeof *out);
    void *h = open_driver_lib(ctx, "LAB_DOCTOR_NVML", "libnvidia-ml.so.1", out->lib_error, sizeof out->lib_error);
    if (!h)
        return;
    nvml_void_fn init = (nvml_void_fn)dlsym(h, "nvmlInit_v2");
    nvml_void_fn shutdown = (nvml_void_fn)dlsym(h, "nvmlShutdown");
    nvml_errstr_fn errstr = (nvml_errstr_fn)dlsym(h, "nvmlErrorString");
    if (!init) {
        snprintf(out->lib_error, sizeof out->lib_error, "libnvidia-ml.so.1 has no nvmlInit_v2 (driver too old)");
        dlclose(h);
        return;
    }
    out->lib_found = 1;
    out->init_rc = init();
    if (out->init_rc != 0) {
        snprintf(out->init_error, sizeof out->init_error, "%s", errstr ? errstr(out->init_rc) : "NVML error");
        dlclose(h);
        return;
    }
    nvml_str_fn drv = (nvml_str_fn)dlsym(h, "nvmlSystemGetDriverVersion");
    if (drv && drv(out->driver, sizeof out->driver) != 0)
        out->driver[0] = '\0';
    nvml_int_fn cuda = (nvml_int_fn)dlsym(h, "nvmlSystemGetCudaDriverVersion_v2");
    if (!cuda)
        cuda = (nvml_int_fn)dlsym(h, "nvmlSystemGetCudaDriverVersion");
    if (!cuda || cuda(&out->cuda_driver) != 0)
        out->cuda_driver = 0;
    nvml_uint_fn count = (nvml_uint_fn)dlsym(h, "nvmlDeviceGetCount_v2");
    nvml_handle_fn handle = (nvml_handle_fn)dlsym(h, "nvmlDeviceGetHandleByIndex_v2");
    nvml_name_fn name = (nvml_name_fn)dlsym(h, "nvmlDeviceGetName");
    nvml_mem_fn mem = (nvml_mem_fn)dlsym(h, "nvmlDeviceGetMemoryInfo");
    nvml_cc_fn cc = (nvml_cc_fn)dlsym(h, "nvmlDeviceGetCudaComputeCapability");
    nvml_procs_fn procs = (nvml_procs_fn)dlsym(h, "nvmlDeviceGetComputeRunningProcesses");
    unsigned n = 0;
    if (count && count(&n) == 0) {
        out->count = n > DOCTOR_MAX_GPUS ? DOCTOR_MAX_GPUS : (int)n;
        for (int i = 0; handle && i < out->count; i++) {
            struct doctor_gpu *g = &out->gpus[i];
            void *dev = NULL;
            if (handle((unsigned)i, &dev) != 0)
                continue;
            if (!name || name(dev, g->name, sizeof g->name) != 0)
                snprintf(g->name, sizeof g->name, "GPU %d", i);
            struct nvml_memory m;
            if (mem && mem(dev, &m) == 0) {
                g->mem_total = m.total;
                g->mem_used = m.used;
            }
            if (cc)
                cc(dev, &g->cc_major, &g->cc_minor);
            /* Asking with room for none returns just the count. */
            unsigned np = 0;
            if (procs) {
                procs(dev, &np, NULL);
                g->processes = (int)np;
            }
        }
    }
    if (shutdown)
        shutdown();
    dlclose(h);
    /* NVML too old for the CUDA query: ask the CUDA driver itself. */
    if (out->cuda_driver == 0) {
        char err[256];
        void *cu = open_driver_lib(ctx, "LAB_DOCTOR_LIBCUDA", "libcuda.so.1", err, sizeof err);
        cu_version_fn v = cu ? (cu_version_fn)dlsym(cu, "cuDriverGetVersion") : NULL;
        if (v && v(&out->cuda_driver) != 0)
            out->cuda_driver = 0;
        if (cu)
            dlclose(cu);
    }
}

static const char *cuda_str(int v, char *buf, size_t cap)
{
    snprintf(buf, cap, "%d.%d", v / 1000, (v % 1000) / 10);
    return buf;
}

#define INSTALL_DRIVER                                                                                          \
    "install the NVIDIA driver (Debian: `sudo apt install nvidia-driver`; Ubuntu: `sudo ubuntu-drivers install`) " \
    "and reboot"

static void check_driver(const struct doctor_ctx *ctx, struct doctor_result *r)
{
    struct doctor_nvml n;
    doctor_nvml_probe(ctx, &n);
    int pci = doctor_nvidia_pci_present(ctx);
    if (!n.lib_found) {
        if (pci)
            doctor_set(r, DOCTOR_FAIL, "TS-NO-DRIVER", INSTALL_DRIVER,
                       "no NVIDIA driver: an NVIDIA GPU is on the PCI bus but libnvidia-ml.so.1 cannot be loaded (%s)",
                       n.lib_error);
        else
            doctor_set(r, DOCTOR_WARN, "TS-NO-DRIVER",
                       "on a machine with an NVIDIA GPU, " INSTALL_DRIVER "; on this one, run labs with `--device cpu`",
                       "no NVIDIA driver (libnvidia-ml.so.1 not found) and no NVIDIA GPU on the PCI bus: labs run on "
                       "the CPU only, slowly");
        return;
    }
    if (n.init_rc != 0) {
        int mismatch = n.init_rc == 18; /* NVML_ERROR_LIB_RM_VERSION_MISMATCH */
        doctor_set(r, DOCTOR_FAIL, "TS-NO-DRIVER",
                   mismatch ? "the driver was upgraded but the old kernel module is still loaded: reboot"
                            : INSTALL_DRIVER,
                   "the NVIDIA driver library loads but NVML cannot start: %s (error %d)", n.init_error, n.init_rc);
        return;
    }
    char cv[16];
    doctor_set(r, DOCTOR_PASS, NULL, NULL, "driver %s, supports CUDA %s, %d GPU%s", n.driver[0] ? n.driver : "?",
               n.cuda_driver ? cuda_str(n.cuda_driver, cv, sizeof cv) : "?", n.count, n.count == 1 ? "" : "s");
}

static int probe_gpus(const struct doctor_ctx *ctx, struct doctor_nvml *n, struct doctor_result *r)
{
    doctor_nvml_probe(ctx, n);
    if (!n->lib_found || n->init_rc != 0) {
        doctor_set(r, DOCTOR_SKIP, NULL, NULL, "no NVIDIA driver (see gpu.driver)");
        return 0;
    }
    return 1;
}

static void check_devices(const struct doctor_ctx *ctx, struct doctor_result *r)
{
    struct doctor_nvml n;
    if (!probe_gpus(ctx, &n, r))
        return;
    if (n.count == 0) {
        doctor_set(r, DOCTOR_FAIL, "TS-CONTAINER-NO-GPU",
                   "in a container, start it with `--gpus all` (docker) or `--device nvidia.com/gpu=all` (podman); "
                   "otherwise check `nvidia-smi`",
                   "the driver (%s) is loaded but shows no GPU", n.driver);
        return;
    }
    int busy = -1;
    doctor_set(r, DOCTOR_PASS, NULL, NULL, "%d GPU%s", n.count, n.count == 1 ? "" : "s");
    for (int i = 0; i < n.count; i++) {
        const struct doctor_gpu *g = &n.gpus[i];
        char used[32], total[32];
        doctor_append(r, "; %d: %s, %s / %s used, compute capability %d.%d, %d process%s", i, g->name,
                      doctor_bytes(g->mem_used, used, sizeof used), doctor_bytes(g->mem_total, total, sizeof total),
                      g->cc_major, g->cc_minor, g->processes, g->processes == 1 ? "" : "es");
        if (busy < 0 && (g->processes > 0 || (g->mem_total && g->mem_used > g->mem_total / 2)))
            busy = i;
    }
    if (busy >= 0) {
        r->status = DOCTOR_WARN;
        snprintf(r->kb, sizeof r->kb, "TS-CUDA-OOM");
        snprintf(r->remediation, sizeof r->remediation,
                 "see who uses it with `nvidia-smi` and stop it, or pick a free GPU with CUDA_VISIBLE_DEVICES=<n>");
        doctor_append(r, "; GPU %d is already in use by other processes: expect out-of-memory errors", busy);
    }
}

static void check_bf16(const struct doctor_ctx *ctx, struct doctor_result *r)
{
    struct doctor_nvml n;
    if (!probe_gpus(ctx, &n, r))
        return;
    if (n.count == 0) {
        doctor_set(r, DOCTOR_SKIP, NULL, NULL, "no GPU visible");
        return;
    }
    for (int i = 0; i < n.count; i++)
        if (n.gpus[i].cc_major < 8) {
            doctor_set(r, DOCTOR_WARN, "TS-BF16-UNSUPPORTED",
                       "run with `--precision fp16` (or fp32) on this GPU",
                       "GPU %d (%s, compute capability %d.%d) has no native bf16 (needs 8.0, Ampere or newer): bf16 "
                       "autocast is emulated and slow",
                       i, n.gpus[i].name, n.gpus[i].cc_major, n.gpus[i].cc_minor);
            return;
        }
    doctor_set(r, DOCTOR_PASS, NULL, NULL, "native bf16 on every GPU (compute capability >= 8.0)");
}

static void check_dev_nodes(const struct doctor_ctx *ctx, struct doctor_result *r)
{
    char dir[2048];
    DIR *d = opendir(doctor_path(ctx, "/dev", dir, sizeof dir));
    int gpus = 0, ctl = 0, uvm = 0, unusable = 0;
    char bad[256] = "";
    struct dirent *e;
    while (d && (e = readdir(d))) {
        const char *nm = e->d_name;
        int is_gpu = strncmp(nm, "nvidia", 6) == 0 && nm[6] >= '0' && nm[6] <= '9';
        int is_ctl = strcmp(nm, "nvidiactl") == 0, is_uvm = strcmp(nm, "nvidia-uvm") == 0;
        if (!is_gpu && !is_ctl && !is_uvm)
            continue;
        gpus += is_gpu;
        ctl |= is_ctl;
        uvm |= is_uvm;
        char path[2100];
        snprintf(path, sizeof path, "%s/%s", dir, nm);
        if (access(path, R_OK | W_OK) != 0 && !unusable++)
            snprintf(bad, sizeof bad, "/dev/%s", nm);
    }
    if (d)
        closedir(d);
    int expected = doctor_nvidia_pci_present(ctx);
    if (!expected && !gpus && !ctl) {
        struct doctor_nvml n;
        doctor_nvml_probe(ctx, &n);
        expected = n.lib_found;
    }
    if (!gpus && !ctl && !uvm) {
        if (expected)
            doctor_set(r, DOCTOR_FAIL, "TS-CONTAINER-NO-GPU",
                       "in a container start it with `--gpus all`; on the host load the driver: `sudo modprobe nvidia`",
                       "no /dev/nvidia* device nodes although an NVIDIA GPU or driver is present");
        else
            doctor_set(r, DOCTOR_SKIP, NULL, NULL, "no NVIDIA GPU and no /dev/nvidia* nodes");
        return;
    }
    if (unusable)
        doctor_set(r, DOCTOR_FAIL, "TS-NO-DRIVER",
                   "add yourself to the group owning the device (`sudo usermod -aG video $USER`, then log in again)",
                   "%s is not readable and writable by this user", bad);
    else if (!ctl || !gpus)
        doctor_set(r, DOCTOR_FAIL, "TS-NO-DRIVER", "load the driver: `sudo modprobe nvidia` (or reboot)",
                   "incomplete device nodes: %s%s", ctl ? "" : "no /dev/nvidiactl ", gpus ? "" : "no /dev/nvidia<N>");
    else if (!uvm)
        doctor_set(r, DOCTOR_FAIL, "TS-NO-DRIVER", "create it: `sudo nvidia-modprobe -u -c=0` (or `sudo modprobe nvidia-uvm`)",
                   "/dev/nvidia-uvm is missing: CUDA cannot allocate memory without it");
    else
        doctor_set(r, DOCTOR_PASS, NULL, NULL, "%d GPU node%s, nvidiactl and nvidia-uvm usable", gpus,
                   gpus == 1 ? "" : "s");
}

static void check_nouveau(const struct doctor_ctx *ctx, struct doctor_result *r)
{
    char *mods = doctor_read(ctx, "/proc/modules");
    int loaded = doctor_exists(ctx, "/sys/module/nouveau") || (mods && (strncmp(mods, "nouveau ", 8) == 0 ||
                                                                        strstr(mods, "\nnouveau ")));
    free(mods);
    if (loaded)
        doctor_set(r, DOCTOR_FAIL, "TS-NOUVEAU",
                   "blacklist nouveau: `echo blacklist nouveau | sudo tee /etc/modprobe.d/blacklist-nouveau.conf && "
                   "sudo update-initramfs -u`, install the NVIDIA driver, reboot",
                   "the open-source nouveau driver is loaded: it holds the GPU, so the NVIDIA driver and CUDA cannot");
    else
        doctor_set(r, DOCTOR_PASS, NULL, NULL, "nouveau is not loaded");
}

const char *doctor_min_driver_for_cuda(int v)
{
    static const struct {
        int cuda;
        const char *driver;
    } table[] = {
        {13000, "580.65.06"}, {12090, "575.51.03"}, {12080, "570.26"},    {12060, "560.28.03"},
        {12050, "555.42.02"}, {12040, "550.54.14"}, {12030, "545.23.06"}, {12020, "535.54.03"},
        {12010, "530.30.02"}, {12000, "525.60.13"}, {11080, "520.61.05"}, {11070, "515.43.04"},
        {11060, "510.39.01"}, {11050, "495.29.05"}, {11040, "470.42.01"}, {11030, "465.19.01"},
        {11020, "460.27.03"}, {11010, "455.23.04"}, {11000, "450.36.06"},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (v >= table[i].cuda)
            return table[i].driver;
    return "450.36.06";
}

/* The minimum driver for a CUDA major under minor-version compatibility. */
static const char *min_driver_for_major(int major)
{
    return doctor_min_driver_for_cuda(major * 1000);
}

static int version_ge(const char *a, const char *b)
{
    while (*a || *b) {
        long x = strtol(a, (char **)&a, 10), y = strtol(b, (char **)&b, 10);
        if (x != y)
            return x > y;
        if (*a == '.')
            a++;
        if (*b == '.')
            b++;
        if (!*a && !*b)
            break;
    }
    return 1;
}

enum doctor_status doctor_classify_cuda(int driver_cuda, const char *driver_version, int runtime_cuda, char *note,
                                        size_t cap)
{
    char d[16], rt[16];
    cuda_str(driver_cuda, d, sizeof d);
    cuda_str(runtime_cuda, rt, sizeof rt);
    if (driver_cuda >= runtime_cuda) {
        snprintf(note, cap, "driver supports CUDA %s >= libtorch's CUDA runtime %s", d, rt);
        return DOCTOR_PASS;
    }
    const char *need = min_driver_for_major(runtime_cuda / 1000);
    if (driver_cuda / 1000 == runtime_cuda / 1000 && driver_version && *driver_version &&
        version_ge(driver_version, need)) {
        snprintf(note, cap,
                 "driver supports CUDA %s < runtime %s, but driver %s >= %s runs any CUDA %d.x runtime (minor "
                 "version compatibility; PTX JIT of newer kernels is not available)",
                 d, rt, driver_version, need, runtime_cuda / 1000);
        return DOCTOR_PASS;
    }
    snprintf(note, cap, "driver %s supports CUDA %s, but libtorch was built with CUDA %s: install driver %s or newer",
             driver_version && *driver_version ? driver_version : "?", d, rt, doctor_min_driver_for_cuda(runtime_cuda));
    return DOCTOR_FAIL;
}

static int runtime(struct ts_runtime_info *info, struct doctor_result *r)
{
    doctor_runtime_info_fn fn = doctor_get_runtime_info_fn();
    memset(info, 0, sizeof *info);
    if (!fn) {
        doctor_set(r, DOCTOR_SKIP, NULL, NULL, "libtorch runtime info unavailable in this build");
        return 0;
    }
    if (fn(info) != 0) {
        if (fn == ts_runtime_info_get && *ts_lazy_error())
            doctor_set(r, DOCTOR_FAIL, "TS-LIBTORCH-MISSING", ts_lazy_fix(), "%s", ts_lazy_reason());
        else
            doctor_set(r, DOCTOR_SKIP, NULL, NULL, "libtorch could not report its runtime");
        return 0;
    }
    return 1;
}

static void check_cuda_version(const struct doctor_ctx *ctx, struct doctor_result *r)
{
    struct doctor_nvml n;
    if (!probe_gpus(ctx, &n, r))
        return;
    struct ts_runtime_info info;
    if (!runtime(&info, r))
        return;
    if (!info.cuda_compiled || info.cuda_runtime_version == 0) {
        doctor_set(r, DOCTOR_SKIP, NULL, NULL, "libtorch %s has no CUDA runtime (CPU build; see gpu.libtorch)",
                   info.libtorch_version);
        return;
    }
    if (n.cuda_driver == 0) {
        doctor_set(r, DOCTOR_WARN, "TS-DRIVER-CUDA-MISMATCH", "update the NVIDIA driver",
                   "driver %s does not say which CUDA it supports", n.driver);
        return;
    }
    char note[512];
    enum doctor_status s = doctor_classify_cuda(n.cuda_driver, n.driver, info.cuda_runtime_version, note, sizeof note);
    if (s == DOCTOR_PASS) {
        doctor_set(r, DOCTOR_PASS, NULL, NULL, "%s", note);
    } else {
        char fix[256];
        snprintf(fix, sizeof fix,
                 "install NVIDIA driver %s or newer, or use a libtorch built for the CUDA your driver supports",
                 doctor_min_driver_for_cuda(info.cuda_runtime_version));
        doctor_set(r, DOCTOR_FAIL, "TS-DRIVER-CUDA-MISMATCH", fix, "%s", note);
    }
}

/* libcudnn.so*, not libcudnn_ops etc. */
static int is_libcudnn(const char *base)
{
    return strncmp(base, "libcudnn", 8) == 0 && strstr(base, ".so") && (base[8] == '.' || base[8] == '-');
}

/* The cuDNN this process mapped. */
static void check_cudnn(const struct doctor_ctx *ctx, struct doctor_result *r)
{
    /* Asked first: that loads libtorch (lazily loaded), and with it cuDNN. */
    struct ts_runtime_info info;
    doctor_runtime_info_fn fn = doctor_get_runtime_info_fn();
    memset(&info, 0, sizeof info);
    int have_info = fn && fn(&info) == 0;
    char path[1024] = "";
    doctor_mapped_lib(ctx, is_libcudnn, path, sizeof path);
    if (!path[0]) {
        if (have_info && info.cudnn_version > 0)
            doctor_set(r, DOCTOR_FAIL, "TS-CPU-LIBTORCH",
                       "make sure libcudnn is on the library path (LD_LIBRARY_PATH) next to libtorch",
                       "libtorch reports cuDNN %d but no libcudnn is mapped into this process", info.cudnn_version);
        else
            doctor_set(r, DOCTOR_SKIP, NULL, NULL, "no cuDNN loaded (libtorch without CUDA)");
        return;
    }
    long loaded = 0;
    if (!ctx->root[0]) {
        void *h = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
        size_t (*get)(void) = h ? (size_t(*)(void))dlsym(h, "cudnnGetVersion") : NULL;
        if (get)
            loaded = (long)get();
        if (h)
            dlclose(h);
    } else {
        /* A fixture: the version from the file name, libcudnn.so.8.9.2. */
        const char *v = strstr(path, ".so.");
        int a = 0, b = 0, c = 0;
        if (v && sscanf(v + 4, "%d.%d.%d", &a, &b, &c) >= 1)
            loaded = a >= 9 ? a * 10000 + b * 100 + c : a * 1000 + b * 100 + c;
    }
    long major = loaded >= 90000 ? loaded / 10000 : loaded / 1000;
    long want_major = info.cudnn_version >= 90000 ? info.cudnn_version / 10000 : info.cudnn_version / 1000;
    if (have_info && info.cudnn_version > 0 && loaded > 0 && major != want_major)
        doctor_set(r, DOCTOR_FAIL, "TS-DRIVER-CUDA-MISMATCH",
                   "remove the other cuDNN from LD_LIBRARY_PATH so the one libtorch was built with is loaded",
                   "cuDNN %ld is loaded from %s but libtorch was built with cuDNN %d", loaded, path,
                   info.cudnn_version);
    else
        doctor_set(r, DOCTOR_PASS, NULL, NULL, "cuDNN %ld loaded from %s", loaded, path);
}

static void check_libtorch(const struct doctor_ctx *ctx, struct doctor_result *r)
{
    struct ts_runtime_info info;
    if (!runtime(&info, r))
        return;
    struct doctor_nvml n;
    doctor_nvml_probe(ctx, &n);
    int nvml_gpus = n.lib_found && n.init_rc == 0 ? n.count : 0;
    if (nvml_gpus > 0 && !info.cuda_available) {
        if (!info.cuda_compiled)
            doctor_set(r, DOCTOR_FAIL, "TS-CPU-LIBTORCH",
                       "rebuild lab against a CUDA libtorch (`make TORCH_DIR=/path/to/libtorch-cuda`) or use the "
                       "course's container image",
                       "the driver sees %d GPU%s but libtorch %s is a CPU build: everything runs on the CPU", nvml_gpus,
                       nvml_gpus == 1 ? "" : "s", info.libtorch_version);
        else
            doctor_set(r, DOCTOR_FAIL, "TS-DRIVER-CUDA-MISMATCH",
                       "check gpu.cuda_version and CUDA_VISIBLE_DEVICES; make sure libtorch_cuda is linked (a build "
                       "with --as-needed drops it)",
                       "the driver sees %d GPU%s but libtorch %s (built with CUDA) cannot use them", nvml_gpus,
                       nvml_gpus == 1 ? "" : "s", info.libtorch_version);
        return;
    }
    if (info.cuda_available)
        doctor_set(r, DOCTOR_PASS, NULL, NULL, "libtorch %s sees %d GPU%s (CUDA runtime %d.%d, cuDNN %d)",
                   info.libtorch_version, info.device_count, info.device_count == 1 ? "" : "s",
                   info.cuda_runtime_version / 1000, (info.cuda_runtime_version % 1000) / 10, info.cudnn_version);
    else
        doctor_set(r, DOCTOR_PASS, NULL, NULL, "libtorch %s (%s build), no GPU to use: labs run on the CPU",
                   info.libtorch_version, info.cuda_compiled ? "CUDA" : "CPU");
}

const struct doctor_check doctor_gpu_checks[] = {
    {"gpu.driver", "gpu", "NVIDIA driver loaded (NVML)", check_driver, 0, "TS-NO-DRIVER"},
    {"gpu.devices", "gpu", "GPUs: names, memory, compute capability, other processes", check_devices, 0,
     "TS-CONTAINER-NO-GPU TS-CUDA-OOM"},
    {"gpu.bf16", "gpu", "native bf16 (compute capability >= 8.0)", check_bf16, 0, "TS-BF16-UNSUPPORTED"},
    {"gpu.dev_nodes", "gpu", "/dev/nvidia* nodes present and usable", check_dev_nodes, 0,
     "TS-CONTAINER-NO-GPU TS-NO-DRIVER"},
    {"gpu.nouveau", "gpu", "nouveau driver not bound", check_nouveau, 0, "TS-NOUVEAU"},
    {"gpu.cuda_version", "gpu", "driver CUDA version vs libtorch's CUDA runtime", check_cuda_version, 0,
     "TS-DRIVER-CUDA-MISMATCH"},
    {"gpu.cudnn", "gpu", "cuDNN actually loaded", check_cudnn, 0, "TS-CPU-LIBTORCH TS-DRIVER-CUDA-MISMATCH"},
    {"gpu.libtorch", "gpu", "libtorch sees the GPUs", check_libtorch, 0,
     "TS-CPU-LIBTORCH TS-DRIVER-CUDA-MISMATCH TS-LIBTORCH-MISSING"},
    {NULL, NULL, NULL, NULL, 0, NULL},
};
