#include "base/error.h"
#include "labs/models/nn.h"
#include "labs/models/weights.h"
#include "labs/models/yolov8.h"
#include "shim/pth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The names and host views of one file's tensors, whatever its format. */
struct source {
    st_file *st;
    pth_file *pth;
    const char *prefix; /* of the model in a checkpoint: "ema.", "model." or "" */
    struct ts_host_tensor *items;
    size_t n;
};

static void source_close(struct source *s)
{
    free(s->items);
    st_close(s->st);
    pth_free(s->pth);
}

static int is_zip(const char *path)
{
    unsigned char magic[4] = {0};
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t got = fread(magic, 1, sizeof magic, f);
    fclose(f);
    return got == 4 && !memcmp(magic, "PK\3\4", 4);
}

static int has_prefix(const pth_file *f, const char *prefix)
{
    size_t len = strlen(prefix);
    for (size_t i = 0; i < pth_count(f); i++)
        if (!strncmp(pth_at(f, i)->name, prefix, len))
            return 1;
    return 0;
}

static int open_pth(const char *path, struct source *s)
{
    LAB_TRY(pth_load_ex(path, PTH_MODULES, &s->pth));
    /* A checkpoint's EMA weights are what Ultralytics evaluates; a stripped
     * one has only `model`; a torch.save(state_dict) has bare keys. */
    const char *prefix = has_prefix(s->pth, "ema.model.") ? "ema." : has_prefix(s->pth, "model.model.") ? "model." : "";
    s->prefix = prefix;
    size_t len = strlen(prefix), count = pth_count(s->pth);
    s->items = calloc(count + 1, sizeof *s->items);
    if (!s->items)
        return lab_err(LAB_EINTERNAL, NULL, "out of memory reading %s", path);
    for (size_t i = 0; i < count; i++) {
        const struct pth_tensor *t = pth_at(s->pth, i);
        if (strncmp(t->name, prefix, len) != 0)
            continue;
        int dt = weights_ts_dtype(t->dtype);
        if (dt < 0)
            return lab_err(LAB_EUSAGE, "save the weights as float32 or float16",
                           "tensor %s of %s has dtype %s, which lab cannot load", t->name, path,
                           st_dtype_name(t->dtype));
        struct ts_host_tensor *h = &s->items[s->n++];
        *h = (struct ts_host_tensor){.name = t->name + len, .dtype = dt, .ndim = t->ndim, .data = t->data,
                                     .nbytes = t->nbytes};
        memcpy(h->shape, t->shape, sizeof h->shape);
    }
    return LAB_OK;
}

static const struct ts_host_tensor *find(const struct source *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->items[i].name, name))
            return &s->items[i];
    return NULL;
}

int yolov8_load(const char *path, struct model **out)
{
    *out = NULL;
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return lab_err(LAB_EUSAGE, "give a weights file: an Ultralytics yolov8*.pt or a .safetensors",
                       "%s is a directory, not YOLOv8 weights", path);
    struct source s = {0};
    int rc = is_zip(path) ? open_pth(path, &s) : st_open(path, &s.st);
    if (!rc && s.st)
        rc = weights_host_view(s.st, NULL, &s.items, &s.n);
    const struct ts_host_tensor *stem = rc ? NULL : find(&s, "model.0.conv.weight"),
                                *cls = rc ? NULL : find(&s, "model.22.cv3.0.2.bias");
    if (!rc && (!stem || !cls || stem->ndim != 4 || cls->ndim != 1))
        rc = lab_err(LAB_EUSAGE,
                     "give YOLOv8 weights: an Ultralytics yolov8*.pt, or safetensors with its state-dict keys "
                     "(docs/labs/2.2.3.md)",
                     "%s holds no YOLOv8 detection model (no model.0.conv.weight / model.22.cv3.0.2.bias)", path);
    char scale = 0;
    if (!rc) {
        static const struct {
            int64_t width;
            char scale;
        } stems[] = {{16, 'n'}, {32, 's'}, {48, 'm'}, {64, 'l'}, {80, 'x'}};
        for (size_t i = 0; i < sizeof stems / sizeof stems[0]; i++)
            if (stems[i].width == stem->shape[0])
                scale = stems[i].scale;
        if (!scale)
            rc = lab_err(LAB_EUSAGE, "give the weights of yolov8n, s, m, l or x",
                         "%s: model.0 is %lld channels wide, which is none of YOLOv8 n/s/m/l/x (16/32/48/64/80)",
                         path, (long long)stem->shape[0]);
    }
    struct model *m = NULL;
    if (!rc)
        rc = yolov8_create(scale, (int)cls->shape[0], &m);
    if (!rc) {
        struct ts_load_report rep = {0};
        int trc = ts_params_load_host(m->params, s.items, s.n, 1, &rep);
        if (trc != TS_OK) {
            char detail[1536] = "";
            weights_append_names(detail, sizeof detail, "missing", rep.missing, TS_REPORT_MAX, rep.n_missing);
            weights_append_names(detail, sizeof detail, "unexpected", rep.unexpected, TS_REPORT_MAX,
                                 rep.n_unexpected);
            weights_append_names(detail, sizeof detail, "mis-shaped", rep.mismatched, TS_REPORT_MAX,
                                 rep.n_mismatched);
            rc = lab_err(LAB_EUSAGE,
                         "the file must hold a YOLOv8 state dict as Ultralytics names it (lab explain "
                         "TS-STATE-DICT-MISMATCH)",
                         "%s does not fit %s: %s", path, m->name, detail[0] ? detail : ts_last_error());
        }
        ts_load_report_free(&rep);
    }
    if (!rc && s.pth) {
        /* the checkpoint's own SPPF: SiLU, or Identity from Ultralytics 8.4 on */
        char key[64];
        snprintf(key, sizeof key, "%smodel.9.cv1.act", s.prefix);
        const char *act = pth_module_class(s.pth, key);
        if (act && strcmp(act, "Identity") == 0)
            yolov8_set_sppf_act(m, 0);
        else if (act && strcmp(act, "SiLU") != 0)
            rc = lab_err(LAB_EUSAGE, "give a YOLOv8 checkpoint as Ultralytics saves it",
                         "%s: model.9.cv1.act is a %s, not SiLU or Identity", path, act);
    }
    source_close(&s);
    if (rc) {
        model_free(m);
        return rc;
    }
    *out = m;
    return LAB_OK;
}
