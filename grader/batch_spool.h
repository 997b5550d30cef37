/* The spool of a batch on a cluster: a directory on storage shared by the
 * submit host and the nodes, the only thing they share. SQLite never lives
 * here (it must not be on NFS); the nodes write files, the collect step
 * alone writes the gradebook.
 *
 *   spool.json            the batch: options, gradebook path, attempts (job ids)
 *   items.json            the submissions to grade: source, staged path, sha256
 *   subs/<i>/             submission i, staged once (a bulk zip is unpacked in bulk/)
 *   results/<i>.json      what grading child i sent back, and how it ended
 *   work/<i>/stderr.txt   its stderr (the crash report quotes its tail)
 *   recorded/<i>.json     written by the collect step once row i is in the gradebook
 *   logs/                 Slurm's output files
 *   summary.json, .txt    the whole batch, written when the last row is recorded
 *
 * Every file is written atomically; a spool written by another version of
 * lab, or by hand, is checked field by field before use. */
#ifndef GRADER_BATCH_SPOOL_H
#define GRADER_BATCH_SPOOL_H

#include "grader/batch.h"
#include "grader/batch_input.h"
#include "grader/sandbox.h"

#include <jansson.h>
#include <stddef.h>

struct batch_spool {
    char dir[4096];
    json_t *meta;               /* spool.json */
    struct batch_item *items;   /* from items.json */
    char (*sha256)[65];
    size_t n;
    struct batch_opts opts;     /* rebuilt from meta; strings point into meta */
    const char *input_root, *db_path;
    size_t tasks;               /* array size: item i belongs to task i % tasks */
    int retries;
};

/* Creates <parent>/<lab>-<UTC time>-<pid>/ with its subfolders. */
int batch_spool_create(const char *parent, const char *lab, char *dir, size_t cap);

/* Copies (or hard-links) item `it` into subs/<i>/ unless it already lies in
 * the spool (bulk zips are unpacked there); sets *staged (caller frees). */
int batch_spool_stage(const char *dir, size_t i, const struct batch_item *it, char **staged);

/* Writes items.json (items with their staged paths) and spool.json. */
int batch_spool_write(const char *dir, json_t *meta, const struct batch_item *items, char (*sha256)[65], size_t n);

int batch_spool_open(const char *dir, struct batch_spool *sp);
void batch_spool_close(struct batch_spool *sp);
/* Rewrites spool.json from sp->meta (after adding an attempt). */
int batch_spool_save_meta(struct batch_spool *sp);

/* <dir>/<sub>/<i><suffix> */
void batch_spool_path(const struct batch_spool *sp, const char *sub, size_t i, const char *suffix, char *out,
                      size_t cap);

/* A finished grading child's outcome as results/<i>.json, and back. */
int batch_spool_put_result(const struct batch_spool *sp, size_t i, const struct sandbox_outcome *o);
/* 0 when found (o filled, caller clears), 1 when there is none yet. */
int batch_spool_get_result(const struct batch_spool *sp, size_t i, struct sandbox_outcome *o);

#endif
