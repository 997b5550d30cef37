/* Packing a run directory into a submission archive (`lab submit`): the
 * run's files (checkpoints and temporaries left out), a submission.json and
 * a MANIFEST.sha256 over everything, as one tar.gz (or a zip, when the
 * name ends in .zip) written atomically. */
#ifndef GRADER_PACK_H
#define GRADER_PACK_H

#include <jansson.h>
#include <stddef.h>
#include <time.h>

/* 1 when `id` can name a student in a file name: 1-64 of [A-Za-z0-9._@+-],
 * not starting with '.' or '-'. */
int pack_student_ok(const char *id);
/* A student's own default seed (`lab run --student ID` without --seed), so
 * that two students' honest runs differ while each one's stays repeatable:
 * 1..2^31-1 from a hash of the id (FNV-1a); `lab grades duplicates` tells
 * a group under one student's own seed from one under the course's. */
long long pack_student_seed(const char *id);

struct archive;
/* Adds one file of `len` bytes at `data`, named `name`, to an archive being
 * written (the submission, the autograder zip). */
int pack_add_buffer(struct archive *a, const char *name, const void *data, size_t len, int perm, time_t now);

/* 1 when out_path asks for a zip (ends in .zip, any case). */
int pack_wants_zip(const char *out_path);

struct pack_result {
    size_t files;       /* in the archive, submission.json and the manifest included */
    unsigned long long bytes; /* of the archive */
    size_t q4_models;   /* models whose weights went in at 4 bits */
    unsigned long long weight_bytes, q4_bytes; /* the weights as trained, and as packed */
};

/* Packs run_dir (a finished run: every model in metrics.json "done") for
 * `student` into `out_path`. `environment` (borrowed, may be NULL) goes into
 * submission.json. q4: each models/<name>/model.safetensors goes in with
 * its big tensors at 4 bits (grader/weights_q4.h); 0: as trained.
 * LAB_EUSAGE when the run is not a finished run directory. */
int pack_submission(const char *run_dir, const char *student, const json_t *environment, const char *out_path,
                    int q4, struct pack_result *res);

#endif
