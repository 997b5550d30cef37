/* Slurm checks, when sbatch is found: the controller answers, partitions
 * are up, GPUs are declared as a gres, accounting is on and knows you, and
 * (--full) a node sees and writes the shared directory that batches use
 * for their spool. */
#include "doctor/doctor.h"

#include "base/proc.h"
#include "base/slurm.h"

#include <limits.h>
#include <pwd.h>
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

/* Any of these makes slurmctld refuse a job without an association
 * (slurm.conf(5): limits, qos, safe and wckeys imply associations). */
static int enforces_associations(const char *enforce)
{
    static const char *const words[] = {"associations", "limits", "qos", "safe", "wckeys", NULL};
    for (int i = 0; words[i]; i++)
        if (strstr(enforce, words[i]))
            return 1;
    return 0;
}

/* Accounting storage (slurmdbd) is what --account is checked against and
 * what keeps a task's final state after the controller forgets it; the
 * user's associations are the accounts sbatch accepts. */
static void check_accounting(const struct doctor_ctx *ctx, struct doctor_result *r)
{
    if (no_slurm(ctx, r))
        return;
    char *conf[] = {"scontrol", "show", "config", NULL};
    struct lab_proc_result p;
    char line[512];
    if (capture(conf, &p) != 0) {
        lab_last_line(p.err && *p.err ? p.err : p.out, line, sizeof line);
        doctor_set(r, DOCTOR_FAIL, "TS-SLURM-CONTROLLER", "`scontrol ping` says whether the controller answers",
                   "scontrol show config failed: %s", line[0] ? line : "(no message)");
        lab_proc_result_free(&p);
        return;
    }
    /* `scontrol show config`'s "Key      = value" lines */
    char type[128] = "", enforce[256] = "", age[64] = "";
    doctor_field(p.out, "AccountingStorageType", type, sizeof type);
    doctor_field(p.out, "AccountingStorageEnforce", enforce, sizeof enforce);
    doctor_field(p.out, "MinJobAge", age, sizeof age);
    lab_proc_result_free(&p);
    if (!type[0] || strstr(type, "/none")) {
        doctor_set(r, DOCTOR_WARN, "TS-SLURM-ACCOUNT",
                   "ask your admins for slurmdbd (AccountingStorageType=accounting_storage/slurmdbd); until then "
                   "run `lab grade --collect` within MinJobAge of a batch's end",
                   "accounting storage is disabled (AccountingStorageType=%s): --account is not checked, and a "
                   "task's state comes from the controller, which forgets a job MinJobAge (%s) after it ends",
                   type[0] ? type : "unset", age[0] ? age : "300 sec");
        return;
    }
    struct passwd *pw = getpwuid(geteuid());
    const char *user = pw && pw->pw_name ? pw->pw_name : getenv("USER");
    char who[300];
    snprintf(who, sizeof who, "user=%s", user ? user : "");
    char *assoc[] = {"sacctmgr", "-n", "-P", "show", "assoc", who, "format=account,partition", NULL};
    if (capture(assoc, &p) != 0) {
        lab_last_line(p.err && *p.err ? p.err : p.out, line, sizeof line);
        doctor_set(r, DOCTOR_WARN, "TS-SLURM-ACCOUNT",
                   "`sacctmgr show cluster` tells whether slurmdbd answers; ask your admins",
                   "accounting is on (%s) but sacctmgr could not list your associations: %s", type,
                   line[0] ? line : "(no message)");
        lab_proc_result_free(&p);
        return;
    }
    /* "cv101|" (every partition) or "cv101|gpu", one a line. */
    char accounts[DOCTOR_MSG_CAP / 2] = "";
    size_t len = 0, n = 0;
    for (char *save = NULL, *l = strtok_r(p.out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        char *bar = strchr(l, '|');
        if (bar)
            *bar++ = 0;
        if (!*l)
            continue;
        n++;
        if (len + strlen(l) + (bar ? strlen(bar) : 0) + 8 < sizeof accounts)
            len += (size_t)snprintf(accounts + len, sizeof accounts - len, "%s%s%s%s%s", len ? ", " : "", l,
                                    bar && *bar ? " (partition " : "", bar && *bar ? bar : "",
                                    bar && *bar ? ")" : "");
    }
    lab_proc_result_free(&p);
    int enforced = enforces_associations(enforce);
    if (n)
        doctor_set(r, DOCTOR_PASS, NULL, NULL, "accounting on (%s, enforce %s); %s may charge: %s (--account)", type,
                   enforce[0] ? enforce : "none", user ? user : "you", accounts);
    else
        doctor_set(r, enforced ? DOCTOR_FAIL : DOCTOR_WARN, "TS-SLURM-ACCOUNT",
                   "ask your admins to add you to the course's account (sacctmgr add user NAME Account=A), then "
                   "give it with --account",
                   "accounting is on (%s, enforce %s) but %s has no association%s", type,
                   enforce[0] ? enforce : "none", user ? user : "you",
                   enforced ? ": sbatch refuses every job" : "");
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
    {"slurm.accounting", "slurm", "accounting storage on, and you in an account (scontrol, sacctmgr)",
     check_accounting, 15000, "TS-SLURM-CONTROLLER TS-SLURM-ACCOUNT"},
    {"slurm.shared_dir", "slurm", "a node reads and writes the spool directory (--full)", check_shared_dir, 90000,
     "TS-SLURM-SPOOL"},
    {NULL, NULL, NULL, NULL, 0, NULL},
};
