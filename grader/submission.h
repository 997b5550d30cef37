/* Reading a submission (docs/submission-format.md): a directory, or a tar.gz /
 * zip archive unpacked with the submission limits (datasets/unpack.h) into a
 * private temporary directory. Everything in it is untrusted: JSON files are
 * read with size caps, MANIFEST.sha256 is parsed strictly, every
 * safetensors file is validated (shim/safetensors.h) and tensors the grader
 * copies are capped in elements before anything is allocated. Whatever is
 * malformed makes submission_open fail with LAB_EENV and a message naming
 * the file and the fault: the submission is not gradable. */
#ifndef GRADER_SUBMISSION_H
#define GRADER_SUBMISSION_H

#include "shim/safetensors.h"

#include <jansson.h>
#include <stddef.h>

#define SUB_FORMAT_VERSION 1
#define SUB_MAX_FILES 20000
#define SUB_INFO_MAX_BYTES (64u << 10)
#define SUB_CONFIG_MAX_BYTES (1u << 20)
#define SUB_METRICS_MAX_BYTES (8u << 20)
#define SUB_MANIFEST_MAX_BYTES (2u << 20)

struct sub_entry {
    char *path; /* relative, normalized */
    char sha256[65];
};

struct sub_model {
    char *name;
    st_file *weights;     /* models/<name>/model.safetensors, or NULL when absent; at 4 bits
                           * (grader/weights_q4.h): the decoded state dict */
    void *weights_decoded; /* the decoded file's bytes (weights views them), or NULL */
    int weights_q4;        /* 1 when the file held tensors at 4 bits */
    size_t q4_values, weight_values; /* values at 4 bits, of all the weights' values */
    double q4_max_step;    /* the largest 4-bit step (a value is at most step / 2 off) */
    st_file *predictions; /* models/<name>/predictions.safetensors, or NULL */
};

struct submission {
    char *source;  /* the path given */
    char *root;    /* the directory the files are read from */
    char *tmpdir;  /* private unpack directory, removed by submission_free; NULL for a directory */
    int run_dir;   /* opened as a run directory (lab run's self-check) */
    json_t *info;  /* submission.json; NULL for a run directory */
    json_t *config, *metrics;
    const char *lab, *student; /* borrowed from info (run dir: config's lab, student "") */
    struct sub_entry *manifest;
    size_t n_manifest;
    char **files; /* every regular file, relative, sorted */
    size_t n_files;
    struct sub_model *models; /* sorted by name */
    size_t n_models;
    st_file *inputs; /* inputs.safetensors, or NULL */
    st_file *attention; /* attention.safetensors (lab 2.2.5), or NULL */
};

enum sub_open_mode {
    SUB_SUBMISSION, /* needs submission.json and MANIFEST.sha256 */
    SUB_RUN_DIR,    /* a fresh run directory: neither; checkpoints ignored */
};

int submission_open(const char *path, enum sub_open_mode mode, struct submission **out);
void submission_free(struct submission *s); /* removes tmpdir; NULL is a no-op */

/* root/rel into out. */
int submission_path(const struct submission *s, const char *rel, char *out, size_t cap);
int submission_has_file(const struct submission *s, const char *rel);
const struct sub_model *submission_model(const struct submission *s, const char *name);

/* MANIFEST.sha256 in sha256sum's format: "<64 hex>  <path>" (or " *<path>")
 * per line. LAB_EENV naming the line for anything else: absolute paths,
 * "..", duplicates, control characters. Exposed for tests and fuzzing. */
int sub_manifest_parse(const char *text, size_t len, struct sub_entry **out, size_t *n);
void sub_manifest_free(struct sub_entry *e, size_t n);

/* Checks submission.json's fields (format_version, lab, student, created);
 * LAB_EENV naming the field. */
int sub_info_validate(const json_t *info);

/* Removes a directory tree without following symlinks. */
void sub_rmtree(const char *path);

#endif
