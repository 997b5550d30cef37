/* libFuzzer target for lab ps's reader of the engines' `ps` output
 * (containers/engine_ps.c): labels are set by whoever starts a container, so on
 * a shared docker host they are untrusted. Beyond "no crash": every row it
 * returns has bounded, NUL-terminated fields and a pid that is 0 or
 * positive (lab ps sends signal 0 to it; -1 or 0 would mean "every
 * process" or "my group").
 *
 *   make fuzz && build-fuzz/fuzz_engine_ps corpus -max_total_time=60
 * FUZZ_SEEDS=DIR writes a docker and a podman sample into DIR first. */
#include "containers/engine.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const seeds[] = {
    "{\"ID\":\"abc\",\"Names\":\"lab-2.2.1-42\",\"Labels\":\"lab.lab=2.2.1,lab.runner-host=box,lab.runner-pid=42\","
    "\"State\":\"running\",\"Status\":\"Up 2 minutes\"}\n{\"Names\":\"x\",\"Labels\":\"\"}\n",
    "[{\"Id\":\"9476\",\"Names\":[\"lab-2.2.1-7\"],\"Labels\":{\"lab.runner-host\":\"vm\",\"lab.runner-pid\":\"7\","
    "\"lab.lab\":\"2.2.1\"},\"State\":\"running\",\"Status\":\"Up\"}]",
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *dir = getenv("FUZZ_SEEDS");
    if (!dir || !*dir)
        return 0;
    mkdir(dir, 0755);
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/seed%zu", dir, i);
        FILE *f = fopen(path, "wb");
        if (f) {
            fwrite(seeds[i], 1, strlen(seeds[i]), f);
            fclose(f);
        }
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct lab_ps_row rows[64];
    size_t n = lab_ps_parse((const char *)data, size, "docker", rows, 64);
    if (n > 64)
        abort();
    for (size_t i = 0; i < n; i++) {
        const struct lab_ps_row *r = &rows[i];
        if (r->pid < 0 || strnlen(r->name, sizeof r->name) == sizeof r->name || !r->name[0] ||
            strnlen(r->host, sizeof r->host) == sizeof r->host || strnlen(r->lab, sizeof r->lab) == sizeof r->lab ||
            strnlen(r->state, sizeof r->state) == sizeof r->state)
            abort();
    }
    return 0;
}
