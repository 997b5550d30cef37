/* The lab interface. A lab is labs/<id>-<slug>/lab.json (compiled into the
 * binary) plus its C code. The registry reads the manifests; nothing here
 * knows about the grader. */
#ifndef LAB_LAB_H
#define LAB_LAB_H

#include <jansson.h>
#include <stddef.h>

/* Parses the embedded manifests once (idempotent). LAB_EINTERNAL when one is
 * malformed or lacks id/title: that is a build defect, not a user error. */
int lab_registry_load(void);
size_t lab_registry_count(void);
/* Borrowed; sorted by id. */
const json_t *lab_registry_at(size_t i);
const json_t *lab_registry_find(const char *id);
const char *lab_manifest_id(const json_t *m);
const char *lab_manifest_title(const json_t *m);
/* Every lab id, NULL-terminated, for "did you mean" suggestions. */
const char *const *lab_registry_ids(void);
void lab_registry_free(void);

#endif
