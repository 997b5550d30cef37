/* What the parent makes of a finished grading child. Everything the child
 * sent is untrusted (it handled a hostile submission): parsed with limits,
 * validated, and replaced by a crash report when malformed. */
#include "base/error.h"
#include "base/jsonio.h"
#include "grader/batch_internal.h"

#include <ftw.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

struct grade_report *batch_synth_report(const char *lab, const char *student, const char *grader_version,
                                        enum grade_status status, const char *check_id, enum check_status cs,
                                        const char *kb, const char *detail)
{
    struct grade_report *r = calloc(1, sizeof *r);
    struct check_result *c = calloc(1, sizeof *c);
    if (!r || !c) {
        free(r), free(c);
        return NULL;
    }
    static const char *const names[] = {
        [GRADE_GRADED] = "graded",
        [GRADE_NOT_GRADABLE] = "the submission could be read safely",
        [GRADE_CRASH] = "the grader finished without crashing",
        [GRADE_TIMEOUT] = "the grader finished in time",
        [GRADE_OOM] = "the grader stayed within its memory limit",
    };
    r->lab = dup_or_null(lab);
    r->student = dup_or_null(student);
    r->status = status;
    r->status_detail = dup_or_null(detail);
    r->grader_version = dup_or_null(grader_version);
    r->checks = c;
    r->n_checks = 1;
    c->id = dup_or_null(check_id);
    c->name = dup_or_null(names[status]);
    c->status = cs;
    c->message = dup_or_null(detail);
    c->kb = dup_or_null(kb);
    /* It earned nothing of the whole rubric: 0 out of it, never 0/0. */
    c->max_points = r->max_score = lab ? grade_max_score(lab) : 0;
    return r;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    remove(p);
    return 0;
}

static int open_up(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)f;
    if (flag == FTW_D || flag == FTW_DNR || (st && S_ISDIR(st->st_mode)))
        chmod(p, 0700);
    return 0;
}

void batch_rm_tree(const char *dir)
{
    /* First make every folder ours to list and empty, then remove bottom up. */
    nftw(dir, open_up, 16, FTW_PHYS);
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void batch_result_clear(struct batch_result *r)
{
    if (!r)
        return;
    grade_report_free(r->report);
    for (size_t i = 0; i < r->n_artifacts; i++) {
        free((char *)r->artifacts[i].kind), free((char *)r->artifacts[i].model);
        free((char *)r->artifacts[i].sha256), free((char *)r->artifacts[i].weights_sha256);
    }
    free(r->artifacts);
    for (size_t i = 0; i < r->n_plots; i++)
        free((char *)r->plots[i].name), free((void *)r->plots[i].png);
    free(r->plots);
    memset(r, 0, sizeof *r);
}

static const char *signal_label(int sig)
{
    switch (sig) {
    case SIGSEGV:
        return "SIGSEGV (segmentation fault)";
    case SIGABRT:
        return "SIGABRT (abort)";
    case SIGBUS:
        return "SIGBUS (bus error)";
    case SIGFPE:
        return "SIGFPE (arithmetic error)";
    case SIGILL:
        return "SIGILL (illegal instruction)";
    case SIGKILL:
        return "SIGKILL";
    case SIGXFSZ:
        return "SIGXFSZ (file size limit)";
    case SIGXCPU:
        return "SIGXCPU (CPU time limit)";
    case SIGPIPE:
        return "SIGPIPE";
    case SIGTERM:
        return "SIGTERM";
    default:
        return NULL;
    }
}

/* Line `which` (0 = first, -1 = last non-empty) of the child's output,
 * parsed; NULL when absent or not a JSON object. */
static json_t *line_json(const struct sandbox_outcome *o, int which)
{
    const char *start = NULL, *end = NULL;
    const char *p = o->output, *stop = o->output + o->len;
    int idx = 0;
    while (p && p < stop) {
        const char *nl = memchr(p, '\n', (size_t)(stop - p));
        const char *e = nl ? nl : stop;
        if (e > p) {
            if (which == idx || which < 0)
                start = p, end = e;
            if (which == idx)
                break;
            idx++;
        }
        p = nl ? nl + 1 : stop;
    }
    if (!start)
        return NULL;
    json_t *j = NULL;
    if (lab_json_parse(start, (size_t)(end - start), "the grading child's report", &j) != LAB_OK)
        return NULL;
    if (!json_is_object(j)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static int hex64(const char *s)
{
    if (!s || strlen(s) != 64)
        return 0;
    for (int i = 0; i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

static int safe_name(const char *s, size_t max)
{
    if (!s || !*s || strlen(s) > max || s[0] == '.')
        return 0;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == '/' || *p == '\\')
            return 0;
    return 1;
}

static int take_artifacts(json_t *arr, struct batch_result *out)
{
    size_t n = json_array_size(arr);
    if (n > 2 * BATCH_MAX_MODELS)
        n = 2 * BATCH_MAX_MODELS;
    if (!n)
        return LAB_OK;
    if (!(out->artifacts = calloc(n, sizeof *out->artifacts)))
        return LAB_EINTERNAL;
    for (size_t i = 0; i < n; i++) {
        json_t *a = json_array_get(arr, i);
        const char *kind = json_string_value(json_object_get(a, "kind"));
        const char *model = json_string_value(json_object_get(a, "model"));
        const char *sha = json_string_value(json_object_get(a, "sha256"));
        const char *w = json_string_value(json_object_get(a, "weights_sha256"));
        if (!kind || (strcmp(kind, "model") && strcmp(kind, "predictions")) || !safe_name(model, 64) || !hex64(sha))
            continue;
        struct gb_artifact *g = &out->artifacts[out->n_artifacts++];
        g->kind = strdup(kind), g->model = strdup(model), g->sha256 = strdup(sha);
        g->weights_sha256 = hex64(w) ? strdup(w) : NULL;
    }
    return LAB_OK;
}

static int take_plots(json_t *arr, struct batch_result *out)
{
    size_t n = json_array_size(arr);
    if (n > BATCH_MAX_PLOTS)
        n = BATCH_MAX_PLOTS;
    if (!n)
        return LAB_OK;
    if (!(out->plots = calloc(n, sizeof *out->plots)))
        return LAB_EINTERNAL;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *p = json_array_get(arr, i);
        const char *name = json_string_value(json_object_get(p, "name"));
        const char *b64 = json_string_value(json_object_get(p, "png"));
        size_t blen = b64 ? strlen(b64) : 0;
        if (!safe_name(name, 96) || !b64 || blen % 4 || blen / 4 * 3 > BATCH_MAX_PLOT_BYTES)
            continue;
        unsigned char *png = malloc(blen / 4 * 3 + 1);
        if (!png)
            return LAB_EINTERNAL;
        int len = EVP_DecodeBlock(png, (const unsigned char *)b64, (int)blen);
        if (len > 0 && blen >= 2) /* EVP_DecodeBlock counts padding as zero bytes */
            len -= (b64[blen - 1] == '=') + (b64[blen - 2] == '=');
        if (len < 8 || memcmp(png, "\x89PNG\r\n\x1a\n", 8) != 0 || total + (size_t)len > BATCH_MAX_PLOTS_TOTAL) {
            free(png);
            continue;
        }
        total += (size_t)len;
        struct gb_plot *g = &out->plots[out->n_plots++];
        g->name = strdup(name);
        g->png = png;
        g->len = (size_t)len;
    }
    return LAB_OK;
}

/* The last 400 bytes of the child's stderr, one line, for a crash report. */
static void stderr_tail(const char *workdir, char *buf, size_t cap)
{
    buf[0] = 0;
    char p[4200];
    snprintf(p, sizeof p, "%s/stderr.txt", workdir);
    FILE *f = fopen(p, "rb");
    if (!f)
        return;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    long from = size > 400 ? size - 400 : 0;
    fseek(f, from, SEEK_SET);
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)buf[i] < 0x20)
            buf[i] = ' ';
}

int batch_result_from_outcome(const struct batch_job *job, const struct sandbox_outcome *o, struct batch_result *out)
{
    memset(out, 0, sizeof *out);
    const struct batch_opts *opts = job->opts;
    json_t *hello = line_json(o, 0);
    const char *student = json_string_value(json_object_get(json_object_get(hello, "hello"), "student"));

    if (o->how == SANDBOX_EXITED && o->code == 0) {
        json_t *msg = line_json(o, -1);
        json_t *rep = json_object_get(msg, "report");
        struct grade_report *r = NULL;
        if (rep && grade_report_from_json(rep, &r) == LAB_OK && r) {
            out->report = r;
            int rc = take_artifacts(json_object_get(msg, "artifacts"), out);
            if (!rc)
                rc = take_plots(json_object_get(msg, "plots"), out);
            json_decref(msg);
            if (rc) {
                json_decref(hello);
                batch_result_clear(out);
                return lab_err(LAB_EINTERNAL, NULL, "out of memory");
            }
            /* Nothing but a graded report earns points. */
            if (r->status != GRADE_GRADED)
                r->score = 0;
            /* A report that stopped before reading the student (not
             * gradable) still belongs to whoever submission.json names. */
            if ((!r->student || !*r->student) && student && *student) {
                char *s = strdup(student);
                if (s)
                    free(r->student), r->student = s;
            }
            json_decref(hello);
            return LAB_OK;
        }
        json_decref(msg);
    }

    enum grade_status st = GRADE_CRASH;
    char detail[1024], tail[512];
    const char *check = "sandbox.crash";
    enum check_status cs = CHECK_ERROR;
    stderr_tail(job->workdir, tail, sizeof tail);
    const char *sig = o->how == SANDBOX_SIGNALED ? signal_label(o->code) : NULL;
    char signame[32];
    if (o->how == SANDBOX_SIGNALED && !sig) {
        snprintf(signame, sizeof signame, "signal %d", o->code);
        sig = signame;
    }
    switch (o->how) {
    case SANDBOX_TIMED_OUT:
        st = GRADE_TIMEOUT, check = "sandbox.timeout", cs = CHECK_TIMEOUT;
        snprintf(detail, sizeof detail, "no result after %.0f s (--timeout); the grader was stopped", opts->timeout_s);
        break;
    case SANDBOX_TOO_MUCH_OUTPUT:
        snprintf(detail, sizeof detail, "the grader's report grew past %u MiB and was stopped",
                 BATCH_MAX_OUTPUT >> 20);
        break;
    case SANDBOX_SIGNALED:
        if (o->code == SIGKILL) {
            st = GRADE_OOM, check = "sandbox.oom";
            snprintf(detail, sizeof detail, "killed by SIGKILL, as the kernel's out-of-memory killer does");
        } else if (o->code == SIGXCPU) {
            st = GRADE_TIMEOUT, check = "sandbox.timeout", cs = CHECK_TIMEOUT;
            snprintf(detail, sizeof detail, "used up its CPU time limit (%s)", sig);
        } else if (o->code == SIGABRT && (strcasestr(tail, "bad_alloc") || strcasestr(tail, "out of memory"))) {
            st = GRADE_OOM, check = "sandbox.oom";
            snprintf(detail, sizeof detail, "an allocation failed under the %llu MB limit (--mem) and the grader "
                                            "aborted",
                     (unsigned long long)opts->mem_mb);
        } else {
            snprintf(detail, sizeof detail, "the grader was killed by %s%s%s", sig, tail[0] ? "; its last words: " : "",
                     tail);
        }
        break;
    case SANDBOX_EXITED:
        if (o->code == SANDBOX_EXIT_OOM) {
            st = GRADE_OOM, check = "sandbox.oom";
            snprintf(detail, sizeof detail, "an allocation failed under the %llu MB limit (--mem)",
                     (unsigned long long)opts->mem_mb);
        } else if (o->code == BATCH_EXIT_GRADER_ERROR) {
            json_t *msg = line_json(o, -1);
            const char *e = json_string_value(json_object_get(msg, "error"));
            snprintf(detail, sizeof detail, "the grader failed: %s", e ? e : "(no message)");
            json_decref(msg);
        } else if (o->code == 0) {
            snprintf(detail, sizeof detail, "the grader's report was malformed or missing");
        } else {
            snprintf(detail, sizeof detail, "the grader ended with status %d without a report%s%s", o->code,
                     tail[0] ? "; its last words: " : "", tail);
        }
        break;
    }
    out->report = batch_synth_report(opts->lab, student, opts->grader_version, st, check, cs, "TS-GRADE-SANDBOX",
                                     detail);
    json_decref(hello);
    if (!out->report)
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    return LAB_OK;
}
