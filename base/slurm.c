#include "base/slurm.h"

#include "base/error.h"
#include "base/host.h"
#include "base/log.h"
#include "base/proc.h"
#include "base/progress.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SLURM_OUT_MAX (8u << 20)

int lab_slurm_found(char *out, size_t cap)
{
    return lab_host_in_path("", "sbatch", out, cap);
}

static void first_line(const char *text, char *out, size_t cap)
{
    snprintf(out, cap, "%s", text ? text : "");
    out[strcspn(out, "\n")] = 0;
}

const char *lab_slurm_account_arg(const struct lab_argv *args)
{
    for (size_t i = 0; args && i < args->n; i++) {
        const char *a = args->v[i];
        if (strncmp(a, "--account=", 10) == 0)
            return a + 10;
        if ((strcmp(a, "--account") == 0 || strcmp(a, "-A") == 0) && i + 1 < args->n)
            return args->v[i + 1];
    }
    return NULL;
}

int lab_slurm_refused(int exit_code, const char *text, const char *account)
{
    char why[1024];
    lab_last_line(text ? text : "", why, sizeof why);
    /* Slurm's words when AccountingStorageEnforce=associations knows no
     * (user, account, partition) association: the fix is the account. */
    if (strstr(text ? text : "", "Invalid account")) {
        char fix[512];
        snprintf(fix, sizeof fix,
                 "list yours with `sacctmgr show assoc user=$USER format=account,partition`, then give one of them "
                 "with --account (or drop --account for your default) (lab explain TS-SLURM-ACCOUNT)");
        if (account && *account)
            return lab_err(LAB_EENV, fix, "sbatch refused account '%s' (not yours, or not on that partition): %s",
                           account, why);
        return lab_err(LAB_EENV, fix, "sbatch refused your default account (no association for it): %s", why);
    }
    return lab_err(LAB_EENV, "check the partition, --gres, --time and --account with `sinfo` and your site's "
                             "rules (lab explain TS-SLURM-SUBMIT)",
                   "sbatch refused the job (exit %d): %s", exit_code, why[0] ? why : "(no message)");
}

int lab_slurm_submit(const struct lab_argv *args, const char *script, const char *account, char *jobid,
                     size_t cap)
{
    struct lab_argv cmd = {0};
    int rc = lab_argv_push(&cmd, "sbatch");
    rc = rc ? rc : lab_argv_push(&cmd, "--parsable");
    rc = rc ? rc : lab_argv_extend(&cmd, args->v, args->n);
    rc = rc ? rc : lab_argv_push(&cmd, script);
    struct lab_proc_result r = {0};
    rc = rc ? rc : lab_proc_capture(cmd.v, 1 << 16, &r);
    if (!rc && r.exit_code != 0) {
        rc = lab_slurm_refused(r.exit_code, r.err && *r.err ? r.err : r.out,
                               account ? account : lab_slurm_account_arg(args));
    } else if (!rc) {
        char line[256];
        first_line(r.out, line, sizeof line);
        line[strcspn(line, ";")] = 0; /* "123;cluster" on federations */
        size_t k = strspn(line, "0123456789");
        if (k == 0 || line[k] || k >= cap)
            rc = lab_err(LAB_EENV, "lab explain TS-SLURM-SUBMIT", "sbatch printed '%s', not a job id", line);
        else
            snprintf(jobid, cap, "%s", line);
    }
    lab_proc_result_free(&r);
    lab_argv_free(&cmd);
    return rc;
}

int lab_slurm_state_final(const char *s)
{
    static const char *const live[] = {"PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "REQUEUED",
                                       "RESIZING", "SUSPENDED", "STAGE_OUT", "SIGNALING", "REQUEUE_HOLD",
                                       "REQUEUE_FED", "RESV_DEL_HOLD", "STOPPED", NULL};
    for (int i = 0; live[i]; i++)
        if (strcmp(s, live[i]) == 0)
            return 0;
    return 1;
}

static int push_task(struct lab_slurm_task **v, size_t *n, size_t *cap, long task, const char *state, int code,
                     int sig)
{
    if (*n >= LAB_SLURM_MAX_TASKS)
        return LAB_OK; /* more than any array Slurm allows: the rest is noise */
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 32;
        struct lab_slurm_task *nv = realloc(*v, nc * sizeof *nv);
        if (!nv)
            return lab_err(LAB_EINTERNAL, NULL, "out of memory");
        *v = nv, *cap = nc;
    }
    struct lab_slurm_task *t = &(*v)[(*n)++];
    t->task = task;
    snprintf(t->state, sizeof t->state, "%s", state);
    t->state[strcspn(t->state, " ")] = 0; /* "CANCELLED by 0" */
    t->exit_code = code;
    t->signaled = sig;
    return LAB_OK;
}

/* "3", "[4-9]", "[1,3,5-7%2]", "1-3" (scontrol), a plain job: "". Pushes one
 * task per element, at most 100000. */
static int push_range(struct lab_slurm_task **v, size_t *n, size_t *cap, const char *spec, const char *state,
                      int code, int sig)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", spec);
    char *p = buf;
    if (*p == '[')
        p++;
    p[strcspn(p, "]%")] = 0;
    if (!*p || strcmp(p, "N/A") == 0 || strcmp(p, "(null)") == 0)
        return push_task(v, n, cap, -1, state, code, sig);
    size_t pushed = 0;
    char *save = NULL;
    for (char *tok = strtok_r(p, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *end;
        long a = strtol(tok, &end, 10), b = a;
        if (end == tok || a < 0)
            continue;
        if (*end == '-')
            b = strtol(end + 1, &end, 10);
        if (a > INT_MAX) /* array task ids are ints; a bound like LONG_MAX must not overflow t++ */
            continue;
        if (b > INT_MAX)
            b = INT_MAX;
        for (long t = a; t <= b && pushed < 100000; t++, pushed++) {
            int rc = push_task(v, n, cap, t, state, code, sig);
            if (rc)
                return rc;
        }
    }
    return LAB_OK;
}

/* "0:15" (status:signal) from sacct and scontrol alike. */
static void parse_exit(const char *s, int *code, int *sig)
{
    int a = 0, b = 0;
    if (sscanf(s, "%d:%d", &a, &b) < 1)
        a = 0;
    *code = b ? b : a;
    *sig = b != 0;
}

int lab_slurm_parse_sacct(const char *text, const char *jobid, struct lab_slurm_task **out, size_t *n)
{
    *out = NULL, *n = 0;
    size_t cap = 0, idlen = strlen(jobid);
    const char *line = text;
    while (line && *line) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        char buf[8192];
        if (len < sizeof buf) {
            memcpy(buf, line, len);
            buf[len] = 0;
            char *f[3] = {buf, NULL, NULL};
            for (int i = 1; i < 3 && f[i - 1]; i++) {
                char *bar = strchr(f[i - 1], '|');
                if (bar)
                    *bar = 0, f[i] = bar + 1;
            }
            /* "12", "12_3", "12_[4-9]"; steps ("12_3.batch") are not tasks. */
            if (f[2] && strncmp(f[0], jobid, idlen) == 0 && !strchr(f[0], '.') &&
                (f[0][idlen] == 0 || f[0][idlen] == '_')) {
                int code, sig;
                parse_exit(f[2], &code, &sig);
                char *bar = strchr(f[2], '|');
                if (bar)
                    *bar = 0;
                int rc = push_range(out, n, &cap, f[0][idlen] ? f[0] + idlen + 1 : "", f[1], code, sig);
                if (rc) {
                    free(*out), *out = NULL, *n = 0;
                    return rc;
                }
            }
        }
        line = nl ? nl + 1 : NULL;
    }
    return LAB_OK;
}

void lab_slurm_field(const char *line, const char *key, char *out, size_t cap)
{
    out[0] = 0;
    size_t kl = strlen(key);
    for (const char *p = line; (p = strstr(p, key)); p += kl) {
        if ((p == line || isspace((unsigned char)p[-1])) && p[kl] == '=') {
            const char *v = p + kl + 1;
            size_t len = strcspn(v, " \t\n");
            if (len >= cap)
                len = cap - 1;
            memcpy(out, v, len);
            out[len] = 0;
            return;
        }
    }
}

int lab_slurm_parse_scontrol(const char *text, const char *jobid, struct lab_slurm_task **out, size_t *n)
{
    *out = NULL, *n = 0;
    size_t cap = 0;
    const char *line = text;
    while (line && *line) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        char *buf = malloc(len + 1);
        if (!buf) {
            free(*out), *out = NULL, *n = 0;
            return lab_err(LAB_EINTERNAL, NULL, "out of memory");
        }
        memcpy(buf, line, len);
        buf[len] = 0;
        char id[64], array[64], task[4096], state[64], exitc[64];
        lab_slurm_field(buf, "JobId", id, sizeof id);
        lab_slurm_field(buf, "ArrayJobId", array, sizeof array);
        lab_slurm_field(buf, "ArrayTaskId", task, sizeof task);
        lab_slurm_field(buf, "JobState", state, sizeof state);
        lab_slurm_field(buf, "ExitCode", exitc, sizeof exitc);
        free(buf);
        int rc = LAB_OK;
        if (state[0] && (strcmp(array, jobid) == 0 || (!array[0] && strcmp(id, jobid) == 0))) {
            int code, sig;
            parse_exit(exitc, &code, &sig);
            rc = push_range(out, n, &cap, array[0] ? task : "", state, code, sig);
        }
        if (rc) {
            free(*out), *out = NULL, *n = 0;
            return rc;
        }
        line = nl ? nl + 1 : NULL;
    }
    return LAB_OK;
}

/* sacct's rows for jobid; *on = 0 where it fails (no accounting). */
static int acct_tasks(const char *jobid, struct lab_slurm_task **out, size_t *n, int *on)
{
    *out = NULL, *n = 0, *on = 0;
    char *sacct[] = {"sacct", "-X", "-n", "-P", "-o", "JobID,State,ExitCode", "-j", (char *)jobid, NULL};
    struct lab_proc_result r = {0};
    int rc = lab_proc_capture(sacct, SLURM_OUT_MAX, &r);
    if (!rc && r.exit_code == 0 && r.out) {
        *on = 1;
        rc = lab_slurm_parse_sacct(r.out, jobid, out, n);
    }
    lab_proc_result_free(&r);
    return rc;
}

/* The controller's lines for jobid; n = 0 when it does not know the job. */
static int ctl_tasks(const char *jobid, struct lab_slurm_task **out, size_t *n)
{
    *out = NULL, *n = 0;
    char *sc[] = {"scontrol", "-o", "show", "job", (char *)jobid, NULL};
    struct lab_proc_result r = {0};
    int rc = lab_proc_capture(sc, SLURM_OUT_MAX, &r);
    if (!rc && r.exit_code != 0 && !(r.err && strstr(r.err, "Invalid job id"))) {
        char why[512];
        lab_last_line(r.err, why, sizeof why);
        rc = lab_err(LAB_EENV, "check that the controller answers: `scontrol ping` (lab explain TS-SLURM-CONTROLLER)",
                     "scontrol show job %s failed: %s", jobid, why);
    } else if (!rc && r.exit_code == 0) {
        rc = lab_slurm_parse_scontrol(r.out, jobid, out, n);
    }
    lab_proc_result_free(&r);
    return rc;
}

int lab_slurm_tasks(const char *jobid, struct lab_slurm_task **out, size_t *n, const char **source)
{
    int on;
    int rc = acct_tasks(jobid, out, n, &on);
    if (rc || *n) {
        *source = "sacct";
        return rc;
    }
    free(*out);
    /* No accounting, or it has not heard of the job yet: the controller. */
    *source = "scontrol";
    return ctl_tasks(jobid, out, n);
}

void lab_slurm_view_free(struct lab_slurm_view *v)
{
    free(v->acct);
    free(v->ctl);
    memset(v, 0, sizeof *v);
}

int lab_slurm_view_get(const char *jobid, struct lab_slurm_view *v)
{
    lab_slurm_view_free(v);
    int rc = acct_tasks(jobid, &v->acct, &v->n_acct, &v->acct_on);
    rc = rc ? rc : ctl_tasks(jobid, &v->ctl, &v->n_ctl);
    if (rc)
        lab_slurm_view_free(v);
    else
        v->asked = 1;
    return rc;
}

static const struct lab_slurm_task *find_task(const struct lab_slurm_task *t, size_t n, long task)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].task == task)
            return &t[i];
    return NULL;
}

enum lab_slurm_verdict lab_slurm_view_task(const struct lab_slurm_view *v, long task, char *state, size_t cap,
                                           const char **source)
{
    const struct lab_slurm_task *acct = v->acct_on ? find_task(v->acct, v->n_acct, task) : NULL;
    const struct lab_slurm_task *ctl = find_task(v->ctl, v->n_ctl, task);
    const struct lab_slurm_task *said = ctl ? ctl : acct;
    snprintf(state, cap, "%s", said ? said->state : "LOST");
    *source = ctl ? "scontrol" : acct ? "sacct" : "no record";
    if (ctl && !lab_slurm_state_final(ctl->state))
        return LAB_SLURM_LIVE; /* the controller's present, whatever accounting last heard (a requeue) */
    if (ctl && v->acct_on) {
        if (!acct || strcmp(acct->state, ctl->state) != 0)
            return LAB_SLURM_BEHIND;
        *source = "sacct";
        return LAB_SLURM_ENDED;
    }
    if (ctl)
        return LAB_SLURM_ENDED; /* no accounting: the controller is all there is */
    if (acct)
        return lab_slurm_state_final(acct->state) ? LAB_SLURM_ENDED : LAB_SLURM_LIVE;
    return LAB_SLURM_LOST;
}

int lab_slurm_task_fate(const char *jobid, struct lab_slurm_view *v, long task, double wait_s, double *deadline,
                        enum lab_slurm_verdict *verdict, char *state, size_t cap, const char **source)
{
    for (;;) {
        if (!v->asked) {
            int rc = lab_slurm_view_get(jobid, v);
            if (rc)
                return rc;
        }
        *verdict = lab_slurm_view_task(v, task, state, cap, source);
        if (*verdict != LAB_SLURM_BEHIND)
            return LAB_OK;
        double now = lab_monotonic_s();
        if (*deadline == 0)
            *deadline = now + wait_s;
        if (now >= *deadline) {
            lab_warn("accounting has no final record of job %s task %ld after %.0f s; the controller says %s", jobid,
                     task, wait_s, state);
            *verdict = LAB_SLURM_ENDED; /* the controller's word, *source "scontrol" */
            return LAB_OK;
        }
        usleep(1000 * 1000);
        lab_slurm_view_free(v);
    }
}

int lab_slurm_mem_spec_ok(const char *s)
{
    size_t digits = strspn(s, "0123456789");
    if (digits == 0 || digits > 12 || strspn(s, "0") == digits)
        return 0;
    const char *unit = s + digits;
    return !*unit || (unit[1] == 0 && strchr("KMGTkmgt", *unit));
}

int lab_slurm_escape_pattern(const char *path, char *out, size_t cap)
{
    size_t k = 0;
    for (const char *p = path; *p; p++) {
        if (k + 3 > cap)
            return lab_err(LAB_EUSAGE, "use a shorter path", "%s: too long for sbatch's --output", path);
        if (*p == '%')
            out[k++] = '%';
        out[k++] = *p;
    }
    out[k] = 0;
    return LAB_OK;
}

int lab_slurm_cancel(const char *jobid)
{
    char *argv[] = {"scancel", (char *)jobid, NULL};
    struct lab_proc_result r = {0};
    int rc = lab_proc_capture(argv, 1 << 16, &r);
    if (!rc && r.exit_code != 0) {
        char why[512];
        lab_last_line(r.err, why, sizeof why);
        rc = lab_err(LAB_EENV, "cancel it yourself with scancel (lab explain TS-SLURM-CONTROLLER)",
                     "scancel %s failed: %s", jobid, why);
    }
    lab_proc_result_free(&r);
    return rc;
}
