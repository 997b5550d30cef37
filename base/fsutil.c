#include "base/fsutil.h"

#include "base/error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
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
        if (n == 0) { /* no progress and no reason: never loop on it */
            errno = EIO;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The directory entry of a rename is durable only once its directory is
 * synced; file systems that cannot sync a directory (EINVAL) have nothing
 * more to make durable. */
static int fsync_parent(const char *path)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd) != 0 && errno != EINVAL ? -1 : 0;
    close(fd);
    return rc;
}

int lab_rename_durable(const char *from, const char *to)
{
    if (rename(from, to) != 0)
        return lab_err(LAB_EENV, "check the permissions and free space of the destination directory",
                       "cannot move %s to %s: %s", from, to, strerror(errno));
    if (fsync_parent(to) != 0)
        return lab_err(LAB_EENV, "check the disk: the file system refused to sync", "cannot sync the directory of %s: %s",
                       to, strerror(errno));
    return LAB_OK;
}

int lab_atomic_open(struct lab_atomic_file *f, const char *path)
{
    memset(f, 0, sizeof *f);
    f->fd = -1;
    if (snprintf(f->path, sizeof f->path, "%s", path) >= (int)sizeof f->path ||
        snprintf(f->tmp, sizeof f->tmp, "%s.tmp.XXXXXX", path) >= (int)sizeof f->tmp)
        return lab_err(LAB_EUSAGE, "use a shorter path", "path too long: %s", path);
    /* The rename would replace a link, not write through it; either way the
     * user did not ask for a file where the link points, or for losing it. */
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
        return lab_err(LAB_EENV, "remove the link or write to another path",
                       "%s is a symbolic link; lab does not write through links", path);
    /* Our own name instead of mkstemp: O_NOFOLLOW, and the umask decides the
     * mode (mkstemp makes 0600, and lab's outputs are ordinary files). */
    static _Atomic unsigned serial;
    char *tail = f->tmp + strlen(f->tmp) - 6;
    for (int tries = 0; tries < 100; tries++) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        unsigned long v = (unsigned long)ts.tv_nsec ^ ((unsigned long)getpid() << 12) ^ (serial++ * 2654435761u);
        for (int i = 0; i < 6; i++, v /= 36)
            tail[i] = "0123456789abcdefghijklmnopqrstuvwxyz"[v % 36];
        f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (f->fd >= 0 || errno != EEXIST)
            break;
    }
    if (f->fd < 0)
        return lab_err(LAB_EENV, "check that the directory exists and is writable",
                       "cannot create a file next to %s: %s", path, strerror(errno));
    return LAB_OK;
}

int lab_atomic_write(struct lab_atomic_file *f, const void *data, size_t len)
{
    if (f->fd < 0 || f->err)
        return LAB_EENV;
    if (lab_write_full(f->fd, data, len) != 0) {
        f->err = errno ? errno : EIO;
        return lab_err(LAB_EENV, "check free disk space and permissions", "cannot write %s: %s", f->path,
                       strerror(f->err));
    }
    return LAB_OK;
}

void lab_atomic_abort(struct lab_atomic_file *f)
{
    if (f->fd < 0)
        return;
    close(f->fd);
    f->fd = -1;
    unlink(f->tmp);
}

int lab_atomic_commit(struct lab_atomic_file *f)
{
    if (f->fd < 0)
        return lab_err(LAB_EINTERNAL, NULL, "%s was already committed or abandoned", f->path);
    int err = f->err;
    if (!err && fsync(f->fd) != 0)
        err = errno;
    if (close(f->fd) != 0 && !err)
        err = errno;
    f->fd = -1;
    if (!err && rename(f->tmp, f->path) != 0)
        err = errno;
    if (err) {
        unlink(f->tmp);
        return lab_err(LAB_EENV, "check free disk space and permissions", "cannot write %s: %s", f->path,
                       strerror(err));
    }
    if (fsync_parent(f->path) != 0)
        return lab_err(LAB_EENV, "check the disk: the file system refused to sync", "cannot sync the directory of %s: %s",
                       f->path, strerror(errno));
    return LAB_OK;
}

int lab_write_atomic(const char *path, const void *data, size_t len)
{
    struct lab_atomic_file f;
    int rc = lab_atomic_open(&f, path);
    if (rc)
        return rc;
    if ((rc = lab_atomic_write(&f, data, len))) {
        lab_atomic_abort(&f);
        return rc;
    }
    return lab_atomic_commit(&f);
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

int lab_dir_is_empty(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return 1;
    struct dirent *e;
    int empty = 1;
    while (empty && (e = readdir(d)))
        empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
    closedir(d);
    return empty;
}
