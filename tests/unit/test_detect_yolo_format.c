/* YOLO-format label files and data.yaml: what a labelling tool writes
 * reads back as pixel boxes, the usual mistakes are refused with the line
 * and the fix, and boxes written out read back the same. */
#include "base/error.h"
#include "base/fsutil.h"
#include "datasets/loaders.h"
#include "datasets/mosaic.h"
#include "datasets/yolo_format.h"
#include "datasets/yolo_read.h"
#include "datasets/yolo_write.h"
#include "tests/unit/testutil.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
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
    /* boxes far below 6 decimals survive being written and read back (6 decimals wrote a zero width) */
    const char *tiny = "2 0.0000000001 0.5 0.0000000002 0.1\n1 0.999999 0.5 0.0000001 0.3\n";
    ck_assert_int_eq(yolo_labels_parse(tiny, strlen(tiny), 10, 640, 480, "t.txt", &b, &n), LAB_OK);
    ck_assert_int_eq(yolo_labels_format(b, n, 640, 480, &s, &len), LAB_OK);
    ck_assert_int_eq(yolo_labels_parse(s, len, 10, 640, 480, "t2.txt", &c, &m), LAB_OK);
    ck_assert_uint_eq(m, 2);
    for (size_t i = 0; i < 2; i++) {
        ck_assert_int_eq(b[i].cls, c[i].cls);
        ck_assert_float_eq_tol(b[i].x1, c[i].x1, 1e-6);
        ck_assert_float_eq_tol(b[i].x2, c[i].x2, 1e-6);
        ck_assert_float_eq_tol(b[i].y2 - b[i].y1, c[i].y2 - c[i].y1, 1e-6);
        ck_assert_float_gt(c[i].x2, c[i].x1);
    }
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
        {"0 0.5 0.5 0.000000000000000000002 0.1\n", "precision of a pixel"}, /* empty once in pixels */
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

/* Mosaics written as a YOLO dataset read back as the same images and boxes. */
START_TEST(test_mosaics_as_yolo_dataset)
{
    enum { ITEMS = 20, S = 28 };
    uint8_t *px = calloc(ITEMS * S * S, 1);
    int64_t *labels = malloc(ITEMS * sizeof *labels);
    for (int i = 0; i < ITEMS; i++) {
        labels[i] = i % 10;
        for (int y = 4 + i % 5; y < 24; y++)
            for (int x = 6; x < 22 - i % 4; x++)
                px[(i * S + y) * S + x] = (uint8_t)(60 + 9 * i);
    }
    struct ds_dataset *items, *m;
    ck_assert_int_eq(ds_memory_dataset("items", ITEMS, S, S, 1, px, labels, 10, &items), LAB_OK);
    struct ds_mosaic_config cfg = {.size = 64, .n = 6, .seed = 5};
    ck_assert_int_eq(ds_mosaic_open(items, &cfg, &m), LAB_OK);
    char *dir = tu_tempdir(), path[4300];
    const char *names[10] = {"T-shirt", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                             "Ankle boot"};
    ck_assert_int_eq(ds_yolo_write_split(m, dir, "val"), LAB_OK);
    ck_assert_int_eq(ds_yolo_write_yaml(dir, names, 10), LAB_OK);
    char *text;
    size_t len;
    snprintf(path, sizeof path, "%s/data.yaml", dir);
    ck_assert_int_eq(lab_read_file(path, 1 << 20, &text, &len), LAB_OK);
    struct yolo_data d;
    ck_assert_int_eq(yolo_data_parse(text, len, path, &d), LAB_OK);
    ck_assert_int_eq(d.nc, 10);
    ck_assert_str_eq(d.names[9], "Ankle boot");
    ck_assert_str_eq(d.val, "images/val");
    yolo_data_free(&d);
    free(text);
    int boxes = 0;
    for (size_t i = 0; i < m->n; i++) {
        struct ds_sample s;
        memset(&s, 0, sizeof s);
        ck_assert_int_eq(ds_dataset_get(m, i, &s), LAB_OK);
        struct ds_image im;
        snprintf(path, sizeof path, "%s/images/val/%06zu.png", dir, i);
        ck_assert_int_eq(ds_image_load(path, 0, &im), LAB_OK);
        ck_assert_int_eq(im.w, 64);
        ck_assert_int_eq(im.h, 64);
        ck_assert_int_eq(im.c, s.image.c);
        ck_assert(memcmp(im.px, s.image.px, 64 * 64 * (size_t)im.c) == 0);
        ds_image_free(&im);
        snprintf(path, sizeof path, "%s/labels/val/%06zu.txt", dir, i);
        ck_assert_int_eq(lab_read_file(path, 1 << 20, &text, &len), LAB_OK);
        struct yolo_box *b;
        size_t n;
        ck_assert_int_eq(yolo_labels_parse(text, len, 10, 64, 64, path, &b, &n), LAB_OK);
        ck_assert_int_eq((int)n, s.nobj);
        for (int k = 0; k < s.nobj; k++, boxes++) {
            ck_assert_int_eq(b[k].cls, s.box_labels[k]);
            ck_assert(fabsf(b[k].x1 - s.boxes[k][0]) < 1e-3f && fabsf(b[k].y2 - s.boxes[k][3]) < 1e-3f);
        }
        free(b);
        free(text);
        ds_sample_free(&s);
    }
    ck_assert_int_gt(boxes, 0);
    /* and as a dataset, the way data.dataset=PATH opens it */
    struct ds_dataset *y;
    struct yolo_data yd;
    ck_assert_int_eq(ds_yolo_open(dir, "val", &y, &yd), LAB_OK);
    ck_assert_uint_eq(y->n, m->n);
    ck_assert_int_eq(y->num_classes, 10);
    for (size_t i = 0; i < m->n; i++) {
        struct ds_sample a, b;
        memset(&a, 0, sizeof a);
        ck_assert_int_eq(ds_dataset_get(m, i, &a), LAB_OK);
        ck_assert_int_eq(ds_dataset_get(y, i, &b), LAB_OK);
        ck_assert_int_eq(b.nobj, a.nobj);
        ck_assert(memcmp(a.image.px, b.image.px, 64 * 64 * (size_t)a.image.c) == 0);
        for (int k = 0; k < a.nobj; k++) {
            ck_assert_int_eq(b.box_labels[k], a.box_labels[k]);
            for (int c = 0; c < 4; c++)
                ck_assert(fabsf(b.boxes[k][c] - a.boxes[k][c]) < 1e-3f);
        }
        ds_sample_free(&a);
        ds_sample_free(&b);
    }
    ds_dataset_free(y);
    yolo_data_free(&yd);
    /* a label file a student wrote in pixels is refused, naming the file and line */
    snprintf(path, sizeof path, "%s/labels/val/000002.txt", dir);
    ck_assert_int_eq(lab_write_atomic(path, "1 32 32 10 10\n", 14), LAB_OK);
    ck_assert_int_eq(ds_yolo_open(dir, "val", &y, &yd), LAB_OK);
    struct ds_sample bad;
    ck_assert_int_eq(ds_dataset_get(y, 2, &bad), LAB_EUSAGE);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "000002.txt:1"));
    ds_dataset_free(y);
    yolo_data_free(&yd);
    ds_dataset_free(m);
    ds_dataset_free(items);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

Suite *suite_detect_yolo_format(void)
{
    Suite *s = suite_create("detect_yolo_format");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_labels);
    tcase_add_test(tc, test_data_yaml);
    tcase_add_test(tc, test_mosaics_as_yolo_dataset);
    suite_add_tcase(s, tc);
    return s;
}
