/* `lab image build --local`: a minimal image made from what this machine
 * already has, with no registry access: the running lab binary, every
 * shared library the dynamic loader mapped for it (the loader's own names,
 * so no ld.so.cache is needed), Fashion-MNIST, one font for the plots, and
 * the few files a process expects (/etc/passwd, /tmp). The root file system
 * is written as a tar by libarchive and handed to `<engine> import`. */
#include "containers/image.h"

#include "base/error.h"
#include "base/fsutil.h"
#include "base/paths.h"
#include "base/proc.h"
#include "datasets/manifest.h"
#include "shim/lazy.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_FILES 1024

struct rootfs {
    struct archive *ar;
    char *dirs[MAX_FILES]; /* directories already written */
    size_t n_dirs;
    char *libdirs[128]; /* for LD_LIBRARY_PATH */
    size_t n_libdirs;
    unsigned long long bytes;
    size_t files;
    time_t mtime;
};

static int ar_fail(struct rootfs *fs, const char *what)
{
    return lab_err(LAB_EENV, "check the free space of the temporary directory (TMPDIR)", "writing the image's %s: %s",
                   what, archive_error_string(fs->ar));
}

static int add_dir(struct rootfs *fs, const char *path, int mode)
{
    for (size_t i = 0; i < fs->n_dirs; i++)
        if (strcmp(fs->dirs[i], path) == 0)
            return LAB_OK;
    /* parents first */
    char parent[PATH_MAX];
    snprintf(parent, sizeof parent, "%s", path);
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent) {
        *slash = '\0';
        int rc = add_dir(fs, parent, 0755);
        if (rc)
            return rc;
    }
    if (fs->n_dirs == MAX_FILES)
        return lab_err(LAB_EINTERNAL, NULL, "too many directories in the image");
    fs->dirs[fs->n_dirs++] = strdup(path);
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, path + 1);
    archive_entry_set_filetype(e, AE_IFDIR);
    archive_entry_set_perm(e, (mode_t)mode);
    archive_entry_set_mtime(e, fs->mtime, 0);
    int ok = archive_write_header(fs->ar, e) == ARCHIVE_OK;
    archive_entry_free(e);
    return ok ? LAB_OK : ar_fail(fs, path);
}

static int parent_dir(struct rootfs *fs, const char *path)
{
    char parent[PATH_MAX];
    snprintf(parent, sizeof parent, "%s", path);
    char *slash = strrchr(parent, '/');
    if (!slash || slash == parent)
        return LAB_OK;
    *slash = '\0';
    return add_dir(fs, parent, 0755);
}

static int add_bytes(struct rootfs *fs, const char *path, const void *data, size_t len, int mode)
{
    int rc = parent_dir(fs, path);
    if (rc)
        return rc;
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, path + 1);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, (mode_t)mode);
    archive_entry_set_size(e, (la_int64_t)len);
    archive_entry_set_mtime(e, fs->mtime, 0);
    int ok = archive_write_header(fs->ar, e) == ARCHIVE_OK;
    archive_entry_free(e);
    if (ok && len)
        ok = archive_write_data(fs->ar, data, len) == (la_ssize_t)len;
    fs->files++;
    fs->bytes += len;
    return ok ? LAB_OK : ar_fail(fs, path);
}

/* Copies the host file `src` (symlinks followed) to `dest` in the image. */
static int add_file(struct rootfs *fs, const char *src, const char *dest)
{
    int fd = open(src, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        return lab_err(LAB_EENV, "check that the file is readable", "cannot read %s for the image: %s", src,
                       strerror(errno ? errno : EINVAL));
    }
    int rc = parent_dir(fs, dest);
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, dest + 1);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, st.st_mode & 0755);
    archive_entry_set_size(e, st.st_size);
    archive_entry_set_mtime(e, fs->mtime, 0);
    if (!rc && archive_write_header(fs->ar, e) != ARCHIVE_OK)
        rc = ar_fail(fs, dest);
    archive_entry_free(e);
    char buf[1 << 16];
    ssize_t n;
    while (!rc && (n = read(fd, buf, sizeof buf)) > 0)
        if (archive_write_data(fs->ar, buf, (size_t)n) != n)
            rc = ar_fail(fs, dest);
    close(fd);
    fs->files++;
    fs->bytes += (unsigned long long)st.st_size;
    return rc;
}

/* Driver libraries come from the host at run time (NVIDIA container
 * toolkit); baking this machine's into the image would break elsewhere. */
static int is_driver_library(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    return strncmp(base, "libcuda.so", 10) == 0 || strncmp(base, "libnvidia-", 10) == 0 ||
           strncmp(base, "libnvcuvid", 10) == 0;
}

struct libs {
    char *names[MAX_FILES];
    size_t n;
};

static int collect(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    struct libs *l = data;
    if (info->dlpi_name && info->dlpi_name[0] == '/' && l->n < MAX_FILES && !is_driver_library(info->dlpi_name))
        l->names[l->n++] = strdup(info->dlpi_name);
    return 0;
}

static void add_libdir(struct rootfs *fs, const char *lib)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", lib);
    char *slash = strrchr(dir, '/');
    if (!slash)
        return;
    *slash = '\0';
    for (size_t i = 0; i < fs->n_libdirs; i++)
        if (strcmp(fs->libdirs[i], dir) == 0)
            return;
    if (fs->n_libdirs < sizeof fs->libdirs / sizeof fs->libdirs[0])
        fs->libdirs[fs->n_libdirs++] = strdup(dir);
}

static int add_program_and_libraries(struct rootfs *fs)
{
    /* The shim (and libtorch with it) is loaded on first use: load it now so
     * its libraries are among the mapped ones, and put it where an installed
     * bin/lab looks for it, ../lib/lab/. */
    if (ts_lazy_require() != LAB_OK)
        return LAB_EENV;
    int rc = add_file(fs, "/proc/self/exe", "/usr/local/bin/lab");
    struct libs l = {.n = 0};
    dl_iterate_phdr(collect, &l);
    for (size_t i = 0; i < l.n; i++) {
        int is_shim = strcmp(l.names[i], ts_lazy_path()) == 0;
        if (!rc)
            rc = add_file(fs, l.names[i], is_shim ? "/usr/local/lib/lab/liblabtorch.so" : l.names[i]);
        add_libdir(fs, l.names[i]);
        free(l.names[i]);
    }
    return rc;
}

static int add_fashion_mnist(struct rootfs *fs, char *note, size_t cap)
{
    char dir[4096];
    if (ds_data_dir("fashion-mnist", dir, sizeof dir) != LAB_OK) {
        lab_err_clear();
        snprintf(note, cap, "Fashion-MNIST not found here (`lab fetch fashion-mnist`): the image has no data");
        return LAB_OK;
    }
    char pattern[4200];
    snprintf(pattern, sizeof pattern, "%s/*.gz", dir);
    glob_t g;
    int rc = LAB_OK;
    if (glob(pattern, 0, NULL, &g) == 0) {
        for (size_t i = 0; !rc && i < g.gl_pathc; i++) {
            const char *base = strrchr(g.gl_pathv[i], '/') + 1;
            char dest[4200];
            /* Debian's place is one of the dataset's local candidates. */
            snprintf(dest, sizeof dest, "/usr/share/datasets/fashion-mnist/%s", base);
            rc = add_file(fs, g.gl_pathv[i], dest);
        }
        globfree(&g);
    }
    return rc;
}

/* One sans-serif font and a fontconfig file that names only it, so the
 * plots have text and fontconfig has nothing to complain about. */
static int add_font(struct rootfs *fs, char *note, size_t cap)
{
    char *argv[] = {"fc-match", "-f", "%{file}", "sans-serif", NULL};
    struct lab_proc_result r;
    int rc = lab_proc_capture(argv, 4096, &r);
    if (rc)
        return rc;
    if (r.exit_code != 0 || r.out[0] != '/') {
        snprintf(note, cap, "no font found (fc-match): plots in the image will have no text");
        lab_proc_result_free(&r);
        return LAB_OK;
    }
    const char *base = strrchr(r.out, '/') + 1;
    char dest[4200];
    snprintf(dest, sizeof dest, "/usr/share/fonts/lab/%s", base);
    rc = add_file(fs, r.out, dest);
    lab_proc_result_free(&r);
    static const char conf[] = "<?xml version=\"1.0\"?>\n<!DOCTYPE fontconfig SYSTEM \"urn:fontconfig:fonts.dtd\">\n"
                               "<fontconfig>\n  <dir>/usr/share/fonts/lab</dir>\n"
                               "  <cachedir>/tmp/fontconfig</cachedir>\n</fontconfig>\n";
    return rc ? rc : add_bytes(fs, "/etc/fonts/fonts.conf", conf, sizeof conf - 1, 0644);
}

static int add_system_files(struct rootfs *fs)
{
    static const char passwd[] = "root:x:0:0:root:/root:/usr/sbin/nologin\n"
                                 "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
    static const char group[] = "root:x:0:\nnogroup:x:65534:\n";
    int rc = add_bytes(fs, "/etc/passwd", passwd, sizeof passwd - 1, 0644);
    rc = rc ? rc : add_bytes(fs, "/etc/group", group, sizeof group - 1, 0644);
    rc = rc ? rc : add_dir(fs, "/tmp", 01777);
    /* /root is traversable so that a non-root --user reaches the mounted
     * Hugging Face cache at /root/.cache/huggingface. */
    rc = rc ? rc : add_dir(fs, "/root", 0755);
    rc = rc ? rc : add_dir(fs, "/root/.cache", 0755);
    rc = rc ? rc : add_dir(fs, "/root/.cache/huggingface", 0777);
    rc = rc ? rc : add_dir(fs, "/workspace", 0777);
    return rc;
}

int lab_image_write_local_rootfs(const char *tar_path, struct lab_local_rootfs *info)
{
    memset(info, 0, sizeof *info);
    struct rootfs *fs = calloc(1, sizeof *fs);
    if (!fs)
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    fs->mtime = time(NULL);
    fs->ar = archive_write_new();
    archive_write_set_format_pax_restricted(fs->ar);
    int rc = LAB_OK;
    if (archive_write_open_filename(fs->ar, tar_path) != ARCHIVE_OK)
        rc = lab_err(LAB_EENV, "set TMPDIR to a writable directory with 1 GB free", "cannot write %s: %s", tar_path,
                     archive_error_string(fs->ar));
    rc = rc ? rc : add_system_files(fs);
    rc = rc ? rc : add_program_and_libraries(fs);
    rc = rc ? rc : add_fashion_mnist(fs, info->data_note, sizeof info->data_note);
    rc = rc ? rc : add_font(fs, info->font_note, sizeof info->font_note);
    if (archive_write_close(fs->ar) != ARCHIVE_OK && !rc)
        rc = ar_fail(fs, "end");
    archive_write_free(fs->ar);
    info->files = fs->files;
    info->bytes = fs->bytes;
    size_t len = 0;
    for (size_t i = 0; i < fs->n_libdirs; i++) {
        len += (size_t)snprintf(info->library_path + len, sizeof info->library_path - len, "%s%s", i ? ":" : "",
                                fs->libdirs[i]);
        if (len >= sizeof info->library_path)
            len = sizeof info->library_path - 1;
        free(fs->libdirs[i]);
    }
    for (size_t i = 0; i < fs->n_dirs; i++)
        free(fs->dirs[i]);
    free(fs);
    if (rc)
        unlink(tar_path);
    return rc;
}
