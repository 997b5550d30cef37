/* lab val 2.2.3's parts: the evaluator keeps every box of an image (more
 * than a training sample holds), records each image's own size and maps
 * the boxes back inside it; the per-class table has Ultralytics' rows; a
 * YOLO dataset opens from data.yaml or its folder, its digest follows its
 * labels; mosaics export as the dataset the lab evaluates; data.dataset
 * tells a path from a registered name. */
#include "base/error.h"
#include "base/fsutil.h"
#include "datasets/loaders.h"
#include "datasets/mosaic.h"
#include "datasets/mosaic_export.h"
#include "datasets/registry.h"
#include "datasets/yolo_read.h"
#include "labs/2.2.3-yolo-detection/dataset.h"
#include "labs/2.2.3-yolo-detection/evaluate.h"
#include "labs/2.2.3-yolo-detection/trainer.h"
#include "labs/2.2.3-yolo-detection/val.h"
#include "labs/models/yolov8.h"
#include "tests/unit/testutil.h"

#include <check.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void write_png(const char *path, int w, int h, int c, unsigned seed)
{
    unsigned char *px = malloc((size_t)w * h * c);
    for (size_t i = 0; i < (size_t)w * h * c; i++)
        px[i] = (unsigned char)((i * 2654435761u + seed) >> 13);
    png_image p;
    memset(&p, 0, sizeof p);
    p.version = PNG_IMAGE_VERSION;
    p.width = (png_uint_32)w, p.height = (png_uint_32)h;
    p.format = c == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
    ck_assert(png_image_write_to_file(&p, path, 0, px, 0, NULL));
    free(px);
}

static void put(const char *dir, const char *rel, const char *text)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    ck_assert_int_eq(lab_write_atomic(path, text, strlen(text)), LAB_OK);
}

/* dir: data.yaml (3 classes), images/val/{a 64x40 RGB, b 50x70 gray}, a
 * with 20 boxes, b with one. */
static void make_dataset(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/images/val", dir);
    ck_assert_int_eq(lab_mkdir_p(path), LAB_OK);
    snprintf(path, sizeof path, "%s/labels/val", dir);
    ck_assert_int_eq(lab_mkdir_p(path), LAB_OK);
    snprintf(path, sizeof path, "%s/images/val/a.png", dir);
    write_png(path, 64, 40, 3, 1);
    snprintf(path, sizeof path, "%s/images/val/b.png", dir);
    write_png(path, 50, 70, 1, 2);
    char many[2048] = "";
    for (int i = 0; i < 20; i++) {
        size_t n = strlen(many);
        snprintf(many + n, sizeof many - n, "%d 0.5 0.5 %.3f 0.5\n", i % 3, 0.1 + 0.04 * i);
    }
    put(dir, "labels/val/a.txt", many);
    put(dir, "labels/val/b.txt", "2 0.5 0.25 0.4 0.2\n");
    put(dir, "data.yaml", "path: .\ntrain: images/val\nval: images/val\nnames: [cat, dog, bird]\n");
}

START_TEST(test_evaluate_keeps_sizes_and_every_box)
{
    char *dir = tu_tempdir();
    make_dataset(dir);
    struct ds_dataset *d;
    struct yolo_data yd;
    ck_assert_int_eq(ds_yolo_open(dir, "val", &d, &yd), LAB_OK);
    struct ds_sample s;
    ck_assert_int_eq(ds_dataset_get(d, 0, &s), LAB_EUSAGE); /* 20 boxes: more than a training sample holds */
    struct model *m;
    ck_assert_int_eq(yolov8_create_scaled(0.33, 0.25, 3, &m), LAB_OK);
    struct yolo_nms_opts nms = {.conf = 0, .iou = 1, .max_det = 50}; /* IoU 1: NMS keeps max_det */
    struct detect_predictions p = {0};
    struct yolo_truth t;
    ck_assert_msg(yolo_evaluate(m, TS_CPU, d, 64, 2, &nms, &p, &t, NULL) == LAB_OK, "%s", lab_err_message());
    ck_assert_int_eq(p.n, 2);
    ck_assert_int_eq(p.image_sizes[0], 40);
    ck_assert_int_eq(p.image_sizes[1], 64);
    ck_assert_int_eq(p.image_sizes[2], 70);
    ck_assert_int_eq(p.image_sizes[3], 50);
    ck_assert_uint_eq(t.g, 21);
    ck_assert_int_eq(t.image[20], 1);
    ck_assert_int_eq(t.classes[20], 2);
    /* b's box: cx 25 cy 17.5 w 20 h 14 in its 50x70 pixels */
    ck_assert(fabsf(t.boxes[80] - 15) < 1e-4f && fabsf(t.boxes[81] - 10.5f) < 1e-4f);
    ck_assert(fabsf(t.boxes[82] - 35) < 1e-4f && fabsf(t.boxes[83] - 24.5f) < 1e-4f);
    ck_assert_int_eq(p.m, 100);
    int per[2] = {0, 0};
    for (int64_t i = 0; i < p.m; i++) {
        int64_t im = p.image_index[i];
        float w = (float)p.image_sizes[2 * im + 1], h = (float)p.image_sizes[2 * im];
        const float *b = p.boxes + 4 * i;
        ck_assert_msg(b[0] >= 0 && b[1] >= 0 && b[2] <= w && b[3] <= h && b[0] <= b[2] && b[1] <= b[3],
                      "box %lld (%g %g %g %g) outside its %gx%g image", (long long)i, b[0], b[1], b[2], b[3], w, h);
        per[im]++;
    }
    ck_assert(per[0] == 50 && per[1] == 50);
    detect_predictions_free(&p);
    yolo_truth_free(&t);
    model_free(m);
    ds_dataset_free(d);
    yolo_data_free(&yd);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* A training batch: b (50x70 gray) letterboxed into 64x64 is scaled by
 * 64/70 to 46x64 and padded 9 left, 9 right; its box moves with it. */
START_TEST(test_train_batch_letterboxes_boxes)
{
    char *dir = tu_tempdir();
    make_dataset(dir);
    struct ds_dataset *d;
    struct yolo_data yd;
    ck_assert_int_eq(ds_yolo_open(dir, "val", &d, &yd), LAB_OK);
    float *x = malloc(sizeof *x * 3 * 64 * 64), boxes[DS_MAX_OBJECTS * 4];
    int64_t labels[DS_MAX_OBJECTS];
    uint8_t mask[DS_MAX_OBJECTS];
    size_t order[1] = {1};
    ck_assert_msg(yolo_load_batch(d, 64, order, 1, x, labels, boxes, mask) == LAB_OK, "%s", lab_err_message());
    ck_assert(mask[0] == 1 && mask[1] == 0 && labels[0] == 2);
    double r = 46.0 / 50, ry = 64.0 / 70; /* new size round(50 * 64/70) = 46 x 64 */
    ck_assert_msg(fabs(boxes[0] - (15 * r + 9)) < 1e-4 && fabs(boxes[2] - (35 * r + 9)) < 1e-4, "x %g %g", boxes[0],
                  boxes[2]);
    ck_assert_msg(fabs(boxes[1] - 10.5 * ry) < 1e-4 && fabs(boxes[3] - 24.5 * ry) < 1e-4, "y %g %g", boxes[1],
                  boxes[3]);
    ck_assert(fabsf(x[0] - 114.0f / 255) < 1e-6f && fabsf(x[2 * 4096 + 63] - 114.0f / 255) < 1e-6f); /* the pad */
    ck_assert(x[32 * 64 + 20] == x[4096 + 32 * 64 + 20]);  /* gray: the channels repeat */
    free(x);
    ds_dataset_free(d);
    yolo_data_free(&yd);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_val_table_rows)
{
    json_t *mm = json_pack("{s:{s:f, s:f, s:f, s:f, s:[f,n,f], s:[f,n,f], s:[f,n,f], s:[f,n,f]}, s:{s:[f,n,f], "
                           "s:[f,n,f]}}",
                           "ultralytics", "precision", 0.5, "recall", 0.25, "mAP50", 0.4, "mAP50-95", 0.2,
                           "per_class_precision", 0.1, 0.3, "per_class_recall", 0.2, 0.4, "per_class_AP50", 0.7, 0.9,
                           "per_class_AP50-95", 0.35, 0.45, "coco", "per_class_AP50", 0.6, 0.8, "per_class_AP", 0.3,
                           0.4);
    const char *names[3] = {"cat", "dog", "bird"};
    int64_t images[3] = {2, 0, 1}, inst[3] = {5, 0, 1};
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    json_t *rows = yolo_val_table(mm, names, 3, images, inst, 4, f);
    fclose(f);
    ck_assert_uint_eq(json_array_size(rows), 2); /* dog has no ground truth: no row, as Ultralytics */
    const json_t *bird = json_array_get(rows, 1);
    ck_assert_str_eq(json_string_value(json_object_get(bird, "name")), "bird");
    ck_assert_int_eq(json_integer_value(json_object_get(bird, "instances")), 1);
    ck_assert(json_number_value(json_object_get(bird, "mAP50")) == 0.9);
    ck_assert(json_number_value(json_object_get(bird, "coco_AP")) == 0.4);
    /* the header, `all` (4 images, 6 instances) first, then the classes */
    ck_assert_ptr_nonnull(strstr(buf, "                 Class     Images  Instances      Box(P          R      mAP50  mAP50-95)\n"
                                      "                   all          4          6        0.5       0.25        0.4        0.2\n"
                                      "                   cat          2          5        0.1        0.2        0.7       0.35\n"));
    ck_assert_ptr_null(strstr(buf, "dog"));
    free(buf);
    json_decref(rows);
    json_decref(mm);
}
END_TEST

START_TEST(test_open_digest_and_paths)
{
    char *dir = tu_tempdir(), yaml[4200];
    make_dataset(dir);
    snprintf(yaml, sizeof yaml, "%s/data.yaml", dir);
    struct ds_dataset *a, *b;
    struct yolo_data ya, yb;
    ck_assert_int_eq(ds_yolo_open(dir, "val", &a, &ya), LAB_OK);
    ck_assert_int_eq(ds_yolo_open(yaml, "val", &b, &yb), LAB_OK); /* the file itself: same images */
    ck_assert_str_eq(ds_yolo_image_path(a, 1) + strlen(dir), ds_yolo_image_path(b, 1) + strlen(dir));
    ck_assert_ptr_null(ds_yolo_image_path(a, 2));
    char h1[65], h2[65], h3[65];
    ck_assert_int_eq(ds_yolo_digest(a, h1, sizeof h1), LAB_OK);
    ck_assert_int_eq(ds_yolo_digest(b, h2, sizeof h2), LAB_OK);
    ck_assert_str_eq(h1, h2);
    put(dir, "labels/val/b.txt", "1 0.5 0.25 0.4 0.2\n");
    ck_assert_int_eq(ds_yolo_digest(a, h3, sizeof h3), LAB_OK);
    ck_assert_str_ne(h1, h3);
    struct ds_dataset *t;
    struct yolo_data yt;
    ck_assert_int_eq(ds_yolo_open(dir, "test", &t, &yt), LAB_EUSAGE);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "names no test split"));
    ck_assert_int_eq(ds_yolo_open(dir, "holdout", &t, &yt), LAB_EUSAGE);
    ds_dataset_free(a), ds_dataset_free(b);
    yolo_data_free(&ya), yolo_data_free(&yb);
    ck_assert(yolo_dataset_is_path("own/data.yaml") && yolo_dataset_is_path("data.yml") && yolo_dataset_is_path(dir));
    ck_assert(!yolo_dataset_is_path("fashion-mnist-mosaic") && !yolo_dataset_is_path("coco-samples") &&
              !yolo_dataset_is_path(""));
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_mosaics_export_as_the_set)
{
    if (!lab_path_exists("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz"))
        return; /* Debian's dataset-fashion-mnist is not installed */
    char *dir = tu_tempdir();
    ck_assert_int_eq(ds_mosaic_export_yolo("fashion-mnist-mosaic:test:size=64:n=5:seed=3", NULL, dir, "val"), LAB_OK);
    struct ds_dataset *items, *m, *y;
    struct yolo_data yd;
    struct ds_mosaic_config cfg = {.size = 64, .n = 5, .seed = 3};
    ck_assert_int_eq(ds_fashion_mnist_open(NULL, 0, &items), LAB_OK);
    ck_assert_int_eq(ds_mosaic_open(items, &cfg, &m), LAB_OK);
    ck_assert_int_eq(ds_yolo_open(dir, "val", &y, &yd), LAB_OK);
    ck_assert_uint_eq(y->n, 5);
    ck_assert_str_eq(yd.names[9], "Ankle boot");
    for (size_t i = 0; i < 5; i++) {
        struct ds_sample a, b;
        ck_assert_int_eq(ds_dataset_get(m, i, &a), LAB_OK);
        ck_assert_int_eq(ds_dataset_get(y, i, &b), LAB_OK);
        ck_assert_int_eq(a.nobj, b.nobj);
        ck_assert(memcmp(a.image.px, b.image.px, 64 * 64) == 0);
        ds_sample_free(&a), ds_sample_free(&b);
    }
    ds_dataset_free(y), ds_dataset_free(m), ds_dataset_free(items);
    yolo_data_free(&yd);
    ck_assert_int_eq(ds_mosaic_export_yolo("fashion-mnist-mosaic:test:size=64:n=5:seed=3", NULL, dir, "test"), LAB_EUSAGE);
    ck_assert_int_eq(ds_mosaic_export_yolo("cifar-10:test", NULL, dir, "val"), LAB_EUSAGE);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

Suite *suite_yolo_val(void)
{
    Suite *s = suite_create("yolo_val");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_evaluate_keeps_sizes_and_every_box);
    tcase_add_test(tc, test_train_batch_letterboxes_boxes);
    tcase_add_test(tc, test_val_table_rows);
    tcase_add_test(tc, test_open_digest_and_paths);
    tcase_add_test(tc, test_mosaics_export_as_the_set);
    suite_add_tcase(s, tc);
    return s;
}
