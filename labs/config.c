#include "labs/config.h"

#include "base/error.h"
#include "base/suggest.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Deep merge: objects merge key by key, everything else replaces. */
static int merge(json_t *dst, const json_t *src)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)src, key, v)
    {
        json_t *d = json_object_get(dst, key);
        if (json_is_object(d) && json_is_object(v)) {
            if (merge(d, v))
                return -1;
        } else if (json_object_set_new(dst, key, json_deep_copy(v))) {
            return -1;
        }
    }
    return 0;
}

int lab_config_resolve(const json_t *manifest, int quick, json_t **out)
{
    const json_t *base = json_object_get(manifest, "config");
    if (!json_is_object(base))
        return lab_err(LAB_EINTERNAL, NULL, "lab manifest has no config object");
    json_t *cfg = json_deep_copy(base);
    const json_t *q = json_object_get(manifest, "quick");
    if (!cfg || (quick && json_is_object(q) && merge(cfg, q))) {
        json_decref(cfg);
        return lab_err(LAB_EINTERNAL, NULL, "out of memory resolving the configuration");
    }
    json_object_set_new(cfg, "quick", json_boolean(quick));
    *out = cfg;
    return LAB_OK;
}

const json_t *lab_cfg_get(const json_t *config, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    const json_t *cur = config;
    for (char *save = NULL, *part = strtok_r(buf, ".", &save); part; part = strtok_r(NULL, ".", &save)) {
        if (!json_is_object(cur))
            return NULL;
        cur = json_object_get(cur, part);
    }
    return cur;
}

double lab_cfg_num(const json_t *config, const char *path, double dflt)
{
    const json_t *v = lab_cfg_get(config, path);
    return json_is_number(v) ? json_number_value(v) : dflt;
}

int64_t lab_cfg_int(const json_t *config, const char *path, int64_t dflt)
{
    const json_t *v = lab_cfg_get(config, path);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
}

const char *lab_cfg_str(const json_t *config, const char *path, const char *dflt)
{
    const json_t *v = lab_cfg_get(config, path);
    return json_is_string(v) ? json_string_value(v) : dflt;
}

int lab_cfg_bool(const json_t *config, const char *path, int dflt)
{
    const json_t *v = lab_cfg_get(config, path);
    return json_is_boolean(v) ? json_is_true(v) : dflt;
}

static void list_keys(const json_t *obj, char *out, size_t cap)
{
    const char *key;
    json_t *v;
    size_t n = 0;
    out[0] = '\0';
    json_object_foreach((json_t *)obj, key, v)
    {
        if (n < cap)
            n += (size_t)snprintf(out + n, cap - n, "%s%s", n ? ", " : "", key);
    }
}

static int unknown_key(const json_t *parent, const char *prefix, const char *part, const char *full)
{
    const char *names[128];
    size_t n = 0;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)parent, key, v)
    {
        if (n < 127)
            names[n++] = key;
    }
    names[n] = NULL;
    const char *close = lab_suggest(part, names);
    char keys[1024], hint[300] = "", fix[1400];
    list_keys(parent, keys, sizeof keys);
    if (close)
        snprintf(hint, sizeof hint, "did you mean '%s%s'? ", prefix, close);
    snprintf(fix, sizeof fix, "%saccepted keys%s%s: %s", hint, *prefix ? " under " : " at the top level",
             prefix, keys);
    return lab_err(LAB_EUSAGE, fix, "unknown configuration key '%s'", full);
}

static int parse_bool(const char *s, int *out)
{
    static const char *const yes[] = {"true", "1", "yes", "on"}, *const no[] = {"false", "0", "no", "off"};
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0)
            return *out = 1, 0;
        if (strcasecmp(s, no[i]) == 0)
            return *out = 0, 0;
    }
    return -1;
}

static int parse_number(const char *s, int want_int, json_t **out)
{
    char *end;
    errno = 0;
    if (want_int) {
        long long v = strtoll(s, &end, 10);
        if (errno || end == s || *end)
            return -1;
        *out = json_integer(v);
    } else {
        double v = strtod(s, &end);
        if (errno || end == s || *end || !isfinite(v))
            return -1;
        *out = json_real(v);
    }
    return 0;
}

/* A value of the same JSON type as `old`. Arrays accept JSON ("[1, 2]") or a
 * comma list ("1,2"), element types following the old array's first. */
static int parse_value(const json_t *old, const char *text, json_t **out)
{
    int b;
    *out = NULL;
    switch (json_typeof(old)) {
    case JSON_INTEGER:
        return parse_number(text, 1, out);
    case JSON_REAL:
        return parse_number(text, 0, out);
    case JSON_TRUE:
    case JSON_FALSE:
        if (parse_bool(text, &b))
            return -1;
        *out = json_boolean(b);
        return 0;
    case JSON_STRING:
        *out = json_string(text);
        return *out ? 0 : -1;
    case JSON_ARRAY: {
        const json_t *proto = json_array_get(old, 0);
        json_t *arr = json_loads(text, JSON_DECODE_ANY, NULL);
        if (!json_is_array(arr)) {
            json_decref(arr);
            arr = json_array();
            char *copy = strdup(text);
            for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                json_t *item = NULL;
                if (proto ? parse_value(proto, tok, &item) : !(item = json_string(tok))) {
                    free(copy);
                    json_decref(arr);
                    return -1;
                }
                json_array_append_new(arr, item);
            }
            free(copy);
        }
        size_t i;
        json_t *item;
        json_array_foreach(arr, i, item)
        {
            /* integers are fine where reals were */
            int ok = !proto || json_typeof(item) == json_typeof(proto) ||
                     (json_is_real(proto) && json_is_integer(item));
            if (!ok) {
                json_decref(arr);
                return -1;
            }
            if (proto && json_is_real(proto) && json_is_integer(item))
                json_array_set_new(arr, i, json_real((double)json_integer_value(item)));
        }
        *out = arr;
        return 0;
    }
    default:
        return -1;
    }
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "true or false";
    case JSON_STRING:
        return "a string";
    case JSON_ARRAY:
        return "a list such as 0.5,0.5,0.5";
    case JSON_OBJECT:
        return "a group of keys (set one of them)";
    default:
        return "a value";
    }
}

/* An explicit --set or flag speaks for every model, so it replaces the
 * per-model value a quick mode may carry for the same key. */
static void drop_model_overrides(json_t *config, const char *key)
{
    const char *model;
    json_t *over;
    json_object_foreach(json_object_get(config, "per_model"), model, over)
    {
        char buf[256];
        snprintf(buf, sizeof buf, "%s", key);
        char *dot = strrchr(buf, '.');
        json_t *parent = over;
        if (dot) {
            *dot = 0;
            parent = (json_t *)lab_cfg_get(over, buf);
        }
        if (json_is_object(parent))
            json_object_del(parent, dot ? dot + 1 : buf);
    }
}

int lab_config_for_model(const json_t *config, const char *model, json_t **out)
{
    json_t *cfg = json_deep_copy(config);
    const json_t *over = json_object_get(json_object_get(config, "per_model"), model);
    if (!cfg || (json_is_object(over) && merge(cfg, over))) {
        json_decref(cfg);
        return lab_err(LAB_EINTERNAL, NULL, "out of memory resolving the configuration of %s", model);
    }
    json_object_del(cfg, "per_model");
    int rc = lab_config_validate(cfg);
    if (rc)
        json_decref(cfg);
    else
        *out = cfg;
    return rc;
}

static int check_range(const char *key, const json_t *v, const char *given);

int lab_config_set(json_t *config, const char *assignment)
{
    const char *eq = strchr(assignment, '=');
    if (!eq || eq == assignment)
        return lab_err(LAB_EUSAGE, "write it as --set key=value, e.g. --set train.lr=0.05",
                       "'%s' is not a key=value assignment", assignment);
    char key[256];
    snprintf(key, sizeof key, "%.*s", (int)(eq - assignment), assignment);
    const char *text = eq + 1;

    json_t *parent = config;
    char prefix[256] = "", buf[256];
    snprintf(buf, sizeof buf, "%s", key);
    char *save = NULL, *part = strtok_r(buf, ".", &save);
    for (;;) {
        json_t *child = json_object_get(parent, part);
        if (!child)
            return unknown_key(parent, prefix, part, key);
        char *next = strtok_r(NULL, ".", &save);
        /* A group with a "name" (2.2.5's "model") takes a bare value as its
         * name, so --model NAME works whether "model" is a name or a group. */
        static char name_key[] = "name";
        if (!next && json_is_object(child) && json_is_string(json_object_get(child, "name")) &&
            !strchr(text, '{')) {
            parent = child;
            part = name_key;
            child = json_object_get(child, "name");
        }
        if (!next) {
            json_t *value;
            if (json_is_object(child) || parse_value(child, text, &value)) {
                /* Digits beyond a long long: a range error, not a type error. */
                if (json_is_integer(child) && text[strspn(text, "-0123456789")] == 0 && strlen(text) > 18) {
                    json_t *huge = json_real(strtod(text, NULL));
                    int rc = check_range(key, huge, text);
                    json_decref(huge);
                    if (rc)
                        return rc;
                }
                char fix[160];
                snprintf(fix, sizeof fix, "%s takes %s", key, type_name(child));
                return lab_err(LAB_EUSAGE, fix, "bad value '%s' for %s", text, key);
            }
            const char *shared = strncmp(key, "per_model.", 10) == 0 ? strchr(key + 10, '.') : key;
            int rc = shared ? check_range(shared == key ? key : shared + 1, value, text) : LAB_OK;
            if (rc) {
                json_decref(value);
                return rc;
            }
            json_object_set_new(parent, part, value);
            if (strncmp(key, "per_model.", 10) != 0)
                drop_model_overrides(config, key);
            return LAB_OK;
        }
        if (!json_is_object(child))
            return lab_err(LAB_EUSAGE, "`lab info <id>` lists the configuration keys",
                           "'%s' is not a group of keys; it cannot hold '%s'", part, key);
        size_t n = strlen(prefix);
        snprintf(prefix + n, sizeof prefix - n, "%s.", part);
        parent = child;
        part = next;
    }
}

/* The real range of every numeric value the labs share: beyond it a value
 * would wrap in an int (a batch of 4294967297 trains as 1), exhaust memory,
 * or mean nothing. open_min/open_max exclude the bound itself. */
static const struct value_range {
    const char *key;
    int integer;
    double min, max;
    int open_min, open_max;
    const char *flag; /* the lab run flag that sets it, if any */
} ranges[] = {
    {"train.epochs", 1, 0, 10000, 0, 0, "--epochs"},
    {"train.batch_size", 1, 1, 65536, 0, 0, "--batch-size"},
    {"train.lr", 0, 0, 10, 1, 0, "--lr"},
    {"train.momentum", 0, 0, 1, 0, 0, NULL},
    {"train.weight_decay", 0, 0, 1, 0, 0, NULL},
    {"train.label_smoothing", 0, 0, 1, 0, 1, NULL},
    {"train.mixup", 0, 0, 100, 0, 0, NULL},
    {"train.distill_temperature", 0, 0, 100, 1, 0, NULL},
    {"train.distill_alpha", 0, 0, 1, 0, 0, NULL},
    {"train.grad_clip", 0, 0, 1e6, 0, 0, NULL},
    {"train.warmup_epochs", 1, 0, 10000, 0, 0, NULL},
    {"train.warmup_start_factor", 0, 0, 1, 1, 0, NULL},
    {"seed", 1, 0, 9007199254740992.0, 0, 0, "--seed"},
    {"data.train_subset", 1, 0, 2147483647, 0, 0, NULL},
    {"data.eval_subset", 1, 0, 2147483647, 0, 0, NULL},
    {"data.num_classes", 1, 2, 100000, 0, 0, NULL},
    {"data.threads", 1, 0, 256, 0, 0, NULL},
    {"data.pad", 1, 0, 1024, 0, 0, NULL},
    {"data.augment.random_crop_padding", 1, 0, 1024, 0, 0, NULL},
};

static int out_of_range(const struct value_range *r, const json_t *v)
{
    if (!json_is_number(v) || (r->integer && !json_is_integer(v)))
        return 1;
    double x = json_number_value(v);
    return (r->open_min ? x <= r->min : x < r->min) || (r->open_max ? x >= r->max : x > r->max);
}

/* "an integer from 1 to 65536", "a number above 0 and at most 10" */
static void describe_range(const struct value_range *r, char *out, size_t cap)
{
    snprintf(out, cap, "%s %s %.15g %s %.15g", r->integer ? "an integer" : "a number",
             r->open_min ? "above" : r->integer ? "from" : "at least", r->min,
             r->open_max ? "and below" : r->integer ? "to" : "and at most", r->max);
}

static int check_range(const char *key, const json_t *v, const char *given)
{
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
        const struct value_range *r = &ranges[i];
        if (strcmp(r->key, key) != 0 || !out_of_range(r, v))
            continue;
        char want[128], fix[320], shown[64];
        describe_range(r, want, sizeof want);
        if (r->flag)
            snprintf(fix, sizeof fix, "give %s (%s N or --set %s=N) %s", key, r->flag, key, want);
        else
            snprintf(fix, sizeof fix, "give %s (--set %s=N) %s", key, key, want);
        if (given)
            snprintf(shown, sizeof shown, "%s", given);
        else if (json_is_integer(v))
            snprintf(shown, sizeof shown, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        else
            snprintf(shown, sizeof shown, "%.15g", json_number_value(v));
        return lab_err(LAB_EUSAGE, fix, "%s = %s is out of range", key, shown);
    }
    return LAB_OK;
}

int lab_config_validate(const json_t *config)
{
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
        const json_t *v = lab_cfg_get(config, ranges[i].key);
        int rc = v ? check_range(ranges[i].key, v, NULL) : LAB_OK;
        if (rc)
            return rc;
    }
    /* Each model's own values too, so a bad one stops the run before the
     * first model trains rather than in the middle. */
    const char *model;
    json_t *over, *merged;
    json_object_foreach((json_t *)json_object_get(config, "per_model"), model, over)
    {
        int rc = lab_config_for_model(config, model, &merged);
        if (rc)
            return lab_err_context(rc, "per_model.%s", model);
        json_decref(merged);
    }
    return LAB_OK;
}
