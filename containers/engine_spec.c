/* What this host decides about a container run: who the caller is, what to
 * mount where, which variables to pass, the GPU, the TTY and the limits.
 *
 * Paths lab itself prints or records (LAB_HOME with the store and the run
 * directories, LAB_CACHE, --out, --resume) are mounted at the SAME path
 * inside, so `run dir: <path>` and the store's rows are true on the host
 * too. The working directory is the workspace, at /workspace; relative
 * paths in options therefore mean the same inside. */
#include "containers/engine.h"

#include "base/env.h"
#include "base/error.h"
#include "base/userconfig.h"
#include "base/fsutil.h"
#include "base/host.h"
#include "base/log.h"
#include "base/paths.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

int lab_engine_host_gpu(void)
{
    char root[1024];
    lab_host_root(root, sizeof root);
    return lab_host_nvidia_pci_present(root) || lab_host_exists(root, "/dev/nvidia0") ||
           lab_host_exists(root, "/dev/nvidiactl");
}

/* Lexically normalised absolute path ("a/../b" -> "<cwd>/b"), then the real
 * path when it exists (a bind mount must name the directory itself). */
static int absolute_path(const char *in, char *out, size_t cap)
{
    char joined[PATH_MAX * 2], cwd[PATH_MAX];
    if (in[0] == '/') {
        snprintf(joined, sizeof joined, "%s", in);
    } else {
        if (!getcwd(cwd, sizeof cwd))
            return lab_err(LAB_EENV, "run lab from a directory that still exists", "cannot read the current directory");
        snprintf(joined, sizeof joined, "%s/%s", cwd, in);
    }
    char norm[PATH_MAX * 2] = "";
    size_t len = 0;
    char *save = NULL;
    for (char *part = strtok_r(joined, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
        if (strcmp(part, ".") == 0)
            continue;
        if (strcmp(part, "..") == 0) {
            char *slash = strrchr(norm, '/');
            len = slash ? (size_t)(slash - norm) : 0;
            norm[len] = '\0';
            continue;
        }
        len += (size_t)snprintf(norm + len, sizeof norm - len, "/%s", part);
        if (len >= sizeof norm)
            return lab_err(LAB_EUSAGE, "use a shorter path", "path too long: %s", in);
    }
    if (!norm[0])
        snprintf(norm, sizeof norm, "/");
    char real[PATH_MAX];
    if (realpath(norm, real))
        snprintf(norm, sizeof norm, "%s", real);
    if (snprintf(out, cap, "%s", norm) >= (int)cap)
        return lab_err(LAB_EUSAGE, "use a shorter path", "path too long: %s", in);
    return LAB_OK;
}

/* 1 when `path` is `dir` or below it. */
static int under(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    if (n == 1 && dir[0] == '/')
        return 1;
    return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static int add_mount(struct lab_container_spec *s, const char *source, const char *target, const char *what)
{
    int rc = lab_engine_check_mount_path(source, what);
    if (rc)
        return rc;
    /* Already visible at the same path through a parent mounted there? */
    for (size_t i = 1; i < s->n_mounts; i++)
        if (strcmp(s->mounts[i].source, s->mounts[i].target) == 0 && strcmp(source, target) == 0 &&
            under(source, s->mounts[i].source))
            return LAB_OK;
    if (s->n_mounts == LAB_MAX_MOUNTS)
        return lab_err(LAB_EUSAGE, NULL, "more than %d directories to mount", LAB_MAX_MOUNTS);
    snprintf(s->mounts[s->n_mounts].source, sizeof s->mounts[0].source, "%s", source);
    snprintf(s->mounts[s->n_mounts].target, sizeof s->mounts[0].target, "%s", target);
    s->n_mounts++;
    return LAB_OK;
}

static void add_env(struct lab_container_spec *s, const char *name, const char *value)
{
    if (s->n_env == sizeof s->env / sizeof s->env[0])
        return;
    struct lab_env *e = &s->env[s->n_env++];
    snprintf(e->name, sizeof e->name, "%s", name);
    snprintf(e->value, sizeof e->value, "%s", value ? value : "");
    e->by_name = value == NULL;
}

static int ensure_dir(const char *path, int dry_run)
{
    return dry_run || lab_is_dir(path) ? LAB_OK : lab_mkdir_p(path);
}

/* The lab's own directories and the Hugging Face cache. */
static int add_data_mounts(struct lab_container_spec *s, int dry_run)
{
    char home[4096], cache[4096], hf[4096], hub[4096], from[64];
    int rc = dry_run ? lab_dir_resolve(LAB_DIR_HOME, home, sizeof home)
                     : lab_dir_ensure(LAB_DIR_HOME, NULL, home, sizeof home);
    rc = rc ? rc
            : dry_run ? lab_dir_resolve(LAB_DIR_CACHE, cache, sizeof cache)
                      : lab_dir_ensure(LAB_DIR_CACHE, NULL, cache, sizeof cache);
    char abs_home[4096], abs_cache[4096];
    rc = rc ? rc : absolute_path(home, abs_home, sizeof abs_home);
    rc = rc ? rc : absolute_path(cache, abs_cache, sizeof abs_cache);
    rc = rc ? rc : add_mount(s, abs_home, abs_home, "LAB_HOME");
    rc = rc ? rc : add_mount(s, abs_cache, abs_cache, "LAB_CACHE");
    if (rc)
        return rc;
    add_env(s, "LAB_HOME", abs_home);
    add_env(s, "LAB_CACHE", abs_cache);

    /* The user's own HF cache only where they named one (HF_HOME ...);
     * otherwise lab's, under LAB_CACHE: nothing appears in ~/.cache. */
    if (lab_hf_cache_chosen())
        lab_hf_home(hf, sizeof hf, from, sizeof from);
    else
        snprintf(hf, sizeof hf, "%s/huggingface", abs_cache);
    rc = ensure_dir(hf, dry_run);
    rc = rc ? rc : absolute_path(hf, hf, sizeof hf);
    rc = rc ? rc : add_mount(s, hf, LAB_CT_HF_HOME, "the Hugging Face cache (HF_HOME)");
    if (rc)
        return rc;
    add_env(s, "HF_HOME", LAB_CT_HF_HOME);
    /* A hub cache set apart from HF_HOME goes where HF_HOME/hub is inside. */
    lab_hf_hub_cache(hub, sizeof hub, from, sizeof from);
    char configured[4096];
    if (!lab_hf_cache_chosen() && lab_userconfig_get("hf_cache", configured, sizeof configured, NULL, 0) == 1) {
        snprintf(hub, sizeof hub, "%s", configured);
        snprintf(from, sizeof from, "hf_cache in config.json");
    }
    if (strcmp(from, "HF_HUB_CACHE") == 0 || strcmp(from, "HUGGINGFACE_HUB_CACHE") == 0 ||
        strcmp(from, "hf_cache in config.json") == 0) {
        rc = ensure_dir(hub, dry_run);
        rc = rc ? rc : absolute_path(hub, hub, sizeof hub);
        if (!rc && !under(hub, hf))
            rc = add_mount(s, hub, LAB_CT_HF_HOME "/hub", from);
    }
    return rc;
}

/* The options passed on, with --out/--resume made absolute and mounted at
 * the same path. */
static int add_inner(struct lab_container_spec *s, const struct lab_engine_run *req, int dry_run)
{
    const char *head[] = {"lab", "run", req->lab_id, "--engine", "native"};
    int rc = lab_argv_extend(&s->inner, (char *const *)head, 5);
    for (int i = 0; !rc && i < req->n_options; i++) {
        const char *opt = req->options[i], *value = NULL;
        char name[16] = "";
        if ((strcmp(opt, "--out") == 0 || strcmp(opt, "--resume") == 0) && i + 1 < req->n_options) {
            snprintf(name, sizeof name, "%s", opt);
            value = req->options[++i];
        } else if (strncmp(opt, "--out=", 6) == 0 || strncmp(opt, "--resume=", 9) == 0) {
            size_t n = (size_t)(strchr(opt, '=') - opt);
            snprintf(name, sizeof name, "%.*s", (int)n, opt);
            value = opt + n + 1;
        }
        if (!value) {
            rc = lab_argv_push(&s->inner, opt);
            continue;
        }
        char dir[4096];
        rc = absolute_path(value, dir, sizeof dir);
        /* --out is created here, so that it belongs to the caller. */
        if (!rc && strcmp(name, "--out") == 0 && !dry_run && !lab_is_dir(dir))
            rc = lab_mkdir_p(dir);
        rc = rc ? rc : absolute_path(dir, dir, sizeof dir);
        rc = rc ? rc : add_mount(s, dir, dir, name);
        rc = rc ? rc : lab_argv_push(&s->inner, name);
        rc = rc ? rc : lab_argv_push(&s->inner, dir);
    }
    return rc;
}

static int rootless_docker(void)
{
    const char *host = getenv("DOCKER_HOST");
    return host && strstr(host, "/run/user/") != NULL;
}

static void add_limits(struct lab_container_spec *s)
{
    struct lab_host_limits h;
    lab_limits_probe(&h);
    int as_caller = s->engine == LAB_ENGINE_PODMAN || rootless_docker();
    char warn[2048];
    s->n_ulimits = lab_limits_plan(s->engine, as_caller, &h, s->ulimits, LAB_MAX_ULIMITS, warn, sizeof warn);
    char *save = NULL;
    for (char *line = strtok_r(warn, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        fprintf(stderr, "lab: warning: %s\n", line);
}

int lab_engine_spec_init(const struct lab_engine_choice *c, const struct lab_engine_run *req, int dry_run,
                         struct lab_container_spec *s)
{
    memset(s, 0, sizeof *s);
    s->engine = c->engine;
    snprintf(s->program, sizeof s->program, "%s", c->program);
    snprintf(s->image, sizeof s->image, "%s", c->image);
    snprintf(s->lab_id, sizeof s->lab_id, "%s", req->lab_id);
    s->runner_pid = getpid();
    snprintf(s->name, sizeof s->name, "lab-%s-%d", req->lab_id, (int)s->runner_pid);
    if (gethostname(s->host, sizeof s->host) != 0)
        snprintf(s->host, sizeof s->host, "unknown");
    s->host[sizeof s->host - 1] = '\0';
    s->tty = isatty(0) && isatty(1); /* -t on a pipe would mix stderr into stdout and add \r */
    s->uid = (unsigned)getuid();
    s->gid = (unsigned)getgid();
    s->rootless = c->engine == LAB_ENGINE_PODMAN ? geteuid() != 0 : rootless_docker();

    int wants_cuda = req->device && strncmp(req->device, "cuda", 4) == 0;
    s->gpu = lab_engine_host_gpu();
    /* On a Slurm node: only the GPUs of this job (--gres gpu:N), not the node's. */
    int in_job = s->gpu ? lab_engine_slurm_gpus(getenv("SLURM_JOB_ID"), getenv("SLURM_JOB_GPUS"),
                                               getenv("CUDA_VISIBLE_DEVICES"), s->gpus, sizeof s->gpus)
                        : 0;
    if (in_job < 0)
        return in_job;
    if (in_job == 2) {
        s->gpu = 0;
        if (wants_cuda)
            return lab_err(LAB_EENV, "ask Slurm for one: --gres gpu:1 (lab explain TS-SLURM-GPU)",
                           "--device %s: this Slurm job was given no GPU", req->device);
        fprintf(stderr, "lab: note: this Slurm job was given no GPU (--gres gpu:N): the container starts without "
                        "GPUs (CPU only)\n");
    } else if (!s->gpu && wants_cuda)
        return lab_err(LAB_EENV,
                       "use --device auto or cpu here, or run on a machine with an NVIDIA GPU "
                       "(`lab explain TS-NO-DRIVER`)",
                       "--device %s: this host has no NVIDIA GPU to pass into the container", req->device);
    if (!s->gpu && in_job != 2)
        fprintf(stderr, "lab: note: no NVIDIA GPU on this host: the container starts without GPUs (CPU only)\n");

    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd))
        return lab_err(LAB_EENV, "run lab from a directory that still exists", "cannot read the current directory");
    int rc = add_mount(s, cwd, LAB_CT_WORKSPACE, "the current directory (the workspace)");
    rc = rc ? rc : add_data_mounts(s, dry_run);
    rc = rc ? rc : add_inner(s, req, dry_run);
    if (rc)
        return rc;
    char names[48][128];
    size_t n = lab_engine_env_names(environ, names, 48);
    for (size_t i = 0; i < n; i++)
        add_env(s, names[i], NULL);
    add_limits(s);
    return LAB_OK;
}

void lab_engine_spec_free(struct lab_container_spec *s)
{
    if (s)
        lab_argv_free(&s->inner);
}
