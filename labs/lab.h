/* The lab interface. A lab is labs/<id>-<slug>/lab.json (compiled into the
 * binary) plus its C code. The registry reads the manifests; nothing here
 * knows about the grader. */
#ifndef LAB_LAB_H
#define LAB_LAB_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

/* Parses the embedded manifests once (idempotent). LAB_EINTERNAL when one is
 * malformed or lacks id/title: that is a build defect, not a user error. */
int lab_registry_load(void);
size_t lab_registry_count(void);
/* Borrowed; sorted by id. */
const json_t *lab_registry_at(size_t i);
const json_t *lab_registry_find(const char *id);
const char *lab_manifest_id(const json_t *m);
const char *lab_manifest_title(const json_t *m);
/* Every lab id, NULL-terminated, for "did you mean" suggestions. */
const char *const *lab_registry_ids(void);
void lab_registry_free(void);

/* A lab's code. Labs register in labs/impls.c. */
struct lab_run;
struct model;
struct predict_opts;
struct val_opts;
struct ds_image;

/* A detector's boxes for another lab, through the detect hook below (2.2.6
 * prompts SAM with 2.2.3's boxes without including 2.2.3's code). */
struct lab_detect_opts {
    const char *weights;  /* a checkpoint of the lab's detector */
    const char *device;   /* "auto", "cpu", "cuda:N" */
    double conf, iou;     /* the thresholds, as the caller resolved them */
    int imgsz, max_det;   /* 0: the detector's predict defaults */
    const char *classes;  /* "person,car" (names or ids): kept after NMS; NULL: all */
};
struct lab_detection {
    float x1, y1, x2, y2; /* xyxy in the image's pixels */
    float conf;
    int cls;
    char name[48];        /* the class's name, "class<N>" when the model has no names */
};
struct lab_impl {
    const char *id;
    /* Lab-specific checks of a resolved configuration (model names ...);
     * LAB_EUSAGE naming the key and the accepted values. */
    int (*validate)(const json_t *config);
    /* Runs the lab into run->dir; LAB_EINTERRUPTED when lab_interrupted was
     * seen (after a checkpoint was saved). NULL: the lab has models (and
     * predict) but no run in this version; `lab run` refuses it. */
    int (*run)(struct lab_run *run);
    /* Builds one of the lab's models by its course name, so the grader can
     * rebuild a submitted model without including the lab's code. */
    int (*create_model)(const char *name, int num_classes, struct model **out);
    /* The same for a run's configuration (config.json), for labs whose
     * architecture is configurable (2.2.5's patch size, depth ...); NULL
     * when the name alone fixes it. */
    int (*create_model_cfg)(const json_t *config, const char *name, int num_classes, struct model **out);
    /* `lab predict` for a lab whose task is not classify (2.2.3's
     * detections, 2.2.6's prompts); NULL: labs/predict.c's classifier path.
     * say (may be NULL) gets progress. */
    int (*predict)(const struct predict_opts *o, FILE *say);
    /* `lab val` (labs/val.h): weights evaluated on a labelled dataset the
     * user names; NULL: the lab has none. */
    int (*val)(const struct val_opts *o, FILE *say);
    /* Detections on one decoded image (RGB or gray, the same pixels the
     * caller's own model sees), in the detector's order (by decreasing
     * confidence); *out malloc'd (free it), *n may be 0. NULL: no detector. */
    int (*detect)(const struct lab_detect_opts *o, const struct ds_image *im, struct lab_detection **out, int *n);
    /* 1: only the quick mode runs in this version (the full mode's data
     * path is not written yet); `lab list` and `lab info` say so. */
    int quick_only;
    /* 1: `--set data.dataset=PATH` trains on the user's own dataset, a
     * mode of its own that runs even when quick_only (2.2.3). */
    int own_data;
    /* 1: the lab trains in fp32 only (no bf16 autocast path yet): --precision
     * auto resolves to fp32 for it, and bf16 is refused. */
    int fp32_only;
};
/* NULL when the lab has a manifest but no code in this version. */
const struct lab_impl *lab_impl_find(const char *id);

#endif
