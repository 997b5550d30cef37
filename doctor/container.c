/* Container checks: inside one or not, /dev/shm size, GPUs passed in,
 * NVIDIA_VISIBLE_DEVICES; on the host, a container engine, its daemon, and
 * the NVIDIA runtime or a CDI spec. */
#include "doctor/doctor.h"

#include "base/host.h"
#include "doctor/gpu.h"

#include <dirent.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <sys/un.h>
#include <unistd.h>

#define MIB (1024ull * 1024)

static void check_detect(const struct doctor_ctx *ctx, struct doctor_result *r)
{
    char how[128];
    if (doctor_in_container(ctx, how, sizeof how))
        doctor_set(r, DOCTOR_PASS, NULL, NULL, "inside a container: %s", how);
    else
        doctor_set(r, DOCTOR_PASS, NULL, NULL, "on the host (%s)", how);
}

enum doctor_status doctor_classify_shm(uint64_t size_bytes)
{
    if (size_bytes < 256 * MIB)
        return DOCTOR_FAIL;
    if (size_bytes < 1024 * MIB)
        return DOCTOR_WARN;
    return DOCTOR_PASS;
}

static void check_shm(const struct doctor_ctx *ctx, struct doctor_result *r)
{
    char path[2048];
    struct statvfs sv;
    if (statvfs(doctor_path(ctx, "/dev/shm", path, sizeof path), &sv) != 0) {
        doctor_set(r, DOCTOR_FAIL, "TS-IPC-HOST",
                   "start the container with `--ipc=host` (or `--shm-size=8g`); on the host mount a tmpfs on /dev/shm",
                   "/dev/shm is missing: data-loading workers cannot share memory");
        return;
    }
    uint64_t size = (uint64_t)sv.f_blocks * sv.f_frsize, avail = (uint64_t)sv.f_bavail * sv.f_frsize;
    char s[32], a[32];
    doctor_bytes(size, s, sizeof s);
    doctor_bytes(avail, a, sizeof a);
    /* What is left matters as much as the size: a full /dev/shm hangs too. */
    enum doctor_status st = doctor_classify_shm(size < avail ? size : avail);
    if (st == DOCTOR_PASS)
        doctor_set(r, DOCTOR_PASS, NULL, NULL, "/dev/shm %s, %s free", s, a);
    else
        doctor_set(r, st, "TS-IPC-HOST",
                   "start the container with `--ipc=host` (or `--shm-size=8g`)",
                   "/dev/shm is only %s (%s free), under 1 GiB: data-loading workers will hang or die with a bus "
                   "error (docker's default is 64 MiB)",
                   s, a);
}

static int count_nvidia_nodes(const struct doctor_ctx *ctx)
{
    char dir[2048];
    DIR *d = opendir(doctor_path(ctx, "/dev", dir, sizeof dir));
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += strncmp(e->d_name, "nvidia", 6) == 0;
    if (d)
        closedir(d);
    return n;
}

static void check_gpus_passed(const struct doctor_ctx *ctx, struct doctor_result *r)
{
    char how[128];
    if (!doctor_in_container(ctx, how, sizeof how)) {
        doctor_set(r, DOCTOR_SKIP, NULL, NULL, "not in a container");
        return;
    }
    int nodes = count_nvidia_nodes(ctx);
    if (nodes > 0) {
        doctor_set(r, DOCTOR_PASS, NULL, NULL, "%d /dev/nvidia* node%s passed into the container", nodes,
                   nodes == 1 ? "" : "s");
        return;
    }
    /* sysfs shows the host's PCI devices even when no GPU was passed in. */
    int host_gpu = doctor_nvidia_pci_present(ctx);
    doctor_set(r, host_gpu ? DOCTOR_FAIL : DOCTOR_WARN, "TS-CONTAINER-NO-GPU",
               "restart the container with `--gpus all` (docker) or `--device nvidia.com/gpu=all` (podman with CDI)",
               "inside a container (%s) with no /dev/nvidia* device: no GPU was passed in%s", how,
               host_gpu ? ", although the host has an NVIDIA GPU" : " (and no NVIDIA GPU shows on the PCI bus)");
}

static void check_visible_devices(const struct doctor_ctx *ctx, struct doctor_result *r)
{
    (void)ctx;
    const char *v = getenv("NVIDIA_VISIBLE_DEVICES");
    if (!v) {
        doctor_set(r, DOCTOR_PASS, NULL, NULL, "NVIDIA_VISIBLE_DEVICES is not set");
        return;
    }
    if (!*v || strcasecmp(v, "void") == 0 || strcasecmp(v, "none") == 0)
        doctor_set(r, DOCTOR_FAIL, "TS-CONTAINER-NO-GPU",
                   "start the container with `--gpus all` or `-e NVIDIA_VISIBLE_DEVICES=all`",
                   "NVIDIA_VISIBLE_DEVICES='%s': the NVIDIA container runtime passes no GPU in", v);
    else
        doctor_set(r, DOCTOR_PASS, NULL, NULL, "NVIDIA_VISIBLE_DEVICES=%s", v);
}


int doctor_in_path(const struct doctor_ctx *ctx, const char *name, char *found, size_t cap)
{
    return lab_host_in_path(ctx->root, name, found, cap);
}

int doctor_socket_reachable(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

void doctor_docker_socket(const struct doctor_ctx *ctx, char *out, size_t cap)
{
    const char *host = getenv("DOCKER_HOST");
    if (host && strncmp(host, "unix://", 7) == 0)
        snprintf(out, cap, "%s", host + 7);
    else
        doctor_path(ctx, "/var/run/docker.sock", out, cap);
}

static void check_engine(const struct doctor_ctx *ctx, struct doctor_result *r)
{
    char how[128], docker[2048] = "", podman[2048] = "";
    if (doctor_in_container(ctx, how, sizeof how)) {
        doctor_set(r, DOCTOR_SKIP, NULL, NULL, "inside a container");
        return;
    }
    int has_docker = doctor_in_path(ctx, "docker", docker, sizeof docker);
    int has_podman = doctor_in_path(ctx, "podman", podman, sizeof podman);
    if (!has_docker && !has_podman) {
        doctor_set(r, DOCTOR_WARN, "TS-CONTAINER-TOOLKIT",
                   "to use the course's container image install podman (`sudo apt install podman`) or docker",
                   "no container engine (docker or podman) in PATH: only native runs are possible");
        return;
    }
    if (has_podman) {
        doctor_set(r, DOCTOR_PASS, NULL, NULL, "podman at %s (daemonless)%s%s", podman, has_docker ? "; docker at " : "",
                   has_docker ? docker : "");
        return;
    }
    char sock[2048];
    doctor_docker_socket(ctx, sock, sizeof sock);
    if (doctor_socket_reachable(sock))
        doctor_set(r, DOCTOR_PASS, NULL, NULL, "docker at %s, daemon reachable at %s", docker, sock);
    else if (access(sock, F_OK) == 0 && access(sock, W_OK) != 0) /* there, but not for us */
        doctor_set(r, DOCTOR_WARN, "TS-ENGINE-SOCKET",
                   "add yourself to the docker group (`sudo usermod -aG docker $USER`, then log in again), "
                   "or use podman",
                   "docker at %s but no permission on its socket %s", docker, sock);
    else
        doctor_set(r, DOCTOR_WARN, "TS-ENGINE-DAEMON",
                   "start the daemon (`sudo systemctl start docker`), or use podman (no daemon needed)",
                   "docker at %s but its daemon is not reachable at %s", docker, sock);
}

static int has_glob(const struct doctor_ctx *ctx, const char *pattern, char *first, size_t cap)
{
    char full[2048];
    glob_t g;
    int n = 0;
    if (glob(doctor_path(ctx, pattern, full, sizeof full), 0, NULL, &g) == 0) {
        n = (int)g.gl_pathc;
        if (n)
            snprintf(first, cap, "%s", g.gl_pathv[0] + strlen(ctx->root));
        globfree(&g);
    }
    return n;
}

static void check_nvidia_runtime(const struct doctor_ctx *ctx, struct doctor_result *r)
{
    char how[128], tool[2048];
    if (doctor_in_container(ctx, how, sizeof how)) {
        doctor_set(r, DOCTOR_SKIP, NULL, NULL, "inside a container");
        return;
    }
    if (!doctor_in_path(ctx, "docker", tool, sizeof tool) && !doctor_in_path(ctx, "podman", tool, sizeof tool)) {
        doctor_set(r, DOCTOR_SKIP, NULL, NULL, "no container engine");
        return;
    }
    struct doctor_nvml n;
    doctor_nvml_probe(ctx, &n);
    if (!n.lib_found && !doctor_nvidia_pci_present(ctx)) {
        doctor_set(r, DOCTOR_SKIP, NULL, NULL, "no NVIDIA GPU on this host");
        return;
    }
    char first[1024] = "";
    char *daemon = doctor_read(ctx, "/etc/docker/daemon.json");
    int runtime = daemon && strstr(daemon, "\"nvidia\"") != NULL;
    free(daemon);
    int cdi = has_glob(ctx, "/etc/cdi/*.yaml", first, sizeof first) + has_glob(ctx, "/etc/cdi/*.json", first, sizeof first) +
              has_glob(ctx, "/var/run/cdi/*", first, sizeof first);
    if (runtime || cdi)
        doctor_set(r, DOCTOR_PASS, NULL, NULL, "%s%s%s", runtime ? "nvidia runtime in /etc/docker/daemon.json" : "",
                   runtime && cdi ? "; " : "", cdi ? "CDI spec " : "");
    else
        doctor_set(r, DOCTOR_WARN, "TS-CONTAINER-TOOLKIT",
                   "install nvidia-container-toolkit, then `sudo nvidia-ctk runtime configure --runtime=docker && sudo "
                   "systemctl restart docker` or `sudo nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml` (podman)",
                   "an NVIDIA GPU but neither the nvidia runtime (/etc/docker/daemon.json) nor a CDI spec "
                   "(/etc/cdi, /var/run/cdi): containers will not see the GPU");
    if (cdi && r->status == DOCTOR_PASS)
        doctor_append(r, "%s", first);
}

const struct doctor_check doctor_container_checks[] = {
    {"container.detect", "container", "inside a container or on the host", check_detect, 0, ""},
    {"container.shm", "container", "/dev/shm at least 1 GiB (--ipc=host)", check_shm, 0, "TS-IPC-HOST"},
    {"container.gpus", "container", "GPUs passed into the container (--gpus all)", check_gpus_passed, 0,
     "TS-CONTAINER-NO-GPU"},
    {"container.visible_devices", "container", "NVIDIA_VISIBLE_DEVICES not void/none", check_visible_devices, 0,
     "TS-CONTAINER-NO-GPU"},
    {"container.engine", "container", "docker or podman present, daemon reachable (host)", check_engine, 0,
     "TS-CONTAINER-TOOLKIT TS-ENGINE-DAEMON TS-ENGINE-SOCKET"},
    {"container.nvidia_runtime", "container", "NVIDIA runtime or CDI spec configured (host)", check_nvidia_runtime,
     0, "TS-CONTAINER-TOOLKIT"},
    {NULL, NULL, NULL, NULL, 0, NULL},
};
