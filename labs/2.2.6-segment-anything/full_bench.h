/* The notebook's benchmark (lab [25]) on one image: `runs` encodes (each a
 * fresh set_image), then `runs` centre-point predictions (multimask) and
 * `runs` central-box predictions (single mask) on the one embedding, each
 * after `warmup` untimed runs (the notebook has none: the first libtorch
 * call pays for allocation and would skew a 10-run mean); then its
 * "SAM BENCHMARK RESULTS" table, printed as the notebook prints it. */
#ifndef LAB_SAM_FULL_BENCH_H
#define LAB_SAM_FULL_BENCH_H

#include "datasets/image.h"
#include "labs/2.2.6-segment-anything/predictor.h"
#include "labs/run.h"

struct sam_bench_result {
    int runs, warmup;
    double mean_ms[3], std_ms[3]; /* encode_time, point_inference, box_inference; std with ddof 0 */
    double peak_rss_mb;           /* the process's peak resident memory after the benchmark */
};

int sam_full_bench(struct lab_run *r, struct sam_predictor *p, const struct ds_image *im, const char *model,
                   int runs, int warmup, struct sam_bench_result *out);
/* The table's lines (for the log and for tests of its layout). */
void sam_bench_table(FILE *f, const struct sam_bench_result *b, const struct ds_image *im, const char *model,
                     const char *where);

#endif
