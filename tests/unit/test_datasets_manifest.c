/* The registry: every manifest is well-formed, honest about checksums, and
 * covers every dataset the labs name; offline and HF cache environment rules. */
#include "base/env.h"
#include "base/error.h"
#include "datasets/hash.h"
#include "datasets/hf.h"
#include "datasets/manifest.h"
#include "labs/lab.h"
#include "tests/unit/testutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_manifests_are_well_formed_and_honest)
{
    ck_assert_int_eq(ds_registry_load(), LAB_OK);
    const char *required[] = {"fashion-mnist", "cifar-10", "cifar-100", "voc2012", "sam-vit-b", "sam-vit-l",
                              "sam-vit-h", "resnet18", "resnet50", "efficientnet-b0", "yolov8-weights",
                              "ultralytics-samples"};
    for (size_t i = 0; i < sizeof required / sizeof *required; i++)
        ck_assert_msg(ds_registry_find(required[i]), "no manifest for %s", required[i]);
    for (size_t i = 0; i < ds_registry_count(); i++) {
        const json_t *e = ds_registry_at(i);
        const char *name = json_string_value(json_object_get(e, "name"));
        if (i)
            ck_assert_str_lt(json_string_value(json_object_get(ds_registry_at(i - 1), "name")), name);
        ck_assert_ptr_nonnull(json_string_value(json_object_get(e, "license")));
        ck_assert_ptr_nonnull(json_string_value(json_object_get(e, "citation")));
        ck_assert_ptr_nonnull(json_string_value(json_object_get(e, "format")));
        size_t k;
        const json_t *f;
        json_array_foreach(json_object_get(e, "files"), k, f)
        {
            /* a recorded sha256 is 64 hex digits; unknown ones are null, never made up */
            const json_t *sha = json_object_get(f, "sha256");
            ck_assert(!sha || json_is_null(sha) || ds_is_hex(json_string_value(sha), 64));
            ck_assert_int_gt(json_integer_value(json_object_get(f, "size")), 0);
            size_t c;
            const json_t *chk;
            json_array_foreach(json_object_get(f, "checks"), c, chk)
            {
                const char *algo = json_string_value(json_object_get(chk, "algo"));
                ck_assert(strcmp(algo, "md5") == 0 || strcmp(algo, "sha256") == 0);
                ck_assert_ptr_nonnull(json_string_value(json_object_get(chk, "source")));
                if (json_is_true(json_object_get(chk, "etag")))
                    continue;
                const char *hex = json_string_value(json_object_get(chk, "hex"));
                size_t want = strcmp(algo, "md5") == 0 ? 32 : 64;
                if (json_is_true(json_object_get(chk, "prefix")))
                    ck_assert(hex && strlen(hex) >= 6 && strlen(hex) < want && ds_is_hex(hex, strlen(hex)));
                else
                    ck_assert_msg(ds_is_hex(hex, want), "%s: bad %s", name, algo);
            }
            /* a file name carrying a hash prefix is checked against it */
            const char *fname = json_string_value(json_object_get(f, "name"));
            if (strncmp(fname, "sam_vit_", 8) == 0 || strncmp(fname, "resnet", 6) == 0)
                ck_assert_ptr_nonnull(strstr(fname, json_string_value(json_object_get(
                                                        json_array_get(json_object_get(f, "checks"), 0), "hex"))));
            ck_assert(json_array_size(json_object_get(f, "urls")) > 0 || json_is_true(json_object_get(e, "mirror_only")) ||
                      json_object_get(e, "hf"));
        }
    }
}
END_TEST

START_TEST(test_every_lab_dataset_is_known_or_built_locally)
{
    ck_assert_int_eq(ds_registry_load(), LAB_OK);
    ck_assert_int_eq(lab_registry_load(), LAB_OK);
    for (size_t i = 0; i < lab_registry_count(); i++) {
        const char *key;
        const json_t *v;
        json_object_foreach((json_t *)json_object_get(lab_registry_at(i), "datasets"), key, v)
            ck_assert_msg(ds_registry_find(json_string_value(v)), "lab %s names unknown '%s'",
                          lab_manifest_id(lab_registry_at(i)), json_string_value(v));
    }
}
END_TEST

START_TEST(test_fashion_mnist_debian_copy_verifies)
{
    ck_assert_int_eq(ds_registry_load(), LAB_OK);
    const json_t *e = ds_registry_find("fashion-mnist");
    size_t k;
    const json_t *f;
    json_array_foreach(json_object_get(e, "files"), k, f)
    {
        char path[4096], detail[512];
        int found;
        ck_assert_int_eq(ds_file_locate(e, f, path, sizeof path, &found), LAB_OK);
        ck_assert(found);
        ck_assert(strncmp(path, "/usr/share/datasets/fashion-mnist/", 34) == 0);
        enum ds_verdict v;
        ck_assert_int_eq(ds_file_verify(path, f, NULL, &v, detail, sizeof detail), LAB_OK);
        ck_assert_msg(v == DS_VERIFIED, "%s: %s", path, detail);
    }
    /* and a wrong file does not verify */
    char *dir = tu_tempdir(), path[4200], detail[512];
    snprintf(path, sizeof path, "%s/x", dir);
    tu_write_file(path, "nope", 4);
    enum ds_verdict v;
    ck_assert_int_eq(ds_file_verify(path, json_array_get(json_object_get(e, "files"), 0), NULL, &v, detail, sizeof detail),
                     LAB_OK);
    ck_assert_int_eq(v, DS_MISMATCH);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_offline_spellings)
{
    const char *vars[] = {"LAB_OFFLINE", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"};
    const char *yes[] = {"1", "true", "TRUE", "Yes", "on", "ON"}, *no[] = {"0", "false", "no", "off", "", "2"};
    for (int i = 0; i < 3; i++)
        unsetenv(vars[i]);
    ck_assert_int_eq(lab_offline(NULL), 0);
    for (int i = 0; i < 3; i++) {
        for (int k = 0; k < 6; k++) {
            setenv(vars[i], yes[k], 1);
            ck_assert_msg(lab_offline(NULL), "%s=%s should be offline", vars[i], yes[k]);
            setenv(vars[i], no[k], 1);
            ck_assert_msg(!lab_offline(NULL), "%s=%s should not be offline", vars[i], no[k]);
        }
        unsetenv(vars[i]);
    }
}
END_TEST

START_TEST(test_hf_cache_root_precedence)
{
    char out[4096], *old_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
    char *old_cache = getenv("LAB_CACHE") ? strdup(getenv("LAB_CACHE")) : NULL;
    unsetenv("HF_HUB_CACHE"), unsetenv("HF_HOME"), unsetenv("XDG_CACHE_HOME");
    setenv("HOME", "/home/student", 1);
    /* Without HF_HOME & co, Hub files stay under LAB_CACHE: nothing in ~/.cache/huggingface. */
    setenv("LAB_CACHE", "/labcache", 1);
    ck_assert_int_eq(ds_hf_cache_root(out, sizeof out), LAB_OK);
    ck_assert_str_eq(out, "/labcache/huggingface/hub");
    setenv("XDG_CACHE_HOME", "/xdg", 1);
    ck_assert_int_eq(ds_hf_cache_root(out, sizeof out), LAB_OK);
    ck_assert_str_eq(out, "/labcache/huggingface/hub");
    if (old_cache)
        setenv("LAB_CACHE", old_cache, 1);
    else
        unsetenv("LAB_CACHE");
    free(old_cache);
    setenv("HF_HOME", "/hfhome", 1);
    ck_assert_int_eq(ds_hf_cache_root(out, sizeof out), LAB_OK);
    ck_assert_str_eq(out, "/hfhome/hub");
    setenv("HF_HUB_CACHE", "/hubcache", 1);
    ck_assert_int_eq(ds_hf_cache_root(out, sizeof out), LAB_OK);
    ck_assert_str_eq(out, "/hubcache");
    ck_assert_int_eq(ds_hf_repo_dir("timm/efficientnet_b0.ra_in1k", out, sizeof out), LAB_OK);
    ck_assert_str_eq(out, "/hubcache/models--timm--efficientnet_b0.ra_in1k");
    ck_assert_int_eq(ds_hf_repo_dir("../etc", out, sizeof out), LAB_EUSAGE);
    unsetenv("HF_HUB_CACHE"), unsetenv("HF_HOME"), unsetenv("XDG_CACHE_HOME");
    if (old_home)
        setenv("HOME", old_home, 1);
    free(old_home);
}
END_TEST

START_TEST(test_hf_existing_cache_entry_found)
{
    /* a cache entry as huggingface_hub writes it: refs/main, snapshot link into blobs */
    char *dir = tu_tempdir(), cmd[8192], path[4096];
    const char *commit = "89abcdef0123456789abcdef0123456789abcdef";
    snprintf(cmd, sizeof cmd,
             "set -e; r='%s/models--org--m'; mkdir -p $r/blobs $r/refs $r/snapshots/%s/sub; "
             "echo weights > $r/blobs/abc; printf %s > $r/refs/main; "
             "ln -s ../../../blobs/abc $r/snapshots/%s/sub/w.bin",
             dir, commit, commit, commit);
    ck_assert_int_eq(tu_run(cmd, NULL), 0);
    setenv("HF_HUB_CACHE", dir, 1);
    int found;
    ck_assert_int_eq(ds_hf_cached_path("org/m", "main", "sub/w.bin", path, sizeof path, &found), LAB_OK);
    ck_assert(found);
    ck_assert_ptr_nonnull(strstr(path, commit));
    ck_assert_int_eq(ds_hf_cached_path("org/m", commit, "sub/w.bin", path, sizeof path, &found), LAB_OK);
    ck_assert(found);
    ck_assert_int_eq(ds_hf_cached_path("org/m", "v2", "sub/w.bin", path, sizeof path, &found), LAB_OK);
    ck_assert(!found);
    unsetenv("HF_HUB_CACHE");
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_hf_token_sources)
{
    char *dir = tu_tempdir(), path[4200];
    unsetenv("HF_TOKEN"), unsetenv("HUGGING_FACE_HUB_TOKEN"), unsetenv("HF_TOKEN_PATH");
    setenv("HF_HOME", dir, 1);
    ck_assert_ptr_null(ds_hf_token());
    snprintf(path, sizeof path, "%s/token", dir);
    tu_write_file(path, "hf_file\n", 8);
    char *t = ds_hf_token();
    ck_assert_str_eq(t, "hf_file");
    free(t);
    setenv("HUGGING_FACE_HUB_TOKEN", "hf_old", 1);
    t = ds_hf_token();
    ck_assert_str_eq(t, "hf_old");
    free(t);
    setenv("HF_TOKEN", "hf_new", 1);
    t = ds_hf_token();
    ck_assert_str_eq(t, "hf_new");
    free(t);
    unsetenv("HF_TOKEN"), unsetenv("HUGGING_FACE_HUB_TOKEN"), unsetenv("HF_HOME");
    tu_rmtree(dir);
    free(dir);
}
END_TEST

Suite *suite_datasets_manifest(void)
{
    Suite *s = suite_create("datasets_manifest");
    TCase *tc = tcase_create("manifest");
    tcase_add_test(tc, test_manifests_are_well_formed_and_honest);
    tcase_add_test(tc, test_every_lab_dataset_is_known_or_built_locally);
    tcase_add_test(tc, test_fashion_mnist_debian_copy_verifies);
    tcase_add_test(tc, test_offline_spellings);
    tcase_add_test(tc, test_hf_cache_root_precedence);
    tcase_add_test(tc, test_hf_existing_cache_entry_found);
    tcase_add_test(tc, test_hf_token_sources);
    suite_add_tcase(s, tc);
    return s;
}
