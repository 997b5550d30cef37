#include "base/embedded.h"
#include "base/error.h"
#include "grader/kb.h"
#include "grader/rubric.h"
#include "tests/unit/testutil.h"

#include <check.h>
#include <string.h>

START_TEST(test_every_entry_parses_and_has_sections)
{
    ck_assert_int_eq(kb_load(), LAB_OK);
    ck_assert_uint_gt(kb_count(), 0);
    for (size_t i = 0; i < kb_count(); i++) {
        const struct kb_entry *e = kb_at(i);
        ck_assert_msg(strstr(e->body, "## Symptoms"), "%s lacks ## Symptoms", e->id);
        ck_assert_msg(strstr(e->body, "## Causes"), "%s lacks ## Causes", e->id);
        ck_assert_msg(strstr(e->body, "## Fixes"), "%s lacks ## Fixes", e->id);
        ck_assert_msg(e->n_patterns > 0, "%s has no error-text patterns", e->id);
        if (i > 0)
            ck_assert_str_lt(kb_at(i - 1)->id, e->id);
    }
    kb_free();
}
END_TEST

START_TEST(test_match_ranks_dtype_entry_first)
{
    ck_assert_int_eq(kb_load(), LAB_OK);
    const struct kb_entry *hits[4];
    size_t n = kb_match("RuntimeError: Input type (torch.cuda.FloatTensor) and weight type "
                        "(torch.cuda.HalfTensor) should be the same",
                        hits, 4);
    ck_assert_uint_ge(n, 1);
    ck_assert_str_eq(hits[0]->id, "TS-DTYPE-MISMATCH");
    ck_assert_uint_eq(kb_match("everything is fine", hits, 4), 0);
    ck_assert_ptr_nonnull(kb_find("ts-dtype-mismatch"));
    ck_assert_ptr_null(kb_find("TS-NOPE"));
    kb_free();
}
END_TEST

START_TEST(test_parse_rejects_malformed_entries)
{
    struct kb_entry e;
    ck_assert_int_eq(kb_parse("no front matter", "a.md", &e), LAB_EINTERNAL);
    ck_assert_int_eq(kb_parse("---\nid: TS-X\ntitle: t\n", "b.md", &e), LAB_EINTERNAL);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "not closed"));
    ck_assert_int_eq(kb_parse("---\nid: X-1\ntitle: t\n---\n", "c.md", &e), LAB_EINTERNAL);
    ck_assert_int_eq(kb_parse("---\nid: TS-X\ntitle: t\npatterns:\n  - '(unclosed'\n---\n", "d.md", &e),
                     LAB_EINTERNAL);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "does not compile"));
    ck_assert_int_eq(kb_parse("---\nid: TS-X\ncolour: red\n---\n", "e.md", &e), LAB_EINTERNAL);
    ck_assert_int_eq(kb_parse("---\nid: TS-X\ntitle: 'It''s' \npatterns:\n  - 'a''b'\nchecks: [x.y, z]\n---\nbody",
                              "f.md", &e),
                     LAB_OK);
    ck_assert_str_eq(e.title, "It's");
    ck_assert_str_eq(e.patterns[0], "a'b");
    ck_assert_uint_eq(e.n_checks, 2);
    ck_assert_str_eq(e.checks[1], "z");
    ck_assert_str_eq(e.body, "body");
    kb_entry_clear(&e);
}
END_TEST

/* Every page a rubric check names lists that check back: the page's
 * checks: list is the reverse index `lab explain` prints ("pointed to by"). */
START_TEST(test_rubric_checks_are_listed_by_their_pages)
{
    ck_assert_int_eq(kb_load(), LAB_OK);
    const struct rubric_check *const tables[] = {checks_common, checks_classify, checks_detect, checks_segment,
                                                 checks_prompt, checks_vit,      checks_transfer};
    for (size_t t = 0; t < sizeof tables / sizeof *tables; t++)
        for (const struct rubric_check *c = tables[t]; c->id; c++)
            for (size_t i = 0; i < sizeof c->kb / sizeof *c->kb && c->kb[i]; i++) {
                const struct kb_entry *e = kb_find(c->kb[i]);
                ck_assert_msg(e, "check %s names %s, which has no page", c->id, c->kb[i]);
                int listed = 0;
                for (size_t k = 0; k < e->n_checks; k++)
                    listed |= strcmp(e->checks[k], c->id) == 0;
                ck_assert_msg(listed, "%s does not list check %s in its checks:", c->kb[i], c->id);
            }
    kb_free();
}
END_TEST

Suite *suite_kb(void)
{
    Suite *s = suite_create("kb");
    TCase *tc = tcase_create("kb");
    tcase_add_test(tc, test_every_entry_parses_and_has_sections);
    tcase_add_test(tc, test_match_ranks_dtype_entry_first);
    tcase_add_test(tc, test_parse_rejects_malformed_entries);
    tcase_add_test(tc, test_rubric_checks_are_listed_by_their_pages);
    suite_add_tcase(s, tc);
    return s;
}
