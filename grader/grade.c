/* Running a rubric over a submission: every check gets its time budget, a
 * check that errors or runs out of time earns nothing, and a submission that
 * cannot be read becomes a not-gradable report instead of an error. */
#include "grader/grade.h"

#include "base/error.h"
#include "grader/rubric.h"
#include "datasets/registry.h"
#include "grader/truth.h"
#include "labs/config.h"
#include "labs/lab.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double grade_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int grade_expired(const struct grade_ctx *g) { return g->deadline > 0 && grade_now() > g->deadline; }

enum check_status check_skip_uncounted(struct check_out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->message, sizeof o->message, fmt, ap);
    va_end(ap);
    o->status = CHECK_SKIPPED;
    o->kb = NULL;
    o->uncounted = 1;
    return CHECK_SKIPPED;
}

const char *check_status_name(enum check_status s)
{
    static const char *const names[] = {"pass", "fail", "error", "timeout", "skipped", "not_gradable"};
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "?";
}

const char *grade_status_name(enum grade_status s)
{
    static const char *const names[] = {"graded", "not_gradable", "crash", "timeout", "oom"};
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "?";
}

int grade_exit_status(const struct grade_report *r)
{
    if (!r || r->status != GRADE_GRADED)
        return LAB_EENV;
    for (size_t i = 0; i < r->n_checks; i++)
        if (r->checks[i].status != CHECK_PASS && r->checks[i].status != CHECK_SKIPPED)
            return LAB_EFAIL;
    return LAB_OK;
}

void grade_report_free(struct grade_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_checks; i++) {
        free(r->checks[i].id);
        free(r->checks[i].name);
        free(r->checks[i].message);
        free(r->checks[i].kb);
    }
    free(r->checks);
    free(r->lab);
    free(r->student);
    free(r->status_detail);
    json_decref(r->fingerprint);
    free(r->grader_version);
    free(r);
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

static int add_check(struct grade_report *r, const char *id, const char *name, enum check_status st, double points,
                     double max_points, const char *message, const char *kb)
{
    struct check_result *nc = realloc(r->checks, (r->n_checks + 1) * sizeof *nc);
    if (!nc)
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    r->checks = nc;
    struct check_result *c = &nc[r->n_checks];
    *c = (struct check_result){.id = strdup(id), .name = strdup(name), .status = st, .points = points,
                               .max_points = max_points, .message = strdup(message ? message : ""),
                               .kb = dup_or_null(kb)};
    r->n_checks++;
    if (!c->id || !c->name || !c->message || (kb && !c->kb))
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    r->score += points;
    r->max_score += max_points;
    return LAB_OK;
}

static struct grade_report *report_new(const char *lab, const char *student)
{
    struct grade_report *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->lab = strdup(lab ? lab : "");
    r->student = strdup(student ? student : "");
    r->grader_version = strdup(LAB_VERSION);
    if (!r->lab || !r->student || !r->grader_version) {
        grade_report_free(r);
        return NULL;
    }
    return r;
}

static double rubric_max(const struct rubric *rb, size_t models, int self_check, int reeval)
{
    double total = 0;
    for (size_t i = 0; rb && i < rb->n; i++) {
        const struct rubric_check *c = &rb->checks[i];
        if ((c->flags & RC_SUBMISSION && self_check) || (c->flags & RC_REEVAL && !reeval))
            continue;
        total += c->points * (double)(c->flags & RC_PER_MODEL ? (models ? models : 1) : 1);
    }
    return total;
}

/* The rubric's max_score for a submission not graded: every model it
 * requires with every check, without --reeval. A graded one's is the same
 * in either mode (results.threshold counts where a mode sets no target),
 * so an instructor's column has one maximum. */
static double rubric_max_score(const struct rubric *rb)
{
    return rubric_max(rb, rb && rb->models[0].n ? rb->models[0].n : 1, 0, 0);
}

double grade_max_score(const char *lab) { return rubric_max_score(rubric_find(lab)); }

/* A report that says why nothing was graded: one not_gradable check so that
 * every output format (Gradescope's included) shows the reason. */
static int not_gradable(struct grade_report *r, const struct rubric *rb, const char *why, const char *fix,
                        struct grade_report **out)
{
    char detail[2400];
    snprintf(detail, sizeof detail, "%s%s%s", why, fix && *fix ? "; fix: " : "", fix ? fix : "");
    r->status = GRADE_NOT_GRADABLE;
    r->status_detail = strdup(detail);
    double max = rubric_max_score(rb);
    int rc = r->status_detail ? add_check(r, "integrity.readable", "the submission can be read and graded",
                                          CHECK_NOT_GRADABLE, 0, max, detail, "TS-SUBMISSION-INTEGRITY")
                              : lab_err(LAB_EINTERNAL, NULL, "out of memory");
    if (rc) {
        grade_report_free(r);
        return rc;
    }
    r->score = 0;
    *out = r;
    return LAB_OK;
}

static int64_t grade_split_size(const char *dataset)
{
    const struct ds_info *d = ds_info_find(dataset);
    return d ? (int64_t)d->eval_size : -1;
}

/* The mode follows from what was evaluated: each of the lab's modes trains
 * on its own dataset, and the lab says how many images of the split that
 * mode evaluates (its eval_subset: the first images, or the whole split)
 * and, where it evaluates some classes only (data.classes [lo, hi), as
 * 2.2.2's quick mode does with Fashion-MNIST 5-9), which: then the images
 * are the first eval_subset of that class view, relabelled from 0, and a
 * row's index is its position in the view. config.json's "quick" flag,
 * eval_subset and classes are claims, only compared with this
 * (integrity.mode, predictions.coverage). */
int grade_mode(struct grade_ctx *g)
{
    if (g->mode_state)
        return g->mode_state == 1;
    const char *dataset = lab_cfg_str(g->sub->config, "data.dataset", "");
    g->mode_state = -1;
    for (int quick = 0; quick <= 1 && g->mode_state < 0; quick++) {
        json_t *cfg = NULL;
        if (lab_config_resolve(g->lab, quick, &cfg))
            continue;
        const char *ds = lab_cfg_str(cfg, "data.dataset", "");
        int64_t full = grade_split_size(ds), sub = lab_cfg_int(cfg, "data.eval_subset", 0);
        const json_t *cls = lab_cfg_get(cfg, "data.classes");
        /* A mode whose data is not a registered split (2.2.6's mosaics and
         * sample images) is still told apart by its dataset's name. */
        if ((full > 0 || (full < 0 && *ds)) && !strcmp(ds, dataset)) {
            g->quick = quick;
            g->eval_n = full < 0 ? (sub > 0 ? sub : 0) : sub > 0 && sub < full ? sub : full;
            g->classes = lab_cfg_int(cfg, "data.num_classes", 10);
            g->class_lo = g->class_hi = 0;
            if (json_array_size(cls) == 2) {
                g->class_lo = (int)json_integer_value(json_array_get(cls, 0));
                g->class_hi = (int)json_integer_value(json_array_get(cls, 1));
            }
            g->mode_state = 1;
        }
        json_decref(cfg);
    }
    if (g->mode_state < 0)
        snprintf(g->mode_err, sizeof g->mode_err,
                 "config.json's data.dataset '%.100s' is neither the dataset of lab %s's full mode nor of its quick mode",
                 dataset, lab_manifest_id(g->lab));
    else if (g->class_hi > g->class_lo)
        grade_truth(g); /* the view's size needs the labels (grade_truth caps eval_n at it) */
    return g->mode_state == 1;
}

/* Keeps the labels of the classes [lo, hi), relabelled from 0, and where
 * each came from in the split. */
static int class_view(struct grade_ctx *g, int lo, int hi)
{
    size_t n = 0;
    if (!(g->truth_index = malloc((g->n_truth ? g->n_truth : 1) * sizeof *g->truth_index)))
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    for (size_t i = 0; i < g->n_truth; i++)
        if (g->truth[i] >= lo && g->truth[i] < hi) {
            g->truth_index[n] = i;
            g->truth[n++] = g->truth[i] - lo;
        }
    g->n_truth = n;
    return LAB_OK;
}

int grade_truth(struct grade_ctx *g)
{
    if (g->truth_state == 0) {
        const json_t *data = json_object_get(g->sub->config, "data");
        const char *dataset = json_string_value(json_object_get(data, "dataset"));
        g->truth_state = -1; /* grade_mode may ask for the labels */
        int rc = dataset ? truth_eval_labels(dataset, g->opts->data_dir, &g->truth, &g->n_truth)
                         : lab_err(LAB_EUSAGE, NULL, "config.json names no data.dataset");
        if (!rc && grade_mode(g) && g->class_hi > g->class_lo && !(rc = class_view(g, g->class_lo, g->class_hi)) &&
            g->eval_n > (int64_t)g->n_truth)
            g->eval_n = (int64_t)g->n_truth; /* as the lab's view, which takes at most eval_subset */
        g->truth_state = rc ? -1 : 1;
        if (rc)
            snprintf(g->truth_err, sizeof g->truth_err, "the grader's labels of the eval split are unavailable: %s%s%s",
                     lab_err_message(), lab_err_fix()[0] ? "; fix: " : "", lab_err_fix());
    }
    return g->truth_state == 1 ? LAB_OK : LAB_EENV;
}

/* counted 0: a model outside the rubric's list, reported for the student
 * but worth nothing, so that max_score is the same for every submission. */
static int run_check(struct grade_ctx *g, const struct rubric_check *c, int counted, struct grade_report *r)
{
    struct check_out o = {.status = CHECK_ERROR};
    char name[256];
    double max = c->points;
    if (c->flags & RC_PER_MODEL)
        snprintf(name, sizeof name, "%s: %s", g->m.name, c->name);
    else
        snprintf(name, sizeof name, "%s", c->name);
    if (c->flags & RC_REEVAL && !g->opts->reeval) {
        check_skip_uncounted(&o, "not asked for (lab grade --reeval)");
    } else {
        double budget = g->opts->check_timeout_s > 0 ? g->opts->check_timeout_s : c->budget_s;
        double t0 = grade_now();
        g->deadline = t0 + budget;
        g->check = c;
        lab_err_clear();
        enum check_status st = c->fn(g, &o);
        double took = grade_now() - t0;
        g->deadline = 0;
        if (st != o.status) /* a check returns what it set; anything else is a bug */
            check_set(&o, CHECK_ERROR, NULL, "internal error: check returned %d after setting %d", st, o.status);
        if (took > budget && o.status != CHECK_SKIPPED) {
            char was[sizeof o.message];
            snprintf(was, sizeof was, "%s", o.message);
            check_set(&o, CHECK_TIMEOUT, c->kb[0], "took %.1f s, over its %.1f s budget (%s)", took, budget, was);
        }
    }
    /* a model outside the rubric's list is checked and reported, but its
     * passes earn nothing, or a second model would lift the score past the
     * lab's maximum */
    if (o.uncounted || !counted)
        max = 0;
    return add_check(r, c->id, name, o.status, o.status == CHECK_PASS ? max : 0, max, o.message, o.kb);
}

static void model_reset(struct grade_ctx *g)
{
    if (g->m.reeval && g->m.reeval_free)
        g->m.reeval_free(g->m.reeval);
    if (g->m.task && g->m.task_free)
        g->m.task_free(g->m.task);
    free(g->m.logits);
    free(g->m.labels);
    free(g->m.indices);
    free(g->m.row_of);
    memset(&g->m, 0, sizeof g->m);
}

/* 1 when the lab grades this model (lab.json lists it, without
 * "study": false), 0 for one of the lab's optional variants ("study":
 * false), -1 for a name the lab does not have. The study models' names go to `names`. */
static int model_graded(const json_t *lab, const char *name, char *names, size_t cap)
{
    int found = -1;
    size_t len = 0, i;
    const json_t *m;
    names[0] = '\0';
    json_array_foreach(json_object_get(lab, "models"), i, m)
    {
        const char *n = json_string_value(json_object_get(m, "name"));
        int study = !json_is_false(json_object_get(m, "study")); /* a lab without variants grades every model */
        if (!n)
            continue;
        if (study && len < cap)
            len += (size_t)snprintf(names + len, cap - len, "%s%s", len ? ", " : "", n);
        if (!strcmp(n, name))
            found = study;
    }
    return found;
}

/* A model the lab does not grade earns nothing: its checks do not run.
 * An unknown name (a renamed model) is reported as failed and worth 0
 * points: the real model it stands for is missing from the submission and
 * costs its points there (integrity.models), so renaming one never raises
 * the share of points; an optional variant of the lab is reported as
 * skipped. */
static int ungraded_model(struct grade_ctx *g, struct grade_report *r, int known, const char *studied)
{
    char name[256], msg[900];
    snprintf(name, sizeof name, "%s: a model this lab grades", g->m.name);
    if (known == 0) {
        snprintf(msg, sizeof msg, "not graded: %s is an optional variant in lab %s; the rubric grades %s",
                 g->m.name, r->lab, studied);
        return add_check(r, "integrity.model", name, CHECK_SKIPPED, 0, 0, msg, NULL);
    }
    snprintf(msg, sizeof msg, "'%s' is not a model of lab %s (it grades %s): it earns nothing; "
             "submit the models under the names `lab run` gives them", g->m.name, r->lab, studied);
    return add_check(r, "integrity.model", name, CHECK_FAIL, 0, 0, msg, "TS-SUBMISSION-INTEGRITY");
}

static int run_rubric(struct grade_ctx *g, const struct rubric *rb, struct grade_report *r)
{
    int rc = LAB_OK;
    /* The mode the data shows, not config.json's claim (integrity.mode). */
    const struct rubric_models *rm = &rb->models[grade_mode(g) && g->quick ? 1 : 0];
    for (size_t i = 0; !rc && i < rb->n; i++) {
        const struct rubric_check *c = &rb->checks[i];
        if (c->flags & RC_PER_MODEL || (c->flags & (RC_SUBMISSION | RC_REEVAL) && g->self_check))
            continue;
        rc = run_check(g, c, 1, r);
    }
    for (size_t k = 0; !rc && k < g->sub->n_models; k++) {
        const struct sub_model *sm = &g->sub->models[k];
        model_reset(g);
        g->m.sm = sm;
        g->m.name = sm->name;
        char studied[400];
        int known = model_graded(g->lab, sm->name, studied, sizeof studied);
        if (known != 1) {
            rc = ungraded_model(g, r, known, studied);
            continue;
        }
        if ((rc = rb->model_begin(g, sm)))
            break;
        for (size_t i = 0; !rc && i < rb->n; i++) {
            const struct rubric_check *c = &rb->checks[i];
            if (c->flags & RC_PER_MODEL && !(c->flags & (RC_SUBMISSION | RC_REEVAL) && g->self_check))
                rc = run_check(g, c, rubric_counts_model(rm, sm->name), r);
        }
        if (rb->model_end)
            rb->model_end(g);
    }
    model_reset(g);
    /* A run directory may hold fewer models while the student works; a
     * submission without one of the rubric's models loses its points. */
    for (size_t k = 0; !rc && !g->self_check && k < rm->n; k++) {
        int present = 0;
        for (size_t j = 0; !present && j < g->sub->n_models; j++)
            present = strcmp(g->sub->models[j].name, rm->names[k]) == 0;
        if (present)
            continue;
        char name[128], msg[600];
        snprintf(name, sizeof name, "%s: the model is in the submission", rm->names[k]);
        snprintf(msg, sizeof msg,
                 "models/%s/ is missing: a complete submission of lab %s holds %zu models; this one earns none of "
                 "%s's points (run it: lab run %s%s --model %s)",
                 rm->names[k], rb->lab, rm->n, rm->names[k], rb->lab, g->quick ? " --quick" : "", rm->names[k]);
        double points = 0;
        for (size_t i = 0; i < rb->n; i++) {
            const struct rubric_check *c = &rb->checks[i];
            if (c->flags & RC_PER_MODEL && !(c->flags & RC_REEVAL && !g->opts->reeval) &&
                (!c->applies || c->applies(g, rm->names[k])))
                points += c->points;
        }
        rc = add_check(r, "integrity.models", name, CHECK_FAIL, 0, points, msg,
                       "TS-SUBMISSION-INTEGRITY");
    }
    return rc;
}

static int grade(const char *path, enum sub_open_mode mode, const struct grade_opts *opts, struct grade_report **out)
{
    *out = NULL;
    struct grade_opts defaults = {.device = "auto"};
    if (!opts)
        opts = &defaults;
    struct submission *sub = NULL;
    int rc = submission_open(path, mode, &sub);
    const char *lab = sub ? sub->lab : opts->lab;
    struct grade_report *r = report_new(lab, sub ? sub->student : NULL);
    if (!r) {
        submission_free(sub);
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    }
    const struct rubric *rb = rubric_find(opts->lab ? opts->lab : lab);
    if (rc) {
        char why[2100], fix[1024];
        snprintf(why, sizeof why, "%s", lab_err_message());
        snprintf(fix, sizeof fix, "%s", lab_err_fix());
        return not_gradable(r, rb, why, fix, out);
    }
    if (sub->info) {
        const json_t *env = json_object_get(sub->info, "environment");
        r->fingerprint = env ? json_deep_copy(env) : NULL;
    }
    char why[600];
    const json_t *manifest = NULL;
    if (opts->lab && strcmp(opts->lab, sub->lab) != 0) {
        snprintf(why, sizeof why, "the submission is for lab %s, not lab %s", sub->lab, opts->lab);
        rc = not_gradable(r, rb, why, "grade it as its own lab, or ask for a submission of this lab", out);
    } else if ((rc = lab_registry_load()) == LAB_OK && !(manifest = lab_registry_find(sub->lab))) {
        snprintf(why, sizeof why, "submission.json names lab '%.100s', which this grader does not know", sub->lab);
        rc = not_gradable(r, NULL, why, "`lab list` shows the labs", out);
    } else if (!rc && !rb) {
        snprintf(why, sizeof why, "no rubric for lab %s yet", sub->lab);
        rc = not_gradable(r, NULL, why, "grade it with a newer lab, or by hand", out);
    } else if (!rc) {
        struct grade_ctx g = {.opts = opts, .lab = manifest, .sub = sub, .self_check = mode == SUB_RUN_DIR};
        r->status = GRADE_GRADED;
        rc = run_rubric(&g, rb, r);
        free(g.truth);
        free(g.truth_index);
        if (rc)
            grade_report_free(r);
        else
            *out = r;
    } else {
        grade_report_free(r);
    }
    submission_free(sub);
    return rc;
}

int grade_submission(const char *path, const struct grade_opts *opts, struct grade_report **out)
{
    return grade(path, SUB_SUBMISSION, opts, out);
}

int grade_run_dir(const char *dir, const struct grade_opts *opts, struct grade_report **out)
{
    return grade(dir, SUB_RUN_DIR, opts, out);
}
