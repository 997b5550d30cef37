#include "shim/lazy.h"

#include "base/error.h"

#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SHIM_SO "liblabtorch.so"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static void *handle;
static char loaded_path[PATH_MAX + 32];
static char reason[2 * PATH_MAX + 256], fix[512], error[sizeof reason + sizeof fix + 16];

static void fail(const char *why_fix)
{
    snprintf(fix, sizeof fix, "%s", why_fix);
    snprintf(error, sizeof error, "%s (fix: %s)", reason, fix);
}

/* Where the library sits relative to the executable: beside it (build/lab),
 * one level up (build/tests/unit, build/bench/...), or in ../lib/lab (an
 * installed bin/lab). LAB_TORCHSHIM names the file outright. */
static void load(void)
{
    char exe[PATH_MAX] = "";
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = 0;
    char *slash = strrchr(exe, '/');
    if (slash)
        *slash = 0;
    char candidates[4][PATH_MAX + 32];
    int count = 0;
    const char *env = getenv("LAB_TORCHSHIM");
    if (env && *env) {
        snprintf(candidates[count++], sizeof candidates[0], "%s", env);
    } else {
        snprintf(candidates[count++], sizeof candidates[0], "%s/" SHIM_SO, exe);
        snprintf(candidates[count++], sizeof candidates[0], "%s/../" SHIM_SO, exe);
        snprintf(candidates[count++], sizeof candidates[0], "%s/../lib/lab/" SHIM_SO, exe);
    }
    for (int i = 0; i < count; i++) {
        if (access(candidates[i], F_OK) != 0)
            continue;
        handle = dlopen(candidates[i], RTLD_LAZY | RTLD_LOCAL);
        if (handle) {
            snprintf(loaded_path, sizeof loaded_path, "%s", candidates[i]);
            return;
        }
        const char *why = dlerror();
        snprintf(reason, sizeof reason, "libtorch could not be loaded from %s: %s", candidates[i],
                 why ? why : "unknown error");
        fail("install libtorch (`make deps`) or rebuild against the libtorch you have (`make`, TORCH_DIR=...)");
        return;
    }
    if (env && *env) {
        snprintf(reason, sizeof reason, "libtorch is not available: LAB_TORCHSHIM=%s does not exist", env);
        fail("unset LAB_TORCHSHIM or point it at the liblabtorch.so that `make` builds");
    } else {
        snprintf(reason, sizeof reason, "libtorch is not available: " SHIM_SO " is not next to %s/lab", exe);
        fail("build it with `make`, or install with `make install`, which puts it in <prefix>/lib/lab/");
    }
}

int ts_lazy_load(void)
{
    pthread_once(&once, load);
    return handle ? 0 : -1;
}

/* A stub that finds no function reports why through lab_err, like every
 * other shim failure (ts_last_error() then says the same). */
void *ts_lazy_sym(const char *name)
{
    if (ts_lazy_load() != 0) {
        lab_err(LAB_EENV, fix, "%s", reason);
        return NULL;
    }
    void *sym = dlsym(handle, name);
    if (!sym) {
        snprintf(reason, sizeof reason, "%s has no %s: it is from another version of lab", loaded_path, name);
        fail("rebuild with `make` (or reinstall with `make install`)");
        lab_err(LAB_EENV, fix, "%s", reason);
    }
    return sym;
}

const char *ts_lazy_error(void)
{
    return error;
}

const char *ts_lazy_reason(void)
{
    return reason;
}

const char *ts_lazy_fix(void)
{
    return fix;
}

const char *ts_lazy_path(void)
{
    return loaded_path;
}

int ts_lazy_require(void)
{
    return ts_lazy_load() == 0 ? LAB_OK : lab_err(LAB_EENV, fix, "%s", reason);
}
