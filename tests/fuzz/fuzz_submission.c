/* libFuzzer target for the submission reader (grader/submission.c), which
 * reads untrusted student uploads: the input becomes the files of a
 * submission directory (or, with a leading 0xFF byte, an archive of one),
 * which is opened; what opens is then read the way the checks read it
 * (manifest, tensors copied with caps, input statistics). Beyond "no crash":
 * an accepted submission has its required files and capped tensors.
 *
 * Input: chunks of <file index: 1 byte><length: 2 bytes LE><bytes>; the
 * index picks one of the names in `files` below.
 *
 *   make fuzz && FUZZ_SEEDS=corpus build-fuzz/fuzz_submission corpus -max_total_time=60
 * FUZZ_SEEDS=DIR writes a valid submission (and variants) into DIR first. */
#include "base/error.h"
#include "base/fsutil.h"
#include "grader/checks.h"
#include "grader/submission.h"
#include "grader/tensors.h"
#include "grader/weights_q4.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const files[] = {
    "submission.json", "MANIFEST.sha256", "config.json", "metrics.json", "models/m/predictions.safetensors",
    "models/m/model.safetensors", "inputs.safetensors", "plots/a.png",
};
#define NFILES (sizeof files / sizeof files[0])

static size_t put_chunk(uint8_t *out, size_t at, int index, const void *data, size_t len)
{
    out[at] = (uint8_t)index;
    out[at + 1] = (uint8_t)(len & 0xff);
    out[at + 2] = (uint8_t)(len >> 8);
    memcpy(out + at + 3, data, len);
    return at + 3 + len;
}

static void write_seed(const char *dir, const char *name, const uint8_t *data, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(data, 1, len, f);
        fclose(f);
    }
}

/* A tar.gz of the files (names from `files`), after the 0xFF archive marker. */
static size_t tar_gz(uint8_t *out, size_t cap, const int *index, const void *const *data, const size_t *len, int n)
{
    struct archive *a = archive_write_new();
    size_t used = 0;
    archive_write_set_format_pax_restricted(a);
    archive_write_add_filter_gzip(a);
    if (archive_write_open_memory(a, out + 1, cap - 1, &used) != ARCHIVE_OK) {
        archive_write_free(a);
        return 0;
    }
    for (int i = 0; i < n; i++) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, files[index[i]]);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, (la_int64_t)len[i]);
        archive_write_header(a, e);
        archive_write_data(a, data[i], len[i]);
        archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
    out[0] = 0xFF;
    return used + 1;
}

/* Weights as `lab submit` sends them by default (4 bits, grader/weights_q4.h)
 * and broken variants of the encoding; the submission reader decodes them
 * when it opens the model. */
enum q4_variant { Q4_VALID, Q4_SHORT_CODES, Q4_HUGE_SHAPE, Q4_NAN_STEP, Q4_NO_PARAMS, Q4_NVARIANTS };
static const char *const q4_names[Q4_NVARIANTS] = {"q4-valid", "q4-short-codes", "q4-huge-shape", "q4-nan-step",
                                                   "q4-no-params"};

static int q4_model(enum q4_variant v, void **out, size_t *len)
{
    enum { COLS = 21870, N = 3 * COLS }; /* just over WQ4_MIN_ELEMS; the last group of 64 partial */
    static float w[N];
    for (int i = 0; i < N; i++)
        w[i] = (float)((i * 37) % 101) / 50.0f - 1.0f;
    int64_t ws[2] = {3, COLS};
    st_writer *wr;
    void *plain = NULL;
    size_t plain_len = 0;
    st_file *f = NULL;
    struct wq4_stats stats;
    if (st_writer_new(&wr))
        return -1;
    st_writer_add(wr, "fc.weight", ST_F32, 2, ws, w, sizeof w);
    int rc = st_writer_to_memory(wr, &plain, &plain_len);
    st_writer_free(wr);
    if (!rc)
        rc = st_open_memory(plain, plain_len, "seed", &f);
    if (!rc)
        rc = wq4_encode(f, out, len, &stats);
    st_close(f);
    free(plain);
    if (rc || v == Q4_VALID)
        return rc;
    /* A variant: the encoded tensors again, one of them broken. */
    st_file *enc = NULL;
    if (st_open_memory(*out, *len, "seed", &enc) || st_writer_new(&wr)) {
        st_close(enc);
        return -1;
    }
    st_writer_set_metadata(wr, "lab.weights", WQ4_ENCODING);
    for (size_t i = 0; i < st_count(enc); i++) {
        const struct st_tensor *t = st_at(enc, i);
        int64_t shape[ST_MAX_DIMS];
        memcpy(shape, t->shape, sizeof(int64_t) * (size_t)t->ndim);
        static uint8_t data[1 << 16];
        size_t nbytes = t->nbytes < sizeof data ? t->nbytes : sizeof data;
        memcpy(data, t->data, nbytes);
        const char *name = t->name;
        size_t nl = strlen(name);
        if (v == Q4_SHORT_CODES && nl > 3 && !strcmp(name + nl - 3, ":q4")) {
            shape[0]--;
            nbytes--;
        } else if (v == Q4_HUGE_SHAPE && strstr(name, ":q4.shape")) {
            int64_t huge = (int64_t)1 << 40;
            memcpy(data, &huge, sizeof huge);
        } else if (v == Q4_NAN_STEP && strstr(name, ":q4.params")) {
            data[2] = 0x00, data[3] = 0x7e; /* the first group's step: an fp16 NaN */
        } else if (v == Q4_NO_PARAMS && strstr(name, ":q4.params")) {
            continue;
        }
        st_writer_add(wr, name, t->dtype, t->ndim, shape, data, nbytes);
    }
    free(*out);
    *out = NULL;
    rc = st_writer_to_memory(wr, out, len);
    st_writer_free(wr);
    st_close(enc);
    return rc;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    const char *dir = getenv("FUZZ_SEEDS");
    if (!dir || !*dir)
        return 0;
    mkdir(dir, 0755);
    static uint8_t seed[1 << 16];
    const char *info = "{\"format_version\":1,\"lab\":\"2.2.1\",\"student\":\"a\",\"created\":\"t\"}";
    const char *manifest = "0000000000000000000000000000000000000000000000000000000000000000  config.json\n";
    const char *config = "{\"lab\":\"2.2.1\",\"data\":{\"dataset\":\"fashion-mnist\",\"input_size\":[3,2,2]}}";
    const char *metrics = "{\"lab\":\"2.2.1\",\"models\":{\"m\":{\"test_accuracy\":0.5,\"status\":\"done\"}}}";
    float logits[20] = {1, 2};
    int64_t labels[2] = {0, 1}, ls[2] = {2, 10}, n2[1] = {2}, ps[4] = {1, 3, 2, 2};
    float px[12] = {0.5f, -1, 2};
    st_writer *w;
    void *pred = NULL, *inputs = NULL;
    size_t pred_len = 0, inputs_len = 0;
    if (st_writer_new(&w) == 0) {
        st_writer_add(w, "logits", ST_F32, 2, ls, logits, sizeof logits);
        st_writer_add(w, "labels", ST_I64, 1, n2, labels, sizeof labels);
        st_writer_add(w, "indices", ST_I64, 1, n2, labels, sizeof labels);
        st_writer_to_memory(w, &pred, &pred_len);
        st_writer_free(w);
    }
    if (st_writer_new(&w) == 0) {
        st_writer_add(w, "pixel_values", ST_F32, 4, ps, px, sizeof px);
        st_writer_to_memory(w, &inputs, &inputs_len);
        st_writer_free(w);
    }
    size_t n = 0;
    n = put_chunk(seed, n, 0, info, strlen(info));
    n = put_chunk(seed, n, 1, manifest, strlen(manifest));
    n = put_chunk(seed, n, 2, config, strlen(config));
    n = put_chunk(seed, n, 3, metrics, strlen(metrics));
    if (pred)
        n = put_chunk(seed, n, 4, pred, pred_len);
    if (inputs)
        n = put_chunk(seed, n, 6, inputs, inputs_len);
    write_seed(dir, "valid", seed, n);
    for (int v = 0; v < Q4_NVARIANTS; v++) { /* the valid submission with weights at 4 bits */
        void *q4 = NULL;
        size_t q4_len = 0;
        if (q4_model((enum q4_variant)v, &q4, &q4_len) == 0 && n + 3 + q4_len <= sizeof seed) {
            static uint8_t with[1 << 16];
            memcpy(with, seed, n);
            write_seed(dir, q4_names[v], with, put_chunk(with, n, 5, q4, q4_len));
        }
        free(q4);
    }
    write_seed(dir, "no-manifest", seed, put_chunk(seed, 0, 0, info, strlen(info)));
    /* Valid, with a tensor one element over the cap: its refusal once read
     * the tensor's name from the closed file (a use after free). */
    size_t big = GT_MAX_ELEMS + 1, cap = 1 << 20;
    uint8_t *zeros = calloc(big, 1), *packed = malloc(cap);
    uint32_t lcg = 1; /* a byte of noise every 300: under the unpacker's 200x ratio limit */
    for (size_t i = 0; zeros && i < big; i += 300)
        zeros[i] = (uint8_t)((lcg = lcg * 1103515245u + 12345u) >> 24);
    int64_t bs[1] = {(int64_t)big};
    void *huge = NULL;
    size_t huge_len = 0;
    if (zeros && st_writer_new(&w) == 0) {
        st_writer_add(w, "oversized", ST_U8, 1, bs, zeros, big);
        st_writer_to_memory(w, &huge, &huge_len);
        st_writer_free(w);
    }
    if (huge && packed) {
        int idx[5] = {0, 1, 2, 3, 4};
        const void *parts[5] = {info, manifest, config, metrics, huge};
        size_t lens[5] = {strlen(info), strlen(manifest), strlen(config), strlen(metrics), huge_len};
        size_t len = tar_gz(packed, cap, idx, parts, lens, 5);
        if (len)
            write_seed(dir, "huge-tensor.tar.gz", packed, len);
    }
    free(packed);
    free(huge);
    free(zeros);
    free(pred);
    free(inputs);
    return 0;
}

static void read_like_checks(const struct submission *s)
{
    for (size_t i = 0; i < s->n_models; i++) {
        const struct sub_model *m = &s->models[i];
        for (size_t k = 0; m->weights && k < st_count(m->weights); k++) {
            const char *name = st_at(m->weights, k)->name;
            if (strstr(name, ":q4"))
                abort(); /* open decodes 4-bit weights or refuses them; a check never sees the encoding */
        }
        for (size_t k = 0; m->predictions && k < st_count(m->predictions); k++) {
            const struct st_tensor *t = st_at(m->predictions, k);
            float *f;
            int64_t *v;
            size_t n;
            if (gt_to_f32(t, GT_MAX_ELEMS, &f, &n) == 0) {
                struct check_out o;
                check_finite(f, n, &o);
                free(f);
            }
            if (gt_to_i64(t, GT_MAX_ELEMS, &v, &n) == 0)
                free(v);
        }
    }
    const struct st_tensor *px = s->inputs ? st_find(s->inputs, "pixel_values") : NULL;
    float *f;
    size_t n;
    if (px && px->ndim == 4 && gt_to_f32(px, GT_MAX_ELEMS, &f, &n) == 0) {
        struct input_stats st;
        input_stats_compute(f, px->shape[0], px->shape[1], px->shape[2], px->shape[3], &st);
        free(f);
    }
    for (size_t i = 0; i < s->n_manifest; i++)
        if (!submission_has_file(s, s->manifest[i].path))
            abort(); /* open promised every listed file exists */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *base = getenv("TMPDIR");
    char dir[4096], path[4300];
    snprintf(dir, sizeof dir, "%s/labfuzz.XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(dir))
        return 0;
    snprintf(path, sizeof path, "%s/sub", dir);
    if (size > 0 && data[0] == 0xFF) { /* an archive */
        snprintf(path, sizeof path, "%s/sub.tar.gz", dir);
        FILE *f = fopen(path, "wb");
        if (f) {
            fwrite(data + 1, 1, size - 1, f);
            fclose(f);
        }
    } else {
        mkdir(path, 0755);
        for (size_t at = 0; at + 3 <= size;) {
            size_t idx = data[at] % NFILES, len = (size_t)data[at + 1] | (size_t)data[at + 2] << 8;
            at += 3;
            if (len > size - at)
                len = size - at;
            char file[4400];
            snprintf(file, sizeof file, "%s/%s", path, files[idx]);
            char parent[4400];
            snprintf(parent, sizeof parent, "%s", file);
            *strrchr(parent, '/') = '\0';
            lab_mkdir_p(parent);
            FILE *f = fopen(file, "wb");
            if (f) {
                fwrite(data + at, 1, len, f);
                fclose(f);
            }
            at += len;
        }
    }
    struct submission *s = NULL;
    if (submission_open(path, SUB_SUBMISSION, &s) == 0) {
        if (!s->info || !s->config || !s->metrics || s->n_models == 0 || !s->lab)
            abort();
        read_like_checks(s);
    }
    submission_free(s);
    struct sub_entry *e;
    size_t n;
    if (sub_manifest_parse((const char *)data, size, &e, &n) == 0)
        sub_manifest_free(e, n);
    sub_rmtree(dir);
    return 0;
}
