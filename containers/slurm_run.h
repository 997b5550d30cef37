/* `lab run <id> --engine slurm`: the lab on a cluster node through sbatch,
 * with the resources asked for (--partition, --gres gpu:1, --time,
 * --account). On the node the job runs `lab run <id> --engine native` with
 * the same options, or `--engine podman --image IMAGE` to use the course
 * image with the node's podman. The job's log (on shared storage: the
 * current directory) is streamed here as it grows, Ctrl-C cancels the job,
 * and the lab's own exit code comes back. --out is made absolute, so the
 * run directory lands where the user asked (it must be shared storage). */
#ifndef LAB_SLURM_RUN_H
#define LAB_SLURM_RUN_H

#include "base/argv.h"
#include "containers/engine.h"

/* The batch script for `req` (what --dry-run prints). `lab_bin` is the lab
 * the node runs. Caller frees *script. */
int lab_slurm_run_script(const struct lab_engine_args *ea, const struct lab_engine_run *req, const char *lab_bin,
                         const char *log_path, char **script);

/* Submits, streams, waits; the lab's exit status as a LAB_* status (its
 * message already in the log), or why Slurm stopped it. */
int lab_slurm_run_lab(const struct lab_engine_args *ea, const struct lab_engine_run *req);

#endif
