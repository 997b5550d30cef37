#include "base/paths.h"

#include "base/error.h"
#include "base/fsutil.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static const char *home_dir(void)
{
    const char *h = getenv("HOME");
    if (h && *h)
        return h;
    struct passwd *pw = getpwuid(getuid());
    return pw ? pw->pw_dir : NULL;
}

static const char *env_name(enum lab_dir which) { return which == LAB_DIR_HOME ? "LAB_HOME" : "LAB_CACHE"; }

int lab_dir_resolve(enum lab_dir which, char *out, size_t cap)
{
    const char *own = getenv(env_name(which));
    if (own && *own) {
        if (snprintf(out, cap, "%s", own) >= (int)cap)
            return lab_err(LAB_EUSAGE, "use a shorter path", "%s is too long", env_name(which));
        return LAB_OK;
    }
    const char *xdg = getenv(which == LAB_DIR_HOME ? "XDG_DATA_HOME" : "XDG_CACHE_HOME");
    const char *fallback = which == LAB_DIR_HOME ? ".local/share" : ".cache";
    int n;
    if (xdg && *xdg) {
        n = snprintf(out, cap, "%s/lab", xdg);
    } else {
        const char *home = home_dir();
        if (!home)
            return lab_err(LAB_EENV, "set HOME or LAB_HOME/LAB_CACHE", "cannot find the home directory");
        n = snprintf(out, cap, "%s/%s/lab", home, fallback);
    }
    if (n >= (int)cap)
        return lab_err(LAB_EUSAGE, "set a shorter LAB_HOME/LAB_CACHE", "data directory path is too long");
    return LAB_OK;
}

int lab_dir_ensure(enum lab_dir which, const char *sub, char *out, size_t cap)
{
    char base[4096];
    int rc = lab_dir_resolve(which, base, sizeof base);
    if (rc)
        return rc;
    if (sub) {
        rc = lab_path_join(out, cap, base, sub);
    } else if (snprintf(out, cap, "%s", base) >= (int)cap) {
        rc = lab_err(LAB_EUSAGE, "use a shorter path", "path too long: %s", base);
    }
    if (rc)
        return rc;
    rc = lab_mkdir_p(out);
    if (rc == LAB_OK && access(out, W_OK) != 0)
        rc = lab_err(LAB_EENV, NULL, "%s is not writable", out);
    if (rc) {
        char fix[256], cause[1024];
        snprintf(fix, sizeof fix, "set %s to a writable directory, or fix the permissions", env_name(which));
        snprintf(cause, sizeof cause, "%s", lab_err_message());
        return lab_err(rc, fix, "%s directory unusable: %s", env_name(which), cause);
    }
    return LAB_OK;
}
