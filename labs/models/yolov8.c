#include "labs/models/yolov8.h"

#include "base/error.h"
#include "labs/models/nn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Ultralytics' Conv: conv (no bias, padding k/2) -> BN -> SiLU. */
struct yconv {
    struct nn_conv conv;
    struct nn_bn bn;
};

#define C2F_MAX 6 /* deepest C2f: 6 Bottlenecks (l, x backbone) */
struct c2f {
    struct yconv cv1, cv2;
    struct yconv m[C2F_MAX][2];
    int n, shortcut;
};

struct sppf {
    struct yconv cv1, cv2;
    int cv1_identity; /* Ultralytics 8.4+: no SiLU after cv1 */
};

struct detect {
    struct yconv box[3][2], cls[3][2];
    struct nn_conv box_out[3], cls_out[3];
    ts_tensor *dfl; /* [1, 16, 1, 1], 0..15, frozen */
};

struct yolov8 {
    struct yconv conv[YOLOV8_LAYERS];  /* layers 0, 1, 3, 5, 7, 16, 19 */
    struct c2f c2f[YOLOV8_LAYERS];     /* layers 2, 4, 6, 8, 12, 15, 18, 21 */
    struct sppf sppf;                  /* layer 9 */
    struct detect head;                /* layer 22 */
    int nc;
};

static const struct {
    char scale;
    double depth, width;
    int max_ch;
} kScales[] = {
    {'n', 0.33, 0.25, 1024}, {'s', 0.33, 0.50, 1024}, {'m', 0.67, 0.75, 768},
    {'l', 1.00, 1.00, 512},  {'x', 1.00, 1.25, 512},
};

static const int kStrides[3] = {8, 16, 32};

/* parse_model's width rule: make_divisible(min(c, max_channels) * width, 8). */
static int64_t width_of(int64_t c, double width, int max_ch)
{
    double v = (double)(c < max_ch ? c : max_ch) * width;
    return (int64_t)ceil(v / 8.0) * 8;
}

/* parse_model's depth rule: max(round(n * depth), 1) for n > 1. */
static int depth_of(int n, double depth)
{
    if (n <= 1)
        return n;
    int d = (int)lround((double)n * depth);
    return d < 1 ? 1 : d;
}

static int yconv_init(ts_params *p, const char *prefix, int64_t cin, int64_t cout, int k, int stride,
                      struct yconv *c)
{
    char name[128];
    snprintf(name, sizeof name, "%s.conv", prefix);
    LAB_TRY(nn_conv_init(p, name, cin, cout, k, stride, k / 2, 0, &c->conv));
    snprintf(name, sizeof name, "%s.bn", prefix);
    LAB_TRY(nn_bn_init(p, name, cout, &c->bn));
    /* initialize_weights in utils/torch_utils.py */
    c->bn.eps = 1e-3;
    c->bn.momentum = 0.03;
    return LAB_OK;
}

/* The forward frees each intermediate handle as soon as its consumer has
 * run (autograd keeps what it saved): held to the end of the scope, a batch
 * of 8 at 640 peaks near 2 GB and every layer's output lands in freshly
 * faulted pages instead of the ones the previous layer just released. */
static int yconv_fwd(const struct yconv *c, const ts_tensor *x, int training, ts_tensor **y)
{
    ts_tensor *h, *n;
    LAB_TRY(nn_conv_fwd(&c->conv, x, &h));
    int rc = nn_bn_fwd(&c->bn, h, training, &n);
    ts_tensor_free(h);
    LAB_TRY(rc);
    if (!training && !ts_grad_enabled()) { /* nothing else reads the BN output */
        NN_TRY(ts_silu_(n));
        *y = n;
        return LAB_OK;
    }
    rc = ts_silu(y, n);
    ts_tensor_free(n);
    NN_TRY(rc);
    return LAB_OK;
}

static int c2f_init(ts_params *p, const char *prefix, int64_t cin, int64_t cout, int n, int shortcut, struct c2f *b)
{
    char name[128];
    int64_t c = cout / 2;
    if (n > C2F_MAX)
        return lab_err(LAB_EINTERNAL, NULL, "%s: %d Bottlenecks, at most %d", prefix, n, C2F_MAX);
    b->n = n;
    b->shortcut = shortcut;
    snprintf(name, sizeof name, "%s.cv1", prefix);
    LAB_TRY(yconv_init(p, name, cin, 2 * c, 1, 1, &b->cv1));
    snprintf(name, sizeof name, "%s.cv2", prefix);
    LAB_TRY(yconv_init(p, name, (2 + n) * c, cout, 1, 1, &b->cv2));
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, "%s.m.%d.cv1", prefix, i);
        LAB_TRY(yconv_init(p, name, c, c, 3, 1, &b->m[i][0]));
        snprintf(name, sizeof name, "%s.m.%d.cv2", prefix, i);
        LAB_TRY(yconv_init(p, name, c, c, 3, 1, &b->m[i][1]));
    }
    return LAB_OK;
}

static int c2f_fwd(const struct c2f *b, const ts_tensor *x, int training, ts_tensor **y)
{
    ts_tensor *h, *parts[2 + C2F_MAX];
    int got;
    LAB_TRY(yconv_fwd(&b->cv1, x, training, &h));
    int rc = ts_chunk(parts, 2, &got, h, 2, 1);
    ts_tensor_free(h);
    NN_TRY(rc);
    for (int i = 0; i < b->n; i++) {
        ts_tensor *t1, *t2;
        LAB_TRY(yconv_fwd(&b->m[i][0], parts[1 + i], training, &t1));
        rc = yconv_fwd(&b->m[i][1], t1, training, &t2);
        ts_tensor_free(t1);
        LAB_TRY(rc);
        if (b->shortcut) {
            ts_tensor *sum;
            rc = ts_add(&sum, parts[1 + i], t2);
            ts_tensor_free(t2);
            NN_TRY(rc);
            t2 = sum;
        }
        parts[2 + i] = t2;
    }
    ts_tensor *cat;
    rc = ts_cat(&cat, (const ts_tensor *const *)parts, 2 + b->n, 1);
    for (int i = 0; i < 2 + b->n; i++)
        ts_tensor_free(parts[i]);
    NN_TRY(rc);
    rc = yconv_fwd(&b->cv2, cat, training, y);
    ts_tensor_free(cat);
    return rc;
}

static int sppf_fwd(const struct sppf *s, const ts_tensor *x, int training, ts_tensor **y)
{
    static const int64_t k[2] = {5, 5}, st[2] = {1, 1}, pad[2] = {2, 2};
    ts_tensor *parts[4];
    if (s->cv1_identity) {
        ts_tensor *h;
        LAB_TRY(nn_conv_fwd(&s->cv1.conv, x, &h));
        int rc = nn_bn_fwd(&s->cv1.bn, h, training, &parts[0]);
        ts_tensor_free(h);
        LAB_TRY(rc);
    } else {
        LAB_TRY(yconv_fwd(&s->cv1, x, training, &parts[0]));
    }
    for (int i = 1; i < 4; i++)
        NN_TRY(ts_max_pool2d(&parts[i], parts[i - 1], k, st, pad, 0));
    ts_tensor *cat;
    int rc = ts_cat(&cat, (const ts_tensor *const *)parts, 4, 1);
    for (int i = 0; i < 4; i++)
        ts_tensor_free(parts[i]);
    NN_TRY(rc);
    rc = yconv_fwd(&s->cv2, cat, training, y);
    ts_tensor_free(cat);
    return rc;
}

static int detect_init(ts_params *p, const int64_t ch[3], int nc, struct detect *d)
{
    char name[128];
    int64_t c2 = ch[0] / 4, c3 = ch[0];
    if (c2 < 16)
        c2 = 16;
    if (c2 < 4 * YOLOV8_REG_MAX)
        c2 = 4 * YOLOV8_REG_MAX;
    if (c3 < (nc < 100 ? nc : 100))
        c3 = nc < 100 ? nc : 100;
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "model.22.cv2.%d.0", i);
        LAB_TRY(yconv_init(p, name, ch[i], c2, 3, 1, &d->box[i][0]));
        snprintf(name, sizeof name, "model.22.cv2.%d.1", i);
        LAB_TRY(yconv_init(p, name, c2, c2, 3, 1, &d->box[i][1]));
        snprintf(name, sizeof name, "model.22.cv2.%d.2", i);
        LAB_TRY(nn_conv_init(p, name, c2, 4 * YOLOV8_REG_MAX, 1, 1, 0, 1, &d->box_out[i]));
    }
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "model.22.cv3.%d.0", i);
        LAB_TRY(yconv_init(p, name, ch[i], c3, 3, 1, &d->cls[i][0]));
        snprintf(name, sizeof name, "model.22.cv3.%d.1", i);
        LAB_TRY(yconv_init(p, name, c3, c3, 3, 1, &d->cls[i][1]));
        snprintf(name, sizeof name, "model.22.cv3.%d.2", i);
        LAB_TRY(nn_conv_init(p, name, c3, nc, 1, 1, 0, 1, &d->cls_out[i]));
    }
    int64_t dshape[4] = {1, YOLOV8_REG_MAX, 1, 1};
    LAB_TRY(nn_add_tensor(p, "model.22.dfl.conv", "weight", TS_PARAM, 4, dshape, TS_F32, 0, 0, &d->dfl));
    /* Detect.bias_init: box bias 1, class bias log(5 / nc / (640 / s)^2);
     * DFL weights 0..15, never trained. */
    int prev = ts_no_grad_push();
    ts_tensor *bins = NULL, *bins4 = NULL;
    int rc = ts_arange(&bins, 0, YOLOV8_REG_MAX, 1, TS_F32, TS_CPU);
    if (rc == TS_OK)
        rc = ts_reshape(&bins4, bins, 4, dshape);
    if (rc == TS_OK)
        rc = ts_copy_(d->dfl, bins4);
    for (int i = 0; i < 3 && rc == TS_OK; i++) {
        double s = kStrides[i];
        rc = ts_fill_(d->box_out[i].b, 1.0);
        if (rc == TS_OK)
            rc = ts_fill_(d->cls_out[i].b, log(5.0 / nc / ((640.0 / s) * (640.0 / s))));
    }
    if (rc == TS_OK)
        rc = ts_set_requires_grad(d->dfl, 0);
    ts_tensor_free(bins4);
    ts_tensor_free(bins);
    ts_grad_mode_pop(prev);
    return rc == TS_OK ? LAB_OK : nn_fail(rc, "Detect init");
}

static int detect_raw(const struct detect *d, int i, const ts_tensor *x, int training, ts_tensor **y)
{
    ts_tensor *b1, *b2, *b3, *c1, *c2, *c3;
    LAB_TRY(yconv_fwd(&d->box[i][0], x, training, &b1));
    int rc = yconv_fwd(&d->box[i][1], b1, training, &b2);
    ts_tensor_free(b1);
    LAB_TRY(rc);
    rc = nn_conv_fwd(&d->box_out[i], b2, &b3);
    ts_tensor_free(b2);
    LAB_TRY(rc);
    LAB_TRY(yconv_fwd(&d->cls[i][0], x, training, &c1));
    rc = yconv_fwd(&d->cls[i][1], c1, training, &c2);
    ts_tensor_free(c1);
    LAB_TRY(rc);
    rc = nn_conv_fwd(&d->cls_out[i], c2, &c3);
    ts_tensor_free(c2);
    LAB_TRY(rc);
    const ts_tensor *both[2] = {b3, c3};
    rc = ts_cat(y, both, 2, 1);
    ts_tensor_free(b3);
    ts_tensor_free(c3);
    NN_TRY(rc);
    return LAB_OK;
}

int yolov8_decode(const struct model *m, ts_tensor *const raw[3], ts_tensor **y)
{
    const struct yolov8 *net = m->net;
    int64_t nb = ts_size(raw[0], 0), no = 4 * YOLOV8_REG_MAX + net->nc, total = 0;
    for (int i = 0; i < 3; i++) {
        if (ts_dim(raw[i]) != 4 || ts_size(raw[i], 0) != nb || ts_size(raw[i], 1) != no)
            return lab_err(LAB_EINTERNAL, NULL, "YOLOv8 decode: raw map %d is not [%lld, %lld, H, W]", i,
                           (long long)nb, (long long)no);
        total += ts_size(raw[i], 2) * ts_size(raw[i], 3);
    }
    /* make_anchors: cell centres (column + 0.5, row + 0.5), level by level. */
    float *anc = malloc(sizeof(float) * (size_t)total * 3);
    if (!anc)
        return lab_err(LAB_EENV, NULL, "out of memory for %lld anchors", (long long)total);
    int64_t a = 0;
    for (int i = 0; i < 3; i++)
        for (int64_t r = 0; r < ts_size(raw[i], 2); r++)
            for (int64_t c = 0; c < ts_size(raw[i], 3); c++, a++) {
                anc[a] = (float)c + 0.5f;
                anc[total + a] = (float)r + 0.5f;
                anc[2 * total + a] = (float)kStrides[i];
            }
    ts_tensor *anchors = NULL, *ahost;
    int64_t ashape[3] = {3, 1, total};
    int rc = ts_from_host(&ahost, anc, TS_F32, 3, ashape, ts_device_of(raw[0]));
    free(anc);
    if (rc == TS_OK)
        rc = ts_to(&anchors, ahost, ts_device_of(raw[0]), ts_dtype(raw[0]));
    if (rc != TS_OK)
        return nn_fail(rc, "YOLOv8 anchors");

    ts_tensor *flat[3], *cat, *box, *cls, *parts[2], *dist, *prob, *w, *wsum, *pt[2], *anc_xy, *stride;
    int got;
    for (int i = 0; i < 3; i++) {
        int64_t s[3] = {nb, no, -1};
        NN_TRY(ts_reshape(&flat[i], raw[i], 3, s));
    }
    NN_TRY(ts_cat(&cat, (const ts_tensor *const *)flat, 3, 2));
    NN_TRY(ts_narrow(&box, cat, 1, 0, 4 * YOLOV8_REG_MAX));
    NN_TRY(ts_narrow(&cls, cat, 1, 4 * YOLOV8_REG_MAX, net->nc));
    /* DFL: softmax over the 16 bins of each side, then the expected bin. */
    int64_t s4[4] = {nb, 4, YOLOV8_REG_MAX, total}, ws[4] = {1, 1, YOLOV8_REG_MAX, 1};
    NN_TRY(ts_reshape(&dist, box, 4, s4));
    NN_TRY(ts_softmax(&prob, dist, 2));
    ts_tensor *dfl_w;
    NN_TRY(ts_to(&dfl_w, net->head.dfl, ts_device_of(prob), ts_dtype(prob)));
    NN_TRY(ts_reshape(&w, dfl_w, 4, ws));
    NN_TRY(ts_mul(&wsum, prob, w));
    NN_TRY(ts_sum(&wsum, wsum, 2, 0)); /* [B, 4, A]: l, t, r, b */
    NN_TRY(ts_chunk(pt, 2, &got, wsum, 2, 1));
    NN_TRY(ts_narrow(&anc_xy, anchors, 0, 0, 2));
    NN_TRY(ts_reshape(&anc_xy, anc_xy, 3, (int64_t[]){1, 2, total}));
    NN_TRY(ts_narrow(&stride, anchors, 0, 2, 1));
    NN_TRY(ts_reshape(&stride, stride, 2, (int64_t[]){1, total}));
    ts_tensor *x1y1, *x2y2, *cxy, *wh, *xywh, *scaled, *scores;
    NN_TRY(ts_sub(&x1y1, anc_xy, pt[0]));
    NN_TRY(ts_add(&x2y2, anc_xy, pt[1]));
    NN_TRY(ts_add(&cxy, x1y1, x2y2));
    NN_TRY(ts_mul_scalar(&cxy, cxy, 0.5));
    NN_TRY(ts_sub(&wh, x2y2, x1y1));
    const ts_tensor *cw[2] = {cxy, wh};
    NN_TRY(ts_cat(&xywh, cw, 2, 1));
    NN_TRY(ts_mul(&scaled, xywh, stride));
    NN_TRY(ts_sigmoid(&scores, cls));
    parts[0] = scaled;
    parts[1] = scores;
    NN_TRY(ts_cat(y, (const ts_tensor *const *)parts, 2, 1));
    return LAB_OK;
}

/* The layer after which each layer's output has no further reader (22: the
 * Detect head). */
static const int kLastReader[YOLOV8_LAYERS - 1] = {1,  2,  3,  4,  14, 6,  11, 8,  9,  20, 11,
                                                    12, 17, 14, 15, 22, 17, 18, 22, 20, 21, 22};

/* Frees the outputs whose last reader is layer `done`, unless the caller
 * asked for every layer's output. */
static void release_after(ts_tensor *o[], int done, int keep)
{
    for (int i = 0; !keep && i < YOLOV8_LAYERS - 1; i++)
        if (kLastReader[i] == done) {
            ts_tensor_free(o[i]);
            o[i] = NULL;
        }
}

int yolov8_forward(struct model *m, const ts_tensor *x, int training, ts_tensor **y, ts_tensor *raw[3],
                   ts_tensor *layers[YOLOV8_LAYERS - 1])
{
    const struct yolov8 *n = m->net;
    ts_tensor *o[YOLOV8_LAYERS] = {0};
    if (ts_dim(x) != 4 || ts_size(x, 1) != 3 || ts_size(x, 2) % 32 || ts_size(x, 3) % 32)
        return lab_err(LAB_EUSAGE, "letterbox the images to a multiple of 32 on both sides (lab predict does)",
                       "YOLOv8 takes [B, 3, H, W] with H and W multiples of 32");
    int keep = layers != NULL;
    LAB_TRY(yconv_fwd(&n->conv[0], x, training, &o[0]));
    for (int L = 1; L <= 9; L++) {
        if (L == 9)
            LAB_TRY(sppf_fwd(&n->sppf, o[8], training, &o[9]));
        else if (L % 2)
            LAB_TRY(yconv_fwd(&n->conv[L], o[L - 1], training, &o[L]));
        else
            LAB_TRY(c2f_fwd(&n->c2f[L], o[L - 1], training, &o[L]));
        release_after(o, L, keep);
    }
    static const int up_cat[][3] = {{10, 9, 6}, {13, 12, 4}}; /* upsample layer, its input, concat partner */
    static const int down[][3] = {{16, 15, 12}, {19, 18, 9}}; /* conv layer, its input, concat partner */
    for (int k = 0; k < 2; k++) {
        int u = up_cat[k][0];
        NN_TRY(ts_interpolate(&o[u], o[up_cat[k][1]], 2 * ts_size(o[up_cat[k][1]], 2),
                              2 * ts_size(o[up_cat[k][1]], 3), TS_NEAREST, 0));
        release_after(o, u, keep);
        const ts_tensor *pair[2] = {o[u], o[up_cat[k][2]]};
        NN_TRY(ts_cat(&o[u + 1], pair, 2, 1));
        release_after(o, u + 1, keep);
        LAB_TRY(c2f_fwd(&n->c2f[u + 2], o[u + 1], training, &o[u + 2]));
        release_after(o, u + 2, keep);
    }
    for (int k = 0; k < 2; k++) {
        int c = down[k][0];
        LAB_TRY(yconv_fwd(&n->conv[c], o[down[k][1]], training, &o[c]));
        release_after(o, c, keep);
        const ts_tensor *pair[2] = {o[c], o[down[k][2]]};
        NN_TRY(ts_cat(&o[c + 1], pair, 2, 1));
        release_after(o, c + 1, keep);
        LAB_TRY(c2f_fwd(&n->c2f[c + 2], o[c + 1], training, &o[c + 2]));
        release_after(o, c + 2, keep);
    }
    ts_tensor *maps[3];
    static const int feeds[3] = {15, 18, 21};
    for (int i = 0; i < 3; i++)
        LAB_TRY(detect_raw(&n->head, i, o[feeds[i]], training, &maps[i]));
    release_after(o, 22, keep);
    for (int i = 0; raw && i < 3; i++)
        raw[i] = maps[i];
    for (int i = 0; layers && i < YOLOV8_LAYERS - 1; i++)
        layers[i] = o[i];
    if (y) {
        *y = NULL;
        if (!training)
            LAB_TRY(yolov8_decode(m, maps, y));
    }
    return LAB_OK;
}

/* "pixel_values" -> "preds" [B, 4 + nc, A] (eval only) and the raw maps
 * "raw0", "raw1", "raw2" (strides 8, 16, 32). */
static int yolov8_forward_named(struct model *m, const struct model_tensors *in, int training,
                                struct model_tensors *out)
{
    ts_tensor *x = model_tensors_get(in, "pixel_values"), *y = NULL, *raw[3];
    if (!x)
        return lab_err(LAB_EINTERNAL, NULL, "YOLOv8 needs a \"pixel_values\" input");
    LAB_TRY(yolov8_forward(m, x, training, &y, raw, NULL));
    if (y)
        LAB_TRY(model_tensors_add(out, "preds", y));
    LAB_TRY(model_tensors_add(out, "raw0", raw[0]));
    LAB_TRY(model_tensors_add(out, "raw1", raw[1]));
    return model_tensors_add(out, "raw2", raw[2]);
}

char yolov8_scale_of(const char *name)
{
    if (!name || strncmp(name, "yolov8", 6) != 0 || strlen(name) != 7)
        return 0;
    for (size_t i = 0; i < sizeof kScales / sizeof kScales[0]; i++)
        if (kScales[i].scale == name[6])
            return name[6];
    return 0;
}

int yolov8_num_classes(const struct model *m) { return ((const struct yolov8 *)m->net)->nc; }

int yolov8_set_sppf_act(struct model *m, int silu)
{
    ((struct yolov8 *)m->net)->sppf.cv1_identity = !silu;
    return LAB_OK;
}

static int build(struct yolov8 *n, ts_params *p, double dep, double wid, int max_ch)
{
    char pre[32];
#define W(c) width_of((c), wid, max_ch)
#define D(k) depth_of((k), dep)
    static const struct {
        int layer, kind, from, out, depth, shortcut; /* kind 0 Conv k3 s2, 1 C2f */
    } spec[] = {
        {0, 0, -1, 64, 1, 0},    {1, 0, 0, 128, 1, 0},    {2, 1, 1, 128, 3, 1},    {3, 0, 2, 256, 1, 0},
        {4, 1, 3, 256, 6, 1},    {5, 0, 4, 512, 1, 0},    {6, 1, 5, 512, 6, 1},    {7, 0, 6, 1024, 1, 0},
        {8, 1, 7, 1024, 3, 1},   {12, 1, 11, 512, 3, 0},  {15, 1, 14, 256, 3, 0},  {16, 0, 15, 256, 1, 0},
        {18, 1, 17, 512, 3, 0},  {19, 0, 18, 512, 1, 0},  {21, 1, 20, 1024, 3, 0},
    };
    int64_t ch[YOLOV8_LAYERS];
    for (size_t k = 0; k < sizeof spec / sizeof spec[0]; k++) {
        int L = spec[k].layer;
        if (L == 12 || L == 15 || L == 18 || L == 21) {
            /* the Upsample / Concat layers before them */
            if (L == 12) {
                ch[9] = W(1024);
                LAB_TRY(yconv_init(p, "model.9.cv1", ch[8], ch[8] / 2, 1, 1, &n->sppf.cv1));
                LAB_TRY(yconv_init(p, "model.9.cv2", ch[8] / 2 * 4, ch[9], 1, 1, &n->sppf.cv2));
                ch[10] = ch[9];
                ch[11] = ch[10] + ch[6];
            } else if (L == 15) {
                ch[13] = ch[12];
                ch[14] = ch[13] + ch[4];
            } else if (L == 18) {
                ch[17] = ch[16] + ch[12];
            } else {
                ch[20] = ch[19] + ch[9];
            }
        }
        int64_t cin = spec[k].from < 0 ? 3 : ch[spec[k].from];
        ch[L] = W(spec[k].out);
        snprintf(pre, sizeof pre, "model.%d", L);
        if (spec[k].kind == 0)
            LAB_TRY(yconv_init(p, pre, cin, ch[L], 3, 2, &n->conv[L]));
        else
            LAB_TRY(c2f_init(p, pre, cin, ch[L], D(spec[k].depth), spec[k].shortcut, &n->c2f[L]));
    }
#undef W
#undef D
    int64_t det_ch[3] = {ch[15], ch[18], ch[21]};
    return detect_init(p, det_ch, n->nc, &n->head);
}

int yolov8_create_scaled(double depth, double width, int num_classes, struct model **out)
{
    *out = NULL;
    if (!(depth > 0 && depth <= 1.5 && width > 0 && width <= 1.5))
        return lab_err(LAB_EUSAGE, "use a depth and width multiple in (0, 1.5] (yolov8n is 0.33 and 0.25)",
                       "YOLOv8 depth %g width %g", depth, width);
    if (num_classes < 1 || num_classes > 4096)
        return lab_err(LAB_EUSAGE, "give between 1 and 4096 classes", "YOLOv8 with %d classes", num_classes);
    struct model *m;
    LAB_TRY(model_new("yolov8", sizeof(struct yolov8), &m));
    struct yolov8 *n = m->net;
    n->nc = num_classes;
    m->forward_named = yolov8_forward_named;
    int rc = build(n, m->params, depth, width, 1024);
    if (rc) {
        model_free(m);
        return rc;
    }
    *out = m;
    return LAB_OK;
}

int yolov8_create(char scale, int num_classes, struct model **out)
{
    *out = NULL;
    int s = -1;
    for (size_t i = 0; i < sizeof kScales / sizeof kScales[0]; i++)
        if (kScales[i].scale == scale)
            s = (int)i;
    if (s < 0)
        return lab_err(LAB_EUSAGE, "use one of yolov8n, yolov8s, yolov8m, yolov8l, yolov8x",
                       "no YOLOv8 scale '%c'", scale);
    if (num_classes < 1 || num_classes > 4096)
        return lab_err(LAB_EUSAGE, "give between 1 and 4096 classes", "YOLOv8 with %d classes", num_classes);
    char name[16];
    snprintf(name, sizeof name, "yolov8%c", scale);
    struct model *m;
    LAB_TRY(model_new(name, sizeof(struct yolov8), &m));
    struct yolov8 *n = m->net;
    n->nc = num_classes;
    m->forward_named = yolov8_forward_named;
    int rc = build(n, m->params, kScales[s].depth, kScales[s].width, kScales[s].max_ch);
    if (rc) {
        model_free(m);
        return rc;
    }
    *out = m;
    return LAB_OK;
}
