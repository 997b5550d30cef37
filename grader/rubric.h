/* A lab's rubric: its checks (id, points, time budget, function) and the
 * state they share while one submission is graded. The table is the lab's
 * (lab.json "rubric": check id, points, threshold, and the models a complete
 * submission holds); the functions are generic, by task: checks_common.c
 * for every lab, checks_<task>.c for the lab's task. grade.c runs a rubric. */
#ifndef GRADER_RUBRIC_H
#define GRADER_RUBRIC_H

#include "grader/checks.h"
#include "grader/grade.h"
#include "grader/submission.h"

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
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
    double threshold;     /* the check's bar from the rubric table; 0: the check's default */
    /* NULL or 1: the check counts for every model; 0: not for this one (no
     * course target for it in this mode), so a missing model loses only
     * what a present one could earn. */
    int (*applies)(const struct grade_ctx *g, const char *model);
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
    void *task; /* the task's decoded predictions (detect: checks_detect_rubric.c) */
    void (*task_free)(void *);
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
    /* truth[i] is split image truth_index[i] when the mode evaluates a class
     * view (data.classes, relabelled from 0); NULL: image i of the split. */
    size_t *truth_index;
    char truth_err[600];
    /* What was evaluated, derived from the data and the lab's definition of
     * each mode, never from config.json's "quick" flag (integrity.mode). */
    int mode_state;  /* 0 not derived yet, 1 derived, -1 the data fits no mode */
    int quick;       /* the derived mode */
    int64_t eval_n;  /* eval images the lab evaluates in that mode (the first eval_n of the split, or of its class view) */
    int64_t classes; /* the mode's data.num_classes */
    int class_lo, class_hi; /* the mode's data.classes [lo, hi); hi 0: every class */
    char mode_err[400];
    struct grade_model m; /* the model the per-model checks look at */
    const struct rubric_check *check; /* the running check */
};

#define RUBRIC_MAX_CHECKS 48
#define RUBRIC_MAX_MODELS 16

struct rubric {
    const char *lab;
    const struct rubric_check *checks;
    size_t n;
    /* Prepares g->m for one model before its checks, and releases it. */
    int (*model_begin)(struct grade_ctx *g, const struct sub_model *sm);
    void (*model_end)(struct grade_ctx *g);
    /* The models a complete submission holds, per mode ([0] full, [1]
     * quick). A missing one earns nothing of its per-model points; a
     * submitted model outside the list is checked but not counted. n 0:
     * every submitted model counts. */
    struct rubric_models {
        const char *names[RUBRIC_MAX_MODELS];
        size_t n;
    } models[2];
};

/* The rubric of a lab, built once from its lab.json table. NULL when the lab
 * has no rubric table; NULL with LAB_EINTERNAL set when the table names an
 * unknown check or task (a defect of the build: tests build every lab's). */
const struct rubric *rubric_find(const char *lab);
/* Whether `model` is one of a complete submission's (rm->n 0: any is). */
int rubric_counts_model(const struct rubric_models *rm, const char *model);

/* `lab info`'s rubric section: each check's id, points (per model where it
 * is per model), threshold, and the models of a complete submission. */
void rubric_describe(FILE *f, const char *lab);

/* The check functions, by task: NULL-id terminated tables. */
extern const struct rubric_check checks_common[], checks_classify[];
extern const struct rubric_check checks_detect[];
int detect_model_begin(struct grade_ctx *g, const struct sub_model *sm);
/* The segment task's (checks_segment.c: masks, coverage, recomputed mIoU). */
extern const struct rubric_check checks_segment[];
int segment_model_begin(struct grade_ctx *g, const struct sub_model *sm);
/* The prompt task's (checks_prompt.c: masks, the lab's prompts, recomputed mIoU per kind). */
extern const struct rubric_check checks_prompt[];
int prompt_model_begin(struct grade_ctx *g, const struct sub_model *sm);
/* Checks of one architecture family, usable by any lab's table (vit.*). */
extern const struct rubric_check checks_vit[];
/* Transfer learning's (transfer.*: backbone origin, frozen layers, head, normalization). */
extern const struct rubric_check checks_transfer[];
int classify_model_begin(struct grade_ctx *g, const struct sub_model *sm);

/* 1 when the running check has used up its budget (loops poll this). */
int grade_expired(const struct grade_ctx *g);
double grade_now(void);
/* Derives the mode (g->quick, g->eval_n) from the dataset and the lab's
 * modes, once; 0 when the data fits neither (g->mode_err says why). */
int grade_mode(struct grade_ctx *g);
/* Loads the grader's labels of the eval split once; 0 when g->truth is set. */
int grade_truth(struct grade_ctx *g);

/* Sets a skipped status that does not count towards max_score (a check that
 * was not asked for, or an optional artifact that is absent). */
enum check_status check_skip_uncounted(struct check_out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
