#include "base/suggest.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

size_t lab_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t *row = malloc((lb + 1) * sizeof *row);
    if (!row)
        return (size_t)-1;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    size_t d = row[lb];
    free(row);
    return d;
}

const char *lab_suggest(const char *word, const char *const *candidates)
{
    size_t len = strlen(word);
    size_t limit = len / 3 > 2 ? len / 3 : 2;
    const char *best = NULL;
    size_t best_d = limit + 1;
    for (; *candidates; candidates++) {
        size_t d = lab_edit_distance(word, *candidates);
        /* a prefix ("inf" for "info") is a typo worth suggesting too */
        if (d > 0 && strncmp(*candidates, word, len) == 0 && len >= 2)
            d = 1;
        if (d < best_d) {
            best_d = d;
            best = *candidates;
        }
    }
    return best;
}

static void fold(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    for (; *in && n + 1 < cap; in++)
        if (!strchr("-_ .", *in))
            out[n++] = (char)tolower((unsigned char)*in);
    out[n] = '\0';
}

const char *lab_suggest_loose(const char *word, const char *const *candidates)
{
    char w[128], folded[64][128];
    const char *ptrs[65];
    size_t n = 0;
    fold(word, w, sizeof w);
    for (size_t i = 0; candidates[i] && n < 64; i++) {
        if (strcmp(candidates[i], word) == 0)
            continue;
        fold(candidates[i], folded[n], sizeof folded[n]);
        if (strcmp(folded[n], w) == 0)
            return candidates[i];
        ptrs[n] = folded[n];
        n++;
    }
    ptrs[n] = NULL;
    const char *best = n ? lab_suggest(w, ptrs) : NULL;
    for (size_t i = 0, k = 0; best && candidates[i] && k < n; i++) {
        if (strcmp(candidates[i], word) == 0)
            continue;
        if (ptrs[k++] == best)
            return candidates[i];
    }
    return NULL;
}
