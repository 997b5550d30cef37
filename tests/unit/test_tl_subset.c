/* Lab 2.2.2's training subset (transfer_seeded_subset): the course's
 * 10,000-image subset is a random draw, seeded so that a rerun draws the
 * same images; another seed draws others; the samples keep their dataset
 * order; asking for more than there is gives all of them. */
#include "base/error.h"
#include "labs/2.2.2-transfer-learning/classes.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

enum { N = 200, TAKE = 50 };

/* Image i holds the byte i, so a sample names where it came from. */
static struct ds_dataset *numbered(void)
{
    uint8_t *px = malloc(N);
    int64_t *labels = malloc(N * sizeof *labels);
    for (int i = 0; i < N; i++)
        px[i] = (uint8_t)i, labels[i] = i % 10;
    struct ds_dataset *d;
    ck_assert_int_eq(ds_memory_dataset("numbered", N, 1, 1, 1, px, labels, 10, &d), LAB_OK);
    return d;
}

static void drawn(const struct ds_dataset *s, int *out)
{
    for (size_t i = 0; i < s->n; i++) {
        struct ds_sample smp;
        ck_assert_int_eq(ds_dataset_get(s, i, &smp), LAB_OK);
        out[i] = smp.image.px[0];
        ck_assert_int_eq(smp.label, out[i] % 10);
        ds_sample_free(&smp);
    }
}

START_TEST(test_seeded_subset)
{
    struct ds_dataset *base = numbered(), *a, *b, *c, *all;
    int xa[TAKE], xb[TAKE], xc[TAKE], seen[N] = {0};
    ck_assert_int_eq(transfer_seeded_subset(base, TAKE, 42, &a), LAB_OK);
    ck_assert_int_eq(transfer_seeded_subset(base, TAKE, 42, &b), LAB_OK);
    ck_assert_int_eq(transfer_seeded_subset(base, TAKE, 7, &c), LAB_OK);
    ck_assert_uint_eq(a->n, TAKE);
    drawn(a, xa), drawn(b, xb), drawn(c, xc);
    ck_assert(memcmp(xa, xb, sizeof xa) == 0);
    ck_assert(memcmp(xa, xc, sizeof xa) != 0);
    for (int i = 0; i < TAKE; i++) {
        ck_assert(!seen[xa[i]]);
        seen[xa[i]] = 1;
        if (i)
            ck_assert_int_lt(xa[i - 1], xa[i]); /* the dataset's order */
    }
    ck_assert_int_gt(xa[TAKE - 1], TAKE); /* not simply the first TAKE */
    ck_assert_int_eq(transfer_seeded_subset(base, N + 5, 42, &all), LAB_OK);
    ck_assert_uint_eq(all->n, N);
    ds_dataset_free(a), ds_dataset_free(b), ds_dataset_free(c), ds_dataset_free(all);
    ds_dataset_free(base);
}
END_TEST

Suite *suite_tl_subset(void)
{
    Suite *s = suite_create("tl_subset");
    TCase *tc = tcase_create("subset");
    tcase_add_test(tc, test_seeded_subset);
    suite_add_tcase(s, tc);
    return s;
}
