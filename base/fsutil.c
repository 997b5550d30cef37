#include "base/fsutil.h"

#include "base/error.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int lab_mkdir_p(const char *path)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return lab_err(LAB_EUSAGE, "use a shorter path", "path too long: %s", path);
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return lab_err(LAB_EENV, "check the permissions of its parent or choose another location",
                           "cannot create directory %s: %s", buf, strerror(errno));
        if (!lab_is_dir(buf))
            return lab_err(LAB_EENV, "remove or rename that file", "%s exists and is not a directory", buf);
        *p = saved;
        if (saved == '\0')
            break;
    }
    return LAB_OK;
}

int lab_write_full(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int lab_write_atomic(const char *path, const void *data, size_t len)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= (int)sizeof tmp)
        return lab_err(LAB_EUSAGE, "use a shorter path", "path too long: %s", path);
    int fd = mkstemp(tmp);
    if (fd < 0)
        return lab_err(LAB_EENV, "check that the directory exists and is writable",
                       "cannot create a file next to %s: %s", path, strerror(errno));
    int err = 0;
    if (lab_write_full(fd, data, len) != 0 || fsync(fd) != 0)
        err = errno;
    /* mkstemp creates 0600; lab's outputs are ordinary files. */
    mode_t mask = umask(0);
    umask(mask);
    if (!err && fchmod(fd, 0666 & ~mask) != 0)
        err = errno;
    if (close(fd) != 0 && !err)
        err = errno;
    if (!err && rename(tmp, path) != 0)
        err = errno;
    if (err) {
        unlink(tmp);
        return lab_err(LAB_EENV, "check free disk space and permissions", "cannot write %s: %s", path,
                       strerror(err));
    }
    return LAB_OK;
}

int lab_read_file(const char *path, size_t max, char **out, size_t *len)
{
    *out = NULL;
    if (len)
        *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return lab_err(LAB_EENV, NULL, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return lab_err(LAB_EENV, NULL, "%s is not a regular file", path);
    }
    if ((unsigned long long)st.st_size > max) {
        close(fd);
        return lab_err(LAB_EENV, NULL, "%s is too large (%lld bytes, limit %zu)", path, (long long)st.st_size,
                       max);
    }
    size_t size = (size_t)st.st_size;
    char *buf = malloc(size + 1);
    if (!buf) {
        close(fd);
        return lab_err(LAB_EINTERNAL, NULL, "out of memory reading %s", path);
    }
    size_t got = 0;
    while (got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    if (got != size) {
        free(buf);
        return lab_err(LAB_EENV, NULL, "short read on %s", path);
    }
    buf[size] = '\0';
    *out = buf;
    if (len)
        *len = size;
    return LAB_OK;
}

int lab_path_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

int lab_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int lab_path_join(char *out, size_t cap, const char *a, const char *b)
{
    size_t la = strlen(a);
    const char *sep = (la > 0 && a[la - 1] == '/') ? "" : "/";
    if (snprintf(out, cap, "%s%s%s", a, sep, b) >= (int)cap)
        return lab_err(LAB_EUSAGE, "use a shorter path", "path too long: %s/%s", a, b);
    return LAB_OK;
}
