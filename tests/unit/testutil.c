#include "tests/unit/testutil.h"

#include "labs/models/model.h"
#include "shim/torchshim.h"


#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

char *tu_tempdir(void)
{
    const char *base = getenv("TMPDIR");
    char templ[4096];
    snprintf(templ, sizeof templ, "%s/labtest.XXXXXX", base && *base ? base : "/tmp");
    char *d = mkdtemp(templ);
    ck_assert_msg(d != NULL, "mkdtemp failed");
    return strdup(d);
}

void tu_rmtree(const char *path)
{
    if (!path || strncmp(path, "/", 1) != 0 || strstr(path, "labtest.") == NULL)
        return; /* only ever remove what tu_tempdir made */
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "chmod -R u+rwx '%s' 2>/dev/null; rm -rf '%s'", path, path);
    if (system(cmd) != 0)
        fprintf(stderr, "warning: could not remove %s\n", path);
}

const char *tu_src_dir(void)
{
    const char *s = getenv("LAB_SRC");
    return s && *s ? s : ".";
}

const char *tu_lab_bin(void)
{
    const char *s = getenv("LAB_BIN");
    return s && *s ? s : "build/lab";
}

int tu_run(const char *cmd, char **output)
{
    FILE *p = popen(cmd, "r");
    ck_assert_msg(p != NULL, "popen failed for %s", cmd);
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while ((n = fread(buf + len, 1, cap - len - 1, p)) > 0) {
        len += n;
        if (cap - len < 1024) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
    }
    buf[len] = '\0';
    int st = pclose(p);
    if (output)
        *output = buf;
    else
        free(buf);
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    return 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

void tu_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot create %s", path);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    fclose(f);
}

void tu_expect_state_keys(const struct model *m, const char *path)
{
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    char line[512];
    size_t i = 0, n = ts_params_count(m->params);
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || !strncmp(line, "key\t", 4) || line[0] == '\n')
            continue;
        line[strcspn(line, "\n")] = '\0';
        char *shape = strchr(line, '\t');
        ck_assert_msg(shape != NULL, "%s: '%s' is not key<TAB>shape", path, line);
        *shape++ = '\0';
        char *kind = strchr(shape, '\t');
        if (kind)
            *kind++ = '\0';
        if (!strcmp(shape, "scalar"))
            shape[0] = '\0';
        ck_assert_msg(i < n, "%s: %s is past %s's %zu entries", path, line, m->name, n);
        const char *name;
        ts_tensor *h;
        int k, group;
        ts_params_at(m->params, i, &name, &h, &k, &group);
        ck_assert_msg(!strcmp(name, line), "%s row %zu: %s, %s has %s", path, i, line, m->name, name);
        char ours[128] = "";
        for (int d = 0; d < ts_dim(h); d++) {
            size_t len = strlen(ours);
            snprintf(ours + len, sizeof ours - len, "%s%lld", d ? "x" : "", (long long)ts_size(h, d));
        }
        ck_assert_msg(!strcmp(ours, shape), "%s: %s is %s here, %s in %s", m->name, name, ours, shape, path);
        if (kind && (!strcmp(kind, "param") || !strcmp(kind, "buffer")))
            ck_assert_msg((k == TS_PARAM) == !strcmp(kind, "param"), "%s: %s is a %s in %s", m->name, name, kind,
                          path);
        i++;
    }
    fclose(f);
    ck_assert_msg(i == n, "%s: %zu entries, %s lists %zu", m->name, n, path, i);
}

void tu_write_tool(const char *dir, const char *name, const char *body)
{
    char p[4300], text[8192];
    snprintf(p, sizeof p, "%s/bin/%s", dir, name);
    int n = snprintf(text, sizeof text, "#!/bin/sh\n%s\n", body);
    ck_assert_msg(n > 0 && (size_t)n < sizeof text, "the stand-in %s is too long", name);
    tu_write_file(p, text, (size_t)n);
    ck_assert_int_eq(chmod(p, 0755), 0);
}
