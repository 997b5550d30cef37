/* "Did you mean" for mistyped commands, lab ids and config keys. */
#ifndef LAB_SUGGEST_H
#define LAB_SUGGEST_H

#include <stddef.h>

size_t lab_edit_distance(const char *a, const char *b);
/* The closest candidate, or NULL when none is close enough to be a typo. */
const char *lab_suggest(const char *word, const char *const *candidates);
/* Like lab_suggest, but case and the separators '-', '_', ' ' and '.' do
 * not count: "ResNet-18" finds "resnet18". Never returns `word` itself. */
const char *lab_suggest_loose(const char *word, const char *const *candidates);

#endif
