/* A YOLO-layout dataset as a ds_dataset: data.yaml names the split's image
 * folder; each image's labels are the file of the same name under labels/
 * instead of images/ with .txt (Ultralytics' img2label_paths). An image
 * without a label file has no boxes, as in Ultralytics. */
#include "datasets/yolo_read.h"

#include "base/error.h"
#include "base/fsutil.h"
#include "datasets/hash.h"
#include "datasets/loaders.h"
#include "datasets/yolo_format.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define YOLO_MAX_IMAGES (1 << 20)

struct yolo_ctx {
    char **images;
    size_t n;
    int64_t nc;
};

static int is_image(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (!strcasecmp(dot, ".png") || !strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg"));
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* images/<...>/x.jpg -> labels/<...>/x.txt (the last "/images/"). */
static void label_path(const char *img, char *out, size_t cap)
{
    const char *at = NULL;
    for (const char *p = strstr(img, "/images/"); p; p = strstr(p + 1, "/images/"))
        at = p;
    if (at)
        snprintf(out, cap, "%.*s/labels/%s", (int)(at - img), img, at + 8);
    else
        snprintf(out, cap, "%s", img);
    char *dot = strrchr(out, '.'), *slash = strrchr(out, '/');
    if (dot && (!slash || dot > slash))
        snprintf(dot, cap - (size_t)(dot - out), ".txt");
}

/* Every box of image i (an image of w x h pixels); *out malloc'd. */
static int read_labels(const struct yolo_ctx *c, size_t i, int w, int h, struct yolo_box **out, size_t *n)
{
    char lp[4400], *text = NULL;
    size_t len = 0;
    *out = NULL;
    *n = 0;
    label_path(c->images[i], lp, sizeof lp);
    if (!lab_path_exists(lp))
        return LAB_OK;
    int rc = lab_read_file(lp, YOLO_MAX_TEXT, &text, &len);
    if (rc)
        return lab_err(LAB_EUSAGE, "make the label file readable, or delete it for an image without boxes",
                       "cannot read %s", lp);
    rc = yolo_labels_parse(text, len, c->nc, w, h, lp, out, n);
    free(text);
    return rc;
}

static int yolo_get(const struct ds_dataset *d, size_t i, struct ds_sample *out)
{
    const struct yolo_ctx *c = d->ctx;
    memset(out, 0, sizeof *out);
    out->label = -1;
    int rc = ds_image_load(c->images[i], 0, &out->image);
    if (rc)
        return rc;
    struct yolo_box *b = NULL;
    size_t n = 0;
    if ((rc = read_labels(c, i, out->image.w, out->image.h, &b, &n)))
        goto fail;
    if (n > DS_MAX_OBJECTS) {
        char lp[4400];
        label_path(c->images[i], lp, sizeof lp);
        free(b);
        rc = lab_err(LAB_EUSAGE, "keep at most 16 boxes per image (what a lab sample holds), or crop the image",
                     "%s: %zu boxes, more than %d", lp, n, DS_MAX_OBJECTS);
        goto fail;
    }
    for (size_t k = 0; k < n; k++) {
        out->boxes[k][0] = b[k].x1, out->boxes[k][1] = b[k].y1, out->boxes[k][2] = b[k].x2, out->boxes[k][3] = b[k].y2;
        out->box_labels[k] = b[k].cls;
    }
    out->nobj = (int)n;
    free(b);
    return LAB_OK;
fail:
    ds_sample_free(out);
    return rc;
}

const char *ds_yolo_image_path(const struct ds_dataset *d, size_t i)
{
    const struct yolo_ctx *c = d && d->get == yolo_get ? d->ctx : NULL;
    return c && i < c->n ? c->images[i] : NULL;
}

int ds_yolo_labels(const struct ds_dataset *d, size_t i, int w, int h, struct yolo_box **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!ds_yolo_image_path(d, i))
        return lab_err(LAB_EINTERNAL, NULL, "image %zu of a dataset that is not a YOLO-layout one", i);
    return read_labels(d->ctx, i, w, h, out, n);
}

int ds_yolo_digest(const struct ds_dataset *d, char *hex, size_t cap)
{
    const struct yolo_ctx *c = ds_yolo_image_path(d, 0) ? d->ctx : NULL;
    if (!c)
        return lab_err(LAB_EINTERNAL, NULL, "a digest of a dataset that is not a YOLO-layout one");
    size_t per = 256 + 2 * 65, cap_all = c->n * per, at = 0;
    char *all = malloc(cap_all);
    if (!all)
        return lab_err(LAB_EINTERNAL, "free some memory", "out of memory");
    int rc = LAB_OK;
    for (size_t i = 0; !rc && i < c->n; i++) {
        char img[65], lbl[65] = "none", lp[4400];
        const char *slash = strrchr(c->images[i], '/');
        label_path(c->images[i], lp, sizeof lp);
        rc = ds_hash_file(c->images[i], "sha256", img, sizeof img);
        if (!rc && lab_path_exists(lp))
            rc = ds_hash_file(lp, "sha256", lbl, sizeof lbl);
        if (rc)
            rc = lab_err(LAB_EUSAGE, "make the dataset's files readable", "cannot read %s or its labels", c->images[i]);
        if (!rc)
            at += (size_t)snprintf(all + at, cap_all - at, "%.200s %s %s\n", slash ? slash + 1 : c->images[i], img, lbl);
    }
    if (!rc)
        rc = ds_hash_buffer(all, at, "sha256", hex, cap);
    free(all);
    return rc;
}

static void yolo_destroy(struct ds_dataset *d)
{
    struct yolo_ctx *c = d->ctx;
    for (size_t i = 0; c && i < c->n; i++)
        free(c->images[i]);
    if (c)
        free(c->images);
    free(c);
}

int ds_yolo_open(const char *dir, const char *split, struct ds_dataset **out, struct yolo_data *data)
{
    *out = NULL;
    memset(data, 0, sizeof *data);
    char path[4400], *text = NULL;
    size_t len = 0;
    char base[4400];
    if (lab_is_dir(dir)) {
        snprintf(path, sizeof path, "%s/data.yaml", dir);
        snprintf(base, sizeof base, "%s", dir);
    } else { /* the data.yaml itself: its folder is the base of relative paths */
        snprintf(path, sizeof path, "%s", dir);
        const char *slash = strrchr(dir, '/');
        snprintf(base, sizeof base, "%.*s", slash ? (int)(slash - dir) : 1, slash ? dir : ".");
    }
    if (strcmp(split, "train") && strcmp(split, "val") && strcmp(split, "test"))
        return lab_err(LAB_EUSAGE, "use the split train, val or test", "no split '%s' in a YOLO dataset", split);
    int rc = lab_read_file(path, YOLO_MAX_TEXT, &text, &len);
    if (rc)
        return lab_err(LAB_EUSAGE, "point at data.yaml or the folder holding it (with images/ and labels/)",
                       "cannot read %s", path);
    rc = yolo_data_parse(text, len, path, data);
    free(text);
    if (rc)
        return rc;
    const char *sub = !strcmp(split, "train") ? data->train : !strcmp(split, "test") ? data->test : data->val;
    if (!*sub && !strcmp(split, "test")) {
        yolo_data_free(data);
        return lab_err(LAB_EUSAGE, "add `test: images/test` to data.yaml, or use another split",
                       "%s names no test split", path);
    }
    if (!*sub)
        sub = data->val[0] ? data->val : data->train;
    char root[4400], img_dir[4400];
    if (data->path[0] == '/')
        snprintf(root, sizeof root, "%s", data->path);
    else
        snprintf(root, sizeof root, "%s/%s", base, data->path[0] ? data->path : ".");
    if (sub[0] == '/')
        snprintf(img_dir, sizeof img_dir, "%s", sub);
    else
        snprintf(img_dir, sizeof img_dir, "%s/%s", root, sub);
    DIR *dd = opendir(img_dir);
    if (!dd) {
        yolo_data_free(data);
        return lab_err(LAB_EUSAGE, "data.yaml's train/val name folders of images relative to its path",
                       "%s: no such image folder", img_dir);
    }
    struct yolo_ctx *c = calloc(1, sizeof *c);
    size_t cap = 0;
    struct dirent *e;
    rc = c ? LAB_OK : lab_err(LAB_EINTERNAL, "free some memory", "out of memory");
    while (!rc && (e = readdir(dd))) {
        if (!is_image(e->d_name))
            continue;
        if (c->n == YOLO_MAX_IMAGES) {
            rc = lab_err(LAB_EUSAGE, "split the dataset", "%s: more than %d images", img_dir, YOLO_MAX_IMAGES);
            break;
        }
        if (c->n == cap) {
            cap = cap ? cap * 2 : 64;
            char **g = realloc(c->images, cap * sizeof *g);
            if (!g) {
                rc = lab_err(LAB_EINTERNAL, "free some memory", "out of memory");
                break;
            }
            c->images = g;
        }
        size_t need = strlen(img_dir) + strlen(e->d_name) + 2;
        if (!(c->images[c->n] = malloc(need))) {
            rc = lab_err(LAB_EINTERNAL, "free some memory", "out of memory");
            break;
        }
        snprintf(c->images[c->n++], need, "%s/%s", img_dir, e->d_name);
    }
    closedir(dd);
    struct ds_dataset *d = rc ? NULL : calloc(1, sizeof *d);
    if (!rc && !d)
        rc = lab_err(LAB_EINTERNAL, "free some memory", "out of memory");
    if (!rc && !c->n)
        rc = lab_err(LAB_EUSAGE, "put the images (.png, .jpg) in the split's folder", "%s holds no images", img_dir);
    if (rc) {
        free(d);
        struct ds_dataset tmp = {.ctx = c};
        yolo_destroy(&tmp);
        yolo_data_free(data);
        return rc;
    }
    qsort(c->images, c->n, sizeof *c->images, by_name);
    c->nc = data->nc;
    snprintf(d->name, sizeof d->name, "yolo:%s", split);
    d->n = c->n;
    d->num_classes = (int)data->nc;
    d->get = yolo_get;
    d->destroy = yolo_destroy;
    d->ctx = c;
    *out = d;
    return LAB_OK;
}
