/* `lab grades duplicates`: students whose model or predictions files are
 * byte-identical, or whose weights are equal (the same tensors, whatever
 * the file's names, order or metadata). A reason to look, not a verdict. */
#include "grader/grades.h"

#include "base/error.h"
#include "base/jsonio.h"
#include "grader/pack.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct art {
    char *lab, *kind, *model, *sha, *weights, *who, *source;
    char *seed; /* the training seed the submission names ("" when unknown) */
};

static char *col(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return strdup(t ? (const char *)t : "");
}

/* Sort key chosen by the comparator in use. */
static int by_sha(const void *a, const void *b)
{
    const struct art *x = a, *y = b;
    int c = strcmp(x->lab, y->lab);
    if (!c)
        c = strcmp(x->kind, y->kind);
    if (!c)
        c = strcmp(x->sha, y->sha);
    if (!c)
        c = strcmp(x->who, y->who);
    return c ? c : strcmp(x->source, y->source);
}

static int by_weights(const void *a, const void *b)
{
    const struct art *x = a, *y = b;
    int c = strcmp(x->lab, y->lab);
    if (!c)
        c = strcmp(x->kind, y->kind);
    if (!c)
        c = strcmp(x->weights, y->weights);
    if (!c)
        c = strcmp(x->who, y->who);
    return c ? c : strcmp(x->source, y->source);
}

/* Distinct people in a[from..to) (sorted by who within the group). */
static size_t people(const struct art *a, size_t from, size_t to)
{
    size_t n = 0;
    for (size_t i = from; i < to; i++) {
        int seen = 0;
        for (size_t j = from; j < i && !seen; j++)
            seen = !strcmp(a[j].who, a[i].who);
        n += !seen;
    }
    return n;
}

/* What the seeds of a group say: `lab run` is deterministic, so students
 * who kept one seed (the course default) get identical files from honest
 * work, while identical results under different seeds do not happen by
 * independent training. */
enum seeds { SEEDS_SAME, SEEDS_DIFFERENT, SEEDS_UNKNOWN, SEEDS_BORROWED };

/* 1 when `seed` is the personal seed `lab run --student who` derives. */
static int own_seed(const struct art *x)
{
    char want[24];
    snprintf(want, sizeof want, "%lld", pack_student_seed(x->who));
    return x->seed[0] && !strcmp(x->seed, want);
}

static enum seeds group_seeds(const struct art *a, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        if (!a[i].seed[0])
            return SEEDS_UNKNOWN;
    for (size_t i = from + 1; i < to; i++)
        if (strcmp(a[i].seed, a[from].seed))
            return SEEDS_DIFFERENT;
    /* One seed that is one member's own: the others did not derive it. */
    for (size_t i = from; i < to; i++)
        if (own_seed(&a[i]))
            return SEEDS_BORROWED;
    return SEEDS_SAME;
}

static void emit(const struct art *a, size_t from, size_t to, const char *what, const char *hash, json_t *groups,
                 FILE *out, size_t *counts)
{
    enum seeds sd = group_seeds(a, from, to);
    static const char *const verdict[] = {
        [SEEDS_SAME] = "all trained with the same seed: deterministic training gives identical files, expected "
                       "of honest work with the default seed",
        [SEEDS_DIFFERENT] = "different seeds, identical results: not what independent training gives; look at these",
        [SEEDS_UNKNOWN] = "a seed is unknown (no environment.seed in submission.json)",
        [SEEDS_BORROWED] = "one seed, and it is one member's own (lab run --student): the others trained under "
                           "another student's seed; look at these",
    };
    static const char *const names[] = {"same", "different", "unknown", "borrowed"};
    counts[sd]++;
    json_t *members = json_array();
    if (out)
        fprintf(out, "lab %s, %s %s (%.12s...): %s\n", a[from].lab, a[from].model, what, hash, verdict[sd]);
    for (size_t i = from; i < to; i++) {
        int seen = 0;
        for (size_t j = from; j < i && !seen; j++)
            seen = !strcmp(a[j].who, a[i].who) && !strcmp(a[j].source, a[i].source);
        if (seen)
            continue;
        if (out)
            fprintf(out, "  %-24s %-32s seed %s%s\n", a[i].who, a[i].source, a[i].seed[0] ? a[i].seed : "?",
                    own_seed(&a[i]) ? " (their own)" : "");
        json_array_append_new(members, json_pack("{s:o, s:o, s:o, s:b}", "student", lab_json_text(a[i].who), "source",
                                                 lab_json_text(a[i].source), "seed",
                                                 a[i].seed[0] ? json_string(a[i].seed) : json_null(), "own_seed",
                                                 own_seed(&a[i])));
    }
    json_array_append_new(groups, json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:o}", "lab", a[from].lab, "kind", what,
                                            "model", a[from].model, "sha256", hash, "seeds", names[sd], "look",
                                            sd != SEEDS_SAME, "members", members));
}

int grades_duplicates(gradebook *g, const char *lab, bool as_json, FILE *out, size_t *ngroups)
{
    *ngroups = 0;
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(gradebook_db(g),
                                "SELECT s.lab, a.kind, a.model, a.sha256, coalesce(a.weights_sha256, ''),"
                                " coalesce(s.student, '(no id) ' || s.source), s.source,"
                                " coalesce(CAST(json_extract(s.report, '$.fingerprint.seed') AS TEXT), '')"
                                " FROM artifacts a JOIN submissions s ON s.id = a.submission"
                                " WHERE (?1 IS NULL OR s.lab = ?1)",
                                -1, &st, NULL);
    if (rc != SQLITE_OK)
        return gradebook_error(g, rc, "reading artifacts");
    if (lab)
        sqlite3_bind_text(st, 1, lab, -1, SQLITE_STATIC);
    struct art *a = NULL;
    size_t n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct art *na = realloc(a, (n + 1) * sizeof *na);
        if (!na)
            break;
        a = na;
        a[n++] = (struct art){col(st, 0), col(st, 1), col(st, 2), col(st, 3), col(st, 4), col(st, 5), col(st, 6),
                              col(st, 7)};
    }
    sqlite3_finalize(st);
    json_t *groups = json_array();
    size_t counts[4] = {0};
    FILE *text = as_json ? NULL : out;
    if (rc != SQLITE_DONE) {
        rc = rc == SQLITE_ROW ? lab_err(LAB_EINTERNAL, NULL, "out of memory") : gradebook_error(g, rc, "reading artifacts");
        goto done;
    }
    rc = LAB_OK;
    /* Byte-identical files. */
    qsort(a, n, sizeof *a, by_sha);
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && !strcmp(a[j].lab, a[i].lab) && !strcmp(a[j].kind, a[i].kind) && !strcmp(a[j].sha, a[i].sha))
            j++;
        if (people(a, i, j) > 1) {
            emit(a, i, j, !strcmp(a[i].kind, "model") ? "byte-identical model.safetensors"
                                                       : "byte-identical predictions.safetensors",
                 a[i].sha, groups, text, counts);
            (*ngroups)++;
        }
        i = j;
    }
    /* Equal weights in files that are not all the same bytes. */
    qsort(a, n, sizeof *a, by_weights);
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && !strcmp(a[j].lab, a[i].lab) && !strcmp(a[j].kind, a[i].kind) &&
               !strcmp(a[j].weights, a[i].weights))
            j++;
        int differ = 0;
        for (size_t k = i + 1; k < j; k++)
            differ |= strcmp(a[k].sha, a[i].sha) != 0;
        if (!strcmp(a[i].kind, "model") && a[i].weights[0] && differ && people(a, i, j) > 1) {
            emit(a, i, j, "equal weights in different files", a[i].weights, groups, text, counts);
            (*ngroups)++;
        }
        i = j;
    }
    if (as_json) {
        json_t *doc = json_pack("{s:o, s:s}", "groups", groups, "note",
                                "a match is a reason to look at the work, not proof of copying; groups under one seed "
                                "are what deterministic training gives (docs/grading.md)");
        groups = NULL;
        char *s = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
        json_decref(doc);
        if (!s)
            rc = lab_err(LAB_EINTERNAL, NULL, "out of memory");
        else
            fprintf(out, "%s\n", s);
        free(s);
    } else {
        fprintf(out, "%zu group%s of matching files%s\n", *ngroups, *ngroups == 1 ? "" : "s",
                *ngroups ? "; a match is a reason to look at the work, not proof of copying" : "");
        if (*ngroups)
            fprintf(out, "%zu under one seed (expected of deterministic training), %zu under different seeds "
                         "(look at these), %zu under one student's own seed (look at these), %zu with a seed unknown "
                         "(docs/grading.md: reading duplicates)\n",
                    counts[SEEDS_SAME], counts[SEEDS_DIFFERENT], counts[SEEDS_BORROWED], counts[SEEDS_UNKNOWN]);
    }
done:
    json_decref(groups);
    for (size_t i = 0; i < n; i++)
        free(a[i].lab), free(a[i].kind), free(a[i].model), free(a[i].sha), free(a[i].weights), free(a[i].who),
            free(a[i].source), free(a[i].seed);
    free(a);
    return rc;
}
