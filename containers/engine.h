/* Container engines: `lab run <id> --engine docker|podman` runs the lab
 * inside the course image the way the course starts it (NGC style: GPUs,
 * --ipc=host, raised ulimits, the workspace and caches mounted), then
 * `lab run <id> --engine native <the same options>` inside.
 *
 *   choice   which engine and image (flag > LAB_ENGINE/LAB_IMAGE > config
 *            file $LAB_HOME/config.json > default native)
 *   spec     everything the host decides (paths, uid, GPU, TTY, limits)
 *   command  the engine's argv, built from a spec in ONE place (pure)
 *   exec     start it, stream it, forward Ctrl-C as `<engine> stop`
 *
 * The default is native even when an engine is installed: nothing moves a
 * run into a container unless the user (or an admin's config file) asked,
 * so scripts and tests keep running natively. `auto` picks podman, then
 * docker, then native. */
#ifndef LAB_ENGINE_H
#define LAB_ENGINE_H

#include "base/argv.h"

#include <stddef.h>
#include <sys/types.h>

enum lab_engine { LAB_ENGINE_NATIVE, LAB_ENGINE_DOCKER, LAB_ENGINE_PODMAN, LAB_ENGINE_AUTO };

#define LAB_COURSE_IMAGE "lab-course:" LAB_VERSION
#define LAB_LOCAL_IMAGE "lab-local:" LAB_VERSION
#define LAB_IMAGE_BASE "nvcr.io/nvidia/pytorch:25.11-py3"
/* Where things are inside the container. */
#define LAB_CT_WORKSPACE "/workspace"
#define LAB_CT_HF_HOME "/root/.cache/huggingface"
/* Labels on every container lab starts (lab ps finds them by these). */
#define LAB_LABEL_PID "lab.runner-pid"
#define LAB_LABEL_HOST "lab.runner-host"
#define LAB_LABEL_LAB "lab.lab"
#define LAB_LABEL_VERSION "lab.version"

const char *lab_engine_name(enum lab_engine e); /* "native", "docker", ... */
/* LAB_EUSAGE naming the accepted values when `name` is not one. */
int lab_engine_parse(const char *name, const char *source, enum lab_engine *out);

/* ---- choice ---- */

struct lab_engine_choice {
    enum lab_engine engine; /* never AUTO once chosen */
    char engine_from[64];   /* "--engine", "LAB_ENGINE", "config.json", "default", "auto" */
    char program[4096];     /* the engine's executable (empty for native) */
    char image[512];
    char image_from[64];
};

/* Resolves the engine and image; flag values may be NULL. An engine named
 * explicitly but not installed is LAB_EENV (never a silent fallback). */
int lab_engine_choose(const char *flag_engine, const char *flag_image, struct lab_engine_choice *c);

/* The engine options of `lab run`, taken out of its argv before the lab's
 * own options are parsed. */
struct lab_engine_args {
    const char *engine, *image;
    int dry_run;
    const char *partition, *gres, *time_limit, *account; /* --engine slurm's (containers/slurm_run.h) */
};
/* Removes --engine E, --image I, --dry-run, --partition P, --gres G,
 * --time T, --account A (and the --opt=value forms) from
 * argv[1..], in place; *argc becomes the count left. LAB_EUSAGE when a value
 * is missing. Stops at "--". */
int lab_engine_take_args(int *argc, char **argv, struct lab_engine_args *ea);

/* ---- limits ---- */

#define LAB_RLIM_UNLIMITED (-1LL)

struct lab_ulimit {
    char name[16]; /* "memlock", "stack", "nofile", "nproc" */
    long long soft, hard; /* LAB_RLIM_UNLIMITED for unlimited */
};

/* What this process may set, per resource: its hard limit and whether it
 * can set the value lab wants (probed with setrlimit in a child). */
struct lab_host_limit {
    long long soft, hard;
    int can_set; /* setrlimit(want, want) succeeded in a forked child */
};
struct lab_host_limits {
    struct lab_host_limit memlock, stack, nofile, nproc;
};

/* Probes this process (memlock unlimited, stack 64 MiB, nofile and nproc
 * at podman's 1048576). */
void lab_limits_probe(struct lab_host_limits *h);

/* The --ulimit list for `engine`. `runtime_as_caller`: the OCI runtime
 * runs with this process's privileges (podman; rootless docker), so it can
 * only set what `h` says; otherwise (a root docker daemon) the wanted values
 * are asked for as they are. A wanted value the host forbids is lowered to
 * the hard limit, with a warning appended to `warn` (lines). Returns the
 * count written (at most cap). */
size_t lab_limits_plan(enum lab_engine engine, int runtime_as_caller, const struct lab_host_limits *h,
                       struct lab_ulimit *out, size_t cap, char *warn, size_t warn_cap);

/* ---- spec and command ---- */

#define LAB_MAX_MOUNTS 12
#define LAB_MAX_ULIMITS 6

struct lab_mount {
    char source[4096], target[4096];
};

struct lab_env {
    char name[128];
    char value[4096]; /* "" with by_name: -e NAME (value taken from lab's environment) */
    int by_name;
};

struct lab_container_spec {
    enum lab_engine engine; /* DOCKER or PODMAN */
    char program[4096];     /* argv[0] */
    char image[512];
    char name[128];         /* lab-<id>-<pid> */
    char lab_id[32];
    pid_t runner_pid;
    char host[128];         /* hostname, for lab ps --clean */
    int gpu;                /* pass the GPUs */
    char gpus[256];         /* with gpu: "" all of them; else the host's GPUs to pass, "2,3" (a Slurm job's) */
    int tty;                /* -it */
    int rootless;           /* podman: --userns=keep-id; docker: rootless daemon, no --user */
    unsigned uid, gid;      /* --user (docker, rootful) */
    struct lab_mount mounts[LAB_MAX_MOUNTS]; /* [0] is the workspace */
    size_t n_mounts;
    struct lab_env env[64];
    size_t n_env;
    struct lab_ulimit ulimits[LAB_MAX_ULIMITS];
    size_t n_ulimits;
    struct lab_argv inner; /* lab run <id> --engine native <options> */
};

/* The engine's argv for a spec, in one place. LAB_EUSAGE for a mount path
 * the engine's --mount syntax cannot carry (',' or a newline). */
int lab_engine_command(const struct lab_container_spec *s, struct lab_argv *out);

/* A path usable as a bind-mount source or target. */
int lab_engine_check_mount_path(const char *path, const char *what);

/* The environment names passed through by name from `envp` (HF_TOKEN,
 * HF_HUB_OFFLINE, LAB_* ...), sorted; those lab sets itself are left out.
 * Returns the count written. */
size_t lab_engine_env_names(char *const *envp, char names[][128], size_t cap);

/* What `lab run` hands over: the lab id, the --device asked for, and the
 * options to pass on (without the lab id), as the user typed them. */
struct lab_engine_run {
    const char *lab_id;
    const char *device;
    char **options;
    int n_options;
};

/* Fills a spec for running `req` on this host with `c`: mounts (workspace,
 * LAB_HOME, LAB_CACHE, Hugging Face cache, --out/--resume directories at
 * the same path), environment, limits, GPU, TTY. Warnings and notices go to
 * stderr. Unless `dry_run`, the host directories to mount are created (so
 * they belong to the caller). Caller frees with lab_engine_spec_free. */
int lab_engine_spec_init(const struct lab_engine_choice *c, const struct lab_engine_run *req, int dry_run,
                         struct lab_container_spec *s);
void lab_engine_spec_free(struct lab_container_spec *s);

/* Pure: the GPUs a Slurm job was given, from its environment (SLURM_JOB_ID,
 * SLURM_JOB_GPUS, CUDA_VISIBLE_DEVICES; NULL when unset). 0: not in a Slurm
 * job (out ""; pass all). 1: out holds the job's GPUs, host indices or
 * UUIDs, comma-separated ("2,3"). 2: a Slurm job given no GPUs (out "").
 * LAB_EENV for a list that is neither. SLURM_JOB_GPUS comes first: it names
 * the host's GPUs, where CUDA_VISIBLE_DEVICES may count from 0 inside a
 * device cgroup. */
int lab_engine_slurm_gpus(const char *job_id, const char *job_gpus, const char *cuda_visible, char *out,
                          size_t cap);

/* 1 when this host has an NVIDIA GPU to pass in (PCI bus or /dev/nvidia0;
 * LAB_DOCTOR_ROOT stands in for / in tests). */
int lab_engine_host_gpu(void);

/* ---- lab ps ---- */

struct lab_ps_row {
    char engine[16], name[160], lab[32], host[128], state[32], status[96];
    int pid;    /* the lab.runner-pid label; 0 when absent or not a number */
    int orphan; /* set by the caller: started here by a lab process that is gone */
};

/* Parses `<engine> ps --format json` (podman: one JSON array) or
 * `--format '{{json .}}'` (docker: one object per line); Labels may be an
 * object (podman) or "k=v,k=v" (docker). Engine output is untrusted (any
 * user of a shared docker host sets labels): every field is bounded, bad
 * rows are skipped. Returns the rows written (at most cap). */
size_t lab_ps_parse(const char *text, size_t len, const char *engine, struct lab_ps_row *rows, size_t cap);

/* ---- running ---- */

/* The troubleshooting knowledge base sits above this layer (grader/kb.c),
 * so the CLI hands the engines its matcher: the ids of the KB entries whose
 * error text occurs in `text`, best first, at most cap. Without one, engine
 * errors carry no KB id. */
typedef size_t (*lab_kb_matcher)(const char *text, const char **ids, size_t cap);
void lab_engine_set_kb_matcher(lab_kb_matcher match);

/* The KB id (TS-ENGINE-* or TS-CONTAINER-*) that explains an engine's error
 * output, or NULL. */
const char *lab_engine_classify(const char *engine_stderr);

/* Runs the engine command, streaming its output; SIGINT/SIGTERM stop the
 * container (`<engine> stop`; a second one kills it). *exit_code is the
 * engine's (the lab's, once the container ran); *signals how many SIGINT/
 * SIGTERM came. The last part of the engine's stderr is kept in tail (for
 * lab_engine_classify). */
int lab_engine_exec(const struct lab_container_spec *s, const struct lab_argv *cmd, int *exit_code, int *signals,
                    char *tail, size_t tail_cap);

/* `lab run` through an engine: spec, command, --dry-run or exec, and the
 * lab's exit code turned back into a status (its message already printed
 * inside). */
int lab_engine_run_lab(const struct lab_engine_choice *c, const struct lab_engine_args *ea,
                       const struct lab_engine_run *req);

/* The status for a container's exit code: 0..4 and 130 are lab's own codes
 * (already explained by the lab inside); 125-127 are the engine's. */
int lab_engine_status_for_exit(enum lab_engine e, int code, const char *tail);

#endif
