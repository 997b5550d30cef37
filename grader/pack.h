/* Packing a run directory into a submission archive (`lab submit`): the
 * run's files (checkpoints and temporaries left out), a submission.json and
 * a MANIFEST.sha256 over everything, as one tar.gz written atomically. */
#ifndef GRADER_PACK_H
#define GRADER_PACK_H

#include <jansson.h>
#include <stddef.h>

/* 1 when `id` can name a student in a file name: 1-64 of [A-Za-z0-9._@+-],
 * not starting with '.' or '-'. */
int pack_student_ok(const char *id);

struct pack_result {
    size_t files;       /* in the archive, submission.json and the manifest included */
    unsigned long long bytes; /* of the archive */
};

/* Packs run_dir (a finished run: every model in metrics.json "done") for
 * `student` into `out_path`. `environment` (borrowed, may be NULL) goes into
 * submission.json. LAB_EUSAGE when the run is not a finished run directory. */
int pack_submission(const char *run_dir, const char *student, const json_t *environment, const char *out_path,
                    struct pack_result *res);

#endif
