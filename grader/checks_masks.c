#include "grader/checks_masks.h"

#include "base/error.h"
#include "labs/tasks/segment.h"

#include <math.h>

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

enum check_status check_masks_miou(const uint8_t *pred, const uint8_t *truth, size_t n, int64_t classes,
                                   uint8_t ignore, double reported, double tol, double *recomputed,
                                   struct check_out *o)
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
        return check_set(o, CHECK_ERROR, "TS-METRICS-MISMATCH", "cannot recompute mIoU: %s", lab_err_message());
    double miou = m.miou;
    int64_t present = m.present;
    segment_metrics_free(&m);
    if (recomputed)
        *recomputed = miou;
    if (!isfinite(reported) || fabs(reported - miou) > tol)
        return check_set(o, CHECK_FAIL, "TS-METRICS-MISMATCH",
                         "reported mIoU %.4f, recomputed from the predictions %.4f over %lld classes present "
                         "(255 pixels ignored)",
                         reported, miou, (long long)present);
    return check_set(o, CHECK_PASS, NULL, "mIoU %.4f matches the predictions (%.4f)", reported, miou);
}
