#include "base/proc.h"

#include "base/error.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int wait_code(pid_t pid)
{
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return 127;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* In the child: stdin from /dev/null, then exec; 127 with the reason. */
static void exec_child(char *const argv[])
{
    int null = open("/dev/null", O_RDONLY);
    if (null >= 0) {
        dup2(null, 0);
        close(null);
    }
    execvp(argv[0], argv);
    dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

struct sink {
    char *buf;
    size_t len, max;
};

static void keep(struct sink *s, const char *data, size_t n)
{
    size_t room = s->max - s->len;
    if (n > room)
        n = room;
    memcpy(s->buf + s->len, data, n);
    s->len += n;
    s->buf[s->len] = '\0';
}

int lab_proc_capture(char *const argv[], size_t max, struct lab_proc_result *r)
{
    memset(r, 0, sizeof *r);
    struct sink out = {malloc(max + 1), 0, max}, err = {malloc(max + 1), 0, max};
    int po[2] = {-1, -1}, pe[2] = {-1, -1};
    if (!out.buf || !err.buf || pipe2(po, O_CLOEXEC) || pipe2(pe, O_CLOEXEC)) {
        free(out.buf);
        free(err.buf);
        for (int i = 0; i < 2; i++) {
            if (po[i] >= 0)
                close(po[i]);
            if (pe[i] >= 0)
                close(pe[i]);
        }
        return lab_err(LAB_EINTERNAL, NULL, "cannot start %s: %s", argv[0], strerror(errno));
    }
    out.buf[0] = err.buf[0] = '\0';
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(po[1], 1);
        dup2(pe[1], 2);
        exec_child(argv);
    }
    close(po[1]);
    close(pe[1]);
    struct pollfd fds[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
    int open_fds = 2;
    while (pid > 0 && open_fds > 0) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char chunk[4096];
            ssize_t n = read(fds[i].fd, chunk, sizeof chunk);
            if (n > 0) {
                keep(i == 0 ? &out : &err, chunk, (size_t)n);
            } else if (n == 0 || errno != EINTR) {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
            }
        }
    }
    for (int i = 0; i < 2; i++)
        if (fds[i].fd >= 0)
            close(fds[i].fd);
    r->exit_code = pid > 0 ? wait_code(pid) : 127;
    r->out = out.buf;
    r->err = err.buf;
    if (pid < 0)
        snprintf(err.buf, max + 1, "cannot fork: %s", strerror(errno));
    return LAB_OK;
}

void lab_proc_result_free(struct lab_proc_result *r)
{
    if (!r)
        return;
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

int lab_proc_run(char *const argv[])
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return 127;
    if (pid == 0)
        exec_child(argv);
    return wait_code(pid);
}

void lab_last_line(const char *text, char *out, size_t cap)
{
    out[0] = '\0';
    if (!text)
        return;
    const char *end = text + strlen(text);
    while (end > text && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
        end--;
    const char *start = end;
    while (start > text && start[-1] != '\n')
        start--;
    snprintf(out, cap, "%.*s", (int)(end - start), start);
}
