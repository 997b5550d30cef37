/* The array task of a batch on Slurm: grades its share of the spool, each
 * submission in the batch's own sandboxed child (grader/sandbox.h), and
 * writes one result file per submission. It never opens the gradebook. */
#include "grader/batch_slurm.h"

#include "base/error.h"
#include "base/fsutil.h"
#include "grader/batch_internal.h"
#include "grader/batch_spool.h"
#include "shim/lazy.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Empties the child's work folder but for its stderr.txt, which the
 * collect step quotes in a crash report. */
static void keep_only_stderr(const char *workdir)
{
    DIR *d = opendir(workdir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strcmp(e->d_name, "stderr.txt"))
            continue;
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", workdir, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            batch_rm_tree(p);
        else
            unlink(p);
    }
    if (d)
        closedir(d);
}

/* LAB_TEST_SLURM_FAULT=KIND@T[,KIND@T...] (tests only): on the first
 * attempt, after grading its first submission, task T
 *   fail  exits 1;
 *   hang  waits to be killed (a test then fails its node);
 *   hog   touches memory until Slurm's --mem limit kills it. */
enum slurm_fault { FAULT_NONE, FAULT_FAIL, FAULT_HANG, FAULT_HOG };

static enum slurm_fault fault_here(const struct batch_spool *sp, long task)
{
    const char *spec = getenv("LAB_TEST_SLURM_FAULT");
    json_t *first = json_array_get(json_object_get(sp->meta, "attempts"), 0);
    const char *job = getenv("SLURM_ARRAY_JOB_ID");
    const char *j0 = json_string_value(json_object_get(first, "job"));
    if (!spec || !job || !j0 || strcmp(job, j0) != 0)
        return FAULT_NONE;
    static const char *const kinds[] = {[FAULT_FAIL] = "fail", [FAULT_HANG] = "hang", [FAULT_HOG] = "hog"};
    for (const char *p = spec; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
        char kind[8];
        long t;
        if (sscanf(p, "%7[a-z]@%ld", kind, &t) != 2 || t != task)
            continue;
        for (int k = FAULT_FAIL; k <= FAULT_HOG; k++)
            if (strcmp(kind, kinds[k]) == 0)
                return (enum slurm_fault)k;
    }
    return FAULT_NONE;
}

/* The fault's effect; returns only for FAULT_FAIL (or a hog nothing
 * stopped: no --mem limit). */
static void fault_act(enum slurm_fault f, long task)
{
    fprintf(stderr, "lab: LAB_TEST_SLURM_FAULT: task %ld %s on purpose\n", task,
            f == FAULT_HANG ? "hangs" : f == FAULT_HOG ? "eats memory" : "fails");
    if (f == FAULT_HANG)
        for (;;)
            pause();
    if (f == FAULT_HOG) {
        for (int i = 0; i < 64; i++) { /* 64 x 64 MiB, touched: resident */
            char *b = malloc(64u << 20);
            if (b)
                memset(b, 1, 64u << 20);
            sleep(0);
        }
        sleep(60);
    }
}

int batch_slurm_task(const char *spool, batch_grade_fn grade)
{
    struct batch_spool sp;
    int rc = batch_spool_open(spool, &sp);
    if (rc) {
        batch_spool_close(&sp);
        return rc;
    }
    const char *tid = getenv("SLURM_ARRAY_TASK_ID");
    char *end = NULL;
    long task = tid ? strtol(tid, &end, 10) : -1;
    if (!tid || *end || task < 0 || (size_t)task >= sp.tasks) {
        rc = lab_err(LAB_EUSAGE, "--slurm-task runs inside the job array lab submits; do not run it by hand",
                     "SLURM_ARRAY_TASK_ID is '%s', not a task of this %zu-task array", tid ? tid : "(unset)",
                     sp.tasks);
        batch_spool_close(&sp);
        return rc;
    }
    if (strcmp(sp.opts.grader_version, LAB_VERSION) != 0) {
        rc = lab_err(LAB_EENV, "install the same lab on the nodes as on the submit host (lab explain TS-SLURM-VERSION)",
                     "this node's lab is %s but the batch was submitted by lab %s", LAB_VERSION,
                     sp.opts.grader_version);
        batch_spool_close(&sp);
        return rc;
    }
    sp.opts.grade = grade;
    /* The child sizes its threads as CPUs / jobs: on a node, the CPUs are
     * those Slurm gave the task, not the machine's. */
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    const char *given = getenv("SLURM_CPUS_PER_TASK");
    long per_task = given ? strtol(given, NULL, 10) : 0;
    if (per_task > 0 && cpus > per_task)
        sp.opts.jobs = (int)(cpus / per_task);
    if (sp.opts.reeval && ts_lazy_require() != LAB_OK) {
        rc = lab_err_context(LAB_EENV, "--reeval needs libtorch on the node");
        batch_spool_close(&sp);
        return rc;
    }
    struct sandbox_limits lim;
    batch_sandbox_limits(&sp.opts, &lim);
    lim.private_net = sandbox_can_isolate_network();
    enum slurm_fault fault = fault_here(&sp, task);
    size_t graded = 0;
    for (size_t i = (size_t)task; i < sp.n && !rc; i += sp.tasks) {
        char res[PATH_MAX];
        batch_spool_path(&sp, "results", i, ".json", res, sizeof res);
        if (lab_path_exists(res))
            continue; /* graded by an earlier attempt */
        if (fault != FAULT_NONE && graded == 1) {
            fault_act(fault, task);
            batch_spool_close(&sp);
            return lab_err(LAB_EFAIL, NULL, "task %ld failed on purpose (LAB_TEST_SLURM_FAULT)", task);
        }
        struct batch_job job = {.opts = &sp.opts, .item = &sp.items[i]};
        memcpy(job.sha256, sp.sha256[i], sizeof job.sha256);
        batch_spool_path(&sp, "work", i, "", job.workdir, sizeof job.workdir);
        if (lab_is_dir(job.workdir))
            batch_rm_tree(job.workdir);
        if (mkdir(job.workdir, 0700) != 0) {
            rc = lab_err(LAB_EENV, "free space in the spool", "cannot create %s: %s", job.workdir, strerror(errno));
            break;
        }
        if ((rc = sandbox_start(&lim, job.workdir, batch_child_main, &job, &job.child)))
            break;
        size_t which;
        while (!sandbox_wait_any(&job.child, 1, 1.0, &which))
            ;
        struct sandbox_outcome oc;
        sandbox_collect(job.child, &oc);
        rc = batch_spool_put_result(&sp, i, &oc);
        static const char *const how[] = {[SANDBOX_EXITED] = "exited with status",
                                          [SANDBOX_SIGNALED] = "killed by signal",
                                          [SANDBOX_TIMED_OUT] = "timed out, status",
                                          [SANDBOX_TOO_MUCH_OUTPUT] = "wrote too much, status"};
        printf("%zu %s: the grader %s %d after %.2f s (the collect step scores it)\n", i, sp.items[i].source,
               how[oc.how], oc.code, oc.wall_s);
        fflush(stdout);
        sandbox_outcome_clear(&oc);
        keep_only_stderr(job.workdir);
        graded++;
    }
    batch_spool_close(&sp);
    return rc;
}
