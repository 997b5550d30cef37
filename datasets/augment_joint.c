/* Joint augmentation for segmentation (lab 2.2.4's exercise): the image and
 * its class mask get the same random geometry, drawn once per sample. */
#include "datasets/augment.h"

#include "base/error.h"

#include <math.h>

int ds_aug_joint(struct ds_sample *s, double scale_max, struct ds_rng *r)
{
    if (!s->mask.px || s->mask.w != s->image.w || s->mask.h != s->image.h)
        return lab_err(LAB_EINTERNAL, NULL, "joint augmentation needs a class mask the image's size");
    if (!(scale_max >= 1.0 && scale_max <= 4.0))
        return lab_err(LAB_EUSAGE, "set data.augment_scale between 1 and 4", "zoom limit %g is out of range",
                       scale_max);
    /* the three draws in a fixed order, whatever is applied, so a sample's
     * geometry depends on its seed alone */
    int flip = ds_rng_uniform(r) < 0.5;
    double f = ds_rng_range(r, 1.0, scale_max);
    double u = ds_rng_uniform(r), v = ds_rng_uniform(r);
    int w = s->image.w, h = s->image.h;
    if (flip)
        ds_aug_hflip(s);
    int zw = (int)lround(w * f), zh = (int)lround(h * f);
    if (zw == w && zh == h)
        return LAB_OK;
    /* zoom in only: the crop stays inside the zoomed image, so nothing is
     * padded and no label the input lacks can appear */
    int rc = ds_aug_resize(s, zw, zh, DS_RESAMPLE_BILINEAR);
    if (rc)
        return rc;
    int x = (int)floor(u * (zw - w + 1)), y = (int)floor(v * (zh - h + 1));
    return ds_aug_crop(s, x, y, w, h, 0);
}
