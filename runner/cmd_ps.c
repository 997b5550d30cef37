/* lab ps [--clean]: the containers `lab run --engine` started (found by
 * their labels), and whether the lab that started each is still alive. */
#include "base/error.h"
#include "base/proc.h"
#include "containers/engine.h"
#include "runner/cli.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int pid_alive(int pid)
{
    return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

/* 0 ok, LAB_EENV when the engine could not answer (reason printed). */
static int list_engine(const char *program, enum lab_engine e, const char *host, struct lab_ps_row *rows, size_t *n,
                       size_t cap)
{
    char *argv[] = {(char *)program, "ps", "-a", "--filter", "label=" LAB_LABEL_PID, "--format",
                    e == LAB_ENGINE_PODMAN ? "json" : "{{json .}}", NULL};
    struct lab_proc_result r;
    int rc = lab_proc_capture(argv, 4 << 20, &r);
    if (rc)
        return rc;
    if (r.exit_code != 0) {
        char last[512];
        lab_last_line(r.err, last, sizeof last);
        const char *kb = lab_engine_classify(r.err);
        fprintf(stderr, "lab: %s ps failed: %s%s%s%s\n", lab_engine_name(e), last, kb ? " (`lab explain " : "",
                kb ? kb : "", kb ? "`)" : "");
        lab_proc_result_free(&r);
        return LAB_EENV;
    }
    size_t first = *n;
    *n += lab_ps_parse(r.out, strlen(r.out), lab_engine_name(e), rows + *n, cap - *n);
    for (size_t i = first; i < *n; i++)
        rows[i].orphan = strcmp(rows[i].host, host) == 0 && !pid_alive(rows[i].pid);
    lab_proc_result_free(&r);
    return LAB_OK;
}

static int remove_container(const char *program, const char *name)
{
    char *argv[] = {(char *)program, "rm", "-f", (char *)name, NULL};
    struct lab_proc_result r;
    int rc = lab_proc_capture(argv, 1 << 16, &r);
    if (rc)
        return rc;
    int code = r.exit_code;
    if (code != 0) {
        char last[512];
        lab_last_line(r.err, last, sizeof last);
        fprintf(stderr, "lab: could not remove %s: %s\n", name, last);
    }
    lab_proc_result_free(&r);
    return code == 0 ? LAB_OK : LAB_EENV;
}

enum { O_ENGINE = 1, O_CLEAN, O_JSON };
static const char *const engines[] = {"docker", "podman", NULL};

const struct lab_opt lab_ps_options[] = {
    {O_ENGINE, "engine", 0, LAB_OPT_CHOICE, "E", "ask only this engine, docker or podman (default: every one installed)", 0, 0, engines},
    {O_CLEAN, "clean", 0, LAB_OPT_FLAG, NULL, "remove the containers whose lab process on this host is gone", 0, 0, NULL},
    {O_JSON, "json", 0, LAB_OPT_FLAG, NULL, "print a JSON array instead of a table", 0, 0, NULL},
    {0},
};

int cmd_ps(int argc, char **argv)
{
    const char *only = NULL;
    int clean = 0, json = 0, c;
    struct lab_opts p;
    lab_opts_init(&p, "ps", lab_ps_options, argc, argv);
    while ((c = lab_opts_next(&p)) > 0) {
        switch (c) {
        case O_ENGINE: only = p.value; break;
        case O_CLEAN: clean = 1; break;
        case O_JSON: json = 1; break;
        }
    }
    if (c < 0)
        return c;
    if (p.npos)
        return lab_cli_usage("ps", "ps takes no arguments");
    enum lab_engine wanted[2] = {LAB_ENGINE_PODMAN, LAB_ENGINE_DOCKER};
    size_t n_wanted = 2;
    if (only) {
        int rc = lab_engine_parse(only, "--engine", &wanted[0]);
        if (rc)
            return rc;
        if (wanted[0] != LAB_ENGINE_DOCKER && wanted[0] != LAB_ENGINE_PODMAN)
            return lab_cli_usage("ps", "--engine takes docker or podman");
        n_wanted = 1;
    }
    char host[128] = "";
    gethostname(host, sizeof host - 1);
    static struct lab_ps_row rows[512];
    size_t n = 0;
    int asked = 0, answered = 0;
    char programs[2][4096];
    for (size_t i = 0; i < n_wanted; i++) {
        struct lab_engine_choice ch;
        if (lab_engine_choose(lab_engine_name(wanted[i]), NULL, &ch) != LAB_OK) {
            lab_err_clear();
            if (only)
                return lab_engine_choose(lab_engine_name(wanted[i]), NULL, &ch);
            programs[i][0] = '\0';
            continue;
        }
        snprintf(programs[i], sizeof programs[i], "%s", ch.program);
        asked++;
        int rc = list_engine(ch.program, wanted[i], host, rows, &n, 512);
        if (rc == LAB_OK)
            answered++;
        else if (rc != LAB_EENV)
            return rc;
    }
    if (!asked)
        return lab_err(LAB_EENV, "install podman or docker; `lab explain TS-CONTAINER-TOOLKIT`",
                       "no container engine (podman or docker) in PATH");
    if (!answered)
        return lab_err(LAB_EENV, "see the engine's message above", "no container engine answered");
    int removed = 0, failed = 0;
    if (clean) {
        for (size_t i = 0; i < n; i++) {
            if (!rows[i].orphan)
                continue;
            const char *program = strcmp(rows[i].engine, "podman") == 0 ? programs[0] : programs[n_wanted - 1];
            if (remove_container(program, rows[i].name) == LAB_OK) {
                removed++;
                if (!json)
                    printf("removed %s (%s, its lab process %d is gone)\n", rows[i].name, rows[i].engine, rows[i].pid);
                snprintf(rows[i].state, sizeof rows[i].state, "removed");
            } else {
                failed++;
            }
        }
    }
    if (json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:b}", "engine", rows[i].engine,
                                                 "name", rows[i].name, "lab", rows[i].lab, "runner_pid", rows[i].pid,
                                                 "runner_host", rows[i].host, "state", rows[i].state, "status",
                                                 rows[i].status, "orphan", rows[i].orphan));
        char *text = json_dumps(arr, JSON_INDENT(2));
        puts(text);
        free(text);
        json_decref(arr);
    } else if (!clean) {
        if (n == 0)
            printf("no lab containers\n");
        else
            printf("%-8s %-28s %-7s %-12s %-10s %s\n", "ENGINE", "NAME", "LAB", "RUNNER", "STATE", "STATUS");
        int orphans = 0;
        for (size_t i = 0; i < n; i++) {
            char runner[48];
            if (strcmp(rows[i].host, host) != 0)
                snprintf(runner, sizeof runner, "%d@%s", rows[i].pid, rows[i].host);
            else
                snprintf(runner, sizeof runner, "%d%s", rows[i].pid, rows[i].orphan ? " gone" : "");
            printf("%-8s %-28s %-7s %-12s %-10s %s\n", rows[i].engine, rows[i].name, rows[i].lab, runner,
                   rows[i].state, rows[i].status);
            orphans += rows[i].orphan;
        }
        if (orphans)
            printf("%d container(s) left by a lab that is gone: `lab ps --clean` removes them\n", orphans);
    } else if (!removed && !failed) {
        printf("nothing to clean\n");
    }
    if (failed)
        return lab_err(LAB_EENV, "see the messages above", "%d container(s) could not be removed", failed);
    return LAB_OK;
}
