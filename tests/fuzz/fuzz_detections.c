/* libFuzzer target for the detect task's predictions reader
 * (detect_read_predictions, on st_open_memory) and the evaluators the
 * grader runs on what it accepts: COCO's and Ultralytics' mAP of the
 * predictions against themselves as ground truth. Beyond "no crash": an
 * accepted file's image_index rows are all inside it, and a self-evaluation
 * is either refused with a message or gives figures within [0, 1].
 *
 *   make fuzz && FUZZ_SEEDS=corpus build-fuzz/fuzz_detections corpus -max_total_time=60
 * FUZZ_SEEDS=DIR writes valid and near-valid files into DIR first. */
#include "base/error.h"
#include "datasets/mosaic_set.h"
#include "labs/tasks/coco_eval.h"
#include "labs/tasks/detect.h"
#include "shim/safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void seed(const char *dir, int variant)
{
    float boxes[] = {1, 2, 30, 40, 5, 5, 9, 9, 0, 0, 63, 47}, scores[] = {0.9f, 0.3f, 0.7f};
    int64_t classes[] = {2, 0, 1}, image_index[] = {0, 0, (int64_t)variant}, indices[] = {0, 1};
    int64_t sizes[] = {48, 64, 48, 64};
    int64_t s34[2] = {3, 4}, s3[1] = {3}, s2[1] = {2}, s22[2] = {2, 2};
    st_writer *w;
    if (st_writer_new(&w))
        return;
    st_writer_set_metadata(w, "format", DETECT_PREDICTIONS_FORMAT);
    st_writer_set_metadata(w, "eval_set", "seed");
    st_writer_add(w, "boxes", ST_F32, 2, s34, boxes, sizeof boxes);
    st_writer_add(w, "scores", ST_F32, 1, s3, scores, sizeof scores);
    st_writer_add(w, "classes", ST_I64, 1, s3, classes, sizeof classes);
    st_writer_add(w, "image_index", ST_I64, 1, s3, image_index, sizeof image_index);
    st_writer_add(w, "indices", ST_I64, 1, s2, indices, sizeof indices);
    st_writer_add(w, "image_sizes", ST_I64, 2, s22, sizes, sizeof sizes);
    void *buf;
    size_t len;
    if (st_writer_to_memory(w, &buf, &len) == LAB_OK) {
        char path[4200];
        snprintf(path, sizeof path, "%s/seed-%d.safetensors", dir, variant);
        FILE *f = fopen(path, "wb");
        if (f) {
            fwrite(buf, 1, len, f);
            fclose(f);
        }
        free(buf);
    }
    st_writer_free(w);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *dir = getenv("FUZZ_SEEDS");
    if (!dir || !*dir)
        return 0;
    mkdir(dir, 0755);
    for (int v = 0; v < 3; v++) /* image_index 2 is out of range: refused */
        seed(dir, v);
    return 0;
}

static void in_unit(double v)
{
    if (!(v >= -1.0 && v <= 1.0)) /* -1: COCO's "no ground truth" */
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    st_file *f;
    if (st_open_memory(data, size, "fuzz", &f) != LAB_OK)
        return 0;
    struct detect_predictions p;
    if (detect_read_predictions(f, &p) == LAB_OK) {
        /* the grader parses eval_set to render its truth: what it accepts
         * must be within bounds and spelled canonically */
        int train;
        struct ds_mosaic_config mc;
        char again[160];
        if (ds_mosaic_set_parse(p.eval_set, &train, &mc) == LAB_OK &&
            (mc.size < 16 || mc.size > 1024 || mc.n < 1 || mc.n > 100000 ||
             ds_mosaic_set_name(train, &mc, again, sizeof again) != LAB_OK || strcmp(again, p.eval_set) != 0))
            abort();
        for (int64_t i = 0; i < p.m; i++)
            if (p.image_index[i] < 0 || p.image_index[i] >= p.n)
                abort();
        if (p.m <= 4096 && p.n <= 4096) {
            struct det_boxes b = detect_predictions_boxes(&p);
            struct det_boxes gt = b;
            gt.scores = NULL;
            struct coco_result c;
            struct ultra_result u;
            if (coco_evaluate(&gt, &b, p.n, 8, &c) == LAB_OK) {
                in_unit(c.ap);
                in_unit(c.ap50);
                coco_result_free(&c);
            }
            if (ultra_evaluate(&gt, &b, p.n, 8, &u) == LAB_OK) {
                in_unit(u.map);
                in_unit(u.precision);
                ultra_result_free(&u);
            }
        }
        detect_predictions_free(&p);
    }
    st_close(f);
    return 0;
}
