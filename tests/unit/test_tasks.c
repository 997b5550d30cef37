/* The task framework: the predictions formats are written down in
 * docs/submission-format.md as the code has them, classify writes the format
 * it declares, and its metrics agree with a direct count. */
#include "base/error.h"
#include "labs/tasks/classify.h"
#include "labs/tasks/task.h"
#include "shim/safetensors.h"
#include "tests/unit/testutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *read_doc(void)
{
    const char *src = getenv("LAB_SRC");
    char path[4200];
    snprintf(path, sizeof path, "%s/docs/submission-format.md", src ? src : ".");
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f, "cannot read %s", path);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

START_TEST(test_formats_documented)
{
    const char *doc = read_doc();
    size_t count = 0;
    for (const struct task_format *t; (t = task_format_at(count)); count++) {
        char want[200];
        snprintf(want, sizeof want, "| %s | `%s` |", t->task, t->format);
        ck_assert_msg(strstr(doc, want), "docs/submission-format.md lacks the row %s", want);
        const char *at = strstr(doc, want);
        for (size_t i = 0; i < t->n; i++) {
            snprintf(want, sizeof want, "| `%s` | %s | %s |", t->tensors[i].name, t->tensors[i].dtype,
                     t->tensors[i].shape);
            const char *hit = strstr(at, want);
            ck_assert_msg(hit, "%s: docs lack %s", t->task, want);
            at = hit;
        }
    }
    ck_assert_uint_eq(count, 4);
    ck_assert_ptr_nonnull(task_format_find("segment"));
    ck_assert_ptr_null(task_format_find("regress"));
}
END_TEST

START_TEST(test_classify_metrics_and_format)
{
    /* 6 images, 7 classes: row i scores class (i * 3) % 7 highest. */
    enum { N = 6, K = 7 };
    float logits[N * K];
    int64_t labels[N] = {0, 3, 2, 2, 5, 1}, indices[N] = {0, 1, 2, 3, 4, 5};
    for (int i = 0; i < N; i++)
        for (int k = 0; k < K; k++)
            logits[i * K + k] = k == (i * 3) % K ? 10.0f : (float)((k * 5 + i) % K);
    struct eval_result e = {.n = N, .classes = K, .logits = logits, .labels = labels, .indices = indices};
    struct classify_metrics m;
    ck_assert_int_eq(classify_metrics_compute(&e, &m), LAB_OK);
    int64_t top1 = 0, top5 = 0, conf_total = 0;
    for (int i = 0; i < N; i++) {
        int pred = (i * 3) % K, above = 0;
        for (int k = 0; k < K; k++)
            above += logits[i * K + k] > logits[i * K + labels[i]];
        top1 += pred == labels[i];
        top5 += above < 5;
        ck_assert_int_ge(m.confusion[labels[i] * K + pred], 1);
    }
    for (int c = 0; c < K * K; c++)
        conf_total += m.confusion[c];
    ck_assert_int_eq(conf_total, N);
    ck_assert_double_eq_tol(m.top1, (double)top1 / N, 1e-12);
    ck_assert_double_eq_tol(m.top5, (double)top5 / N, 1e-12);
    ck_assert(m.top5 >= m.top1);
    /* class 2 has two images: 0, 1 or 2 of them right */
    double c2 = (double)((((2 * 3) % K) == 2) + (((3 * 3) % K) == 2)) / 2;
    ck_assert_double_eq_tol(m.per_class[2], c2, 1e-12);
    classify_metrics_free(&m);

    char *tmp = tu_tempdir(), path[4200];
    snprintf(path, sizeof path, "%s/p.safetensors", tmp);
    ck_assert_int_eq(classify_save_predictions(path, &e), LAB_OK);
    st_file *f;
    ck_assert_int_eq(st_open(path, &f), LAB_OK);
    ck_assert_str_eq(st_metadata_get(f, "format"), task_format_find("classify")->format);
    const struct task_format *t = task_format_find("classify");
    for (size_t i = 0; i < t->n; i++)
        ck_assert_msg(st_find(f, t->tensors[i].name), "no %s", t->tensors[i].name);
    st_close(f);
    tu_rmtree(tmp);
    free(tmp);
}
END_TEST

Suite *suite_tasks(void)
{
    Suite *s = suite_create("tasks");
    TCase *tc = tcase_create("formats");
    tcase_add_test(tc, test_formats_documented);
    tcase_add_test(tc, test_classify_metrics_and_format);
    suite_add_tcase(s, tc);
    return s;
}
