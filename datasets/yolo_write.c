/* The YOLO-layout writer: PNG through libpng's simplified API, labels
 * through yolo_labels_format, every file atomically. */
#include "datasets/yolo_write.h"

#include "base/error.h"
#include "base/fsutil.h"
#include "datasets/yolo_format.h"

#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int write_png(const char *path, const struct ds_image *im)
{
    png_image p;
    memset(&p, 0, sizeof p);
    p.version = PNG_IMAGE_VERSION;
    p.width = (png_uint_32)im->w;
    p.height = (png_uint_32)im->h;
    p.format = im->c == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
    png_alloc_size_t len = 0;
    if (!png_image_write_to_memory(&p, NULL, &len, 0, im->px, 0, NULL))
        return lab_err(LAB_EINTERNAL, NULL, "cannot encode %s: %s", path, p.message);
    void *buf = malloc(len);
    if (!buf)
        return lab_err(LAB_EINTERNAL, "free some memory", "out of memory encoding %s", path);
    int rc = png_image_write_to_memory(&p, buf, &len, 0, im->px, 0, NULL)
                 ? lab_write_atomic(path, buf, len)
                 : lab_err(LAB_EINTERNAL, NULL, "cannot encode %s: %s", path, p.message);
    free(buf);
    return rc;
}

int ds_yolo_write_split(const struct ds_dataset *d, const char *dir, const char *split)
{
    char img_dir[4200], lbl_dir[4200], path[4400];
    snprintf(img_dir, sizeof img_dir, "%s/images/%s", dir, split);
    snprintf(lbl_dir, sizeof lbl_dir, "%s/labels/%s", dir, split);
    int rc = lab_mkdir_p(img_dir);
    if (!rc)
        rc = lab_mkdir_p(lbl_dir);
    for (size_t i = 0; !rc && i < d->n; i++) {
        struct ds_sample s;
        memset(&s, 0, sizeof s);
        if ((rc = ds_dataset_get(d, i, &s)))
            break;
        struct yolo_box b[DS_MAX_OBJECTS];
        for (int k = 0; k < s.nobj; k++)
            b[k] = (struct yolo_box){s.box_labels[k], s.boxes[k][0], s.boxes[k][1], s.boxes[k][2], s.boxes[k][3]};
        char *text = NULL;
        size_t len = 0;
        snprintf(path, sizeof path, "%s/%06zu.png", img_dir, i);
        rc = write_png(path, &s.image);
        if (!rc)
            rc = yolo_labels_format(b, (size_t)s.nobj, s.image.w, s.image.h, &text, &len);
        if (!rc) {
            snprintf(path, sizeof path, "%s/%06zu.txt", lbl_dir, i);
            rc = lab_write_atomic(path, text, len);
        }
        free(text);
        ds_sample_free(&s);
    }
    return rc;
}

int ds_yolo_write_yaml(const char *dir, const char *const *names, int nc)
{
    size_t cap = 256 + (size_t)nc * 80, at = 0;
    char *s = malloc(cap), path[4200];
    if (!s)
        return lab_err(LAB_EINTERNAL, "free some memory", "out of memory");
    at += (size_t)snprintf(s, cap, "# written by lab (Ultralytics/YOLO layout)\npath: .\ntrain: images/train\n"
                                   "val: images/val\nnc: %d\nnames:\n", nc);
    for (int i = 0; i < nc && at < cap; i++)
        at += (size_t)snprintf(s + at, cap - at, "  %d: '%s'\n", i, names[i]);
    if (at >= cap) {
        free(s);
        return lab_err(LAB_EINTERNAL, NULL, "class names too long for data.yaml");
    }
    snprintf(path, sizeof path, "%s/data.yaml", dir);
    int rc = lab_mkdir_p(dir);
    if (!rc)
        rc = lab_write_atomic(path, s, at);
    free(s);
    return rc;
}
