#include "labs/val.h"

#include "base/error.h"
#include "labs/lab.h"

int lab_val(const struct val_opts *o, FILE *say)
{
    int rc = lab_registry_load();
    if (rc)
        return rc;
    const struct lab_impl *impl = lab_registry_find(o->lab) ? lab_impl_find(o->lab) : NULL;
    if (!impl || !impl->val)
        return lab_err(LAB_EUSAGE, "`lab val 2.2.3` evaluates detection weights; classify runs report their figures in "
                       "metrics.json", "lab %s has no `lab val` in this version", o->lab);
    return impl->val(o, say);
}
