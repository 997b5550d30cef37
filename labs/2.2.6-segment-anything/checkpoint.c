#include "labs/2.2.6-segment-anything/checkpoint.h"

#include "base/error.h"
#include "labs/models/nn.h"
#include "labs/models/sam.h"
#include "labs/models/weights.h"
#include "shim/pth.h"
#include "shim/safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct ts_host_tensor *find(const struct ts_host_tensor *t, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(t[i].name, name))
            return &t[i];
    return NULL;
}

static int infer(const char *path, const struct ts_host_tensor *t, size_t n, struct sam_config *c)
{
    const struct ts_host_tensor *pos = find(t, n, "image_encoder.pos_embed");
    if (!pos || pos->ndim != 4 || pos->shape[3] < 1)
        return lab_err(LAB_EUSAGE, "use a Segment Anything checkpoint such as sam_vit_b_01ec64.pth (`lab fetch sam-vit-b`)",
                       "%s has no image_encoder.pos_embed [1, 64, 64, C]: not a SAM state dict", path);
    /* The grid, patch and window follow from the shapes, so a small SAM
     * (lab 2.2.6's quick one: 8x8 grid, patch 8, window 4) loads as the
     * official ones (64x64, 16, 14) do. */
    const struct ts_host_tensor *proj = find(t, n, "image_encoder.patch_embed.proj.weight");
    int C = (int)pos->shape[3], grid = (int)pos->shape[1], depth = 0, hd = 0, window = 0, n_global = 0,
        global[SAM_MAX_GLOBAL];
    if (!proj || proj->ndim != 4 || proj->shape[2] < 1 || proj->shape[2] != proj->shape[3] || pos->shape[2] != grid)
        return lab_err(LAB_EUSAGE, "use a Segment Anything checkpoint such as sam_vit_b_01ec64.pth (`lab fetch sam-vit-b`)",
                       "%s: no square image_encoder.patch_embed.proj.weight and pos_embed grid", path);
    char name[128];
    for (;;) {
        snprintf(name, sizeof name, "image_encoder.blocks.%d.attn.rel_pos_h", depth);
        const struct ts_host_tensor *r = find(t, n, name);
        if (!r || r->ndim != 2 || depth == SAM_MAX_DEPTH)
            break;
        hd = (int)r->shape[1];
        if (r->shape[0] == 2 * grid - 1 && n_global < SAM_MAX_GLOBAL)
            global[n_global++] = depth;
        else
            window = (int)(r->shape[0] + 1) / 2;
        depth++;
    }
    if (depth == 0 || hd < 1 || C % hd)
        return lab_err(LAB_EUSAGE, "use a Segment Anything checkpoint (relative positions in every block)",
                       "%s: no image_encoder.blocks.N.attn.rel_pos_h that fits width %d", path, C);
    sam_config_custom(c, C, depth, C / hd, n_global, global);
    c->patch = (int)proj->shape[2];
    c->img_size = grid * c->patch;
    if (window > 0)
        c->window = window;
    return sam_config_check(c);
}

static int load_items(const char *path, const struct ts_host_tensor *t, size_t n, struct model **out)
{
    struct sam_config c;
    LAB_TRY(infer(path, t, n, &c));
    struct model *m = NULL;
    LAB_TRY(sam_new(&c, &m));
    struct ts_load_report rep = {0};
    int rc = ts_params_load_host(m->params, t, n, 1, &rep);
    if (rc != TS_OK) {
        char buf[1024] = "";
        weights_append_names(buf, sizeof buf, "missing", rep.missing, rep.n_missing < TS_REPORT_MAX ? rep.n_missing : TS_REPORT_MAX, rep.n_missing);
        weights_append_names(buf, sizeof buf, "unexpected", rep.unexpected, rep.n_unexpected < TS_REPORT_MAX ? rep.n_unexpected : TS_REPORT_MAX, rep.n_unexpected);
        weights_append_names(buf, sizeof buf, "mis-shaped", rep.mismatched, rep.n_mismatched < TS_REPORT_MAX ? rep.n_mismatched : TS_REPORT_MAX, rep.n_mismatched);
        ts_load_report_free(&rep);
        model_free(m);
        return lab_err(LAB_EUSAGE, "use the official checkpoint unchanged (a plain state dict)",
                       "%s does not load into SAM (width %d, depth %d): %s", path, c.embed_dim, c.depth, buf);
    }
    ts_load_report_free(&rep);
    *out = m;
    return LAB_OK;
}

int sam_checkpoint_load(const char *path, struct model **out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return lab_err(LAB_EENV, "download it with `lab fetch sam-vit-b` (or pass the path of sam_vit_b_01ec64.pth)",
                       "cannot open the SAM checkpoint %s", path);
    unsigned char magic[2] = {0};
    size_t got = fread(magic, 1, 2, f);
    fclose(f);
    int rc;
    if (got == 2 && magic[0] == 'P' && magic[1] == 'K') {
        pth_file *p = NULL;
        LAB_TRY(pth_load(path, &p));
        size_t n = pth_count(p);
        struct ts_host_tensor *t = calloc(n ? n : 1, sizeof *t);
        if (!t) {
            pth_free(p);
            return lab_err(LAB_EINTERNAL, NULL, "out of memory reading %s", path);
        }
        rc = LAB_OK;
        for (size_t i = 0; i < n && !rc; i++) {
            const struct pth_tensor *s = pth_at(p, i);
            int dt = weights_ts_dtype(s->dtype);
            if (dt < 0)
                rc = lab_err(LAB_EUSAGE, NULL, "%s: tensor %s has an unsupported dtype", path, s->name);
            t[i] = (struct ts_host_tensor){.name = s->name, .dtype = dt, .ndim = s->ndim, .data = s->data,
                                           .nbytes = s->nbytes};
            memcpy(t[i].shape, s->shape, sizeof t[i].shape);
        }
        if (!rc)
            rc = load_items(path, t, n, out);
        free(t);
        pth_free(p);
        return rc;
    }
    st_file *s = NULL;
    LAB_TRY(st_open(path, &s));
    struct ts_host_tensor *t = NULL;
    size_t n = 0;
    rc = weights_host_view(s, NULL, &t, &n);
    if (!rc)
        rc = load_items(path, t, n, out);
    free(t);
    st_close(s);
    return rc;
}
