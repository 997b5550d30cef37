#include "base/host.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

void lab_host_root(char *out, size_t cap)
{
    const char *root = getenv("LAB_DOCTOR_ROOT");
    snprintf(out, cap, "%s", root ? root : "");
    size_t len = strlen(out);
    while (len > 1 && out[len - 1] == '/')
        out[--len] = '\0';
}

const char *lab_host_path(const char *root, const char *abs, char *out, size_t cap)
{
    snprintf(out, cap, "%s%s", root, abs);
    return out;
}

char *lab_host_read(const char *root, const char *abs)
{
    char path[2048];
    int fd = open(lab_host_path(root, abs, path, sizeof path), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    size_t cap = 8192, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf)
            break;
        if (len + 1 >= cap) {
            if (cap >= (4u << 20))
                break; /* large enough for any file a probe reads */
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
        ssize_t got = read(fd, buf + len, cap - 1 - len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        len += (size_t)got;
    }
    close(fd);
    if (buf)
        buf[len] = '\0';
    return buf;
}

int lab_host_exists(const char *root, const char *abs)
{
    char path[2048];
    struct stat st;
    return stat(lab_host_path(root, abs, path, sizeof path), &st) == 0;
}

int lab_host_in_path(const char *root, const char *name, char *found, size_t cap)
{
    const char *path = getenv("PATH");
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
    char *save = NULL;
    for (char *dir = strtok_r(buf, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
        char rel[2048], full[3200];
        snprintf(rel, sizeof rel, "%s/%s", dir, name);
        if (access(lab_host_path(root, rel, full, sizeof full), X_OK) == 0) {
            snprintf(found, cap, "%s", rel);
            return 1;
        }
    }
    return 0;
}

int lab_host_nvidia_pci_present(const char *root)
{
    char dir[2048];
    DIR *d = opendir(lab_host_path(root, "/sys/bus/pci/devices", dir, sizeof dir));
    if (!d)
        return 0;
    int found = 0;
    struct dirent *e;
    while (!found && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char rel[512];
        snprintf(rel, sizeof rel, "/sys/bus/pci/devices/%s/vendor", e->d_name);
        char *v = lab_host_read(root, rel);
        if (v && strncasecmp(v, "0x10de", 6) == 0)
            found = 1;
        free(v);
    }
    closedir(d);
    return found;
}
