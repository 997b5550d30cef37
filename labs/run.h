/* One run of a lab: its resolved configuration, device, run directory, log
 * and metrics. `lab run` (runner/cmd_run.c) builds it; a lab's code reads
 * and fills it. */
#ifndef LAB_RUN_H
#define LAB_RUN_H

#include "labs/device.h"
#include "store/store.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>

struct lab_run {
    const json_t *manifest;
    json_t *config; /* resolved (owned) */
    struct lab_device_choice dev;
    char dir[4096]; /* run directory */
    int resume;     /* continuing an interrupted run in `dir` */
    int json_output;
    FILE *say;      /* human output: stdout, or stderr with --json */
    FILE *log;      /* dir/log.txt */
    json_t *metrics; /* what goes to metrics.json (owned) */
};

/* Set by the SIGINT/SIGTERM handler; labs poll it between batches. */
extern volatile sig_atomic_t lab_interrupted;

/* Prints a line to the user and appends it to log.txt. */
void lab_say(struct lab_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends to log.txt only. */
void lab_log_line(struct lab_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* dir/rel, with rel's parent directories created. */
int lab_run_path(struct lab_run *r, const char *rel, char *out, size_t cap);
int lab_run_save_metrics(struct lab_run *r);

#endif
