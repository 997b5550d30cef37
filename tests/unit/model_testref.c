/* Model parity helpers (tests/unit/model_testref.h). */
#include "tests/unit/model_testref.h"

#include "base/error.h"
#include "labs/models/weights.h"
#include "tests/unit/shim_testref.h"
#include "tests/unit/testutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

void model_ref_ours_in_pytorch(struct model *m, const char *dir, const char *script, const char *name, double rtol)
{
    char wpath[4200], ref[256], out[4300], xpath[4300], cmd[16384];
    snprintf(wpath, sizeof wpath, "%s/ours.%s.safetensors", dir, name);
    ck_assert_msg(weights_save(m->params, wpath, NULL, NULL, 0) == 0, "%s", lab_err_message());
    snprintf(xpath, sizeof xpath, "%s/%s.x.t", dir, name);
    snprintf(out, sizeof out, "%s/ours.%s.eval", dir, name);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/tests/ref/%s' check %s '%s' '%s' '%s' 2>&1", tu_src_dir(), script,
             name, wpath, xpath, out);
    char *log = NULL;
    int rc = tu_run(cmd, &log);
    ck_assert_msg(rc == 0, "PyTorch could not load our %s weights: %s", name, log ? log : "");
    free(log);
    ck_assert_int_eq(ts_scope_begin(), TS_OK);
    snprintf(ref, sizeof ref, "%s.x", name);
    ts_tensor *x = shim_ref_load(dir, ref, NULL), *y;
    ck_assert_int_eq(m->forward(m, x, 0, &y), 0);
    snprintf(ref, sizeof ref, "ours.%s.eval", name);
    shim_ref_expect(dir, ref, y, rtol);
    ts_scope_end();
}

void model_ref_pytorch_in_ours(struct model *m, const char *dir, const char *name, int64_t classes,
                               const char *bn_mean, double rtol)
{
    ck_assert_int_eq(ts_scope_begin(), TS_OK);
    char ref[256];
    snprintf(ref, sizeof ref, "%s.x", name);
    ts_tensor *x = shim_ref_load(dir, ref, NULL), *y, *yt;
    ck_assert_msg(m->forward(m, x, 0, &y) == 0, "%s: %s", name, lab_err_message());
    ck_assert_int_eq(ts_size(y, 1), classes);
    ck_assert_int_eq(ts_size(y, 2), ts_size(x, 2));
    ck_assert_int_eq(ts_size(y, 3), ts_size(x, 3));
    snprintf(ref, sizeof ref, "%s.eval", name);
    shim_ref_expect(dir, ref, y, rtol);
    ck_assert_msg(m->forward(m, x, 1, &yt) == 0, "%s: %s", name, lab_err_message());
    snprintf(ref, sizeof ref, "%s.train", name);
    shim_ref_expect(dir, ref, yt, rtol);
    ts_tensor *mean = ts_params_get(m->params, bn_mean);
    ck_assert_ptr_nonnull(mean);
    snprintf(ref, sizeof ref, "%s.mean_after", name);
    shim_ref_expect(dir, ref, mean, rtol);
    ts_scope_end();
}
