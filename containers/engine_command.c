/* The one place that turns a container spec into an engine command line.
 * Pure: everything it needs is in the spec, so every engine x GPU x TTY x
 * mounts combination is checked as a list by tests/unit/test_engine.c. */
#include "containers/engine.h"

#include "base/error.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

int lab_engine_check_mount_path(const char *path, const char *what)
{
    /* --mount is comma-separated key=value and podman splits it naively:
     * a ',' cannot be escaped for both engines. (':' is fine: no -v.) */
    if (path[0] != '/' || strpbrk(path, ",\n\r")) {
        char fix[256];
        snprintf(fix, sizeof fix,
                 "use a path without ',' or line breaks for %s (rename it, or point a symlink-free copy there)",
                 what);
        return lab_err(LAB_EUSAGE, fix, "%s '%s' cannot be mounted into a container: %s", what, path,
                       path[0] != '/' ? "not an absolute path" : "container engines cannot mount a path with ','");
    }
    return LAB_OK;
}

int lab_engine_slurm_gpus(const char *job_id, const char *job_gpus, const char *cuda_visible, char *out,
                          size_t cap)
{
    out[0] = '\0';
    if (!job_id || !*job_id)
        return 0;
    const char *list = job_gpus && *job_gpus ? job_gpus : cuda_visible;
    if (!list || !*list)
        return 2;
    /* Host indices ("0,2") or UUIDs ("GPU-5a1c...", "MIG-..."): CDI names both. */
    int ok = strlen(list) < cap && list[0] != ',' && list[strlen(list) - 1] != ',' && !strstr(list, ",,");
    for (const char *c = list; ok && *c; c++)
        ok = isalnum((unsigned char)*c) || *c == '-' || *c == ',';
    if (!ok)
        return lab_err(LAB_EENV, "check the job's --gres (`scontrol show job $SLURM_JOB_ID`), or unset the variable",
                       "%s='%.100s' in this Slurm job is not a list of GPUs",
                       job_gpus && *job_gpus ? "SLURM_JOB_GPUS" : "CUDA_VISIBLE_DEVICES", list);
    snprintf(out, cap, "%s", list);
    return 1;
}

static void limit_text(long long v, char *out, size_t cap)
{
    if (v == LAB_RLIM_UNLIMITED)
        snprintf(out, cap, "-1");
    else
        snprintf(out, cap, "%lld", v);
}

static int push_ulimit(struct lab_argv *a, const struct lab_ulimit *u)
{
    char soft[32], hard[32];
    limit_text(u->soft, soft, sizeof soft);
    limit_text(u->hard, hard, sizeof hard);
    int rc = lab_argv_push(a, "--ulimit");
    if (rc)
        return rc;
    if (u->soft == u->hard) /* one value sets both, as in the course's line */
        return lab_argv_pushf(a, "%s=%s", u->name, soft);
    return lab_argv_pushf(a, "%s=%s:%s", u->name, soft, hard);
}

int lab_engine_command(const struct lab_container_spec *s, struct lab_argv *out)
{
    int podman = s->engine == LAB_ENGINE_PODMAN;
    if (s->engine != LAB_ENGINE_DOCKER && !podman)
        return lab_err(LAB_EINTERNAL, NULL, "no container command for engine %s", lab_engine_name(s->engine));
    for (size_t i = 0; i < s->n_mounts; i++) {
        int rc = lab_engine_check_mount_path(s->mounts[i].source, "directory");
        if (!rc)
            rc = lab_engine_check_mount_path(s->mounts[i].target, "container path");
        if (rc)
            return rc;
    }
    struct lab_argv *a = out;
    /* The course's own line first (docker run --rm --gpus all --ipc=host
     * --ulimit memlock=-1 --ulimit stack=67108864 -it), then lab's. */
    int rc = lab_argv_push(a, s->program);
    rc = rc ? rc : lab_argv_push(a, "run");
    rc = rc ? rc : lab_argv_push(a, "--rm");
    if (!rc && s->gpu && s->gpus[0] && podman) { /* a Slurm job's GPUs: one CDI device each */
        char list[sizeof s->gpus];
        snprintf(list, sizeof list, "%s", s->gpus);
        for (char *save = NULL, *g = strtok_r(list, ",", &save); !rc && g; g = strtok_r(NULL, ",", &save)) {
            rc = lab_argv_push(a, "--device");
            rc = rc ? rc : lab_argv_pushf(a, "nvidia.com/gpu=%s", g);
        }
    } else if (!rc && s->gpu && s->gpus[0]) { /* docker's --gpus is CSV: the quotes keep the list one field */
        rc = lab_argv_push(a, "--gpus");
        rc = rc ? rc : lab_argv_pushf(a, "\"device=%s\"", s->gpus);
    } else if (!rc && s->gpu) {
        rc = lab_argv_push(a, podman ? "--device" : "--gpus");
        rc = rc ? rc : lab_argv_push(a, podman ? "nvidia.com/gpu=all" : "all");
    }
    rc = rc ? rc : lab_argv_push(a, "--ipc=host");
    for (size_t i = 0; !rc && i < s->n_ulimits; i++)
        rc = push_ulimit(a, &s->ulimits[i]);
    if (!rc && s->tty)
        rc = lab_argv_push(a, "-it");
    rc = rc ? rc : lab_argv_push(a, "--name");
    rc = rc ? rc : lab_argv_push(a, s->name);
    rc = rc ? rc : lab_argv_push(a, "--label");
    rc = rc ? rc : lab_argv_pushf(a, "%s=%d", LAB_LABEL_PID, (int)s->runner_pid);
    rc = rc ? rc : lab_argv_push(a, "--label");
    rc = rc ? rc : lab_argv_pushf(a, "%s=%s", LAB_LABEL_HOST, s->host);
    rc = rc ? rc : lab_argv_push(a, "--label");
    rc = rc ? rc : lab_argv_pushf(a, "%s=%s", LAB_LABEL_LAB, s->lab_id);
    /* Never download an image behind the user's back (the course image is
     * about 20 GB): a missing image is an error that says how to get it. */
    rc = rc ? rc : lab_argv_push(a, "--pull=never");
    /* Files the lab writes belong to the caller: rootless podman maps the
     * caller's uid onto itself; docker runs as uid:gid; root podman's caller
     * is root already; rootless docker's root is the caller. */
    if (!rc && podman && s->rootless)
        rc = lab_argv_push(a, "--userns=keep-id");
    else if (!rc && !podman && !s->rootless) {
        rc = lab_argv_push(a, "--user");
        rc = rc ? rc : lab_argv_pushf(a, "%u:%u", s->uid, s->gid);
    }
    for (size_t i = 0; !rc && i < s->n_mounts; i++) {
        rc = lab_argv_push(a, "--mount");
        rc = rc ? rc : lab_argv_pushf(a, "type=bind,source=%s,target=%s", s->mounts[i].source, s->mounts[i].target);
    }
    rc = rc ? rc : lab_argv_push(a, "-w");
    rc = rc ? rc : lab_argv_push(a, LAB_CT_WORKSPACE);
    for (size_t i = 0; !rc && i < s->n_env; i++) {
        rc = lab_argv_push(a, "-e");
        if (!rc)
            rc = s->env[i].by_name ? lab_argv_push(a, s->env[i].name)
                                   : lab_argv_pushf(a, "%s=%s", s->env[i].name, s->env[i].value);
    }
    rc = rc ? rc : lab_argv_push(a, s->image);
    rc = rc ? rc : lab_argv_extend(a, s->inner.v, s->inner.n);
    return rc;
}
