/* A teacher for knowledge distillation (lab 2.2.5's DeiT): a finished run
 * of another lab, the course's 2.2.1 ResNet-18, rebuilt through that lab's
 * registry entry and loaded with the run's own weights. */
#ifndef LAB_TEACHER_H
#define LAB_TEACHER_H

#include "labs/models/model.h"

#include <jansson.h>
#include <stddef.h>

/* run_dir: the teacher's run directory (its config.json names the lab and
 * the data); model_name: which of its models (its models/<name>/). The
 * teacher must have seen the student's inputs: the same dataset, input
 * size and normalization as student_config's "data", else LAB_EUSAGE naming
 * the difference. On `dev`; `desc` gets "2.2.1 resnet18 (RUN)". */
int lab_teacher_load(const char *run_dir, const char *model_name, const json_t *student_config, ts_device dev,
                     struct model **out, char *desc, size_t cap);

#endif
