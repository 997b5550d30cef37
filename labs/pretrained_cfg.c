/* timm's config.json (pretrained_cfg), parsed apart from the rest of
 * labs/pretrained.c so the fuzz target (tests/fuzz/fuzz_pretrained_cfg.c)
 * links it with base/error.c and jansson alone: the file comes from the Hub. */
#include "labs/pretrained.h"

#include "base/error.h"
#include "base/fsutil.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONFIG_MAX (1 << 20)

static int bad_cfg(const char *what, const char *field)
{
    return lab_err(LAB_EUSAGE, "use timm's config.json from the same Hub repo as the weights (lab explain TS-STATE-DICT-MISMATCH)",
                   "%s: pretrained_cfg.%s is missing or out of range", what, field);
}

static int read_triple(const json_t *pc, const char *key, double lo, double hi, double *out, int *n)
{
    const json_t *a = json_object_get(pc, key);
    size_t len = json_array_size(a);
    if (len != 1 && len != 3)
        return -1;
    for (size_t i = 0; i < len; i++) {
        const json_t *v = json_array_get(a, i);
        if (!json_is_number(v) || !(json_number_value(v) >= lo && json_number_value(v) <= hi))
            return -1;
        out[i] = json_number_value(v);
    }
    *n = (int)len;
    return 0;
}

int pretrained_cfg_parse(const char *text, size_t len, const char *what, struct pretrained_cfg *out)
{
    memset(out, 0, sizeof *out);
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root || !json_is_object(root)) {
        json_decref(root);
        return lab_err(LAB_EUSAGE, "download config.json again (lab fetch efficientnet-b0)",
                       "%s is not a JSON object: %s (line %d)", what, je.text, je.line);
    }
    int rc = LAB_OK;
    const json_t *pc = json_object_get(root, "pretrained_cfg");
    const char *arch = json_string_value(json_object_get(root, "architecture"));
    snprintf(out->architecture, sizeof out->architecture, "%s", arch ? arch : "");
    json_int_t nc = json_integer_value(json_object_get(root, "num_classes"));
    if (!nc && pc)
        nc = json_integer_value(json_object_get(pc, "num_classes"));
    out->num_classes = nc > 0 && nc <= 100000 ? (int)nc : 0;
    const json_t *size = pc ? json_object_get(pc, "input_size") : NULL;
    int nm = 0, ns = 0;
    if (!json_is_object(pc)) {
        rc = bad_cfg(what, "(the object)");
    } else if (json_array_size(size) != 3) {
        rc = bad_cfg(what, "input_size");
    } else {
        for (int i = 0; i < 3 && !rc; i++) {
            json_int_t v = json_integer_value(json_array_get(size, (size_t)i));
            if (v < 1 || v > 4096 || (i == 0 && v != 1 && v != 3))
                rc = bad_cfg(what, "input_size");
            out->input_size[i] = (int)v;
        }
    }
    if (!rc) {
        const char *interp = json_string_value(json_object_get(pc, "interpolation"));
        snprintf(out->interpolation, sizeof out->interpolation, "%s", interp ? interp : "bilinear");
        if (strcmp(out->interpolation, "bicubic") && strcmp(out->interpolation, "bilinear") &&
            strcmp(out->interpolation, "nearest"))
            rc = bad_cfg(what, "interpolation");
    }
    if (!rc) {
        const json_t *cp = json_object_get(pc, "crop_pct");
        out->crop_pct = cp ? json_number_value(cp) : 0.875;
        if (!(out->crop_pct >= 0.1 && out->crop_pct <= 1.0))
            rc = bad_cfg(what, "crop_pct");
    }
    if (!rc && read_triple(pc, "mean", -10, 10, out->mean, &nm))
        rc = bad_cfg(what, "mean");
    if (!rc && (read_triple(pc, "std", 1e-6, 10, out->std, &ns) || ns != nm))
        rc = bad_cfg(what, "std");
    out->channels = nm;
    json_decref(root);
    return rc;
}

int pretrained_cfg_read(const char *path, struct pretrained_cfg *out)
{
    char *text = NULL;
    size_t len = 0;
    int rc = lab_read_file(path, CONFIG_MAX, &text, &len);
    if (rc)
        return rc;
    rc = pretrained_cfg_parse(text, len, path, out);
    free(text);
    return rc;
}

int pretrained_resize_of(const struct pretrained_cfg *c) { return (int)floor(c->input_size[1] / c->crop_pct + 0.5); }

