/* `lab predict`: a lab's model on the user's own images, as students use
 * Ultralytics' `yolo predict`. The weights come from a run directory (its
 * config.json says the architecture and the eval transform) or a file (the
 * lab's default configuration); each PNG/JPEG (EXIF orientation applied) is
 * resized to the lab's input, put through the eval transform, and the model's
 * outputs are written in the task's predictions format. Classify only in
 * this version; the other tasks say so. */
#ifndef LAB_PREDICT_H
#define LAB_PREDICT_H

#include <stdio.h>

/* The most 2.2.6 prompts one call takes. */
#define PREDICT_MAX_POINTS 64
#define PREDICT_MAX_BOXES 256

struct predict_opts {
    const char *lab;     /* "2.2.5" */
    const char *weights; /* a run directory or a .safetensors/.pth file */
    const char *source;  /* an image or a directory of them */
    const char *model;   /* NULL: the run's (or the lab's default) model */
    const char *out;     /* output directory */
    const char *device;  /* "auto", "cpu", "cuda:N" */
    /* Detection (lab 2.2.3); negative conf / iou, 0 imgsz / max_det, NULL
     * classes: Ultralytics' predict defaults. */
    double conf, iou;    /* 0.25, 0.7 */
    int imgsz, max_det;  /* 640, 300 */
    const char *classes; /* "person,car,bus" (names or ids), NULL: all */
    /* 2.2.6 (promptable segmentation): "x,y[,label]" points, "x1,y1,x2,y2"
     * boxes (several: each prompted on its own, as the solution's
     * BoxSelector), three masks or one, and the background-removed RGBA image */
    const char *const *points; /* at most PREDICT_MAX_POINTS */
    size_t n_points;
    const char *const *boxes; /* at most PREDICT_MAX_BOXES */
    size_t n_boxes;
    int multimask, cutout;
    /* 2.2.6: a 2.2.3 detector's checkpoint whose boxes are the prompts (the
     * solution's detect_and_segment; conf, iou, imgsz, max_det and classes
     * above apply to it, conf 0.5 by default); NULL: none */
    const char *detect;
    /* 2.2.6: every mask automatically (the course's generator settings);
     * points_per_side 0 keeps the course's 32, a negative threshold the
     * course's 0.88 / 0.95 */
    int auto_masks, points_per_side;
    double pred_iou_thresh, stability_thresh;
    /* 2.2.6, the solution's annotator tools: refine every mask
     * (refine_mask's min_area, 0 = off); the current mask is the largest
     * (grow) or smallest (shrink) of the three instead of the best scored */
    long refine;
    int grow, shrink;
};

/* Writes out/predictions.json (per image: source, top-5 class ids, names
 * and probabilities) and out/outputs.safetensors ("logits" [N, K] in the
 * same order). */
int lab_predict(const struct predict_opts *o, FILE *say);

/* The images of `source` for any lab's predict: the file itself, or the
 * PNG/JPEG files of a directory (at most 4096), sorted by name; *out is
 * set even on failure, for predict_images_free. */
int predict_list_images(const char *source, char ***out, size_t *n);
void predict_images_free(char **list, size_t n);

#endif
