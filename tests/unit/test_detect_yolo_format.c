/* YOLO-format label files and data.yaml: what a labelling tool writes
 * reads back as pixel boxes, the usual mistakes are refused with the line
 * and the fix, and boxes written out read back the same. */
#include "base/error.h"
#include "datasets/yolo_format.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_labels)
{
    const char *txt = "0 0.5 0.5 0.25 0.5\r\n\n# a comment\n3 0.125 0.25 0.25 0.5\n";
    struct yolo_box *b;
    size_t n;
    ck_assert_int_eq(yolo_labels_parse(txt, strlen(txt), 10, 64, 32, "a.txt", &b, &n), LAB_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(b[0].cls, 0);
    ck_assert_float_eq(b[0].x1, 24);
    ck_assert_float_eq(b[0].y1, 8);
    ck_assert_float_eq(b[0].x2, 40);
    ck_assert_float_eq(b[0].y2, 24);
    ck_assert_float_eq(b[1].x1, 0);
    ck_assert_float_eq(b[1].y2, 16);
    char *s;
    size_t len;
    ck_assert_int_eq(yolo_labels_format(b, n, 64, 32, &s, &len), LAB_OK);
    struct yolo_box *c;
    size_t m;
    ck_assert_int_eq(yolo_labels_parse(s, len, 10, 64, 32, "b.txt", &c, &m), LAB_OK);
    ck_assert_uint_eq(m, 2);
    ck_assert_mem_eq(b, c, sizeof *b * 2);
    free(s);
    free(b);
    free(c);
    struct {
        const char *text, *says;
    } bad[] = {
        {"0 32 16 8 8\n", "outside [0, 1]"},                /* pixels */
        {"10 0.5 0.5 0.1 0.1\n", "0..nc-1"},                /* class past nc */
        {"1.5 0.5 0.5 0.1 0.1\n", "0..nc-1"},
        {"0 0.5 0.5 0.1\n", "5 fields"},
        {"0 0.1 0.1 0.6 0.6\n", "reaches outside"},         /* x1 y1 x2 y2 */
        {"0 0.5 0.5 0 0.1\n", "zero or negative"},
        {"0 0.5 nan 0.1 0.1\n", "not a number"},
        {"0 0.5 0.5 0.1 0.1x\n", "not a number"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(yolo_labels_parse(bad[i].text, strlen(bad[i].text), 10, 64, 32, "l.txt", &b, &n), LAB_EUSAGE);
        ck_assert_msg(strstr(lab_err_message(), bad[i].says), "'%s': %s", bad[i].text, lab_err_message());
        ck_assert_ptr_null(b);
    }
}
END_TEST

START_TEST(test_data_yaml)
{
    const char *forms[] = {
        "path: ../datasets/mosaics  # root\ntrain: images/train\nval: images/val\nnc: 3\nnames: ['T-shirt', Trouser, \"Pullover\"]\n",
        "train: images/train\nval: images/val\nnames:\n  0: T-shirt\n  1: Trouser\n  2: Pullover\n",
        "train: images/train\nval: images/val\nnames:\n  - T-shirt\n  - Trouser\n  - Pullover\ndownload: https://x\n",
    };
    for (size_t i = 0; i < 3; i++) {
        struct yolo_data d;
        ck_assert_msg(yolo_data_parse(forms[i], strlen(forms[i]), "data.yaml", &d) == LAB_OK, "form %zu: %s", i,
                      lab_err_message());
        ck_assert_int_eq(d.nc, 3);
        ck_assert_str_eq(d.names[0], "T-shirt");
        ck_assert_str_eq(d.names[2], "Pullover");
        ck_assert_str_eq(d.val, "images/val");
        yolo_data_free(&d);
    }
    struct {
        const char *text, *says;
    } bad[] = {
        {"train: a\nval: b\nnc: 4\nnames: [a, b, c]\n", "nc is 4 but 3"},
        {"train: a\nnames:\n  0: x\n  2: y\n", "class 1 has no name"},
        {"train: a\nnames:\n  0: x\n  0: y\n", "named twice"},
        {"names: [a]\n", "neither train nor val"},
        {"train: a\nval: b\n", "no class names"},
        {"train: a\nnc: -1\nnames: [a]\n", "nc: -1"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct yolo_data d;
        ck_assert_int_eq(yolo_data_parse(bad[i].text, strlen(bad[i].text), "data.yaml", &d), LAB_EUSAGE);
        ck_assert_msg(strstr(lab_err_message(), bad[i].says), "'%s': %s", bad[i].text, lab_err_message());
    }
}
END_TEST

Suite *suite_detect_yolo_format(void)
{
    Suite *s = suite_create("detect_yolo_format");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_labels);
    tcase_add_test(tc, test_data_yaml);
    suite_add_tcase(s, tc);
    return s;
}
