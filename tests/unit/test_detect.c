/* The detect task's predictions file: what the lab writes reads back equal,
 * and the reader refuses files that break the format (they come from
 * students) with the tensor named; metrics.json carries both COCO's and
 * Ultralytics' figures under their own names. */
#include "base/error.h"
#include "labs/tasks/detect.h"
#include "shim/safetensors.h"
#include "tests/unit/testutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static float boxes[] = {1, 2, 30, 40, 5, 5, 9, 9, 0, 0, 63, 47};
static float scores[] = {0.9f, 0.3f, 0.7f};
static int64_t classes[] = {2, 0, 1}, image_index[] = {0, 0, 1}, indices[] = {10, 11}, sizes[] = {48, 64, 48, 64};

static struct detect_predictions sample(void)
{
    struct detect_predictions p = {.m = 3, .n = 2, .boxes = boxes, .scores = scores, .classes = classes,
                                   .image_index = image_index, .indices = indices, .image_sizes = sizes};
    snprintf(p.eval_set, sizeof p.eval_set, "fashion-mosaics val seed 7");
    return p;
}

START_TEST(test_round_trip)
{
    char *dir = tu_tempdir(), path[4200];
    snprintf(path, sizeof path, "%s/predictions.safetensors", dir);
    struct detect_predictions p = sample(), q;
    ck_assert_int_eq(detect_save_predictions(path, &p), LAB_OK);
    st_file *f;
    ck_assert_int_eq(st_open(path, &f), LAB_OK);
    ck_assert_int_eq(detect_read_predictions(f, &q), LAB_OK);
    ck_assert_int_eq(q.m, 3);
    ck_assert_int_eq(q.n, 2);
    ck_assert_mem_eq(q.boxes, boxes, sizeof boxes);
    ck_assert_mem_eq(q.scores, scores, sizeof scores);
    ck_assert_mem_eq(q.classes, classes, sizeof classes);
    ck_assert_mem_eq(q.image_index, image_index, sizeof image_index);
    ck_assert_mem_eq(q.indices, indices, sizeof indices);
    ck_assert_mem_eq(q.image_sizes, sizes, sizeof sizes);
    ck_assert_str_eq(q.eval_set, "fashion-mosaics val seed 7");
    detect_predictions_free(&q);
    st_close(f);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* A file with one tensor changed, made with the safetensors writer. */
static int read_variant(const char *drop, const char *replace, enum st_dtype dtype, const void *data, int64_t len)
{
    st_writer *w;
    ck_assert_int_eq(st_writer_new(&w), LAB_OK);
    st_writer_set_metadata(w, "format", DETECT_PREDICTIONS_FORMAT);
    struct {
        const char *name;
        enum st_dtype dt;
        int ndim;
        int64_t shape[2];
        const void *data;
    } t[] = {{"boxes", ST_F32, 2, {3, 4}, boxes},        {"scores", ST_F32, 1, {3}, scores},
             {"classes", ST_I64, 1, {3}, classes},       {"image_index", ST_I64, 1, {3}, image_index},
             {"indices", ST_I64, 1, {2}, indices},       {"image_sizes", ST_I64, 2, {2, 2}, sizes}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        if (drop && strcmp(drop, t[i].name) == 0)
            continue;
        if (replace && strcmp(replace, t[i].name) == 0) {
            int64_t shape[1] = {len};
            ck_assert_int_eq(st_writer_add(w, t[i].name, dtype, 1, shape, data,
                                           (size_t)len * st_dtype_size(dtype)), LAB_OK);
            continue;
        }
        size_t bytes = (size_t)t[i].shape[0] * (size_t)(t[i].ndim == 2 ? t[i].shape[1] : 1) *
                       st_dtype_size(t[i].dt);
        ck_assert_int_eq(st_writer_add(w, t[i].name, t[i].dt, t[i].ndim, t[i].shape, t[i].data, bytes), LAB_OK);
    }
    void *buf;
    size_t n;
    ck_assert_int_eq(st_writer_to_memory(w, &buf, &n), LAB_OK);
    st_writer_free(w);
    st_file *f;
    ck_assert_int_eq(st_open_memory(buf, n, "variant", &f), LAB_OK);
    struct detect_predictions q;
    int rc = detect_read_predictions(f, &q);
    if (rc == LAB_OK)
        detect_predictions_free(&q);
    st_close(f);
    free(buf);
    return rc;
}

START_TEST(test_reader_refuses)
{
    ck_assert_int_eq(read_variant(NULL, NULL, ST_F32, NULL, 0), LAB_OK);
    ck_assert_int_eq(read_variant("image_sizes", NULL, ST_F32, NULL, 0), LAB_EUSAGE);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "no tensor 'image_sizes'"));
    /* float classes (as torch.argmax().float() gives) */
    float fc[3] = {2, 0, 1};
    ck_assert_int_eq(read_variant(NULL, "classes", ST_F32, fc, 3), LAB_EUSAGE);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "'classes' is F32"));
    /* scores of another length than the boxes */
    ck_assert_int_eq(read_variant(NULL, "scores", ST_F32, scores, 2), LAB_EUSAGE);
    /* a detection on an image the file does not have */
    int64_t far[3] = {0, 0, 2};
    ck_assert_int_eq(read_variant(NULL, "image_index", ST_I64, far, 3), LAB_EUSAGE);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "image_index[2] = 2"));
}
END_TEST

START_TEST(test_metrics_json)
{
    struct detect_predictions p = sample();
    /* ground truth: exactly the first and third detections */
    float gb[] = {1, 2, 30, 40, 0, 0, 63, 47};
    int64_t gc[] = {2, 1}, gi[] = {0, 1};
    struct det_boxes gt = {2, gb, NULL, gc, gi}, pred = detect_predictions_boxes(&p);
    struct coco_result c;
    struct ultra_result u;
    ck_assert_int_eq(coco_evaluate(&gt, &pred, p.n, 3, &c), LAB_OK);
    ck_assert_int_eq(ultra_evaluate(&gt, &pred, p.n, 3, &u), LAB_OK);
    json_t *mm = json_object();
    const char *names[] = {"T-shirt", "Trouser", "Pullover"};
    detect_metrics_to_json(&c, &u, names, mm);
    ck_assert_double_eq_tol(json_real_value(json_object_get(json_object_get(mm, "coco"), "AP")), 1.0, 1e-12);
    /* class 0 has no ground truth: null, not 0 */
    ck_assert(json_is_null(json_array_get(json_object_get(json_object_get(mm, "coco"), "per_class_AP"), 0)));
    json_t *ul = json_object_get(mm, "ultralytics");
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(ul, "source")), "Ultralytics"));
    /* a perfect class scores 0.995 in Ultralytics: numpy.interp gives the
     * sentinel's precision 0 at recall 1, so the last trapezoid is halved */
    ck_assert_double_eq_tol(json_real_value(json_object_get(ul, "mAP50")), 0.995, 1e-9);
    /* the class-0 detection (0.3) is background in the confusion matrix */
    json_t *cm = json_object_get(mm, "confusion");
    ck_assert_uint_eq(json_array_size(cm), 4);
    ck_assert_int_eq(json_integer_value(json_array_get(json_array_get(cm, 0), 3)), 1);
    ck_assert_int_eq(json_integer_value(json_array_get(json_array_get(cm, 2), 2)), 1);
    /* detect_evaluate writes the same figures */
    json_t *mm2 = json_object();
    ck_assert_int_eq(detect_evaluate(&p, &gt, 3, names, mm2), LAB_OK);
    ck_assert(json_equal(mm, mm2));
    json_decref(mm2);
    json_decref(mm);
    coco_result_free(&c);
    ultra_result_free(&u);
}
END_TEST

Suite *suite_detect(void)
{
    Suite *s = suite_create("detect");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_reader_refuses);
    tcase_add_test(tc, test_metrics_json);
    suite_add_tcase(s, tc);
    return s;
}
