#include "grader/checks_masks.h"

#include "base/error.h"
#include "labs/tasks/segment.h"

#include <math.h>
#include <stdlib.h>

enum check_status check_masks_range(const uint8_t *masks, size_t n, int64_t classes, struct check_out *o)
{
    for (size_t i = 0; i < n; i++)
        if (masks[i] >= classes)
            return check_set(o, CHECK_FAIL, "TS-DEVICE-ASSERT-LABELS",
                             "pixel %zu is predicted as class %d; the task has classes 0..%lld%s", i, masks[i],
                             (long long)classes - 1,
                             masks[i] == 255 ? " (255 is the ignore label, never a prediction)" : "");
    return check_set(o, CHECK_PASS, NULL, "%zu pixels, every class id in 0..%lld", n, (long long)classes - 1);
}

enum check_status check_masks_not_one_class(const uint8_t *masks, size_t n, struct check_out *o)
{
    for (size_t i = 1; i < n; i++)
        if (masks[i] != masks[0])
            return check_set(o, CHECK_PASS, NULL, "more than one class predicted");
    return check_set(o, CHECK_FAIL, "TS-IOU-ZERO", "every one of the %zu pixels is predicted as class %d", n,
                     n ? masks[0] : 0);
}

static int miou_of(const uint8_t *pred, const uint8_t *truth, size_t n, int64_t classes, uint8_t ignore,
                   double *miou, int64_t *present)
{
    struct segment_confusion c;
    struct segment_metrics m;
    int rc = segment_confusion_init(&c, classes);
    if (!rc)
        rc = segment_confusion_add(&c, pred, truth, n, ignore);
    if (!rc)
        rc = segment_metrics_compute(&c, &m);
    segment_confusion_free(&c);
    if (rc)
        return rc;
    *miou = m.miou;
    *present = m.present;
    segment_metrics_free(&m);
    return LAB_OK;
}

/* The figure a metric gets when it scores the ignore pixels as background
 * (the course notebook remaps 255 to 0 before it computes mIoU). */
static int miou_borders_as_background(const uint8_t *pred, const uint8_t *truth, size_t n, int64_t classes,
                                      uint8_t ignore, double *miou)
{
    uint8_t *t = malloc(n ? n : 1);
    if (!t)
        return lab_err(LAB_EINTERNAL, "free some memory", "out of memory");
    size_t remapped = 0;
    for (size_t i = 0; i < n; i++) {
        remapped += truth[i] == ignore;
        t[i] = truth[i] == ignore ? 0 : truth[i];
    }
    int64_t present;
    int rc = remapped ? miou_of(pred, t, n, classes, ignore, miou, &present) : LAB_EFAIL;
    free(t);
    return rc;
}

enum check_status check_masks_miou(const uint8_t *pred, const uint8_t *truth, size_t n, int64_t classes,
                                   uint8_t ignore, double reported, double tol, double *recomputed,
                                   struct check_out *o)
{
    double miou = 0, as_background = 0;
    int64_t present = 0;
    if (miou_of(pred, truth, n, classes, ignore, &miou, &present))
        return check_set(o, CHECK_ERROR, "TS-METRICS-MISMATCH", "cannot recompute mIoU: %s", lab_err_message());
    if (recomputed)
        *recomputed = miou;
    if (isfinite(reported) && fabs(reported - miou) <= tol)
        return check_set(o, CHECK_PASS, NULL, "mIoU %.4f matches the predictions (%.4f)", reported, miou);
    if (isfinite(reported) &&
        miou_borders_as_background(pred, truth, n, classes, ignore, &as_background) == LAB_OK &&
        fabs(reported - as_background) <= tol)
        return check_set(o, CHECK_FAIL, "TS-METRICS-MISMATCH",
                         "reported mIoU %.4f is the figure with the %d (border) pixels scored as background; with "
                         "them ignored, as the lab defines it, the predictions score %.4f: skip them in the metric "
                         "(valid = target != %d)",
                         reported, ignore, miou, ignore);
    return check_set(o, CHECK_FAIL, "TS-METRICS-MISMATCH",
                     "reported mIoU %.4f, recomputed from the predictions %.4f over %lld classes present "
                     "(%d pixels ignored)",
                     reported, miou, (long long)present, ignore);
}
