/* The troubleshooting knowledge base: docs/troubleshooting/TS-*.md, compiled
 * into the binary. Each entry starts with a front matter block:
 *
 *   ---
 *   id: TS-DTYPE-MISMATCH
 *   title: one line
 *   patterns:
 *     - 'POSIX extended regular expression matched against error text'
 *   checks: [norm.config, ...]      grader check ids that point here
 *   doctor: [gpu.driver, ...]       doctor finding ids that point here
 *   ---
 *   Markdown body (## Symptoms, ## Causes, ## Fixes)
 */
#ifndef LAB_KB_H
#define LAB_KB_H

#include <stddef.h>

#define KB_MAX_LIST 16

struct kb_entry {
    char id[48];
    char title[160];
    const char *body; /* the markdown after the front matter (borrowed) */
    size_t n_patterns, n_checks, n_doctor;
    char *patterns[KB_MAX_LIST];
    char *checks[KB_MAX_LIST];
    char *doctor[KB_MAX_LIST];
    void *compiled; /* regex_t[n_patterns] */
};

/* Parses every embedded entry once; LAB_EINTERNAL naming the file when one is
 * malformed (a build defect that tests catch). */
int kb_load(void);
size_t kb_count(void);
const struct kb_entry *kb_at(size_t i); /* sorted by id */
const struct kb_entry *kb_find(const char *id);
void kb_free(void);

/* Parses one entry's text; exposed for tests. `source` names it in errors. */
int kb_parse(const char *text, const char *source, struct kb_entry *out);
void kb_entry_clear(struct kb_entry *e);

/* Ranks entries by how many of their patterns match `text` (ties broken by
 * id); writes up to `cap` entries with at least one match, best first, and
 * returns how many. */
size_t kb_match(const char *text, const struct kb_entry **out, size_t cap);
/* kb_match's ids, loading the KB first (0 when it cannot be loaded): the
 * matcher the CLI hands to the layers below (lab_engine_set_kb_matcher). */
size_t kb_match_ids(const char *text, const char **ids, size_t cap);

#endif
