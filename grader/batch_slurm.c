/* The submit role of a batch on Slurm, and following it to the end. */
#include "grader/batch_slurm.h"

#include "base/error.h"
#include "base/fsutil.h"
#include "base/jsonio.h"
#include "base/progress.h"
#include "base/slurm.h"
#include "datasets/hash.h"
#include "grader/batch_internal.h"
#include "grader/batch_spool.h"
#include "grader/gradebook.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#define NFS_MAGIC 0x6969

void batch_slurm_opts_defaults(struct batch_slurm_opts *so)
{
    memset(so, 0, sizeof *so);
    so->spool_parent = "lab-spool";
    so->retries = 2;
    so->cpus_per_task = 1;
    so->wait = true;
    so->collect_job = true;
}

/* SQLite's locks do not hold on NFS: a gradebook there could lose rows. */
static int refuse_nfs_gradebook(const char *db)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", db);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    else
        snprintf(dir, sizeof dir, ".");
    struct statfs fs;
    if (statfs(*dir ? dir : "/", &fs) == 0 && fs.f_type == NFS_MAGIC)
        return lab_err(LAB_EUSAGE, "put the gradebook (--db) on a local disk; only the spool is shared (lab explain "
                                   "TS-SLURM-GRADEBOOK-NFS)",
                       "--db %s is on NFS, where SQLite's locking cannot be trusted", db);
    return LAB_OK;
}

static int write_script(const char *dir, const char *name, const char *lab_bin, const char *role)
{
    char p[PATH_MAX], *qb = lab_shell_quote(lab_bin), *qs = lab_shell_quote(dir);
    char text[3 * PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    int n = snprintf(text, sizeof text, "#!/bin/sh\n# written by lab grade --slurm\nexec %s grade %s %s\n",
                     qb ? qb : "lab", role, qs ? qs : dir);
    free(qb), free(qs);
    int rc = lab_write_atomic(p, text, (size_t)n);
    if (!rc && chmod(p, 0700) != 0)
        rc = lab_err(LAB_EENV, NULL, "chmod %s: %s", p, strerror(errno));
    return rc;
}

int batch_slurm_submit_attempt(json_t *meta, const char *dir, const char *array_spec, json_t *task_list,
                               bool with_collect, char *array_job, char *collect_job, size_t cap)
{
    struct lab_argv args = {0};
    json_t *common = json_object_get(meta, "sbatch");
    int rc = LAB_OK;
    size_t k;
    json_t *v;
    json_array_foreach(common, k, v) if (!rc) rc = lab_argv_push(&args, json_string_value(v));
    json_t *gres = json_object_get(meta, "gres");
    if (!rc && json_is_string(gres))
        rc = lab_argv_pushf(&args, "--gres=%s", json_string_value(gres));
    const char *lab = json_string_value(json_object_get(meta, "lab"));
    rc = rc ? rc : lab_argv_pushf(&args, "--job-name=lab-grade-%s", lab);
    rc = rc ? rc : lab_argv_pushf(&args, "--array=%s", array_spec);
    char edir[2 * PATH_MAX];
    rc = rc ? rc : lab_slurm_escape_pattern(dir, edir, sizeof edir);
    rc = rc ? rc : lab_argv_pushf(&args, "--output=%s/logs/task-%%A_%%a.out", edir);
    rc = rc ? rc : lab_argv_pushf(&args, "--cpus-per-task=%d",
                                  (int)json_integer_value(json_object_get(meta, "cpus_per_task")));
    json_t *mem = json_object_get(meta, "task_mem");
    if (!rc && json_is_string(mem))
        rc = lab_argv_pushf(&args, "--mem=%s", json_string_value(mem));
    /* A task whose node fails is resubmitted by the collect step, counted
     * against --retries: Slurm's own requeue would retry it without limit
     * and hide the NODE_FAIL the gradebook must record once they run out. */
    rc = rc ? rc : lab_argv_push(&args, "--no-requeue");
    char script[PATH_MAX];
    snprintf(script, sizeof script, "%s/task.sh", dir);
    rc = rc ? rc : lab_slurm_submit(&args, script, NULL, array_job, cap);
    lab_argv_free(&args);
    collect_job[0] = 0;
    if (!rc && with_collect) {
        json_array_foreach(common, k, v) if (!rc) rc = lab_argv_push(&args, json_string_value(v));
        rc = rc ? rc : lab_argv_pushf(&args, "--job-name=lab-collect-%s", lab);
        rc = rc ? rc : lab_argv_pushf(&args, "--dependency=afterany:%s", array_job);
        rc = rc ? rc : lab_argv_pushf(&args, "--output=%s/logs/collect-%%j.out", edir);
        snprintf(script, sizeof script, "%s/collect.sh", dir);
        rc = rc ? rc : lab_slurm_submit(&args, script, NULL, collect_job, cap);
        lab_argv_free(&args);
        if (rc) { /* an array nobody collects would only waste the cluster */
            int keep = rc;
            lab_slurm_cancel(array_job);
            rc = keep;
        }
    }
    if (rc)
        return rc;
    json_t *att = json_pack("{s:s, s:O, s:s}", "job", array_job, "tasks", task_list ? task_list : json_null(),
                            "collect", collect_job);
    if (!att || json_array_append_new(json_object_get(meta, "attempts"), att) != 0)
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/spool.json", dir);
    return lab_json_save(p, meta);
}

static json_t *meta_of(const struct batch_opts *o, const struct batch_slurm_opts *so, const char *input_root,
                       const char *db, size_t tasks, size_t skipped, const char *lab_bin)
{
    json_t *sb = json_array();
    if (so->partition)
        json_array_append_new(sb, json_sprintf("--partition=%s", so->partition));
    if (so->account)
        json_array_append_new(sb, json_sprintf("--account=%s", so->account));
    if (so->time_limit)
        json_array_append_new(sb, json_sprintf("--time=%s", so->time_limit));
    json_t *m = json_pack("{s:s, s:s, s:s, s:s, s:b, s:s, s:f, s:I, s:b, s:I, s:f, s:I, s:i, s:i, s:s, s:o, s:I, "
                          "s:I, s:[], s:b}",
                          "lab", o->lab, "grader_version", o->grader_version, "input", input_root, "db", db, "reeval",
                          o->reeval, "device", o->device ? o->device : "cpu", "timeout_s", o->timeout_s, "mem_mb",
                          (json_int_t)o->mem_mb, "has_due", o->has_due, "due", (json_int_t)o->due,
                          "late_pct_per_day", o->late_pct_per_day, "tasks", (json_int_t)tasks, "retries", so->retries,
                          "cpus_per_task", so->cpus_per_task, "lab_bin", lab_bin, "sbatch", sb, "submitted_at",
                          (json_int_t)time(NULL), "skipped", (json_int_t)skipped, "attempts", "collect_job",
                          so->collect_job);
    if (m && o->data_dir)
        json_object_set_new(m, "data_dir", json_string(o->data_dir));
    if (m && so->gres)
        json_object_set_new(m, "gres", json_string(so->gres));
    if (m && so->task_mem)
        json_object_set_new(m, "task_mem", json_string(so->task_mem));
    return m;
}

/* ---- following the jobs ---- */

static size_t count_entries(const char *dir, const char *sub)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", dir, sub);
    DIR *d = opendir(p);
    size_t n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

static void emit(const struct batch_slurm_opts *so, json_t *event)
{
    if (so->json && event) {
        char *t = json_dumps(event, JSON_COMPACT);
        if (t)
            printf("%s\n", t), fflush(stdout);
        free(t);
    }
    json_decref(event);
}

/* Asks on the terminal whether to cancel; no terminal: no. */
static int ask_cancel(const char *jobs)
{
    FILE *tty = fopen("/dev/tty", "r+");
    if (!tty)
        return 0;
    fprintf(tty, "\nstop grading: cancel the Slurm jobs %s (scancel)? [y/N] ", jobs);
    fflush(tty);
    char ans[16] = "";
    int yes = fgets(ans, sizeof ans, tty) && (ans[0] == 'y' || ans[0] == 'Y');
    fclose(tty);
    return yes;
}

struct follow {
    const struct batch_opts *o;
    const struct batch_slurm_opts *so;
    const char *dir;
    size_t total;
};

static int follow(struct follow *f)
{
    FILE *out = f->o->progress_out ? f->o->progress_out : stderr;
    struct lab_progress bar;
    lab_progress_start(&bar, out, f->so->json ? LAB_PROGRESS_QUIET : f->o->progress_mode, "grading on slurm",
                       f->total, "sub");
    double t0 = lab_monotonic_s(), last_emit = -1;
    size_t last_done = (size_t)-1;
    char summary[PATH_MAX], metap[PATH_MAX];
    snprintf(summary, sizeof summary, "%s/summary.json", f->dir);
    snprintf(metap, sizeof metap, "%s/spool.json", f->dir);
    int rc = LAB_OK;
    for (;;) {
        if (lab_path_exists(summary))
            break;
        json_t *meta = NULL;
        if ((rc = lab_json_load(metap, &meta)))
            break;
        json_t *atts = json_object_get(meta, "attempts");
        json_t *last = json_array_get(atts, json_array_size(atts) - 1);
        char job[32], collect[32];
        snprintf(job, sizeof job, "%s", json_string_value(json_object_get(last, "job")) ?: "");
        snprintf(collect, sizeof collect, "%s", json_string_value(json_object_get(last, "collect")) ?: "");
        bool collect_job = json_is_true(json_object_get(meta, "collect_job"));
        size_t n_att = json_array_size(atts);
        json_decref(meta);

        struct lab_slurm_task *tasks = NULL;
        size_t nt = 0, queued = 0, running = 0, failed = 0, finals = 0;
        const char *src = "";
        if ((rc = lab_slurm_tasks(job, &tasks, &nt, &src)))
            break;
        for (size_t i = 0; i < nt; i++) {
            if (strcmp(tasks[i].state, "PENDING") == 0)
                queued++;
            else if (!lab_slurm_state_final(tasks[i].state))
                running++;
            else {
                finals++;
                failed += strcmp(tasks[i].state, "COMPLETED") != 0;
            }
        }
        free(tasks);
        size_t done = count_entries(f->dir, "results");
        double el = lab_monotonic_s() - t0;
        double eta = done && done < f->total ? el / (double)done * (double)(f->total - done) : 0;
        char extra[160];
        snprintf(extra, sizeof extra, "job %s  queued %zu  running %zu  failed %zu  eta %.0f s", job, queued, running,
                 failed, eta);
        lab_progress_update(&bar, done, extra);
        if (done != last_done || el - last_emit >= 10) {
            emit(f->so, json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:f, s:s}", "event", "progress", "job", job,
                                  "queued", (json_int_t)queued, "running", (json_int_t)running, "failed",
                                  (json_int_t)failed, "done", (json_int_t)done, "total", (json_int_t)f->total,
                                  "eta_s", eta, "from", src));
            last_done = done, last_emit = el;
        }
        bool array_over = nt == 0 || finals == nt;
        if (array_over && !collect_job) {
            /* No collect job: this process is the collect step. */
            struct batch_summary s;
            bool complete = false;
            rc = batch_slurm_collect(f->dir, NULL, &s, &complete);
            batch_summary_free(&s);
            if (rc || complete)
                break; /* else tasks still live, or resubmitted: ask again after the pause */
        }
        if (array_over && collect[0]) {
            struct lab_slurm_task *c = NULL;
            size_t nc = 0;
            if ((rc = lab_slurm_tasks(collect, &c, &nc, &src)))
                break;
            int over = nc == 0 || lab_slurm_state_final(c[0].state);
            char state[32];
            snprintf(state, sizeof state, "%s", nc ? c[0].state : "gone");
            free(c);
            json_t *again = NULL;
            size_t now_att = 0;
            if (over && lab_json_load(metap, &again) == LAB_OK)
                now_att = json_array_size(json_object_get(again, "attempts"));
            json_decref(again);
            if (over && now_att == n_att && !lab_path_exists(summary)) {
                rc = lab_err(LAB_EENV,
                             "read its log in the spool's logs/, then run `lab grade --collect SPOOL` by hand "
                             "(lab explain TS-SLURM-COLLECT)",
                             "the collect job %s ended (%s) before the gradebook was complete; spool %s", collect,
                             state, f->dir);
                break;
            }
        }
        if (f->o->stop && *f->o->stop) {
            char jobs[80];
            snprintf(jobs, sizeof jobs, "%s%s%s", job, collect[0] ? " " : "", collect);
            if (ask_cancel(jobs)) {
                lab_slurm_cancel(job);
                if (collect[0])
                    lab_slurm_cancel(collect);
                lab_err_clear();
                fprintf(out, "cancelled %s; `lab grade --collect %s` records what was graded\n", jobs, f->dir);
            } else {
                fprintf(out, "the jobs %s go on; `lab grade --collect %s` records what they graded\n", jobs, f->dir);
            }
            rc = lab_err(LAB_EINTERRUPTED, "lab grade --collect SPOOL records what the jobs graded",
                         "stopped following the Slurm jobs");
            break;
        }
        usleep(500 * 1000);
    }
    lab_progress_finish(&bar, rc ? "stopped" : "complete");
    return rc;
}

/* The file and the WAL mode's two beside it. */
static void remove_gradebook(const char *db)
{
    static const char *const ext[] = {"", "-wal", "-shm"};
    char p[PATH_MAX + 8];
    for (size_t i = 0; i < sizeof ext / sizeof *ext; i++) {
        snprintf(p, sizeof p, "%s%s", db, ext[i]);
        unlink(p);
    }
}

int batch_slurm_submit(const struct batch_opts *o, const struct batch_slurm_opts *so, struct batch_summary *s)
{
    memset(s, 0, sizeof *s);
    char sbatch[PATH_MAX];
    if (!lab_slurm_found(sbatch, sizeof sbatch))
        return lab_err(LAB_EENV, "run it on a cluster's login node, or install Slurm's client (lab explain "
                                 "TS-SLURM-MISSING)",
                       "--slurm: sbatch is not in PATH");
    char db[PATH_MAX], lab_bin[PATH_MAX];
    if (o->db_path[0] == '/')
        snprintf(db, sizeof db, "%s", o->db_path);
    else if (getcwd(db, sizeof db - 1 - strlen(o->db_path)))
        snprintf(db + strlen(db), sizeof db - strlen(db), "/%s", o->db_path);
    int rc = refuse_nfs_gradebook(db);
    if (rc)
        return rc;
    ssize_t bl = readlink("/proc/self/exe", lab_bin, sizeof lab_bin - 1);
    if (bl <= 0)
        return lab_err(LAB_EENV, NULL, "cannot find lab's own executable: %s", strerror(errno));
    lab_bin[bl] = 0;

    char dir[PATH_MAX];
    if ((rc = batch_spool_create(so->spool_parent, o->lab, dir, sizeof dir)))
        return rc;
    /* Opened (and so created) before sbatch is asked, so a bad --db fails
     * before the cluster works; a gradebook made here for a submission that
     * never happened is removed again. */
    bool db_made = !lab_path_exists(db), submitted = false;
    struct batch_input in = {0};
    gradebook *gb = NULL;
    struct batch_item *todo = NULL;
    char (*sha)[65] = NULL;
    json_t *meta = NULL;
    size_t n = 0, skipped = 0;
    if ((rc = batch_input_scan(o->input, dir, &in)))
        goto out;
    todo = calloc(in.n ? in.n : 1, sizeof *todo);
    sha = calloc(in.n ? in.n : 1, sizeof *sha);
    if (!todo || !sha) {
        rc = lab_err(LAB_EINTERNAL, NULL, "out of memory");
        goto out;
    }
    if ((rc = gradebook_open(db, true, &gb)))
        goto out;
    for (size_t i = 0; i < in.n && !rc; i++) {
        const struct batch_item *it = &in.items[i];
        char *staged = NULL;
        if (batch_item_sha256(it, &o->limits, sha[n]) != LAB_OK) {
            /* Unreadable: its grading child says so, as in a local batch. */
            lab_err_clear();
            ds_hash_buffer(it->source, strlen(it->source), "sha256", sha[n], sizeof sha[n]);
            staged = strdup(it->path);
        } else {
            int found = 0;
            if ((rc = gradebook_has(gb, o->lab, sha[n], o->grader_version, it->source, &found)))
                break;
            if (found && !o->regrade) {
                skipped++;
                continue;
            }
            if ((rc = batch_spool_stage(dir, n, it, &staged)))
                break;
        }
        todo[n] = *it;
        todo[n].path = staged;
        n++;
    }
    gradebook_close(gb);
    gb = NULL;
    if (rc)
        goto out;
    s->total = in.n;
    s->skipped = skipped;
    s->done = skipped;
    s->gradebook = strdup(db);
    s->ignored = in.ignored, s->n_ignored = in.n_ignored;
    in.ignored = NULL, in.n_ignored = 0;
    if (n == 0) {
        batch_rm_tree(dir);
        goto out;
    }
    size_t tasks = so->tasks > 0 ? (size_t)so->tasks : (n + 9) / 10;
    if (tasks > n)
        tasks = n;
    if (tasks > 1000)
        tasks = 1000;
    if (!(meta = meta_of(o, so, in.root, db, tasks, skipped, lab_bin))) {
        rc = lab_err(LAB_EINTERNAL, NULL, "out of memory");
        goto out;
    }
    if ((rc = batch_spool_write(dir, meta, todo, sha, n)) || (rc = write_script(dir, "task.sh", lab_bin, "--slurm-task")) ||
        (rc = write_script(dir, "collect.sh", lab_bin, "--collect")))
        goto out;
    char spec[64], job[32], collect[32];
    if (so->array_parallel > 0)
        snprintf(spec, sizeof spec, "0-%zu%%%d", tasks - 1, so->array_parallel);
    else
        snprintf(spec, sizeof spec, "0-%zu", tasks - 1);
    if ((rc = batch_slurm_submit_attempt(meta, dir, spec, NULL, so->collect_job, job, collect, sizeof job))) {
        batch_rm_tree(dir); /* nothing was submitted: no spool to keep */
        goto out;
    }
    submitted = true;
    if (!so->json)
        fprintf(o->progress_out ? o->progress_out : stderr,
                "submitted job array %s (%zu tasks, %zu submissions)%s%s; spool %s\n", job, tasks, n,
                collect[0] ? ", collect job " : "", collect, dir);
    emit(so, json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s}", "event", "submitted", "job", job, "collect", collect,
                       "tasks", (json_int_t)tasks, "submissions", (json_int_t)n, "skipped", (json_int_t)skipped,
                       "spool", dir));
    if (!so->wait)
        goto out;
    struct follow f = {.o = o, .so = so, .dir = dir, .total = n};
    if ((rc = follow(&f)))
        goto out;
    batch_summary_free(s);
    bool complete = false;
    rc = batch_slurm_collect(dir, NULL, s, &complete);
out:
    json_decref(meta);
    for (size_t i = 0; todo && i < n; i++)
        free(todo[i].path);
    free(todo);
    free(sha);
    gradebook_close(gb);
    batch_input_free(&in);
    if (rc && db_made && !submitted)
        remove_gradebook(db);
    return rc;
}
