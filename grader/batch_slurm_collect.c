/* The collect step of a batch on Slurm: the one writer of the gradebook. */
#include "grader/batch_slurm.h"

#include "base/error.h"
#include "base/fsutil.h"
#include "base/jsonio.h"
#include "base/progress.h"
#include "base/slurm.h"
#include "grader/batch_internal.h"
#include "grader/batch_spool.h"
#include "grader/gradebook.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

struct batch_slurm_fate batch_slurm_fate_of(const char *state)
{
    if (strcmp(state, "TIMEOUT") == 0 || strcmp(state, "DEADLINE") == 0)
        return (struct batch_slurm_fate){GRADE_TIMEOUT, "slurm.timeout", "TS-SLURM-TIMEOUT",
                                         "its array task ran past its Slurm time limit (--time)"};
    if (strcmp(state, "OUT_OF_MEMORY") == 0)
        return (struct batch_slurm_fate){GRADE_OOM, "slurm.oom", "TS-SLURM-OOM",
                                         "its array task ran out of the memory Slurm gave it"};
    if (strcmp(state, "NODE_FAIL") == 0 || strcmp(state, "BOOT_FAIL") == 0)
        return (struct batch_slurm_fate){GRADE_CRASH, "slurm.node_fail", "TS-SLURM-NODE-FAIL",
                                         "the node running its array task failed"};
    if (strcmp(state, "CANCELLED") == 0 || strcmp(state, "PREEMPTED") == 0)
        return (struct batch_slurm_fate){GRADE_CRASH, "slurm.cancelled", "TS-SLURM-TASK-FAILED",
                                         "its array task was cancelled"};
    return (struct batch_slurm_fate){GRADE_CRASH, "slurm.failed", "TS-SLURM-TASK-FAILED",
                                     "its array task failed"};
}

/* ---- what the Slurm jobs say, per attempt ---- */

struct attempt {
    const char *job;
    json_t *tasks; /* null: every task */
    struct lab_slurm_view view;
};

static int attempt_has(const struct attempt *a, size_t task)
{
    if (!json_is_array(a->tasks))
        return 1;
    size_t k;
    json_t *v;
    json_array_foreach(a->tasks, k, v) if ((size_t)json_integer_value(v) == task) return 1;
    return 0;
}

/* How long accounting may lag the controller before the controller's word
 * is taken: LAB_SLURM_ACCT_WAIT seconds (default 60; slurmdbd was 3 s
 * behind on the test's idle cluster, a busy one can be further). */
static double acct_wait_s(void)
{
    const char *v = getenv("LAB_SLURM_ACCT_WAIT");
    char *end = NULL;
    double s = v && *v ? strtod(v, &end) : -1;
    return end && !*end && s >= 0 ? s : 60;
}

/* The fate of `task` in attempt a: never decided on what accounting has
 * not yet heard (base/slurm.h, lab_slurm_task_fate). */
static int task_state(struct attempt *a, size_t task, double *deadline, enum lab_slurm_verdict *verdict,
                      char *state, size_t cap, const char **source)
{
    return lab_slurm_task_fate(a->job, &a->view, (long)task, acct_wait_s(), deadline, verdict, state, cap, source);
}

/* ---- recorded/<i>.json: the row is in the gradebook ---- */

static int mark_recorded(const struct batch_spool *sp, size_t i, const struct grade_report *r,
                         const struct gb_outcome *oc)
{
    json_t *j = json_pack("{s:s, s:s, s:s, s:s}", "status", batch_status_names[r->status], "student", oc->student,
                          "detail", r->status_detail ? r->status_detail : "", "id_issue", oc->id_issue);
    char p[PATH_MAX];
    batch_spool_path(sp, "recorded", i, ".json", p, sizeof p);
    int rc = j ? lab_json_save(p, j) : lab_err(LAB_EINTERNAL, NULL, "out of memory");
    json_decref(j);
    return rc;
}

/* 1 when row i was recorded by an earlier collect (counted into s). */
static int count_recorded(const struct batch_spool *sp, size_t i, struct batch_summary *s)
{
    char p[PATH_MAX];
    batch_spool_path(sp, "recorded", i, ".json", p, sizeof p);
    json_t *j;
    if (!lab_path_exists(p) || lab_json_load(p, &j) != LAB_OK) {
        lab_err_clear();
        return 0;
    }
    const char *st = json_string_value(json_object_get(j, "status"));
    const char *student = json_string_value(json_object_get(j, "student"));
    const char *detail = json_string_value(json_object_get(j, "detail"));
    const char *idi = json_string_value(json_object_get(j, "id_issue"));
    for (int k = 0; st && k < 5; k++)
        if (strcmp(st, batch_status_names[k]) == 0) {
            s->counts[k]++;
            if (k != GRADE_GRADED)
                batch_summary_add_problem(s, sp->items[i].source, student, st, detail);
        }
    if (idi && *idi) {
        s->id_issues++;
        batch_summary_add_problem(s, sp->items[i].source, student, "id", idi);
    }
    json_decref(j);
    return 1;
}

static int record(gradebook *gb, const struct batch_spool *sp, size_t i, struct batch_result *res,
                  struct batch_summary *s)
{
    int found = 0;
    int rc = gradebook_has(gb, sp->opts.lab, sp->sha256[i], sp->opts.grader_version, sp->items[i].source, &found);
    if (rc)
        return rc;
    struct gb_outcome oc;
    memset(&oc, 0, sizeof oc);
    if (found) {
        /* A collect that stopped between the row and its mark: the row stands. */
        s->skipped++;
        snprintf(oc.student, sizeof oc.student, "%s", res->report->student ? res->report->student : "");
        return mark_recorded(sp, i, res->report, &oc);
    }
    rc = batch_record(gb, &sp->opts, sp->input_root, &sp->items[i], sp->sha256[i], res, s, &oc);
    return rc ? rc : mark_recorded(sp, i, res->report, &oc);
}

static int write_summary(const struct batch_spool *sp, const struct batch_summary *s)
{
    char p[PATH_MAX];
    json_t *j = batch_summary_to_json(s);
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (mem) {
        batch_summary_print(s, mem);
        fclose(mem);
    }
    snprintf(p, sizeof p, "%s/summary.txt", sp->dir);
    int rc = text ? lab_write_atomic(p, text, len) : lab_err(LAB_EINTERNAL, NULL, "out of memory");
    free(text);
    snprintf(p, sizeof p, "%s/summary.json", sp->dir);
    rc = rc ? rc : j ? lab_json_save(p, j) : lab_err(LAB_EINTERNAL, NULL, "out of memory");
    json_decref(j);
    return rc;
}

static int lock_spool(const struct batch_spool *sp, int *fd)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/collect.lock", sp->dir);
    *fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (*fd < 0 || flock(*fd, LOCK_EX) != 0)
        return lab_err(LAB_EENV, "the spool must be on storage that supports locks (NFSv4 does)",
                       "cannot lock %s: %s", p, strerror(errno));
    return LAB_OK;
}

int batch_slurm_collect(const char *spool, const char *db, struct batch_summary *s, bool *complete)
{
    memset(s, 0, sizeof *s);
    *complete = false;
    struct batch_spool sp;
    gradebook *gb = NULL;
    int lock = -1;
    struct attempt *att = NULL;
    size_t n_att = 0;
    bool *retry = NULL;
    int rc = batch_spool_open(spool, &sp);
    if (!rc)
        rc = lock_spool(&sp, &lock);
    if (rc)
        goto out;
    sp.opts.grade = NULL; /* nothing is graded here */
    const char *db_path = db ? db : sp.db_path;
    if ((rc = gradebook_open(db_path, true, &gb)))
        goto out;
    s->gradebook = strdup(db_path);
    s->total = sp.n + (size_t)json_integer_value(json_object_get(sp.meta, "skipped"));
    s->skipped = (size_t)json_integer_value(json_object_get(sp.meta, "skipped"));
    s->done = s->skipped;
    json_t *atts = json_object_get(sp.meta, "attempts");
    n_att = json_array_size(atts);
    att = calloc(n_att ? n_att : 1, sizeof *att);
    retry = calloc(sp.tasks, sizeof *retry);
    if (!att || !retry) {
        rc = lab_err(LAB_EINTERNAL, NULL, "out of memory");
        goto out;
    }
    for (size_t a = 0; a < n_att; a++) {
        att[a].job = json_string_value(json_object_get(json_array_get(atts, a), "job"));
        att[a].tasks = json_object_get(json_array_get(atts, a), "tasks");
        if (!att[a].job) {
            rc = lab_err(LAB_EUSAGE, "lab explain TS-SLURM-SPOOL", "%s/spool.json: attempt %zu has no job id", sp.dir,
                         a);
            goto out;
        }
    }
    size_t waiting = 0, n_retry = 0;
    double deadline = 0; /* one wait for accounting to catch up, shared by all tasks */
    for (size_t i = 0; i < sp.n && !rc; i++) {
        if (count_recorded(&sp, i, s)) {
            s->done++;
            continue;
        }
        struct sandbox_outcome oc;
        int missing = batch_spool_get_result(&sp, i, &oc);
        if (missing < 0) {
            rc = missing;
            break;
        }
        struct batch_result res = {0};
        if (!missing) {
            struct batch_job job = {.opts = &sp.opts, .item = &sp.items[i]};
            memcpy(job.sha256, sp.sha256[i], sizeof job.sha256);
            batch_spool_path(&sp, "work", i, "", job.workdir, sizeof job.workdir);
            rc = batch_result_from_outcome(&job, &oc, &res);
            sandbox_outcome_clear(&oc);
            rc = rc ? rc : record(gb, &sp, i, &res, s);
            batch_result_clear(&res);
            s->done++;
            continue;
        }
        /* Not graded: what did Slurm do with its task's last attempt? */
        size_t task = i % sp.tasks, tries = 0;
        struct attempt *last = NULL;
        for (size_t a = 0; a < n_att; a++)
            if (attempt_has(&att[a], task))
                last = &att[a], tries++;
        char state[32] = "LOST";
        const char *from = "no record";
        enum lab_slurm_verdict verdict = LAB_SLURM_LOST;
        if (last && (rc = task_state(last, task, &deadline, &verdict, state, sizeof state, &from)))
            break;
        if (verdict == LAB_SLURM_LIVE) {
            waiting++;
            continue;
        }
        if (tries <= (size_t)sp.retries && tries > 0) {
            if (!retry[task])
                retry[task] = true, n_retry++;
            waiting++;
            continue;
        }
        struct batch_slurm_fate f = batch_slurm_fate_of(state);
        char detail[512];
        snprintf(detail, sizeof detail,
                 "not graded: %s (Slurm state %s of job %s, task %zu, after %zu attempt%s; from %s)", f.what, state,
                 last ? last->job : "?", task, tries, tries == 1 ? "" : "s", from);
        res.report = batch_synth_report(sp.opts.lab, NULL, sp.opts.grader_version, f.status, f.check,
                                        f.status == GRADE_TIMEOUT ? CHECK_TIMEOUT : CHECK_ERROR, f.kb, detail);
        if (!res.report) {
            rc = lab_err(LAB_EINTERNAL, NULL, "out of memory");
            break;
        }
        rc = record(gb, &sp, i, &res, s);
        batch_result_clear(&res);
        s->done++;
    }
    if (rc)
        goto out;
    if (n_retry) {
        /* The tasks again, with a collect job after them. */
        char spec[8192] = "";
        json_t *list = json_array();
        size_t len = 0;
        for (size_t t = 0; t < sp.tasks && len + 16 < sizeof spec; t++)
            if (retry[t]) {
                len += (size_t)snprintf(spec + len, sizeof spec - len, "%s%zu", len ? "," : "", t);
                json_array_append_new(list, json_integer((json_int_t)t));
            }
        char job[32], collect[32];
        bool with_collect = json_is_true(json_object_get(sp.meta, "collect_job"));
        rc = batch_slurm_submit_attempt(sp.meta, sp.dir, spec, list, with_collect, job, collect, sizeof job);
        json_decref(list);
        if (!rc)
            printf("resubmitted task%s %s as job %s%s%s\n", n_retry == 1 ? "" : "s", spec, job,
                   collect[0] ? ", collect job " : "", collect);
    }
    if (!rc && !waiting) {
        *complete = true;
        s->elapsed_s = difftime(time(NULL), (time_t)json_integer_value(json_object_get(sp.meta, "submitted_at")));
        rc = write_summary(&sp, s);
    }
out:
    for (size_t a = 0; att && a < n_att; a++)
        lab_slurm_view_free(&att[a].view);
    free(att);
    free(retry);
    gradebook_close(gb);
    if (lock >= 0)
        close(lock);
    batch_spool_close(&sp);
    return rc;
}
