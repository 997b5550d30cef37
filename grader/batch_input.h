/* What a batch grades: the submissions found in a folder or in an LMS bulk
 * download (a zip, unpacked safely into the staging area first).
 *
 * In a folder, each non-hidden entry is looked at once:
 *   - an archive (.tar.gz .tgz .tar .zip .tar.xz .tar.bz2): one submission;
 *   - a folder holding submission.json: one submission;
 *   - any other folder (a Moodle "<Name>_<id>_assignsubmission_file_/" or a
 *     folder per student): each archive in it, and each subfolder holding
 *     submission.json, is a submission; when it holds none, the folder
 *     itself is one (so that it is reported as not gradable, not lost);
 *   - another file with a Canvas or Moodle name: a submission (the student
 *     uploaded something that is not an archive; it will be not gradable);
 *   - anything else is ignored and listed.
 * The source of a submission is its path relative to the input: the same
 * across reruns, it is part of the gradebook's key. */
#ifndef GRADER_BATCH_INPUT_H
#define GRADER_BATCH_INPUT_H

#include "datasets/unpack.h"
#include "grader/lms_names.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct batch_item {
    char *source;        /* relative to the input, e.g. "doe_jane_12_34_lab.tar.gz" */
    char *path;          /* where to read it */
    bool is_dir;
    struct lms_name lms; /* from the first component that is an LMS name; kind LMS_NONE otherwise */
    time_t mtime;        /* the received time when no LMS says otherwise */
};

struct batch_input {
    char *root;     /* the input as given, made absolute */
    bool bulk_zip;  /* the input was an archive, unpacked into the staging area */
    struct batch_item *items;
    size_t n;
    char **ignored; /* "notes.txt: not an archive or a submission folder" */
    size_t n_ignored;
};

/* Limits for a whole bulk download (the outer zip); each submission inside
 * is unpacked later with the per-submission limits. */
struct ds_unpack_limits batch_bulk_limits(void);
/* Per submission: 2 GiB, 10,000 entries, ratio 200, no links. */
struct ds_unpack_limits batch_submission_limits(void);

/* Finds the submissions under `input`; a bulk zip is unpacked into
 * `staging`/bulk. A zip that is itself a single submission is LAB_EUSAGE. */
int batch_input_scan(const char *input, const char *staging, struct batch_input *out);
void batch_input_free(struct batch_input *in);

/* The content hash of a submission: the archive's sha256, or for a folder
 * the sha256 of its sorted listing of (type, path, content sha256 or link
 * target). Walks at most lim->max_entries entries. */
int batch_item_sha256(const struct batch_item *it, const struct ds_unpack_limits *lim, char hex[65]);

/* 1 when `name` ends with one of the archive suffixes above. */
int batch_is_archive_name(const char *name);

#endif
