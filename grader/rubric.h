/* A lab's rubric: its checks (id, points, time budget, function) and the
 * state they share while one submission is graded. grade.c runs a rubric;
 * rubric_<lab>.c files define them. */
#ifndef GRADER_RUBRIC_H
#define GRADER_RUBRIC_H

#include "grader/checks.h"
#include "grader/grade.h"
#include "grader/submission.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct grade_ctx;
typedef enum check_status (*rubric_fn)(struct grade_ctx *g, struct check_out *o);

enum rubric_flags {
    RC_PER_MODEL = 1,  /* runs once per model in the submission */
    RC_SUBMISSION = 2, /* needs submission.json / the manifest: not part of a run's self-check */
    RC_REEVAL = 4,     /* runs only with --reeval */
};

struct rubric_check {
    const char *id, *name;
    double points;
    unsigned flags;
    double budget_s;      /* time budget; over it the check is a timeout */
    rubric_fn fn;
    const char *kb[4];    /* every troubleshooting id the check can report */
};

/* What the per-model checks share, decoded once from predictions.safetensors. */
struct grade_model {
    const struct sub_model *sm;
    const char *name;
    int64_t classes;
    float *logits; /* every value of the "logits" tensor (any shape), or NULL */
    size_t n_values;
    int64_t n;     /* rows when logits are [n, classes] */
    int shape_ok;  /* logits are floating [n, classes] for the expected n */
    int finite;    /* no NaN/Inf among the values */
    int64_t *labels, *indices; /* [n] when present and integer, else NULL */
    size_t n_labels, n_indices;
    /* The rows name each eval image the lab defines exactly once (see
     * predictions.coverage); row_of[i] is the row predicting image i. */
    int covered;
    int64_t *row_of;
    char coverage[400]; /* why not covered */
    int has_accuracy; /* accuracy against the grader's labels was computed */
    double accuracy;
    void *reeval; /* the lab's re-evaluation state (rubric-owned) */
    void (*reeval_free)(void *);
};

struct grade_ctx {
    const struct grade_opts *opts;
    const json_t *lab; /* the lab's manifest (lab.json) */
    struct submission *sub;
    int self_check;
    double deadline; /* CLOCK_MONOTONIC seconds when the running check's budget ends */
    /* the grader's labels of the eval split, loaded on first use */
    int truth_state; /* 0 not tried, 1 loaded, -1 failed (truth_err says why) */
    int64_t *truth;
    size_t n_truth;
    char truth_err[600];
    /* What was evaluated, derived from the data and the lab's definition of
     * each mode, never from config.json's "quick" flag (integrity.mode). */
    int mode_state;  /* 0 not derived yet, 1 derived, -1 the data fits no mode */
    int quick;       /* the derived mode */
    int64_t eval_n;  /* eval images the lab evaluates in that mode (the first eval_n of the split) */
    char mode_err[400];
    struct grade_model m; /* the model the per-model checks look at */
};

struct rubric {
    const char *lab;
    const struct rubric_check *checks;
    size_t n;
    /* Prepares g->m for one model before its checks, and releases it. */
    int (*model_begin)(struct grade_ctx *g, const struct sub_model *sm);
    void (*model_end)(struct grade_ctx *g);
};

/* NULL when the lab has no rubric yet. */
const struct rubric *rubric_find(const char *lab);
extern const struct rubric rubric_221;

/* 1 when the running check has used up its budget (loops poll this). */
int grade_expired(const struct grade_ctx *g);
double grade_now(void);
/* Loads the grader's labels of the eval split once; 0 when g->truth is set. */
int grade_truth(struct grade_ctx *g);

/* Sets a skipped status that does not count towards max_score (a check that
 * was not asked for, or an optional artifact that is absent). */
enum check_status check_skip_uncounted(struct check_out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
