#include "grader/batch.h"

#include "base/error.h"
#include "base/fsutil.h"
#include "base/jsonio.h"
#include "base/log.h"
#include "datasets/hash.h"
#include "grader/batch_internal.h"
#include "shim/lazy.h"
#include "store/store.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void batch_opts_defaults(struct batch_opts *o)
{
    memset(o, 0, sizeof *o);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    o->jobs = cpus > 0 ? (int)cpus : 1;
    o->timeout_s = 600;
    o->mem_mb = 4096;
    o->device = "cpu";
    o->db_path = "gradebook.sqlite";
    o->limits = batch_submission_limits();
    o->progress_out = stderr;
    o->progress_mode = LAB_PROGRESS_AUTO;
}

/* ---- dates and penalties ---- */

int batch_parse_due(const char *text, time_t *out)
{
    int y, mo, d, h = 23, mi = 59, s = 59, n = 0;
    const char *fix = "write it as 2026-11-22, 2026-11-22T23:59, or 2026-11-22T23:59:00Z (or +01:00)";
    if (sscanf(text, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10)
        return lab_err(LAB_EUSAGE, fix, "--due '%s' is not a date", text);
    const char *p = text + 10;
    if (*p == 'T' || *p == ' ') {
        int k = 0;
        s = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &h, &mi, &k) != 2 || k != 5)
            return lab_err(LAB_EUSAGE, fix, "--due '%s': the time is not HH:MM", text);
        p += 1 + k;
        if (*p == ':') {
            if (sscanf(p + 1, "%2d%n", &s, &k) != 1 || k != 2)
                return lab_err(LAB_EUSAGE, fix, "--due '%s': the seconds are not two digits", text);
            p += 3;
        }
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60 || h < 0 || mi < 0 || s < 0)
        return lab_err(LAB_EUSAGE, fix, "--due '%s' is not a real date and time", text);
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = s,
                    .tm_isdst = -1};
    if (*p == 0) {
        *out = mktime(&tm); /* local time */
        return LAB_OK;
    }
    long off = 0;
    if (*p == 'Z' && p[1] == 0) {
        off = 0;
    } else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
        int oh, om;
        if (sscanf(p + 1, "%2d:%2d", &oh, &om) != 2 || oh > 23 || om > 59)
            return lab_err(LAB_EUSAGE, fix, "--due '%s': the UTC offset is not +HH:MM", text);
        off = (*p == '-' ? -1 : 1) * (oh * 3600L + om * 60L);
    } else {
        return lab_err(LAB_EUSAGE, fix, "--due '%s': unexpected '%s' after the time", text, p);
    }
    *out = timegm(&tm) - off;
    return LAB_OK;
}

int batch_parse_penalty(const char *text, double *pct)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || errno || !isfinite(v))
        return lab_err(LAB_EUSAGE, "write it as 10 or 10%/day (percent of the score per day late)",
                       "--late-penalty '%s' is not a number", text);
    if (*end == '%')
        end++;
    if (strcmp(end, "/day") == 0 || strcmp(end, "/d") == 0)
        end += strlen(end);
    if (*end || v < 0 || v > 100)
        return lab_err(LAB_EUSAGE, "write it as 10 or 10%/day (0 to 100 percent of the score per day late)",
                       "--late-penalty '%s' is not a percentage per day", text);
    *pct = v;
    return LAB_OK;
}

int batch_late_days(const struct batch_opts *o, time_t received, int lms_kind, bool lms_late)
{
    if (!o->has_due)
        return 0;
    int days = 0;
    if (received > o->due)
        days = (int)ceil((double)(received - o->due) / 86400.0);
    if (lms_kind == LMS_CANVAS) {
        /* Canvas knows whether it was late; the file time only says by how much. */
        if (!lms_late)
            return 0;
        if (days < 1)
            days = 1;
    }
    return days;
}

/* ---- the staging area ---- */

static const char *tmp_base(void)
{
    const char *t = getenv("TMPDIR");
    return t && *t ? t : "/tmp";
}

/* Staging areas of batches killed with -9 (their pid is gone) are removed. */
static void sweep_stale_staging(void)
{
    DIR *d = opendir(tmp_base());
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        long pid;
        char rest[64];
        if (sscanf(e->d_name, "lab-batch-%ld-%63s", &pid, rest) != 2 || pid <= 0)
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        char p[PATH_MAX], marker[PATH_MAX + 32];
        snprintf(p, sizeof p, "%s/%s", tmp_base(), e->d_name);
        snprintf(marker, sizeof marker, "%s/.lab-batch-staging", p);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == getuid() && lab_path_exists(marker))
            batch_rm_tree(p);
    }
    closedir(d);
}

static int make_staging(char *out, size_t cap)
{
    sweep_stale_staging();
    snprintf(out, cap, "%s/lab-batch-%ld-XXXXXX", tmp_base(), (long)getpid());
    if (!mkdtemp(out))
        return lab_err(LAB_EENV, "set TMPDIR to a writable directory with free space",
                       "cannot create a staging area in %s: %s", tmp_base(), strerror(errno));
    char marker[PATH_MAX];
    snprintf(marker, sizeof marker, "%s/.lab-batch-staging", out);
    return lab_write_atomic(marker, "", 0);
}

/* ---- the summary ---- */

int batch_summary_add_problem(struct batch_summary *s, const char *source, const char *student, const char *status,
                       const char *detail)
{
    struct batch_problem *np = realloc(s->problems, (s->n_problems + 1) * sizeof *np);
    if (!np)
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    s->problems = np;
    struct batch_problem *p = &np[s->n_problems++];
    p->source = strdup(source);
    p->student = strdup(student ? student : "");
    p->status = strdup(status);
    p->detail = strdup(detail ? detail : "");
    return LAB_OK;
}

void batch_summary_free(struct batch_summary *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_problems; i++) {
        free(s->problems[i].source), free(s->problems[i].student);
        free(s->problems[i].status), free(s->problems[i].detail);
    }
    free(s->problems);
    for (size_t i = 0; i < s->n_ignored; i++)
        free(s->ignored[i]);
    free(s->ignored);
    free(s->gradebook);
    memset(s, 0, sizeof *s);
}

const char *const batch_status_names[] = {"graded", "not_gradable", "crash", "timeout", "oom"};

static void counts_text(const struct batch_summary *s, char *buf, size_t cap)
{
    snprintf(buf, cap, "graded %zu  not_gradable %zu  crash %zu  timeout %zu  oom %zu  skipped %zu", s->counts[0],
             s->counts[1], s->counts[2], s->counts[3], s->counts[4], s->skipped);
}

json_t *batch_summary_to_json(const struct batch_summary *s)
{
    json_t *counts = json_object();
    for (int i = 0; i < 5; i++)
        json_object_set_new(counts, batch_status_names[i], json_integer((json_int_t)s->counts[i]));
    json_object_set_new(counts, "skipped", json_integer((json_int_t)s->skipped));
    json_object_set_new(counts, "still_not_graded", json_integer((json_int_t)s->still_not_graded));
    json_t *problems = json_array();
    for (size_t i = 0; i < s->n_problems; i++)
        json_array_append_new(problems, json_pack("{s:o, s:o, s:s, s:o}", "source", lab_json_text(s->problems[i].source),
                                                  "student", lab_json_text(s->problems[i].student), "status",
                                                  s->problems[i].status, "detail",
                                                  lab_json_text(s->problems[i].detail)));
    json_t *ignored = json_array();
    for (size_t i = 0; i < s->n_ignored; i++)
        json_array_append_new(ignored, lab_json_text(s->ignored[i]));
    return json_pack("{s:I, s:I, s:o, s:I, s:f, s:f, s:b, s:b, s:o, s:o, s:o}", "total", (json_int_t)s->total,
                     "done", (json_int_t)s->done, "counts", counts, "id_issues", (json_int_t)s->id_issues,
                     "elapsed_s", s->elapsed_s, "per_s", s->elapsed_s > 0 ? (double)s->done / s->elapsed_s : 0.0,
                     "network_isolated", s->network_isolated, "interrupted", s->interrupted, "gradebook",
                     lab_json_text(s->gradebook), "problems", problems, "ignored", ignored);
}

void batch_summary_print(const struct batch_summary *s, FILE *out)
{
    char counts[256];
    counts_text(s, counts, sizeof counts);
    fprintf(out, "%s\n", counts);
    fprintf(out, "%zu of %zu submissions in %.1f s (%.1f/s)%s\n", s->done, s->total, s->elapsed_s,
            s->elapsed_s > 0 ? (double)s->done / s->elapsed_s : 0.0, s->interrupted ? ", interrupted" : "");
    int header = 0;
    for (size_t i = 0; i < s->n_problems; i++) {
        if (strcmp(s->problems[i].status, "id") == 0)
            continue;
        if (!header++)
            fprintf(out, "\nnot graded (no points; see lab explain TS-GRADE-SANDBOX / TS-SUBMISSION-ARCHIVE):\n");
        fprintf(out, "  %-13s %s%s%s%s: %s\n", s->problems[i].status, s->problems[i].source,
                s->problems[i].student[0] ? " (" : "", s->problems[i].student, s->problems[i].student[0] ? ")" : "",
                s->problems[i].detail);
    }
    header = 0;
    for (size_t i = 0; i < s->n_problems; i++) {
        if (strcmp(s->problems[i].status, "id") != 0)
            continue;
        if (!header++)
            fprintf(out, "\nstudent ids to check (exported flagged with their id_issue until resolved; lab explain "
                        "TS-STUDENT-ID):\n");
        fprintf(out, "  %s: %s\n", s->problems[i].source, s->problems[i].detail);
    }
    if (s->n_ignored) {
        fprintf(out, "\nignored (not submissions):\n");
        for (size_t i = 0; i < s->n_ignored; i++)
            fprintf(out, "  %s\n", s->ignored[i]);
    }
    if (s->gradebook)
        fprintf(out, "\ngradebook: %s\n", s->gradebook);
}

/* ---- the driver ---- */

struct run_state {
    const struct batch_opts *o;
    struct batch_summary *s;
    gradebook *gb;
    struct batch_input in;
    char staging[PATH_MAX];
    struct sandbox_limits lim;
    struct lab_progress bar;
    struct batch_job *jobs; /* o->jobs slots */
    size_t next, job_seq;
};

static void draw(struct run_state *r, int final)
{
    char extra[256];
    counts_text(r->s, extra, sizeof extra);
    if (final)
        lab_progress_finish(&r->bar, extra);
    else
        lab_progress_update(&r->bar, r->s->done, extra);
}

int batch_record(gradebook *gb, const struct batch_opts *o, const char *input_root, const struct batch_item *it,
                 const char *sha256, struct batch_result *res, struct batch_summary *s, struct gb_outcome *oc)
{
    char received[32], graded[32];
    struct tm tm;
    gmtime_r(&it->mtime, &tm);
    strftime(received, sizeof received, "%Y-%m-%dT%H:%M:%SZ", &tm);
    lab_utc_now(graded, sizeof graded);
    int late = batch_late_days(o, it->mtime, it->lms.kind, it->lms.late);
    double penalty = late * o->late_pct_per_day;
    if (penalty > 100)
        penalty = 100;
    struct gb_submission sub = {
        .lab = o->lab,
        .input = input_root,
        .source = it->source,
        .sha256 = sha256,
        .received = received,
        .graded = graded,
        .grader_version = o->grader_version,
        .lms = it->lms.kind != LMS_NONE ? &it->lms : NULL,
        .report = res->report,
        .late_days = late,
        .late_penalty = penalty,
        .artifacts = res->artifacts,
        .n_artifacts = res->n_artifacts,
        .plots = res->plots,
        .n_plots = res->n_plots,
    };
    int rc = gradebook_record(gb, &sub, oc);
    if (rc)
        return rc;
    enum grade_status st = res->report->status;
    if ((unsigned)st < 5)
        s->counts[st]++;
    if (st != GRADE_GRADED)
        rc = batch_summary_add_problem(s, it->source, oc->student, batch_status_names[st], res->report->status_detail);
    if (!rc && oc->id_issue[0]) {
        s->id_issues++;
        rc = batch_summary_add_problem(s, it->source, oc->student, "id", oc->id_issue);
    }
    return rc;
}

static int record_result(struct run_state *r, struct batch_job *job, struct batch_result *res)
{
    struct gb_outcome oc;
    return batch_record(r->gb, r->o, r->in.root, job->item, job->sha256, res, r->s, &oc);
}

static void finish_job(struct run_state *r, struct batch_job *job, int *rc)
{
    struct sandbox_outcome oc;
    sandbox_collect(job->child, &oc);
    job->child = NULL;
    struct batch_result res;
    int e = batch_result_from_outcome(job, &oc, &res);
    if (!e) {
        lab_debug("%s: %s in %.2f s", job->item->source, grade_status_name(res.report->status), oc.wall_s);
        e = record_result(r, job, &res);
    }
    batch_result_clear(&res);
    sandbox_outcome_clear(&oc);
    batch_rm_tree(job->workdir);
    r->s->done++;
    if (e && !*rc)
        *rc = e;
    draw(r, 0);
}

/* Starts the next submission that needs grading in slot `job`; 0 with
 * job->child NULL when none is left. */
static int start_next(struct run_state *r, struct batch_job *job)
{
    const struct batch_opts *o = r->o;
    while (r->next < r->in.n) {
        const struct batch_item *it = &r->in.items[r->next++];
        job->opts = o;
        job->item = it;
        if (batch_item_sha256(it, &o->limits, job->sha256)) {
            /* Unreadable: recorded as not gradable with a hash of its name. */
            char detail[1024];
            snprintf(detail, sizeof detail, "cannot be read: %s", lab_err_message());
            ds_hash_buffer(it->source, strlen(it->source), "sha256", job->sha256, sizeof job->sha256);
            struct batch_result res = {.report = batch_synth_report(o->lab, NULL, o->grader_version,
                                                                    GRADE_NOT_GRADABLE, "integrity.archive",
                                                                    CHECK_NOT_GRADABLE, "TS-SUBMISSION-ARCHIVE",
                                                                    detail)};
            if (!res.report)
                return lab_err(LAB_EINTERNAL, NULL, "out of memory");
            int rc = record_result(r, job, &res);
            batch_result_clear(&res);
            r->s->done++;
            draw(r, 0);
            if (rc)
                return rc;
            continue;
        }
        int found = 0;
        struct gb_open_problems open;
        int rc = gradebook_open_problems(r->gb, o->lab, job->sha256, o->grader_version, it->source, &open, &found);
        if (rc)
            return rc;
        if (found && !o->regrade) { /* graded before: its problems are still open, and listed again */
            if (open.status[0]) {
                r->s->still_not_graded++;
                rc = add_problem(r->s, it->source, open.student, open.status, open.detail);
            }
            if (!rc && open.id_issue[0]) {
                r->s->id_issues++;
                rc = add_problem(r->s, it->source, open.student, "id", open.id_issue);
            }
            if (rc)
                return rc;
            r->s->skipped++;
            r->s->done++;
            draw(r, 0);
            continue;
        }
        snprintf(job->workdir, sizeof job->workdir, "%s/job-%zu", r->staging, r->job_seq++);
        if (mkdir(job->workdir, 0700) != 0)
            return lab_err(LAB_EENV, "set TMPDIR to a writable directory with free space",
                           "cannot create %s: %s", job->workdir, strerror(errno));
        return sandbox_start(&r->lim, job->workdir, batch_child_main, job, &job->child);
    }
    job->child = NULL;
    return LAB_OK;
}

static int drive(struct run_state *r)
{
    const struct batch_opts *o = r->o;
    size_t slots = (size_t)o->jobs;
    int rc = LAB_OK;
    for (size_t i = 0; i < slots && !rc; i++)
        rc = start_next(r, &r->jobs[i]);
    for (;;) {
        size_t running = 0;
        for (size_t i = 0; i < slots; i++)
            running += r->jobs[i].child != NULL;
        if (!running)
            break;
        if (rc || (o->stop && *o->stop)) {
            for (size_t i = 0; i < slots; i++)
                if (r->jobs[i].child) {
                    sandbox_abort(r->jobs[i].child);
                    r->jobs[i].child = NULL;
                    batch_rm_tree(r->jobs[i].workdir);
                }
            break;
        }
        struct sandbox_child *kids[256];
        for (size_t i = 0; i < slots; i++)
            kids[i] = r->jobs[i].child;
        size_t which;
        if (!sandbox_wait_any(kids, slots, 0.2, &which))
            continue;
        finish_job(r, &r->jobs[which], &rc);
        if (!rc && !(o->stop && *o->stop))
            rc = start_next(r, &r->jobs[which]);
    }
    if (!rc && o->stop && *o->stop)
        r->s->interrupted = true;
    return rc;
}

static bool uses_gpu(const struct batch_opts *o)
{
    return o->reeval && o->device && (strncmp(o->device, "cuda", 4) == 0 || strcmp(o->device, "auto") == 0);
}

void batch_sandbox_limits(const struct batch_opts *o, struct sandbox_limits *lim)
{
    *lim = (struct sandbox_limits){
        .timeout_s = o->timeout_s,
        /* CPU seconds across all the child's threads: room for a few. */
        .cpu_s = (uint64_t)(o->timeout_s * 4) + 10,
        /* CUDA maps tens of GiB of address space at start-up: on a GPU the
         * limit would stop every child, so it is left off there. */
        .mem_bytes = uses_gpu(o) ? 0 : o->mem_mb << 20,
        .fsize_bytes = o->limits.max_file_bytes + (1u << 20),
        .nofile = 1024,
        .max_output = BATCH_MAX_OUTPUT,
    };
}

int batch_run(const struct batch_opts *o, struct batch_summary *s)
{
    memset(s, 0, sizeof *s);
    if (!o->input || !o->lab || !o->grade || !o->grader_version || o->jobs < 1 || o->jobs > 256)
        return lab_err(LAB_EINTERNAL, NULL, "batch_run: options incomplete");
    /* Re-evaluation needs libtorch in every child: load it once here, before
     * the forks, instead of once per child (about a second each). */
    if (o->reeval && ts_lazy_require() != LAB_OK)
        return lab_err_context(LAB_EENV, "--reeval needs libtorch (or grade without it)");
    double t0 = lab_monotonic_s();
    struct run_state r = {.o = o, .s = s};
    batch_sandbox_limits(o, &r.lim);
    int rc = make_staging(r.staging, sizeof r.staging);
    if (rc)
        return rc;
    if ((rc = batch_input_scan(o->input, r.staging, &r.in)))
        goto out;
    s->total = r.in.n;
    s->ignored = r.in.ignored, s->n_ignored = r.in.n_ignored;
    r.in.ignored = NULL, r.in.n_ignored = 0;
    if ((rc = gradebook_open(o->db_path, true, &r.gb)))
        goto out;
    char abs[PATH_MAX];
    s->gradebook = strdup(realpath(o->db_path, abs) ? abs : o->db_path);
    s->network_isolated = r.lim.private_net = sandbox_can_isolate_network();
    if (!s->network_isolated)
        fprintf(o->progress_out ? o->progress_out : stderr,
                "warning: this kernel does not let lab give grading children a private network namespace "
                "(unprivileged user namespaces are off, as in most containers); submissions are still "
                "graded in separate processes with resource limits (lab explain TS-GRADE-SANDBOX)\n");
    if (!(r.jobs = calloc((size_t)o->jobs, sizeof *r.jobs))) {
        rc = lab_err(LAB_EINTERNAL, NULL, "out of memory");
        goto out;
    }
    lab_progress_start(&r.bar, o->progress_out ? o->progress_out : stderr, o->progress_mode, "grading", r.in.n,
                       "sub");
    rc = drive(&r);
    draw(&r, 1);
out:
    s->elapsed_s = lab_monotonic_s() - t0;
    free(r.jobs);
    gradebook_close(r.gb);
    batch_input_free(&r.in);
    batch_rm_tree(r.staging);
    if (!rc && s->interrupted)
        rc = lab_err(LAB_EINTERRUPTED, "run the same command again: what is recorded is kept, the rest is graded",
                     "stopped after %zu of %zu submissions", s->done, s->total);
    return rc;
}
