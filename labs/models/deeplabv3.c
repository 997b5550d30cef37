#include "labs/models/deeplabv3.h"

#include "base/error.h"
#include "labs/models/layers.h"

#include <math.h>
#include <stdio.h>

struct bottleneck {
    struct nn_conv conv1, conv2, conv3, down;
    struct nn_bn bn1, bn2, bn3, down_bn;
    int has_down;
};

enum { BLOCKS = 3 + 4 + 6 + 3, ASPP_RATES = 3 };

struct deeplabv3 {
    struct nn_conv conv1;
    struct nn_bn bn1;
    struct bottleneck blocks[BLOCKS];
    /* classifier.0 (ASPP): convs.0 1x1, convs.1-3 dilated 3x3, convs.4 pooling; project */
    struct nn_conv aspp[5], project, head_conv, head_out;
    struct nn_bn aspp_bn[5], project_bn, head_bn;
    struct nn_conv aux_conv, aux_out;
    struct nn_bn aux_bn;
};

static const int layer_blocks[4] = {3, 4, 6, 3};

/* torchvision's ResNet init: kaiming_normal_(mode="fan_out", relu). */
static int conv_kaiming(ts_params *p, const char *prefix, int64_t cin, int64_t cout, int k, int stride, int pad,
                        int dil, struct nn_conv *c)
{
    struct nn_conv_opts o = {.stride = stride, .pad = pad, .dil = dil};
    LAB_TRY(nn_conv_init_ex(p, prefix, cin, cout, k, &o, c));
    NN_TRY(ts_normal_(c->w, 0.0, sqrt(2.0 / (double)(cout * k * k))));
    return LAB_OK;
}

static int conv_bn_init(ts_params *p, const char *conv, const char *bn, int64_t cin, int64_t cout, int k,
                        int stride, int dil, int kaiming, struct nn_conv *c, struct nn_bn *b)
{
    int pad = k == 3 ? dil : 0;
    if (kaiming)
        LAB_TRY(conv_kaiming(p, conv, cin, cout, k, stride, pad, dil, c));
    else {
        struct nn_conv_opts o = {.stride = stride, .pad = pad, .dil = dil};
        LAB_TRY(nn_conv_init_ex(p, conv, cin, cout, k, &o, c));
    }
    return nn_bn_init(p, bn, cout, b);
}

static int bottleneck_init(ts_params *p, const char *prefix, int64_t cin, int64_t planes, int stride, int dil,
                           struct bottleneck *b)
{
    char c[96], n[96];
    int64_t out = planes * 4;
    snprintf(c, sizeof c, "%s.conv1", prefix), snprintf(n, sizeof n, "%s.bn1", prefix);
    LAB_TRY(conv_bn_init(p, c, n, cin, planes, 1, 1, 1, 1, &b->conv1, &b->bn1));
    snprintf(c, sizeof c, "%s.conv2", prefix), snprintf(n, sizeof n, "%s.bn2", prefix);
    LAB_TRY(conv_bn_init(p, c, n, planes, planes, 3, stride, dil, 1, &b->conv2, &b->bn2));
    snprintf(c, sizeof c, "%s.conv3", prefix), snprintf(n, sizeof n, "%s.bn3", prefix);
    LAB_TRY(conv_bn_init(p, c, n, planes, out, 1, 1, 1, 1, &b->conv3, &b->bn3));
    b->has_down = stride != 1 || cin != out;
    if (b->has_down) {
        snprintf(c, sizeof c, "%s.downsample.0", prefix), snprintf(n, sizeof n, "%s.downsample.1", prefix);
        LAB_TRY(conv_bn_init(p, c, n, cin, out, 1, stride, 1, 1, &b->down, &b->down_bn));
    }
    return LAB_OK;
}

static int bottleneck_fwd(const struct bottleneck *b, const ts_tensor *x, int training, ts_tensor **y)
{
    ts_tensor *h, *c3, *n3, *skip = (ts_tensor *)x, *sum;
    LAB_TRY(nn_conv_bn_relu(&b->conv1, &b->bn1, x, training, &h));
    LAB_TRY(nn_conv_bn_relu(&b->conv2, &b->bn2, h, training, &h));
    LAB_TRY(nn_conv_fwd(&b->conv3, h, &c3));
    LAB_TRY(nn_bn_fwd(&b->bn3, c3, training, &n3));
    if (b->has_down) {
        ts_tensor *d;
        LAB_TRY(nn_conv_fwd(&b->down, x, &d));
        LAB_TRY(nn_bn_fwd(&b->down_bn, d, training, &skip));
    }
    NN_TRY(ts_add(&sum, n3, skip));
    NN_TRY(ts_relu(y, sum));
    return LAB_OK;
}

/* ResNet-50 with layer3 and layer4 dilated: as torchvision's _make_layer,
 * a dilated layer's first block keeps the previous dilation and stride 1,
 * the rest take the doubled one. */
static int backbone_init(ts_params *p, int in_channels, struct deeplabv3 *d)
{
    LAB_TRY(conv_kaiming(p, "backbone.conv1", in_channels, 64, 7, 2, 3, 1, &d->conv1));
    LAB_TRY(nn_bn_init(p, "backbone.bn1", 64, &d->bn1));
    int64_t cin = 64;
    int dilation = 1, k = 0;
    for (int layer = 0; layer < 4; layer++) {
        int64_t planes = 64 << layer;
        int stride = layer == 0 ? 1 : 2, prev = dilation;
        if (layer >= 2) {
            dilation *= stride;
            stride = 1;
        }
        for (int i = 0; i < layer_blocks[layer]; i++, k++) {
            char prefix[48];
            snprintf(prefix, sizeof prefix, "backbone.layer%d.%d", layer + 1, i);
            LAB_TRY(bottleneck_init(p, prefix, cin, planes, i == 0 ? stride : 1, i == 0 ? prev : dilation,
                                    &d->blocks[k]));
            cin = planes * 4;
        }
    }
    return LAB_OK;
}

static int heads_init(ts_params *p, int num_classes, struct deeplabv3 *d)
{
    static const int rates[ASPP_RATES] = {12, 24, 36};
    LAB_TRY(conv_bn_init(p, "classifier.0.convs.0.0", "classifier.0.convs.0.1", 2048, 256, 1, 1, 1, 0, &d->aspp[0],
                         &d->aspp_bn[0]));
    for (int i = 0; i < ASPP_RATES; i++) {
        char c[48], n[48];
        snprintf(c, sizeof c, "classifier.0.convs.%d.0", i + 1), snprintf(n, sizeof n, "classifier.0.convs.%d.1", i + 1);
        LAB_TRY(conv_bn_init(p, c, n, 2048, 256, 3, 1, rates[i], 0, &d->aspp[i + 1], &d->aspp_bn[i + 1]));
    }
    /* ASPPPooling: .0 is the AdaptiveAvgPool2d, so the conv is .1 */
    LAB_TRY(conv_bn_init(p, "classifier.0.convs.4.1", "classifier.0.convs.4.2", 2048, 256, 1, 1, 1, 0, &d->aspp[4],
                         &d->aspp_bn[4]));
    LAB_TRY(conv_bn_init(p, "classifier.0.project.0", "classifier.0.project.1", 5 * 256, 256, 1, 1, 1, 0, &d->project,
                         &d->project_bn));
    LAB_TRY(conv_bn_init(p, "classifier.1", "classifier.2", 256, 256, 3, 1, 1, 0, &d->head_conv, &d->head_bn));
    LAB_TRY(nn_conv_init(p, "classifier.4", 256, num_classes, 1, 1, 0, 1, &d->head_out));
    LAB_TRY(conv_bn_init(p, "aux_classifier.0", "aux_classifier.1", 1024, 256, 3, 1, 1, 0, &d->aux_conv, &d->aux_bn));
    return nn_conv_init(p, "aux_classifier.4", 256, num_classes, 1, 1, 0, 1, &d->aux_out);
}

static int aspp_fwd(const struct deeplabv3 *d, const ts_tensor *x, int training, ts_tensor **y)
{
    ts_tensor *branch[5], *pooled, *pc, *cat, *proj;
    for (int i = 0; i < 4; i++)
        LAB_TRY(nn_conv_bn_relu(&d->aspp[i], &d->aspp_bn[i], x, training, &branch[i]));
    NN_TRY(ts_adaptive_avg_pool2d(&pooled, x, 1, 1));
    LAB_TRY(nn_conv_bn_relu(&d->aspp[4], &d->aspp_bn[4], pooled, training, &pc));
    NN_TRY(ts_interpolate(&branch[4], pc, ts_size(x, 2), ts_size(x, 3), TS_BILINEAR, 0));
    NN_TRY(ts_cat(&cat, (const ts_tensor *const *)branch, 5, 1));
    LAB_TRY(nn_conv_bn_relu(&d->project, &d->project_bn, cat, training, &proj));
    return nn_dropout(proj, 0.5, training, y);
}

int deeplabv3_forward_aux(struct model *m, const ts_tensor *x, int training, ts_tensor **out, ts_tensor **aux)
{
    const struct deeplabv3 *d = m->net;
    if (ts_dim(x) != 4)
        return lab_err(LAB_EUSAGE, "reshape the input to [N, C, H, W]", "DeepLabV3 takes an NCHW batch");
    int64_t kk[2] = {3, 3}, ss[2] = {2, 2}, pp[2] = {1, 1};
    ts_tensor *h, *l3 = NULL, *a, *logits;
    LAB_TRY(nn_conv_bn_relu(&d->conv1, &d->bn1, x, training, &h));
    NN_TRY(ts_max_pool2d(&h, h, kk, ss, pp, 0));
    for (int k = 0; k < BLOCKS; k++) {
        LAB_TRY(bottleneck_fwd(&d->blocks[k], h, training, &h));
        if (k == 3 + 4 + 6 - 1)
            l3 = h;
    }
    LAB_TRY(aspp_fwd(d, h, training, &a));
    LAB_TRY(nn_conv_bn_relu(&d->head_conv, &d->head_bn, a, training, &a));
    LAB_TRY(nn_conv_fwd(&d->head_out, a, &logits));
    NN_TRY(ts_interpolate(out, logits, ts_size(x, 2), ts_size(x, 3), TS_BILINEAR, 0));
    if (!aux)
        return LAB_OK;
    ts_tensor *f, *fd, *al;
    LAB_TRY(nn_conv_bn_relu(&d->aux_conv, &d->aux_bn, l3, training, &f));
    LAB_TRY(nn_dropout(f, 0.1, training, &fd));
    LAB_TRY(nn_conv_fwd(&d->aux_out, fd, &al));
    NN_TRY(ts_interpolate(aux, al, ts_size(x, 2), ts_size(x, 3), TS_BILINEAR, 0));
    return LAB_OK;
}

static int forward(struct model *m, const ts_tensor *x, int training, ts_tensor **out)
{
    return deeplabv3_forward_aux(m, x, training, out, NULL);
}

int deeplabv3_resnet50_create(int in_channels, int num_classes, struct model **out)
{
    if (in_channels < 1 || num_classes < 1)
        return lab_err(LAB_EUSAGE, "fix the model settings (the course's DeepLabV3 takes 3 channels, 21 classes)",
                       "DeepLabV3 needs at least one input channel and one class");
    struct model *m;
    LAB_TRY(model_new("deeplabv3-resnet50", sizeof(struct deeplabv3), &m));
    m->forward = forward;
    int rc = backbone_init(m->params, in_channels, m->net);
    if (!rc)
        rc = heads_init(m->params, num_classes, m->net);
    if (rc) {
        model_free(m);
        return rc;
    }
    *out = m;
    return LAB_OK;
}
