/* The tasks a lab chooses from (lab.json "task") and the predictions format
 * of each: the tensors of models/<m>/predictions.safetensors, so the grader
 * can read any lab's predictions by its task (docs/submission-format.md,
 * "Predictions by task"). classify is implemented (tasks/classify.h);
 * detect, segment and prompt are the formats labs 2.2.3, 2.2.4 and 2.2.6
 * will write. */
#ifndef LAB_TASKS_TASK_H
#define LAB_TASKS_TASK_H

#include <stddef.h>

#define TASK_MAX_TENSORS 6

struct task_tensor {
    const char *name;
    const char *dtype; /* safetensors dtype name: F32, I64, U8 */
    const char *shape; /* symbolic: N images, M detections, P prompts, K classes, H x W pixels */
    const char *meaning;
};

struct task_format {
    const char *task;   /* classify | detect | segment | prompt */
    const char *format; /* the "format" metadata of predictions.safetensors */
    struct task_tensor tensors[TASK_MAX_TENSORS];
    size_t n;
};

/* NULL for an unknown task name. */
const struct task_format *task_format_find(const char *task);
const struct task_format *task_format_at(size_t i); /* NULL past the last */

#endif
