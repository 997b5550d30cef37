/* Configuration resolution: defaults, quick overlay, --set, and the
 * per-model values a quick mode gives each architecture. */
#include "base/error.h"
#include "labs/config.h"

#include <check.h>
#include <jansson.h>
#include <string.h>

static const char *manifest_text =
    "{\"config\": {\"model\": \"all\", \"per_model\": {},"
    "  \"data\": {\"train_subset\": 0, \"num_classes\": 10},"
    "  \"train\": {\"epochs\": 10, \"batch_size\": 128, \"lr\": 0.01, \"mixup\": 0.0}},"
    " \"quick\": {\"data\": {\"train_subset\": 5000}, \"train\": {\"epochs\": 1},"
    "  \"per_model\": {\"small\": {\"data\": {\"train_subset\": 0}, \"train\": {\"batch_size\": 32, \"lr\": 0.05}},"
    "                \"big\": {\"train\": {\"batch_size\": 16}}}}}";

static json_t *resolve(int quick)
{
    json_t *m = json_loads(manifest_text, 0, NULL), *cfg = NULL;
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(lab_config_resolve(m, quick, &cfg), 0);
    json_decref(m);
    return cfg;
}

static json_t *for_model(const json_t *cfg, const char *model)
{
    json_t *out = NULL;
    ck_assert_int_eq(lab_config_for_model(cfg, model, &out), 0);
    ck_assert_ptr_null(json_object_get(out, "per_model"));
    return out;
}

START_TEST(test_per_model_values_apply_to_their_model_only)
{
    json_t *cfg = resolve(1);
    json_t *small = for_model(cfg, "small"), *big = for_model(cfg, "big"), *other = for_model(cfg, "other");
    ck_assert_int_eq(lab_cfg_int(small, "train.batch_size", -1), 32);
    ck_assert_double_eq(lab_cfg_num(small, "train.lr", -1), 0.05);
    ck_assert_int_eq(lab_cfg_int(small, "data.train_subset", -1), 0);
    ck_assert_int_eq(lab_cfg_int(small, "train.epochs", -1), 1);
    ck_assert_int_eq(lab_cfg_int(big, "train.batch_size", -1), 16);
    ck_assert_double_eq(lab_cfg_num(big, "train.lr", -1), 0.01);
    ck_assert_int_eq(lab_cfg_int(big, "data.train_subset", -1), 5000);
    ck_assert_int_eq(lab_cfg_int(other, "train.batch_size", -1), 128);
    json_decref(small), json_decref(big), json_decref(other), json_decref(cfg);
}
END_TEST

START_TEST(test_full_mode_has_no_per_model_values)
{
    json_t *cfg = resolve(0), *small = for_model(cfg, "small");
    ck_assert_int_eq(lab_cfg_int(small, "train.batch_size", -1), 128);
    ck_assert_int_eq(lab_cfg_int(small, "train.epochs", -1), 10);
    json_decref(small), json_decref(cfg);
}
END_TEST

START_TEST(test_set_speaks_for_every_model)
{
    json_t *cfg = resolve(1);
    ck_assert_int_eq(lab_config_set(cfg, "train.batch_size=64"), 0);
    ck_assert_int_eq(lab_config_set(cfg, "data.train_subset=256"), 0);
    json_t *small = for_model(cfg, "small"), *big = for_model(cfg, "big");
    ck_assert_int_eq(lab_cfg_int(small, "train.batch_size", -1), 64);
    ck_assert_int_eq(lab_cfg_int(big, "train.batch_size", -1), 64);
    ck_assert_int_eq(lab_cfg_int(small, "data.train_subset", -1), 256);
    ck_assert_double_eq(lab_cfg_num(small, "train.lr", -1), 0.05); /* not --set: still its own */
    json_decref(small), json_decref(big), json_decref(cfg);
}
END_TEST

START_TEST(test_set_of_one_models_value)
{
    json_t *cfg = resolve(1);
    ck_assert_int_eq(lab_config_set(cfg, "per_model.small.train.lr=0.2"), 0);
    json_t *small = for_model(cfg, "small"), *big = for_model(cfg, "big");
    ck_assert_double_eq(lab_cfg_num(small, "train.lr", -1), 0.2);
    ck_assert_double_eq(lab_cfg_num(big, "train.lr", -1), 0.01);
    json_decref(small), json_decref(big);
    /* A bad per-model value is refused by --set, and one that comes another
     * way is caught when the whole config is validated, naming the model,
     * before anything trains. */
    ck_assert_int_eq(lab_config_set(cfg, "per_model.big.train.batch_size=0"), LAB_EUSAGE);
    json_object_set_new(json_object_get(json_object_get(json_object_get(cfg, "per_model"), "big"), "train"),
                        "batch_size", json_integer(0));
    ck_assert_int_eq(lab_config_validate(cfg), LAB_EUSAGE);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "per_model.big"));
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "train.batch_size"));
    json_decref(cfg);
}
END_TEST

/* Values past their real range (an int would wrap, a batch would exhaust
 * memory, zero classes mean nothing) are refused, naming the key, the value
 * typed and the range. */
START_TEST(test_set_rejects_values_out_of_range)
{
    static const struct {
        const char *set, *key;
    } bad[] = {
        {"train.batch_size=99999999999", "train.batch_size"},
        {"train.batch_size=4294967297", "train.batch_size"},
        {"train.batch_size=99999999999999999999999", "train.batch_size"},
        {"train.batch_size=0", "train.batch_size"},
        {"train.epochs=-1", "train.epochs"},
        {"train.lr=0", "train.lr"},
        {"train.lr=1e300", "train.lr"},
        {"data.num_classes=0", "data.num_classes"},
        {"data.train_subset=-5", "data.train_subset"},
        {"train.mixup=-0.2", "train.mixup"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *cfg = resolve(1);
        ck_assert_msg(lab_config_set(cfg, bad[i].set) == LAB_EUSAGE, "%s was accepted", bad[i].set);
        const char *value = strchr(bad[i].set, '=') + 1;
        ck_assert_msg(strstr(lab_err_message(), bad[i].key) && strstr(lab_err_message(), value) &&
                          strstr(lab_err_message(), "out of range"),
                      "%s: %s", bad[i].set, lab_err_message());
        ck_assert_msg(strstr(lab_err_fix(), " from ") || strstr(lab_err_fix(), "above") || strstr(lab_err_fix(), "at least"), "%s: fix '%s'", bad[i].set,
                      lab_err_fix());
        /* nothing changed */
        json_t *ref = resolve(1);
        ck_assert(json_equal(cfg, ref));
        json_decref(ref), json_decref(cfg);
    }
    json_t *cfg = resolve(1);
    ck_assert_int_eq(lab_config_set(cfg, "train.batch_size=65536"), 0);
    ck_assert_int_eq(lab_config_set(cfg, "train.lr=10"), 0);
    ck_assert_int_eq(lab_config_set(cfg, "data.num_classes=2"), 0);
    ck_assert_int_eq(lab_config_set(cfg, "train.mixup=0.2"), 0);
    ck_assert_int_eq(lab_config_validate(cfg), 0);
    json_decref(cfg);
}
END_TEST

Suite *suite_config(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("per_model");
    tcase_add_test(tc, test_per_model_values_apply_to_their_model_only);
    tcase_add_test(tc, test_full_mode_has_no_per_model_values);
    tcase_add_test(tc, test_set_speaks_for_every_model);
    tcase_add_test(tc, test_set_of_one_models_value);
    tcase_add_test(tc, test_set_rejects_values_out_of_range);
    suite_add_tcase(s, tc);
    return s;
}
