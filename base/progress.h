/* A progress bar with rate and ETA. On a TTY it redraws one line; when the
 * stream is not a TTY, or NO_COLOR is set, it prints a plain line now and
 * then (never more than one per `plain_interval_s`) and a final one. */
#ifndef LAB_PROGRESS_H
#define LAB_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

enum lab_progress_mode { LAB_PROGRESS_AUTO, LAB_PROGRESS_TTY, LAB_PROGRESS_PLAIN, LAB_PROGRESS_QUIET };

struct lab_progress {
    FILE *out;
    enum lab_progress_mode mode;
    char label[64];
    const char *unit; /* "img", "B", "sub" ... ; "B" prints sizes in KiB/MiB/GiB */
    uint64_t total;   /* 0 when unknown */
    uint64_t done;
    double start, last_draw;
    double plain_interval_s;
    double (*now)(void); /* seconds on a monotonic clock; replaceable by tests */
};

void lab_progress_start(struct lab_progress *p, FILE *out, enum lab_progress_mode mode, const char *label,
                        uint64_t total, const char *unit);
/* `extra` (may be NULL) is appended, e.g. "loss 0.412 acc 86.1%". */
void lab_progress_update(struct lab_progress *p, uint64_t done, const char *extra);
void lab_progress_finish(struct lab_progress *p, const char *extra);

/* Formats the current state as the bar would show it (without \r). */
void lab_progress_format(const struct lab_progress *p, const char *extra, char *buf, size_t cap);

double lab_monotonic_s(void);

#endif
