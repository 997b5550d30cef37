/* `lab run` through a container engine, start to end. */
#include "containers/engine.h"

#include "base/error.h"

#include <stdio.h>
#include <stdlib.h>

static int print_command(const struct lab_argv *cmd)
{
    char *line = lab_argv_to_shell(cmd);
    if (!line)
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    puts(line);
    free(line);
    return LAB_OK;
}

int lab_engine_run_lab(const struct lab_engine_choice *c, const struct lab_engine_args *ea,
                       const struct lab_engine_run *req)
{
    struct lab_container_spec *s = calloc(1, sizeof *s);
    struct lab_argv cmd = {0};
    if (!s)
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    int rc;
    if (c->engine == LAB_ENGINE_NATIVE) { /* --dry-run without an engine: what would run */
        const char *head[] = {"lab", "run", req->lab_id, "--engine", "native"};
        rc = lab_argv_extend(&cmd, (char *const *)head, 5);
        rc = rc ? rc : lab_argv_extend(&cmd, req->options, (size_t)req->n_options);
        rc = rc ? rc : print_command(&cmd);
        lab_argv_free(&cmd);
        free(s);
        return rc;
    }
    rc = lab_engine_spec_init(c, req, ea->dry_run, s);
    rc = rc ? rc : lab_engine_command(s, &cmd);
    if (!rc && ea->dry_run) {
        rc = print_command(&cmd);
    } else if (!rc) {
        fprintf(stderr, "lab: running lab %s in %s (chosen by %s), image %s\n", req->lab_id,
                lab_engine_name(c->engine), c->engine_from, c->image);
        int code = 0, signals = 0;
        char tail[8192];
        rc = lab_engine_exec(s, &cmd, &code, &signals, tail, sizeof tail);
        if (!rc && signals && (code == 137 || code == 143)) {
            rc = lab_err(LAB_EINTERRUPTED, NULL, "container %s killed on request", s->name);
            lab_err_clear();
        } else if (!rc) {
            rc = lab_engine_status_for_exit(c->engine, code, tail);
        }
    }
    lab_argv_free(&cmd);
    lab_engine_spec_free(s);
    free(s);
    return rc;
}
