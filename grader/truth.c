#include "grader/truth.h"

#include "base/error.h"
#include "datasets/registry.h"

int truth_eval_labels(const char *dataset, const char *data_dir, int64_t **labels, size_t *n)
{
    *labels = NULL;
    *n = 0;
    const struct ds_info *d;
    int rc = ds_info_get(dataset, "the grader", &d);
    return rc ? rc : d->eval_labels(data_dir, labels, n);
}
