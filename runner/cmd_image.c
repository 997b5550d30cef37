/* lab image build [--local] | lab image check: the course image and the
 * minimal local one. */
#include "base/error.h"
#include "base/fsutil.h"
#include "base/proc.h"
#include "containers/image.h"
#include "runner/cli.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { O_ENGINE = 1, O_IMAGE, O_SOURCE, O_LOCAL, O_JSON, O_DRY };
static const char *const engines[] = {"docker", "podman", NULL};

const struct lab_opt lab_image_options[] = {
    {O_ENGINE, "engine", 0, LAB_OPT_CHOICE, "E", "docker or podman (default: LAB_ENGINE or the config file when\nthey name one, else podman, else docker)", 0, 0, engines},
    {O_IMAGE, "image", 0, LAB_OPT_STR, "NAME", "the image to build or check (default: LAB_IMAGE, the config\nfile's \"image\", else lab-course:<version>)", 0, 0, NULL},
    {O_LOCAL, "local", 0, LAB_OPT_FLAG, NULL, "the minimal local image, lab-local:<version>", 0, 0, NULL},
    {O_SOURCE, "source", 0, LAB_OPT_STR, "DIR", "lab's source tree, holding containers/ (default: .)", 0, 0, NULL},
    {O_DRY, "dry-run", 0, LAB_OPT_FLAG, NULL, "print the engine command, run nothing", 0, 0, NULL},
    {O_JSON, "json", 0, LAB_OPT_FLAG, NULL, "(check) print {engine, image, exists, version, lab_version, matches}", 0, 0, NULL},
    {0},
};

struct image_args {
    const char *what, *engine, *image, *source;
    int local, json, dry_run;
};

static int parse(int argc, char **argv, struct image_args *a)
{
    static const char *const actions[] = {"build", "check", NULL};
    memset(a, 0, sizeof *a);
    struct lab_opts p;
    lab_opts_init(&p, "image", lab_image_options, argc, argv);
    int c;
    while ((c = lab_opts_next(&p)) > 0) {
        switch (c) {
        case O_ENGINE: a->engine = p.value; break;
        case O_IMAGE: a->image = p.value; break;
        case O_SOURCE: a->source = p.value; break;
        case O_LOCAL: a->local = 1; break;
        case O_JSON: a->json = 1; break;
        case O_DRY: a->dry_run = 1; break;
        }
    }
    if (c < 0)
        return c;
    if (p.npos == 0)
        return lab_cli_usage("image", "say what to do: `lab image build` or `lab image check`");
    a->what = p.pos[0];
    if (strcmp(a->what, "build") != 0 && strcmp(a->what, "check") != 0)
        return lab_opts_bad_value("lab image", a->what, actions);
    if (p.npos > 1)
        return lab_cli_usage("image", "unexpected argument '%s'", p.pos[1]);
    return LAB_OK;
}

int lab_image_engine(const char *flag_engine, const char *flag_image, struct lab_engine_choice *c)
{
    int rc = lab_engine_choose(flag_engine, flag_image, c);
    if (rc)
        return rc;
    if (c->engine != LAB_ENGINE_NATIVE)
        return LAB_OK;
    if (strcmp(c->engine_from, "default") != 0 && strcmp(c->engine_from, "auto") != 0)
        return lab_err(LAB_EUSAGE, "use --engine docker or --engine podman",
                       "images need a container engine, and %s says native", c->engine_from);
    if ((rc = lab_engine_choose("auto", flag_image, c)))
        return rc;
    if (c->engine == LAB_ENGINE_NATIVE)
        return lab_err(LAB_EENV, "install podman (`sudo apt install podman`) or docker; `lab explain TS-CONTAINER-TOOLKIT`",
                       "no container engine (podman or docker) in PATH");
    return LAB_OK;
}

int lab_image_inspect(const struct lab_engine_choice *c, const char *image, int *exists, char *version, size_t cap)
{
    char *argv[] = {(char *)c->program, "image", "inspect", "--format", "{{json .Config.Labels}}", (char *)image, NULL};
    struct lab_proc_result r;
    int rc = lab_proc_capture(argv, 1 << 16, &r);
    if (rc)
        return rc;
    version[0] = '\0';
    *exists = r.exit_code == 0;
    if (!*exists) {
        const char *kb = lab_engine_classify(r.err);
        /* Only "no such image" means absent; anything else is the engine's
         * own trouble (daemon down, socket permission). */
        if (kb && strcmp(kb, "TS-ENGINE-IMAGE-MISSING") != 0) {
            char last[512], fix[128];
            lab_last_line(r.err, last, sizeof last);
            snprintf(fix, sizeof fix, "`lab explain %s` says what to do", kb);
            lab_proc_result_free(&r);
            return lab_err(LAB_EENV, fix, "%s image inspect failed: %s", lab_engine_name(c->engine), last);
        }
        lab_proc_result_free(&r);
        return LAB_OK;
    }
    json_t *labels = json_loads(r.out, JSON_DECODE_ANY, NULL);
    const char *v = json_string_value(json_object_get(labels, LAB_LABEL_VERSION));
    snprintf(version, cap, "%s", v ? v : "");
    json_decref(labels);
    lab_proc_result_free(&r);
    return LAB_OK;
}

static int run_or_print(char *const argv[], int dry_run)
{
    struct lab_argv a = {0};
    size_t n = 0;
    while (argv[n])
        n++;
    int rc = lab_argv_extend(&a, argv, n);
    if (rc)
        return rc;
    if (dry_run) {
        char *line = lab_argv_to_shell(&a);
        puts(line ? line : "");
        free(line);
        lab_argv_free(&a);
        return LAB_OK;
    }
    int code = lab_proc_run(a.v);
    lab_argv_free(&a);
    return code;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int build_course(const struct lab_engine_choice *c, const struct image_args *a)
{
    const char *src = a->source ? a->source : ".";
    char file[4200];
    snprintf(file, sizeof file, "%s/containers/Containerfile", src);
    if (!lab_path_exists(file))
        return lab_err(LAB_EUSAGE, "run it from lab's source tree, or give --source DIR (the tree with containers/)",
                       "%s not found: the course image is built from lab's sources", file);
    char *argv[] = {(char *)c->program,
                    "build",
                    "-f",
                    file,
                    "-t",
                    (char *)c->image,
                    "--build-arg",
                    "LAB_VERSION=" LAB_VERSION,
                    "--label",
                    LAB_LABEL_VERSION "=" LAB_VERSION,
                    (char *)src,
                    NULL};
    if (!a->dry_run)
        fprintf(stderr, "lab: building %s with %s from %s (base %s; needs access to nvcr.io)\n", c->image,
                lab_engine_name(c->engine), file, LAB_IMAGE_BASE);
    int code = run_or_print(argv, a->dry_run);
    if (code < 0)
        return code;
    if (code != 0)
        return lab_err(LAB_EENV,
                       "read the build output above; no access to nvcr.io? build the minimal image: "
                       "`lab image build --local` (`lab explain TS-ENGINE-IMAGE-MISSING`)",
                       "%s build of %s failed (exit %d)", lab_engine_name(c->engine), c->image, code);
    if (!a->dry_run)
        printf("image %s built (%s); check it with `lab image check --engine %s`\n", c->image,
               lab_engine_name(c->engine), lab_engine_name(c->engine));
    return LAB_OK;
}

static int build_local(const struct lab_engine_choice *c, const struct image_args *a)
{
    const char *tmp = getenv("TMPDIR");
    char dir[4096], tar[4200];
    snprintf(dir, sizeof dir, "%s/lab-image-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        return lab_err(LAB_EENV, "set TMPDIR to a writable directory", "cannot create a directory in %s",
                       tmp && *tmp ? tmp : "/tmp");
    snprintf(tar, sizeof tar, "%s/rootfs.tar", dir);
    double t0 = now_s();
    struct lab_local_rootfs info;
    int rc = lab_image_write_local_rootfs(tar, &info);
    double t1 = now_s();
    if (!rc) {
        char label[128], ldpath[4200];
        snprintf(label, sizeof label, "LABEL %s=%s", LAB_LABEL_VERSION, LAB_VERSION);
        snprintf(ldpath, sizeof ldpath, "ENV LD_LIBRARY_PATH=%s", info.library_path);
        char *argv[] = {(char *)c->program, "import", "--change", label, "--change", ldpath,
                        "--change", "ENV PATH=/usr/local/bin:/usr/bin:/bin", "--change", "WORKDIR " LAB_CT_WORKSPACE,
                        "--change", "CMD [\"lab\", \"--help\"]", "--message", "lab image build --local",
                        tar, (char *)c->image, NULL};
        if (!a->dry_run)
            fprintf(stderr, "lab: importing %zu files (%.0f MB) into %s as %s\n", info.files, (double)info.bytes / 1e6,
                    lab_engine_name(c->engine), c->image);
        int code = run_or_print(argv, a->dry_run);
        if (code < 0)
            rc = code;
        else if (code != 0)
            rc = lab_err(LAB_EENV, "read the engine's message above; `lab doctor` checks the engine",
                         "%s import of %s failed (exit %d)", lab_engine_name(c->engine), c->image, code);
    }
    double t2 = now_s();
    unlink(tar);
    rmdir(dir);
    if (rc)
        return rc;
    if (info.data_note[0])
        fprintf(stderr, "lab: warning: %s\n", info.data_note);
    if (info.font_note[0])
        fprintf(stderr, "lab: warning: %s\n", info.font_note);
    if (!a->dry_run)
        printf("image %s built (%s): %zu files, %.0f MB; root file system %.1f s, import %.1f s\n", c->image,
               lab_engine_name(c->engine), info.files, (double)info.bytes / 1e6, t1 - t0, t2 - t1);
    return LAB_OK;
}

static int check(const struct lab_engine_choice *c, const struct image_args *a)
{
    int exists = 0;
    char version[128];
    int rc = lab_image_inspect(c, c->image, &exists, version, sizeof version);
    if (rc)
        return rc;
    int matches = exists && strcmp(version, LAB_VERSION) == 0;
    if (a->json) {
        json_t *o = json_pack("{s:s, s:s, s:b, s:s?, s:s, s:b}", "engine", lab_engine_name(c->engine), "image",
                              c->image, "exists", exists, "version", exists ? version : NULL, "lab_version",
                              LAB_VERSION, "matches", matches);
        char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        puts(text);
        free(text);
        json_decref(o);
    }
    const char *build = a->local || strncmp(c->image, "lab-local:", 10) == 0 ? "lab image build --local" : "lab image build";
    char fix[256];
    snprintf(fix, sizeof fix, "`%s --engine %s` (`lab explain TS-ENGINE-IMAGE-MISSING`)", build,
             lab_engine_name(c->engine));
    if (!exists)
        return lab_err(LAB_EENV, fix, "image %s is not in %s's image store", c->image, lab_engine_name(c->engine));
    if (!matches)
        return lab_err(LAB_EENV, fix, "image %s holds lab %s, this is lab %s: rebuild it", c->image,
                       version[0] ? version : "(no lab.version label)", LAB_VERSION);
    if (!a->json)
        printf("image %s (%s): present, lab %s (matches)\n", c->image, lab_engine_name(c->engine), version);
    return LAB_OK;
}

int cmd_image(int argc, char **argv)
{
    struct image_args a;
    int rc = parse(argc, argv, &a);
    if (rc)
        return rc;
    const char *what = a.what;
    if (a.local && a.image)
        return lab_cli_usage("image", "--local names its image itself (%s); drop --image", LAB_LOCAL_IMAGE);
    struct lab_engine_choice c;
    if ((rc = lab_image_engine(a.engine, a.local ? LAB_LOCAL_IMAGE : a.image, &c)))
        return rc;
    if (strcmp(what, "check") == 0)
        return check(&c, &a);
    return a.local ? build_local(&c, &a) : build_course(&c, &a);
}
