/* Pascal VOC 2012 segmentation. Masks are palette PNGs whose indices are the
 * class ids 0..20, with 255 on object borders and "difficult" regions: it
 * means "ignore" and is kept as 255 (never remapped to background). */
#include "base/error.h"
#include "base/fsutil.h"
#include "datasets/loaders.h"
#include "datasets/manifest.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct voc_ctx {
    char root[4096];
    char **ids;
    size_t n;
};

static void voc_destroy(struct ds_dataset *d)
{
    struct voc_ctx *v = d->ctx;
    if (!v)
        return;
    for (size_t i = 0; i < v->n; i++)
        free(v->ids[i]);
    free(v->ids);
    free(v);
}

static int voc_get(const struct ds_dataset *d, size_t i, struct ds_sample *out)
{
    const struct voc_ctx *v = d->ctx;
    char path[4400];
    snprintf(path, sizeof path, "%s/JPEGImages/%s.jpg", v->root, v->ids[i]);
    int rc = ds_image_load(path, 0, &out->image);
    if (rc)
        return rc;
    if ((rc = ds_image_to_rgb(&out->image)))
        return rc;
    snprintf(path, sizeof path, "%s/SegmentationClass/%s.png", v->root, v->ids[i]);
    if ((rc = ds_image_load(path, 1, &out->mask)))
        return rc;
    if (out->mask.c != 1 || out->mask.w != out->image.w || out->mask.h != out->image.h)
        return lab_err(LAB_EENV, "the dataset is damaged: fetch it again",
                       "%s: mask is %dx%dx%d, the image %dx%d", path, out->mask.w, out->mask.h, out->mask.c,
                       out->image.w, out->image.h);
    for (size_t p = 0; p < (size_t)out->mask.w * out->mask.h; p++)
        if (out->mask.px[p] > 20 && out->mask.px[p] != 255)
            return lab_err(LAB_EENV, "the dataset is damaged: fetch it again",
                           "%s: mask value %u is not a VOC class (0..20) or 255", path, out->mask.px[p]);
    out->label = -1;
    return LAB_OK;
}

int ds_voc_open(const char *root, int train, struct ds_dataset **out)
{
    char found[4096];
    int rc;
    if (!root) {
        if ((rc = ds_data_dir("voc2012", found, sizeof found)))
            return rc;
        root = found;
    }
    char list[4400], *text;
    size_t len;
    snprintf(list, sizeof list, "%s/ImageSets/Segmentation/%s.txt", root, train ? "train" : "val");
    if ((rc = lab_read_file(list, 16u << 20, &text, &len)))
        return lab_err_context(rc, "VOC split list");
    struct voc_ctx *v = calloc(1, sizeof *v);
    struct ds_dataset *d = calloc(1, sizeof *d);
    if (!v || !d) {
        free(v), free(d), free(text);
        return lab_err(LAB_EENV, NULL, "out of memory");
    }
    snprintf(v->root, sizeof v->root, "%s", root);
    d->ctx = v;
    d->destroy = voc_destroy;
    size_t cap = 0;
    for (char *line = strtok(text, "\r\n"); line; line = strtok(NULL, "\r\n")) {
        while (*line == ' ')
            line++;
        if (!*line)
            continue;
        for (char *p = line; *p; p++)
            if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-') {
                rc = lab_err(LAB_EENV, "the dataset is damaged: fetch it again", "%s: bad image id '%s'", list,
                             line);
                goto fail;
            }
        if (v->n == cap) {
            cap = cap ? 2 * cap : 1024;
            char **ids = realloc(v->ids, cap * sizeof *ids);
            if (!ids) {
                rc = lab_err(LAB_EENV, NULL, "out of memory");
                goto fail;
            }
            v->ids = ids;
        }
        v->ids[v->n++] = strdup(line);
    }
    free(text);
    text = NULL;
    if (v->n == 0) {
        rc = lab_err(LAB_EENV, "the dataset is damaged: fetch it again", "%s lists no images", list);
        goto fail;
    }
    snprintf(d->name, sizeof d->name, "voc2012/%s", train ? "train" : "val");
    d->n = v->n;
    d->num_classes = 21;
    d->get = voc_get;
    *out = d;
    return LAB_OK;
fail:
    free(text);
    ds_dataset_free(d);
    return rc;
}

const char *const ds_voc_classes[21] = {"background", "aeroplane", "bicycle", "bird",  "boat",       "bottle",
                                        "bus",        "car",       "cat",     "chair", "cow",        "diningtable",
                                        "dog",        "horse",     "motorbike", "person", "pottedplant", "sheep",
                                        "sofa",       "train",     "tvmonitor"};

int ds_voc_resize(struct ds_sample *s, int size)
{
    if (!s->mask.px || s->mask.c != 1 || s->mask.w != s->image.w || s->mask.h != s->image.h)
        return lab_err(LAB_EINTERNAL, NULL, "a VOC sample needs a one-channel mask the image's size");
    struct ds_image m;
    int rc = ds_image_resize(&s->image, size, size, DS_RESAMPLE_BILINEAR);
    if (rc || (rc = ds_image_alloc(&m, size, size, 1)))
        return rc;
    const int iw = s->mask.w, ih = s->mask.h;
    for (int y = 0; y < size; y++) {
        int sy = (int)floor((y + 0.5) * ih / size);
        sy = sy < ih ? sy : ih - 1;
        for (int x = 0; x < size; x++) {
            int sx = (int)floor((x + 0.5) * iw / size);
            m.px[(size_t)y * size + x] = s->mask.px[(size_t)sy * iw + (sx < iw ? sx : iw - 1)];
        }
    }
    ds_image_free(&s->mask);
    s->mask = m;
    return LAB_OK;
}
