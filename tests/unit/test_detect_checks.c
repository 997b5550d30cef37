/* The detect task's grader checks, each on a submission that makes its
 * mistake and on one that does not; their troubleshooting ids exist, and
 * the course's 2.2.3 error messages reach their entries through
 * `lab explain`'s matcher. */
#include "base/error.h"
#include "grader/checks_detect.h"
#include "grader/kb.h"
#include "grader/rubric.h"
#include "tests/unit/testutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Two 48 x 64 images; three boxes in corners format. */
static float good[] = {4, 6, 30, 40, 33, 2, 60, 20, 10, 10, 20, 44};
static float scores[] = {0.9f, 0.6f, 0.3f};
static int64_t classes[] = {1, 2, 1}, image_index[] = {0, 0, 1}, indices[] = {0, 1}, sizes[] = {48, 64, 48, 64};

static struct detect_predictions with(float *boxes, float *sc)
{
    return (struct detect_predictions){.m = 3, .n = 2, .boxes = boxes, .scores = sc, .classes = classes,
                                       .image_index = image_index, .indices = indices, .image_sizes = sizes};
}

START_TEST(test_box_format)
{
    struct check_out o;
    struct detect_predictions p = with(good, scores);
    ck_assert_int_eq(det_check_box_format(&p, &o), CHECK_PASS);
    /* the same boxes as centre x, centre y, width, height */
    float c[12];
    for (int i = 0; i < 3; i++) {
        const float *b = good + i * 4;
        c[i * 4 + 0] = (b[0] + b[2]) / 2, c[i * 4 + 1] = (b[1] + b[3]) / 2;
        c[i * 4 + 2] = b[2] - b[0], c[i * 4 + 3] = b[3] - b[1];
    }
    p = with(c, scores);
    ck_assert_int_eq(det_check_box_format(&p, &o), CHECK_FAIL);
    ck_assert_str_eq(o.kb, KB_DET_FORMAT);
    ck_assert_ptr_nonnull(strstr(o.message, "[cx, cy, w, h]"));
    /* as top-left corner, width, height */
    float x[12];
    for (int i = 0; i < 3; i++) {
        const float *b = good + i * 4;
        x[i * 4 + 0] = b[0], x[i * 4 + 1] = b[1], x[i * 4 + 2] = b[2] - b[0], x[i * 4 + 3] = b[3] - b[1];
    }
    p = with(x, scores);
    ck_assert_int_eq(det_check_box_format(&p, &o), CHECK_FAIL);
    ck_assert_ptr_nonnull(strstr(o.message, "[x, y, w, h]"));
}
END_TEST

START_TEST(test_pixels_inside_scores)
{
    struct check_out o;
    struct detect_predictions p = with(good, scores);
    ck_assert_int_eq(det_check_pixels(&p, &o), CHECK_PASS);
    ck_assert_int_eq(det_check_inside(&p, &o), CHECK_PASS);
    ck_assert_int_eq(det_check_scores(&p, &o), CHECK_PASS);
    float n[12];
    for (int i = 0; i < 12; i++)
        n[i] = good[i] / (i % 2 ? 48.0f : 64.0f);
    p = with(n, scores);
    ck_assert_int_eq(det_check_pixels(&p, &o), CHECK_FAIL);
    ck_assert_str_eq(o.kb, KB_DET_NORMALIZED);
    /* boxes of the 640 x 640 letterboxed input on a 64 x 48 image */
    float l[12];
    for (int i = 0; i < 12; i++)
        l[i] = good[i] * 10 + (i % 2 ? 80 : 0);
    p = with(l, scores);
    ck_assert_int_eq(det_check_inside(&p, &o), CHECK_FAIL);
    ck_assert_str_eq(o.kb, KB_DET_OUTSIDE);
    float logits[] = {2.2f, 0.4f, -0.8f};
    p = with(good, logits);
    ck_assert_int_eq(det_check_scores(&p, &o), CHECK_FAIL);
    ck_assert_str_eq(o.kb, KB_DET_SCORES);
    ck_assert_ptr_nonnull(strstr(o.message, "2 of 3"));
}
END_TEST

START_TEST(test_duplicates_and_threshold)
{
    struct check_out o;
    struct detect_predictions p = with(good, scores);
    ck_assert_int_eq(det_check_duplicates(&p, 0.7, &o), CHECK_PASS);
    ck_assert_int_eq(det_check_conf(&p, 0.25, &o), CHECK_PASS);
    ck_assert_int_eq(det_check_conf(&p, 0.5, &o), CHECK_FAIL);
    ck_assert_str_eq(o.kb, KB_DET_CONF);
    /* box 1 shifted onto box 0, same class: a pair NMS keeps apart only
     * across classes */
    float d[12];
    memcpy(d, good, sizeof d);
    d[4] = 5, d[5] = 6, d[6] = 31, d[7] = 40;
    p = with(d, scores);
    ck_assert_int_eq(det_check_duplicates(&p, 0.7, &o), CHECK_PASS); /* classes 1 and 2 */
    int64_t same[] = {1, 1, 1};
    p.classes = same;
    ck_assert_int_eq(det_check_duplicates(&p, 0.7, &o), CHECK_FAIL);
    ck_assert_str_eq(o.kb, KB_DET_DUPLICATES);
    ck_assert_ptr_nonnull(strstr(o.message, "boxes 0 and 1 on image 0"));
}
END_TEST

START_TEST(test_map_recomputed)
{
    struct check_out o;
    struct detect_predictions p = with(good, scores);
    struct det_boxes truth = {3, good, NULL, classes, image_index}, pred = detect_predictions_boxes(&p);
    struct coco_result c;
    struct ultra_result u;
    ck_assert_int_eq(coco_evaluate(&truth, &pred, 2, 3, &c), LAB_OK);
    ck_assert_int_eq(ultra_evaluate(&truth, &pred, 2, 3, &u), LAB_OK);
    json_t *mm = json_object();
    detect_metrics_to_json(&c, &u, NULL, mm);
    ck_assert_int_eq(det_check_map(&p, &truth, 3, mm, &o), CHECK_PASS);
    /* a reported AP the predictions do not give */
    json_object_set_new(json_object_get(mm, "coco"), "AP", json_real(c.ap - 0.2));
    ck_assert_int_eq(det_check_map(&p, &truth, 3, mm, &o), CHECK_FAIL);
    ck_assert_str_eq(o.kb, KB_DET_METRICS);
    /* the grader's truth has a box the predictions miss: same claim, fails */
    json_object_set_new(json_object_get(mm, "coco"), "AP", json_real(c.ap));
    float more[16];
    memcpy(more, good, sizeof good);
    more[12] = 40, more[13] = 30, more[14] = 60, more[15] = 46;
    int64_t mc[] = {1, 2, 1, 0}, mi[] = {0, 0, 1, 1};
    struct det_boxes truth2 = {4, more, NULL, mc, mi};
    ck_assert_int_eq(det_check_map(&p, &truth2, 3, mm, &o), CHECK_FAIL);
    ck_assert_ptr_nonnull(strstr(o.message, "recomputed mAP"));
    /* thousands of boxes on one image are refused before evaluating */
    enum { MANY = 3001 };
    float *mb = malloc(MANY * 4 * sizeof *mb), *ms = malloc(MANY * sizeof *ms);
    int64_t *mcl = calloc(MANY, sizeof *mcl), *mim = calloc(MANY, sizeof *mim);
    for (int i = 0; i < MANY; i++)
        mb[i * 4] = 1, mb[i * 4 + 1] = 1, mb[i * 4 + 2] = 9, mb[i * 4 + 3] = 9, ms[i] = 0.5f;
    struct detect_predictions big = {.m = MANY, .n = 2, .boxes = mb, .scores = ms, .classes = mcl, .image_index = mim,
                                     .indices = indices, .image_sizes = sizes};
    ck_assert_int_eq(det_check_map(&big, &truth, 3, mm, &o), CHECK_FAIL);
    ck_assert_ptr_nonnull(strstr(o.message, "3001 detections"));
    free(mb);
    free(ms);
    free(mcl);
    free(mim);
    json_decref(mm);
    coco_result_free(&c);
    ultra_result_free(&u);
}
END_TEST

START_TEST(test_kb_entries)
{
    ck_assert_int_eq(kb_load(), LAB_OK);
    const char *ids[] = {KB_DET_FORMAT, KB_DET_NORMALIZED, KB_DET_OUTSIDE, KB_DET_SCORES, KB_DET_DUPLICATES,
                         KB_DET_CONF, KB_DET_METRICS};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        ck_assert_msg(kb_find(ids[i]), "no docs/troubleshooting/%s.md", ids[i]);
    /* the course's 2.2.3 errors, as the notebook and ultralytics print them */
    struct {
        const char *text, *id;
    } cases[] = {
        {"ModuleNotFoundError: No module named 'lap'", "TS-MISSING-PKG"},
        {"image 1/1 /workspace/bus.jpg: 640x480 (no detections), 48.2ms", "TS-YOLO-NO-DETECTIONS"},
        {"boxes.format: 3 of 3 boxes are not [x1, y1, x2, y2] (box 0 ...)", KB_DET_FORMAT},
        {"every coordinate of the 3 boxes is within [0, 1]: these are normalized boxes", KB_DET_NORMALIZED},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got[5];
        size_t n = kb_match_ids(cases[i].text, got, 5);
        ck_assert_msg(n > 0 && strcmp(got[0], cases[i].id) == 0, "'%s' explains as %s, not %s", cases[i].text,
                      n ? got[0] : "nothing", cases[i].id);
    }
}
END_TEST


/* The rubric table on a decoded file: a good submission passes each check
 * (the threshold from config.json), a file in another format fails
 * shape.detections and the box checks skip, naming it. */
static enum check_status run_check(struct grade_ctx *g, const char *id, struct check_out *o)
{
    for (const struct rubric_check *c = checks_detect; c->id; c++)
        if (strcmp(c->id, id) == 0) {
            memset(o, 0, sizeof *o);
            return c->fn(g, o);
        }
    ck_abort_msg("no check %s", id);
    return CHECK_ERROR;
}

START_TEST(test_rubric_table)
{
    ck_assert_int_eq(kb_load(), LAB_OK);
    /* each check's pages and their reverse index: test_kb, over every task's table */
    char *dir = tu_tempdir(), path[4200];
    snprintf(path, sizeof path, "%s/p.safetensors", dir);
    struct detect_predictions p = with(good, scores);
    ck_assert_int_eq(detect_save_predictions(path, &p), LAB_OK);
    st_file *f;
    ck_assert_int_eq(st_open(path, &f), LAB_OK);
    struct submission sub;
    memset(&sub, 0, sizeof sub);
    sub.config = json_pack("{s:{s:f, s:f}}", "detect", "conf", 0.5, "nms_iou", 0.7);
    struct sub_model sm = {.name = "yolov8n", .predictions = f};
    struct grade_ctx g;
    memset(&g, 0, sizeof g);
    g.sub = &sub;
    ck_assert_int_eq(detect_model_begin(&g, &sm), LAB_OK);
    struct check_out o;
    const char *pass[] = {"shape.detections", "boxes.format", "boxes.pixels", "boxes.inside", "scores.range",
                          "boxes.duplicates"};
    for (size_t i = 0; i < sizeof pass / sizeof pass[0]; i++)
        ck_assert_msg(run_check(&g, pass[i], &o) == CHECK_PASS, "%s: %s", pass[i], o.message);
    /* conf 0.5 in config.json, a detection at 0.3 */
    ck_assert_int_eq(run_check(&g, "scores.threshold", &o), CHECK_FAIL);
    ck_assert_str_eq(o.kb, KB_DET_CONF);
    g.m.task_free(g.m.task);
    st_close(f);
    /* a classify file where detections are expected */
    st_writer *w;
    ck_assert_int_eq(st_writer_new(&w), LAB_OK);
    st_writer_set_metadata(w, "format", "lab-predictions-v1");
    int64_t shape[2] = {3, 4};
    ck_assert_int_eq(st_writer_add(w, "logits", ST_F32, 2, shape, good, sizeof good), LAB_OK);
    ck_assert_int_eq(st_writer_write(w, path), LAB_OK);
    st_writer_free(w);
    ck_assert_int_eq(st_open(path, &f), LAB_OK);
    sm.predictions = f;
    memset(&g.m, 0, sizeof g.m);
    ck_assert_int_eq(detect_model_begin(&g, &sm), LAB_OK);
    ck_assert_int_eq(run_check(&g, "shape.detections", &o), CHECK_FAIL);
    ck_assert_str_eq(o.kb, "TS-DETECT-PREDICTIONS-FORMAT");
    ck_assert_ptr_nonnull(strstr(o.message, "lab-predictions-v1"));
    ck_assert_int_eq(run_check(&g, "boxes.format", &o), CHECK_SKIPPED);
    g.m.task_free(g.m.task);
    st_close(f);
    json_decref(sub.config);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

Suite *suite_detect_checks(void)
{
    Suite *s = suite_create("detect_checks");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_box_format);
    tcase_add_test(tc, test_pixels_inside_scores);
    tcase_add_test(tc, test_duplicates_and_threshold);
    tcase_add_test(tc, test_map_recomputed);
    tcase_add_test(tc, test_kb_entries);
    tcase_add_test(tc, test_rubric_table);
    suite_add_tcase(s, tc);
    return s;
}
