#include "labs/2.2.6-segment-anything/full_bench.h"

#include "base/error.h"
#include "base/progress.h"
#include "labs/models/nn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static const char *const OPS[3] = {"encode_time", "point_inference", "box_inference"};

static void stats(const double *v, int n, double *mean, double *sd)
{
    double s = 0, q = 0;
    for (int i = 0; i < n; i++)
        s += v[i];
    *mean = n ? s / n : 0;
    for (int i = 0; i < n; i++)
        q += (v[i] - *mean) * (v[i] - *mean);
    *sd = n ? sqrt(q / n) : 0;
}

/* One prediction, read back to the host so that a GPU has finished it. */
static int predict_once(struct sam_predictor *p, const struct sam_query *q, uint8_t *host, size_t hw)
{
    size_t cap = (q->multimask ? 3 : 1) * hw;
    ts_scope_begin();
    ts_tensor *m, *iou, *low;
    int rc = sam_predictor_predict(p, q, &m, &iou, &low);
    if (!rc && ts_to_host(m, TS_U8, host, cap) != TS_OK)
        rc = nn_fail(TS_ETORCH, "reading the masks");
    ts_scope_end();
    return rc;
}

int sam_full_bench(struct lab_run *r, struct sam_predictor *p, const struct ds_image *im, const char *model,
                   int runs, int warmup, struct sam_bench_result *out)
{
    memset(out, 0, sizeof *out);
    out->runs = runs, out->warmup = warmup;
    int w = im->w, h = im->h;
    double pt[2] = {w / 2, h / 2}, box[4] = {w / 4, h / 4, 3 * w / 4, 3 * h / 4};
    int lab1 = 1;
    struct sam_query qp = {.n_points = 1, .points = pt, .labels = &lab1, .multimask = 1};
    struct sam_query qb = {.box = box, .multimask = 0};
    size_t hw = (size_t)w * h;
    uint8_t *host = malloc(3 * hw);
    double *t = malloc(sizeof *t * (size_t)(runs > 0 ? runs : 1));
    int rc = host && t ? LAB_OK : lab_err(LAB_EINTERNAL, NULL, "out of memory for the benchmark");
    lab_say(r, "benchmark: %d run(s) of each operation after %d untimed warm-up run(s), %s", runs, warmup,
            r->dev.device_name);
    for (int op = 0; op < 3 && !rc; op++) {
        for (int i = -warmup; i < runs && !rc && !lab_interrupted; i++) {
            double t0 = lab_monotonic_s();
            if (op == 0) {
                p->image_hash[0] = '\0'; /* as the notebook's set_image: encode again */
                rc = sam_predictor_set_image(p, im);
            } else {
                rc = predict_once(p, op == 1 ? &qp : &qb, host, hw);
            }
            if (i >= 0)
                t[i] = (lab_monotonic_s() - t0) * 1000.0;
        }
        if (lab_interrupted)
            rc = lab_err(LAB_EINTERRUPTED, NULL, "interrupted during the benchmark");
        if (!rc)
            stats(t, runs, &out->mean_ms[op], &out->std_ms[op]);
    }
    struct rusage ru;
    if (!rc && getrusage(RUSAGE_SELF, &ru) == 0)
        out->peak_rss_mb = (double)ru.ru_maxrss / 1024.0;
    if (!rc) {
        char where[160];
        snprintf(where, sizeof where, "%s", r->dev.gpu_name[0] ? r->dev.gpu_name : "CPU");
        sam_bench_table(r->say, out, im, model, where);
        if (r->log)
            sam_bench_table(r->log, out, im, model, where);
        lab_say(r, "peak resident memory with SAM %s: %.0f MB", model, out->peak_rss_mb);
    }
    free(host);
    free(t);
    return rc;
}

static void rule(FILE *f, char c, int n)
{
    for (int i = 0; i < n; i++)
        fputc(c, f);
    fputc('\n', f);
}

void sam_bench_table(FILE *f, const struct sam_bench_result *b, const struct ds_image *im, const char *model,
                     const char *where)
{
    if (!f)
        return;
    fputc('\n', f);
    rule(f, '=', 60);
    fprintf(f, "\xF0\x9F\x93\x8A SAM BENCHMARK RESULTS ON %s\n", where);
    rule(f, '=', 60);
    fprintf(f, "Image size: (%d, %d, 3)\n", im->h, im->w);
    fprintf(f, "Model: SAM %s\n", model);
    rule(f, '-', 60);
    fprintf(f, "%-25s%15s%15s\n", "Operation", "Mean (ms)", "Std (ms)");
    rule(f, '-', 60);
    for (int k = 0; k < 3; k++)
        fprintf(f, "%-25s %14.1f %14.1f\n", OPS[k], b->mean_ms[k], b->std_ms[k]);
    rule(f, '=', 60);
    fprintf(f, "\n\xF0\x9F\x92\xA1 Key insight: After encoding (%.0fms),\n", b->mean_ms[0]);
    fprintf(f, "   predictions are fast (%.0fms)!\n", b->mean_ms[1]);
    fprintf(f, "   This enables interactive applications.\n");
    fflush(f);
}
