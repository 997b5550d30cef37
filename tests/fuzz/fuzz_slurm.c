/* libFuzzer target for the parsers of Slurm's output (base/slurm.h): what
 * sacct and scontrol print is read line by line, with job names and
 * ranges in it. Each input is parsed as both formats, for job "12"; every
 * task found must have a bounded, NUL-terminated state and a task number
 * of -1 (a plain job) or more, and no more than LAB_SLURM_MAX_TASKS of them.
 * Build: make build-fuzz/fuzz_slurm; run: build-fuzz/fuzz_slurm -max_total_time=60.
 * The unit tests replay inputs through this same function. */
#include "base/slurm.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static void check(const struct lab_slurm_task *t, size_t n)
{
    if (n > LAB_SLURM_MAX_TASKS)
        abort();
    for (size_t i = 0; i < n; i++)
        if (t[i].task < -1 || memchr(t[i].state, 0, sizeof t[i].state) == NULL || strchr(t[i].state, ' '))
            abort();
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = 0;
    struct lab_slurm_task *t = NULL;
    size_t n = 0;
    if (lab_slurm_parse_sacct(s, "12", &t, &n) == 0)
        check(t, n);
    free(t);
    t = NULL;
    if (lab_slurm_parse_scontrol(s, "12", &t, &n) == 0)
        check(t, n);
    free(t);
    free(s);
    return 0;
}
