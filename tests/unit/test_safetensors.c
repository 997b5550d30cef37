/* safetensors: round trips with an independent Python implementation of the
 * format as the judge (tests/ref/weights_safetensors.py), and every crafted
 * hostile input (tests/fuzz/safetensors_cases.h) a clean, precise error. */
#include "base/error.h"
#include "base/fsutil.h"
#include "base/jsonio.h"
#include "shim/safetensors.h"
#include "tests/fuzz/safetensors_cases.h"
#include "tests/unit/testutil.h"

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char PY[] = "/usr/bin/python3";

static void run_ref(const char *args)
{
    char cmd[8192], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s %s/tests/ref/weights_safetensors.py %s 2>&1", PY, tu_src_dir(), args);
    int rc = tu_run(cmd, &out);
    ck_assert_msg(rc == 0, "%s failed (%d): %s", cmd, rc, out);
    free(out);
}

static size_t count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

START_TEST(test_dtype_helpers)
{
    for (int d = 0; d < ST_DTYPE_COUNT; d++) {
        enum st_dtype back;
        ck_assert_int_eq(st_dtype_from_name(st_dtype_name((enum st_dtype)d), &back), LAB_OK);
        ck_assert_int_eq(back, d);
    }
    ck_assert_uint_eq(st_dtype_size(ST_BOOL), 1);
    ck_assert_uint_eq(st_dtype_size(ST_BF16), 2);
    ck_assert_uint_eq(st_dtype_size(ST_F32), 4);
    ck_assert_uint_eq(st_dtype_size(ST_U64), 8);
    ck_assert_uint_eq(st_dtype_size(ST_DTYPE_COUNT), 0);
    ck_assert_str_eq(st_dtype_name(ST_F8_E4M3), "F8_E4M3");
    ck_assert_str_eq(st_dtype_name((enum st_dtype)99), "?");
    enum st_dtype d;
    ck_assert_int_eq(st_dtype_from_name("f32", &d), LAB_EUSAGE);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "unknown dtype 'f32'"));
    st_close(NULL);
    st_writer_free(NULL);
}
END_TEST

/* A file Python wrote loads with identical names, dtypes, shapes, bytes and
 * metadata, and every tensor's data is aligned to its element size. */
START_TEST(test_python_file_loads)
{
    char *dir = tu_tempdir(), args[4200], path[4200];
    snprintf(args, sizeof args, "write '%s'", dir);
    run_ref(args);
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    json_t *m;
    ck_assert_int_eq(lab_json_load(path, &m), LAB_OK);
    snprintf(path, sizeof path, "%s/py.safetensors", dir);
    st_file *f;
    ck_assert_msg(st_open(path, &f) == LAB_OK, "%s", lab_err_message());
    json_t *tensors = json_object_get(m, "tensors");
    ck_assert_uint_eq(st_count(f), json_array_size(tensors));
    ck_assert_uint_ge(st_count(f), 16);
    size_t i;
    json_t *t;
    json_array_foreach(tensors, i, t)
    {
        const char *name = json_string_value(json_object_get(t, "name"));
        const struct st_tensor *v;
        ck_assert_msg(st_get(f, name, &v) == LAB_OK, "%s", lab_err_message());
        ck_assert_str_eq(v->name, name);
        ck_assert_str_eq(st_dtype_name(v->dtype), json_string_value(json_object_get(t, "dtype")));
        json_t *shape = json_object_get(t, "shape");
        ck_assert_int_eq(v->ndim, (int)json_array_size(shape));
        for (int d = 0; d < v->ndim; d++)
            ck_assert_int_eq(v->shape[d], json_integer_value(json_array_get(shape, (size_t)d)));
        char *raw;
        size_t len;
        ck_assert_int_eq(lab_read_file(json_string_value(json_object_get(t, "bin")), 1 << 20, &raw, &len), LAB_OK);
        ck_assert_uint_eq(v->nbytes, len);
        ck_assert_msg(len == 0 || memcmp(v->data, raw, len) == 0, "bytes of %s differ", name);
        ck_assert_uint_eq((uintptr_t)v->data % st_dtype_size(v->dtype), 0);
        free(raw);
    }
    /* Iteration follows the data offsets; the reference writer puts 8-byte
     * dtypes first. */
    for (i = 1; i < st_count(f); i++)
        ck_assert_ptr_eq((const char *)st_at(f, i - 1)->data + st_at(f, i - 1)->nbytes, st_at(f, i)->data);
    ck_assert_uint_eq(st_dtype_size(st_at(f, 0)->dtype), 8);
    ck_assert_ptr_null(st_at(f, st_count(f)));
    ck_assert_ptr_null(st_find(f, "no.such.tensor"));
    const struct st_tensor *v;
    ck_assert_int_eq(st_get(f, "no.such.tensor", &v), LAB_EUSAGE);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "has no tensor named 'no.such.tensor'"));

    json_t *meta = json_object_get(m, "metadata");
    ck_assert_uint_eq(st_metadata_count(f), json_object_size(meta));
    const char *key;
    json_t *val;
    json_object_foreach(meta, key, val)
    {
        ck_assert_ptr_nonnull(st_metadata_get(f, key));
        ck_assert_str_eq(st_metadata_get(f, key), json_string_value(val));
    }
    const char *k, *mv;
    ck_assert_int_eq(st_metadata_at(f, 0, &k, &mv), LAB_OK);
    ck_assert_str_eq(k, "format"); /* sorted by the writer, kept in file order */
    ck_assert_int_eq(st_metadata_at(f, st_metadata_count(f), &k, &mv), LAB_EUSAGE);
    ck_assert_ptr_null(st_metadata_get(f, "absent"));
    st_close(f);
    json_decref(m);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* A real file cut short anywhere is refused, never read past its end. */
START_TEST(test_truncated_python_file)
{
    char *dir = tu_tempdir(), args[4200], path[4200], cut[4200];
    snprintf(args, sizeof args, "write '%s'", dir);
    run_ref(args);
    snprintf(path, sizeof path, "%s/py.safetensors", dir);
    snprintf(cut, sizeof cut, "%s/cut.safetensors", dir);
    char *blob;
    size_t len;
    ck_assert_int_eq(lab_read_file(path, 1 << 24, &blob, &len), LAB_OK);
    uint64_t hlen;
    memcpy(&hlen, blob, 8);
    const size_t cuts[] = {0, 4, 7, 8, 9, 8 + (size_t)hlen / 2, 8 + (size_t)hlen, 8 + (size_t)hlen + 1, len - 1};
    const char *why[] = {"shorter than the 8-byte", "shorter than the 8-byte", "shorter than the 8-byte",
                         "only 0 bytes follow", "only 1 bytes follow", "(the file is truncated)",
                         "lie outside the 0-byte data buffer", "lie outside the 1-byte data buffer",
                         "lie outside"};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        tu_write_file(cut, blob, cuts[i]);
        st_file *f = (st_file *)1;
        ck_assert_int_eq(st_open(cut, &f), LAB_EUSAGE);
        ck_assert_ptr_null(f);
        ck_assert_msg(strstr(lab_err_message(), cut) && strstr(lab_err_message(), why[i]),
                      "cut at %zu: '%s' lacks '%s'", cuts[i], lab_err_message(), why[i]);
    }
    free(blob);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* lab writes the tensors Python made; Python's independent reader finds the
 * same tensors and metadata and the exact bytes the reference writer lays
 * out (order, compact JSON, padding). */
START_TEST(test_c_file_loads_in_python)
{
    char *dir = tu_tempdir(), args[8400], path[4200];
    snprintf(args, sizeof args, "write '%s'", dir);
    run_ref(args);
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    json_t *m;
    ck_assert_int_eq(lab_json_load(path, &m), LAB_OK);
    st_writer *w;
    ck_assert_int_eq(st_writer_new(&w), LAB_OK);
    json_t *tensors = json_object_get(m, "tensors");
    char **raws = calloc(json_array_size(tensors), sizeof *raws);
    size_t i;
    json_t *t;
    /* Added in reverse name order: the writer must lay them out itself. */
    for (i = json_array_size(tensors); i-- > 0;) {
        t = json_array_get(tensors, i);
        size_t len;
        ck_assert_int_eq(lab_read_file(json_string_value(json_object_get(t, "bin")), 1 << 20, &raws[i], &len),
                         LAB_OK);
        enum st_dtype dt;
        ck_assert_int_eq(st_dtype_from_name(json_string_value(json_object_get(t, "dtype")), &dt), LAB_OK);
        int64_t shape[ST_MAX_DIMS];
        json_t *js = json_object_get(t, "shape");
        for (size_t d = 0; d < json_array_size(js); d++)
            shape[d] = json_integer_value(json_array_get(js, d));
        ck_assert_msg(st_writer_add(w, json_string_value(json_object_get(t, "name")), dt, (int)json_array_size(js),
                                    shape, raws[i], len) == LAB_OK,
                      "%s", lab_err_message());
    }
    const char *key;
    json_t *val;
    ck_assert_int_eq(st_writer_set_metadata(w, "note", "to be replaced"), LAB_OK);
    json_object_foreach(json_object_get(m, "metadata"), key, val)
        ck_assert_int_eq(st_writer_set_metadata(w, key, json_string_value(val)), LAB_OK);
    snprintf(path, sizeof path, "%s/c.safetensors", dir);
    ck_assert_msg(st_writer_write(w, path) == LAB_OK, "%s", lab_err_message());
    snprintf(args, sizeof args, "check '%s' '%s'", path, dir);
    run_ref(args);

    /* The in-memory form is the same bytes. */
    void *mem;
    size_t mlen;
    char *disk;
    size_t dlen;
    ck_assert_int_eq(st_writer_to_memory(w, &mem, &mlen), LAB_OK);
    ck_assert_int_eq(lab_read_file(path, 1 << 24, &disk, &dlen), LAB_OK);
    ck_assert_uint_eq(mlen, dlen);
    ck_assert_int_eq(memcmp(mem, disk, dlen), 0);
    free(mem);
    free(disk);
    st_writer_free(w);
    for (i = 0; i < json_array_size(tensors); i++)
        free(raws[i]);
    free(raws);
    json_decref(m);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_writer_roundtrip_in_memory)
{
    float a[6] = {1, 2, 3, 4, 5, 6};
    uint16_t h[3] = {0x3c00, 0x4000, 0xc000};
    int64_t n = 42;
    st_writer *w;
    ck_assert_int_eq(st_writer_new(&w), LAB_OK);
    ck_assert_int_eq(st_writer_add(w, "a", ST_F32, 2, (int64_t[]){2, 3}, a, sizeof a), LAB_OK);
    ck_assert_int_eq(st_writer_add(w, "h", ST_F16, 1, (int64_t[]){3}, h, sizeof h), LAB_OK);
    ck_assert_int_eq(st_writer_add(w, "n", ST_I64, 0, NULL, &n, sizeof n), LAB_OK);
    ck_assert_int_eq(st_writer_add(w, "z", ST_F32, 2, (int64_t[]){0, 5}, NULL, 0), LAB_OK);
    void *buf;
    size_t len;
    ck_assert_int_eq(st_writer_to_memory(w, &buf, &len), LAB_OK);
    st_writer_free(w);
    uint64_t hlen;
    memcpy(&hlen, buf, 8);
    ck_assert_uint_eq(hlen % 8, 0);
    st_file *f;
    ck_assert_msg(st_open_memory(buf, len, "mem", &f) == LAB_OK, "%s", lab_err_message());
    ck_assert_uint_eq(st_count(f), 4);
    ck_assert_uint_eq(st_metadata_count(f), 0);
    ck_assert_str_eq(st_at(f, 0)->name, "n"); /* I64 first, then F32 by name, then F16 */
    ck_assert_str_eq(st_at(f, 1)->name, "a");
    ck_assert_str_eq(st_at(f, 2)->name, "z");
    ck_assert_str_eq(st_at(f, 3)->name, "h");
    const struct st_tensor *t = st_find(f, "a");
    ck_assert_int_eq(t->ndim, 2);
    ck_assert_int_eq(t->shape[1], 3);
    ck_assert_int_eq(memcmp(t->data, a, sizeof a), 0);
    ck_assert_int_eq(memcmp(st_find(f, "h")->data, h, sizeof h), 0);
    ck_assert_int_eq(st_find(f, "n")->ndim, 0);
    ck_assert_int_eq(*(const int64_t *)st_find(f, "n")->data, 42);
    ck_assert_uint_eq(st_find(f, "z")->nbytes, 0);
    st_close(f);
    free(buf);
}
END_TEST

START_TEST(test_writer_rejects_bad_tensors)
{
    float a[4] = {0};
    st_writer *w;
    ck_assert_int_eq(st_writer_new(&w), LAB_OK);
    ck_assert_int_eq(st_writer_add(w, "a", ST_F32, 1, (int64_t[]){3}, a, sizeof a), LAB_EUSAGE);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "tensor 'a': shape [3] of F32 does not match 16 bytes"));
    ck_assert_int_eq(st_writer_add(w, "a", ST_F32, 1, (int64_t[]){-4}, a, sizeof a), LAB_EUSAGE);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "negative dimension -4"));
    ck_assert_int_eq(st_writer_add(w, "a", ST_F32, 9, (int64_t[]){1, 1, 1, 1, 1, 1, 1, 1, 4}, a, sizeof a),
                     LAB_EUSAGE);
    ck_assert_int_eq(st_writer_add(w, "a", ST_F32, 2, (int64_t[]){INT64_MAX, 4}, a, sizeof a), LAB_EUSAGE);
    ck_assert_int_eq(st_writer_add(w, "a", (enum st_dtype)77, 1, (int64_t[]){4}, a, sizeof a), LAB_EUSAGE);
    ck_assert_int_eq(st_writer_add(w, "__metadata__", ST_F32, 1, (int64_t[]){4}, a, sizeof a), LAB_EUSAGE);
    ck_assert_int_eq(st_writer_add(w, "bad\xff", ST_F32, 1, (int64_t[]){4}, a, sizeof a), LAB_EUSAGE);
    ck_assert_int_eq(st_writer_add(w, "a", ST_F32, 1, (int64_t[]){4}, NULL, sizeof a), LAB_EUSAGE);
    ck_assert_int_eq(st_writer_add(w, "a", ST_F32, 1, (int64_t[]){4}, a, sizeof a), LAB_OK);
    ck_assert_int_eq(st_writer_add(w, "a", ST_F32, 1, (int64_t[]){4}, a, sizeof a), LAB_EUSAGE);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "tensor 'a' added twice"));
    ck_assert_int_eq(st_writer_set_metadata(w, "k", "bad\xff"), LAB_EUSAGE);
    st_writer_free(w);
}
END_TEST

/* A failed write leaves nothing behind; a successful one replaces the old
 * file whole and leaves no temp file. */
START_TEST(test_writer_is_atomic)
{
    char *dir = tu_tempdir(), path[4200];
    float a[2] = {1, 2};
    st_writer *w;
    ck_assert_int_eq(st_writer_new(&w), LAB_OK);
    ck_assert_int_eq(st_writer_add(w, "a", ST_F32, 1, (int64_t[]){2}, a, sizeof a), LAB_OK);
    snprintf(path, sizeof path, "%s/missing/dir/x.safetensors", dir);
    ck_assert_int_eq(st_writer_write(w, path), LAB_EENV);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "x.safetensors"));
    snprintf(path, sizeof path, "%s/x.safetensors", dir);
    tu_write_file(path, "old", 3);
    ck_assert_int_eq(st_writer_write(w, path), LAB_OK);
    ck_assert_uint_eq(count_entries(dir), 1);
    st_file *f;
    ck_assert_int_eq(st_open(path, &f), LAB_OK);
    ck_assert_int_eq(memcmp(st_find(f, "a")->data, a, sizeof a), 0);
    st_close(f);
    st_writer_free(w);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* Every crafted input, through the same entry point as the fuzz target:
 * the good ones open, the bad ones fail with LAB_EUSAGE and the expected
 * words, and leave *out NULL. */
START_TEST(test_replay_crafted_inputs)
{
    for (size_t i = 0; i < ST_NCASES; i++) {
        const struct st_case *c = &st_cases[i];
        size_t len;
        unsigned char *b = st_case_bytes(c, &len);
        st_file *f = (st_file *)1;
        lab_err_clear();
        int rc = st_open_memory(b, len, c->name, &f);
        if (c->ok) {
            ck_assert_msg(rc == LAB_OK, "case %s: %s", c->name, lab_err_message());
            for (size_t k = 0; k < st_count(f); k++)
                ck_assert_ptr_eq(st_find(f, st_at(f, k)->name), st_at(f, k));
        } else {
            ck_assert_msg(rc == LAB_EUSAGE, "case %s: rc %d", c->name, rc);
            ck_assert_ptr_null(f);
            ck_assert_msg(strstr(lab_err_message(), c->expect) != NULL, "case %s: message '%s' lacks '%s'", c->name,
                          lab_err_message(), c->expect);
            ck_assert_msg(strncmp(lab_err_message(), c->name, strlen(c->name)) == 0, "case %s: '%s' names no file",
                          c->name, lab_err_message());
            ck_assert_msg(lab_err_fix()[0] != '\0', "case %s: no fix", c->name);
        }
        st_close(f);
        free(b);
    }
}
END_TEST

static const struct st_case *find_case(const char *name)
{
    for (size_t i = 0; i < ST_NCASES; i++)
        if (strcmp(st_cases[i].name, name) == 0)
            return &st_cases[i];
    ck_abort_msg("no case %s", name);
    return NULL;
}

/* From disk the message names the path; the view into the header-ordered
 * file follows the data order. */
START_TEST(test_open_files)
{
    char *dir = tu_tempdir(), path[4200];
    st_file *f = (st_file *)1;
    snprintf(path, sizeof path, "%s/absent.safetensors", dir);
    ck_assert_int_eq(st_open(path, &f), LAB_EENV);
    ck_assert_ptr_null(f);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "absent.safetensors"));
    ck_assert_int_eq(st_open(dir, &f), LAB_EENV);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "is not a regular file"));

    snprintf(path, sizeof path, "%s/empty.safetensors", dir);
    tu_write_file(path, "", 0);
    ck_assert_int_eq(st_open(path, &f), LAB_EUSAGE);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "empty.safetensors: not a valid safetensors file: the file is 0"));

    const char *names[] = {"header_past_end", "elements_2_40", "overlap", "header_order_differs"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        const struct st_case *c = find_case(names[i]);
        size_t len;
        unsigned char *b = st_case_bytes(c, &len);
        snprintf(path, sizeof path, "%s/%s.safetensors", dir, c->name);
        tu_write_file(path, b, len);
        free(b);
        int rc = st_open(path, &f);
        if (c->ok) {
            ck_assert_int_eq(rc, LAB_OK);
            ck_assert_str_eq(st_at(f, 0)->name, "a");
            ck_assert_str_eq(st_at(f, 1)->name, "b");
            ck_assert_uint_eq(((const unsigned char *)st_find(f, "b")->data)[0], 8);
            st_close(f);
        } else {
            ck_assert_int_eq(rc, LAB_EUSAGE);
            ck_assert_ptr_nonnull(strstr(lab_err_message(), path));
            ck_assert_ptr_nonnull(strstr(lab_err_message(), c->expect));
        }
    }
    tu_rmtree(dir);
    free(dir);
}
END_TEST

Suite *suite_safetensors(void)
{
    Suite *s = suite_create("safetensors");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_dtype_helpers);
    tcase_add_test(tc, test_python_file_loads);
    tcase_add_test(tc, test_truncated_python_file);
    tcase_add_test(tc, test_c_file_loads_in_python);
    tcase_add_test(tc, test_writer_roundtrip_in_memory);
    tcase_add_test(tc, test_writer_rejects_bad_tensors);
    tcase_add_test(tc, test_writer_is_atomic);
    tcase_add_test(tc, test_replay_crafted_inputs);
    tcase_add_test(tc, test_open_files);
    suite_add_tcase(s, tc);
    return s;
}
