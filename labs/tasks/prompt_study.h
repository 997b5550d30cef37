/* The full mode's images and prompts as the course notebook defines them,
 * shared by the lab and the grader: the notebook's placeholder image (what
 * it draws when its sample downloads fail) and its prompt study on an image
 * of w x h pixels. */
#ifndef LAB_TASKS_PROMPT_STUDY_H
#define LAB_TASKS_PROMPT_STUDY_H

#include "datasets/image.h"

/* 800x600 RGB: red rising and blue falling down the rows, green 128, a
 * filled white square (100,100)-(300,300), a green disc at (500,300) of
 * radius 100 and a magenta rectangle (400,400)-(700,550), corners
 * inclusive, drawn in that order. */
int sam_placeholder(struct ds_image *out);

enum sam_study_kind { SAM_STUDY_BOX = 0, SAM_STUDY_POINT = 1, SAM_STUDY_COMBO = 2 };
#define SAM_STUDY_N 3

struct sam_study_prompt {
    enum sam_study_kind kind;
    const char *name;
    int n_points;
    double points[3 * 2]; /* x, y in the image's pixels */
    int labels[3];        /* 1 foreground, 0 background */
    int has_box;
    double box[4]; /* x1, y1, x2, y2 */
    int multimask;
};

/* The notebook's three prompts, in this order: the centre point (w//2,
 * h//2), foreground, three masks; the central-half box (w//4, h//4, 3w//4,
 * 3h//4), one mask; the centre point with the background points (50, 50)
 * and (w-50, h-50), one mask. */
void sam_study_prompts(int w, int h, struct sam_study_prompt out[SAM_STUDY_N]);
/* Masks a prompt gives: 3 with multimask, else 1. */
int sam_study_masks(const struct sam_study_prompt *p);
/* The prompts row predictions.safetensors holds for it: the box
 * (x1, y1, x2, y2), or its first point (x, y, 1, 0). */
void sam_study_row(const struct sam_study_prompt *p, float row[4]);

#endif
