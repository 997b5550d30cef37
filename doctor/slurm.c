/* Slurm checks, when sbatch is found: the controller answers, partitions
 * are up, GPUs are declared as a gres, and (--full) a node sees and writes
 * the shared directory that batches use for their spool. */
#include "doctor/doctor.h"

#include "base/proc.h"
#include "base/slurm.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int no_slurm(const struct doctor_ctx *ctx, struct doctor_result *r)
{
    char found[PATH_MAX];
    if (ctx->root[0] || !doctor_in_path(ctx, "sbatch", found, sizeof found)) {
        doctor_set(r, DOCTOR_SKIP, NULL, NULL, "no sbatch in PATH: not a Slurm login node");
        return 1;
    }
    /* A client installed with nothing to talk to (a workstation with the
     * packages) is not a broken cluster. */
    const char *conf = getenv("SLURM_CONF");
    if ((!conf || !*conf) && access("/etc/slurm/slurm.conf", R_OK) != 0) {
        doctor_set(r, DOCTOR_SKIP, NULL, NULL, "Slurm's client is installed but not configured here (no SLURM_CONF, "
                                               "no /etc/slurm/slurm.conf)");
        return 1;
    }
    return 0;
}

static int capture(char **argv, struct lab_proc_result *p)
{
    memset(p, 0, sizeof *p);
    return lab_proc_capture(argv, 1 << 20, p) == 0 ? p->exit_code : -1;
}

static void check_controller(const struct doctor_ctx *ctx, struct doctor_result *r)
{
    if (no_slurm(ctx, r))
        return;
    char *argv[] = {"scontrol", "ping", NULL};
    struct lab_proc_result p;
    int code = capture(argv, &p);
    char line[512];
    lab_last_line(code == 0 ? p.out : (p.err && *p.err ? p.err : p.out), line, sizeof line);
    if (code == 0 && p.out && strstr(p.out, "is UP"))
        doctor_set(r, DOCTOR_PASS, NULL, NULL, "%s", line);
    else
        doctor_set(r, DOCTOR_FAIL, "TS-SLURM-CONTROLLER",
                   "check slurmctld with your admins; `munge -n | unmunge` checks munge on this host",
                   "the Slurm controller does not answer: %s", line[0] ? line : "(scontrol ping said nothing)");
    lab_proc_result_free(&p);
}

/* sinfo -h -o "%P|%a|%D|%G": partition, availability, nodes, gres. */
static void check_partitions(const struct doctor_ctx *ctx, struct doctor_result *r)
{
    if (no_slurm(ctx, r))
        return;
    char *argv[] = {"sinfo", "-h", "-o", "%P|%a|%D|%G", NULL};
    struct lab_proc_result p;
    int code = capture(argv, &p);
    if (code != 0) {
        char line[512];
        lab_last_line(p.err, line, sizeof line);
        doctor_set(r, DOCTOR_FAIL, "TS-SLURM-CONTROLLER", "`scontrol ping` says whether the controller answers",
                   "sinfo failed: %s", line);
        lab_proc_result_free(&p);
        return;
    }
    char up[DOCTOR_MSG_CAP / 2] = "";
    size_t n_up = 0, n = 0, len = 0;
    for (char *save = NULL, *l = strtok_r(p.out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        char *f[4] = {l, NULL, NULL, NULL};
        for (int i = 1; i < 4 && f[i - 1]; i++)
            if ((f[i] = strchr(f[i - 1], '|')))
                *f[i]++ = 0;
        n++;
        if (f[1] && strcmp(f[1], "up") == 0) {
            n_up++;
            if (len + strlen(f[0]) + 8 < sizeof up)
                len += (size_t)snprintf(up + len, sizeof up - len, "%s%s (%s nodes)", len ? ", " : "", f[0],
                                        f[2] ? f[2] : "?");
        }
    }
    if (n_up)
        doctor_set(r, DOCTOR_PASS, NULL, NULL, "%zu of %zu partitions up: %s", n_up, n, up);
    else
        doctor_set(r, DOCTOR_FAIL, "TS-SLURM-SUBMIT", "`sinfo -s` lists the partitions; ask your admins",
                   "no partition is up (%zu known)", n);
    lab_proc_result_free(&p);
}

static void check_gpus(const struct doctor_ctx *ctx, struct doctor_result *r)
{
    if (no_slurm(ctx, r))
        return;
    char *argv[] = {"sinfo", "-h", "-o", "%P|%G", NULL};
    struct lab_proc_result p;
    if (capture(argv, &p) != 0) {
        doctor_set(r, DOCTOR_SKIP, NULL, NULL, "sinfo failed (see slurm.partitions)");
        lab_proc_result_free(&p);
        return;
    }
    char gpus[DOCTOR_MSG_CAP / 2] = "";
    size_t len = 0;
    for (char *save = NULL, *l = strtok_r(p.out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        char *bar = strchr(l, '|');
        if (bar && strstr(bar + 1, "gpu") && len + strlen(l) + 4 < sizeof gpus) {
            *bar = 0;
            len += (size_t)snprintf(gpus + len, sizeof gpus - len, "%s%s: %s", len ? ", " : "", l, bar + 1);
        }
    }
    if (len)
        doctor_set(r, DOCTOR_PASS, NULL, NULL, "GPUs as gres: %s (ask with --gres gpu:1)", gpus);
    else
        doctor_set(r, DOCTOR_WARN, "TS-SLURM-GPU",
                   "grade without --reeval (no GPU needed), or ask your admins for the gres name",
                   "no partition offers gpu as a generic resource (gres)");
    lab_proc_result_free(&p);
}

/* --full: a one-task job reads a file written here and writes one back. */
static void check_shared_dir(const struct doctor_ctx *ctx, struct doctor_result *r)
{
    if (no_slurm(ctx, r))
        return;
    if (!ctx->full) {
        doctor_set(r, DOCTOR_SKIP, NULL, NULL, "`lab doctor --full` runs a one-minute job to test it");
        return;
    }
    const char *dir = getenv("LAB_SLURM_SPOOL");
    char cwd[PATH_MAX];
    if (!dir || !*dir)
        dir = getcwd(cwd, sizeof cwd) ? cwd : ".";
    char probe[PATH_MAX + 64], back[PATH_MAX + 80], script[3 * PATH_MAX];
    snprintf(probe, sizeof probe, "%s/.lab-doctor-%ld", dir, (long)getpid());
    snprintf(back, sizeof back, "%s.node", probe);
    FILE *f = fopen(probe, "w");
    if (!f) {
        doctor_set(r, DOCTOR_FAIL, "TS-SLURM-SPOOL", "run lab where you can write, or set LAB_SLURM_SPOOL",
                   "cannot write %s here", dir);
        return;
    }
    fputs("lab doctor\n", f);
    fclose(f);
    snprintf(script, sizeof script, "cat '%s' >/dev/null && hostname > '%s'", probe, back);
    char *argv[] = {"srun", "--quiet", "--immediate=20", "-N1", "-n1", "--time=1", "sh", "-c", script, NULL};
    struct lab_proc_result p;
    int code = capture(argv, &p);
    char node[256] = "";
    FILE *b = fopen(back, "r");
    if (b) {
        if (fgets(node, sizeof node, b))
            node[strcspn(node, "\n")] = 0;
        fclose(b);
    }
    if (code == 0 && node[0])
        doctor_set(r, DOCTOR_PASS, NULL, NULL, "node %s reads and writes %s", node, dir);
    else {
        char line[512];
        lab_last_line(p.err, line, sizeof line);
        doctor_set(r, DOCTOR_FAIL, "TS-SLURM-SPOOL",
                   "give --spool (or LAB_SLURM_SPOOL) a directory on the shared file system (home, scratch)",
                   "a node could not read and write %s%s%s", dir, line[0] ? ": " : "", line);
    }
    unlink(probe);
    unlink(back);
    lab_proc_result_free(&p);
}

const struct doctor_check doctor_slurm_checks[] = {
    {"slurm.controller", "slurm", "the Slurm controller answers (scontrol ping)", check_controller, 10000,
     "TS-SLURM-CONTROLLER"},
    {"slurm.partitions", "slurm", "partitions up (sinfo)", check_partitions, 10000,
     "TS-SLURM-CONTROLLER TS-SLURM-SUBMIT"},
    {"slurm.gpus", "slurm", "GPUs declared as a gres", check_gpus, 10000, "TS-SLURM-GPU"},
    {"slurm.shared_dir", "slurm", "a node reads and writes the spool directory (--full)", check_shared_dir, 90000,
     "TS-SLURM-SPOOL"},
    {NULL, NULL, NULL, NULL, 0, NULL},
};
