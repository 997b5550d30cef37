#include "containers/slurm_run.h"

#include "base/error.h"
#include "base/fsutil.h"
#include "base/slurm.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* --out and --resume as absolute paths: the job starts in another place. */
static int push_options(struct lab_argv *cmd, const struct lab_engine_run *req)
{
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd))
        return lab_err(LAB_EENV, NULL, "cannot read the current directory: %s", strerror(errno));
    int rc = LAB_OK;
    for (int i = 0; i < req->n_options && !rc; i++) {
        const char *o = req->options[i];
        const char *names[] = {"--out", "--resume"};
        int done = 0;
        for (int k = 0; k < 2 && !done && !rc; k++) {
            size_t len = strlen(names[k]);
            const char *value = NULL;
            if (strcmp(o, names[k]) == 0 && i + 1 < req->n_options) {
                rc = lab_argv_push(cmd, o);
                value = req->options[++i];
            } else if (strncmp(o, names[k], len) == 0 && o[len] == '=') {
                rc = lab_argv_push(cmd, names[k]);
                value = o + len + 1;
            }
            if (value && !rc) {
                rc = value[0] == '/' ? lab_argv_push(cmd, value) : lab_argv_pushf(cmd, "%s/%s", cwd, value);
                done = 1;
            }
        }
        if (!done && !rc)
            rc = lab_argv_push(cmd, o);
    }
    return rc;
}

static int directive(FILE *f, const char *flag, const char *value)
{
    if (value && strpbrk(value, "\n\r"))
        return lab_err(LAB_EUSAGE, "give the value on one line", "%s: a line break in '%s'", flag, value);
    if (value)
        fprintf(f, "#SBATCH %s=%s\n", flag, value);
    return LAB_OK;
}

int lab_slurm_run_script(const struct lab_engine_args *ea, const struct lab_engine_run *req, const char *lab_bin,
                         const char *log_path, char **script)
{
    *script = NULL;
    struct lab_argv cmd = {0};
    int rc = lab_argv_push(&cmd, lab_bin);
    rc = rc ? rc : lab_argv_push(&cmd, "run");
    rc = rc ? rc : lab_argv_push(&cmd, req->lab_id);
    rc = rc ? rc : lab_argv_push(&cmd, "--engine");
    if (!rc && ea->image) {
        rc = lab_argv_push(&cmd, "podman");
        rc = rc ? rc : lab_argv_push(&cmd, "--image");
        rc = rc ? rc : lab_argv_push(&cmd, ea->image);
    } else if (!rc) {
        rc = lab_argv_push(&cmd, "native");
    }
    rc = rc ? rc : push_options(&cmd, req);
    char *line = rc ? NULL : lab_argv_to_shell(&cmd);
    lab_argv_free(&cmd);
    if (!rc && !line)
        rc = lab_err(LAB_EINTERNAL, NULL, "out of memory");
    char *text = NULL;
    size_t len = 0;
    FILE *f = rc ? NULL : open_memstream(&text, &len);
    if (!rc && !f)
        rc = lab_err(LAB_EINTERNAL, NULL, "out of memory");
    if (f) {
        char name[96];
        snprintf(name, sizeof name, "lab-run-%s", req->lab_id);
        fprintf(f, "#!/bin/sh\n# lab run %s on a Slurm node (written by lab %s)\n", req->lab_id, LAB_VERSION);
        rc = directive(f, "--job-name", name);
        char elog[2 * PATH_MAX];
        rc = rc ? rc : lab_slurm_escape_pattern(log_path, elog, sizeof elog);
        rc = rc ? rc : directive(f, "--output", elog);
        rc = rc ? rc : directive(f, "--partition", ea->partition);
        rc = rc ? rc : directive(f, "--account", ea->account);
        rc = rc ? rc : directive(f, "--time", ea->time_limit);
        rc = rc ? rc : directive(f, "--gres", ea->gres);
        fprintf(f, "exec %s\n", line);
        fclose(f);
    }
    free(line);
    if (rc)
        free(text);
    else
        *script = text;
    return rc;
}

static volatile sig_atomic_t cancel_asked;
static void on_signal(int sig)
{
    (void)sig;
    cancel_asked++;
}

/* Copies what the log gained since *off to stdout. */
static void stream(const char *log, long *off)
{
    FILE *f = fopen(log, "rb");
    if (!f)
        return;
    if (fseek(f, *off, SEEK_SET) == 0) {
        char buf[8192];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
            fwrite(buf, 1, n, stdout);
            *off += (long)n;
        }
        fflush(stdout);
    }
    fclose(f);
}

static int status_of(const struct lab_slurm_task *t, const char *job, const char *log)
{
    static const int statuses[] = {LAB_OK, LAB_EFAIL, LAB_EUSAGE, LAB_EENV, LAB_EINTERNAL};
    if (strcmp(t->state, "COMPLETED") == 0 || (strcmp(t->state, "FAILED") == 0 && !t->signaled)) {
        if (t->exit_code >= 0 && t->exit_code <= 4) {
            lab_err_clear(); /* the lab said why, in the log above */
            return statuses[t->exit_code];
        }
        if (t->exit_code == 130)
            return LAB_EINTERRUPTED;
    }
    const char *kb = strcmp(t->state, "TIMEOUT") == 0         ? "TS-SLURM-TIMEOUT"
                     : strcmp(t->state, "OUT_OF_MEMORY") == 0 ? "TS-SLURM-OOM"
                     : strcmp(t->state, "NODE_FAIL") == 0     ? "TS-SLURM-NODE-FAIL"
                                                              : "TS-SLURM-TASK-FAILED";
    char fix[256];
    snprintf(fix, sizeof fix, "read the job's log %s (lab explain %s)", log, kb);
    return lab_err(LAB_EENV, fix, "Slurm job %s ended %s (exit %d%s)", job, t->state, t->exit_code,
                   t->signaled ? ", a signal" : "");
}

int lab_slurm_run_lab(const struct lab_engine_args *ea, const struct lab_engine_run *req)
{
    char cwd[PATH_MAX], log[PATH_MAX + 128], path[PATH_MAX + 128], stamp[32], lab_bin[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd))
        return lab_err(LAB_EENV, NULL, "cannot read the current directory: %s", strerror(errno));
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    snprintf(log, sizeof log, "%s/lab-run-%s-%s-%ld.log", cwd, req->lab_id, stamp, (long)getpid());
    snprintf(path, sizeof path, "%s/lab-run-%s-%s-%ld.sbatch", cwd, req->lab_id, stamp, (long)getpid());
    ssize_t bl = readlink("/proc/self/exe", lab_bin, sizeof lab_bin - 1);
    if (bl <= 0)
        return lab_err(LAB_EENV, NULL, "cannot find lab's own executable: %s", strerror(errno));
    lab_bin[bl] = 0;
    char *script = NULL;
    int rc = lab_slurm_run_script(ea, req, lab_bin, log, &script);
    if (rc)
        return rc;
    if (ea->dry_run) {
        fputs(script, stdout);
        free(script);
        return LAB_OK;
    }
    char sbatch[PATH_MAX];
    if (!lab_slurm_found(sbatch, sizeof sbatch)) {
        free(script);
        return lab_err(LAB_EENV, "run it on the cluster's login node, or print the script with --dry-run and submit "
                                 "it there (lab explain TS-SLURM-MISSING)",
                       "--engine slurm: sbatch is not in PATH");
    }
    rc = lab_write_atomic(path, script, strlen(script));
    free(script);
    if (rc)
        return rc;
    struct lab_argv none = {0};
    char job[32];
    if ((rc = lab_slurm_submit(&none, path, ea->account, job, sizeof job))) {
        unlink(path); /* refused: no job will ever read it */
        return rc;
    }
    fprintf(stderr, "lab: lab %s submitted to Slurm as job %s; log %s\n", req->lab_id, job, log);
    struct sigaction sa = {.sa_handler = on_signal}, old_int, old_term;
    sigemptyset(&sa.sa_mask);
    cancel_asked = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    long off = 0;
    int cancelled = 0;
    struct lab_slurm_task last = {.task = -1};
    for (;;) {
        stream(log, &off);
        if (cancel_asked && !cancelled) {
            fprintf(stderr, "lab: cancelling Slurm job %s\n", job);
            lab_slurm_cancel(job);
            lab_err_clear();
            cancelled = 1;
        }
        struct lab_slurm_task *t = NULL;
        size_t n = 0;
        const char *src;
        if ((rc = lab_slurm_tasks(job, &t, &n, &src)))
            break;
        int over = n == 0 || lab_slurm_state_final(t[0].state);
        if (n)
            last = t[0];
        free(t);
        if (over) {
            usleep(300 * 1000); /* the last lines of the log reach the shared disk */
            stream(log, &off);
            if (n == 0 && !last.state[0])
                rc = lab_err(LAB_EENV, "lab explain TS-SLURM-CONTROLLER", "Slurm forgot job %s before it was seen "
                                                                           "ending", job);
            else
                rc = cancelled ? lab_err(LAB_EINTERRUPTED, NULL, "Slurm job %s cancelled on request", job)
                               : status_of(&last, job, log);
            break;
        }
        usleep(500 * 1000);
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    return rc;
}
