#include "grader/autograder.h"

#include "base/error.h"
#include "base/fsutil.h"
#include "grader/pack.h"
#include "grader/rubric.h"
#include "labs/lab.h"

#include <archive.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The wrappers' shared fallback: when lab wrote no results.json (it could
 * not start, or crashed), the platform still gets one, carrying lab's own
 * words, escaped for JSON with nothing but coreutils. */
#define FALLBACK_MESSAGE                                                                                              \
    "  msg=$(head -c 4000 \"$ERR\" | tr -d '\\000-\\011\\013-\\037' | sed -e 's/\\\\/\\\\\\\\/g' -e 's/\"/\\\\\"/g' " \
    "| awk '{printf \"%s\\\\n\", $0}')\n"

static const char gradescope_run[] =
    "#!/usr/bin/env bash\n"
    "# Gradescope runs this once per submission (written by `lab autograder gradescope @LAB@`).\n"
    "# The student's upload is in $AG/submission (the archive itself, or its files);\n"
    "# the grade goes to $AG/results/results.json, whatever happens.\n"
    "set -u\n"
    "AG=${LAB_AUTOGRADER_ROOT:-/autograder}\n"
    "LAB=$AG/source/bin/lab\n"
    "RESULTS=$AG/results/results.json\n"
    "ERR=$AG/results/lab-stderr.txt\n"
    "mkdir -p \"$AG/results\"\n"
    "rm -f \"$RESULTS\"\n"
    "export LAB_HOME=${LAB_HOME:-$AG/lab-home} LAB_CACHE=${LAB_CACHE:-$AG/source/cache} LAB_OFFLINE=1\n"
    "\"$LAB\" grade \"$AG/submission\" --lab @LAB@ --format gradescope@GRADE_ARGS@ --out \"$RESULTS\" 2>\"$ERR\"\n"
    "rc=$?\n"
    "if [ ! -s \"$RESULTS\" ]; then\n" FALLBACK_MESSAGE
    "  printf '{\"score\": 0, \"output\": \"lab could not grade this upload (exit %s):\\\\n%s\", \"tests\": []}\\n' "
    "\"$rc\" \"$msg\" >\"$RESULTS\"\n"
    "fi\n"
    "exit 0\n";

static const char gradescope_setup[] =
    "#!/usr/bin/env bash\n"
    "# Gradescope runs this once, as root, when it builds the autograder image\n"
    "# (written by `lab autograder gradescope @LAB@`). Pick the Ubuntu 24.04 base\n"
    "# image: the bundled lab binary needs glibc 2.36 or newer.\n"
    "set -eu\n"
    "cd \"${LAB_AUTOGRADER_ROOT:-/autograder}/source\"\n"
    "apt-get update\n"
    "for pkg in libjansson4 libsqlite3-0 libarchive13 libcurl4 libcairo2 libpng16-16; do\n"
    "  # Ubuntu 24.04 renamed some of them (the 64-bit time_t transition)\n"
    "  apt-get install -y --no-install-recommends \"$pkg\" || apt-get install -y --no-install-recommends \"${pkg}t64\"\n"
    "done\n"
    "chmod +x bin/lab run_autograder\n"
    "# The data the grader recomputes against (labels of the eval split, and the\n"
    "# images for re-evaluation), fetched now: grading runs offline.\n"
    "LAB_CACHE=$PWD/cache bin/lab fetch @LAB@\n";

static const char prairielearn_run[] =
    "#!/usr/bin/env bash\n"
    "# PrairieLearn's external grader runs this (entrypoint /grade/tests/run.sh;\n"
    "# written by `lab autograder prairielearn @LAB@`). The student's files are in\n"
    "# $G/student; the grade goes to $G/results/results.json, whatever happens.\n"
    "set -u\n"
    "G=${LAB_AUTOGRADER_ROOT:-/grade}\n"
    "LAB=$G/tests/bin/lab\n"
    "RESULTS=$G/results/results.json\n"
    "ERR=$G/results/lab-stderr.txt\n"
    "mkdir -p \"$G/results\"\n"
    "rm -f \"$RESULTS\"\n"
    "export LAB_HOME=${LAB_HOME:-/tmp/lab-home} LAB_OFFLINE=1\n"
    "\"$LAB\" grade \"$G/student\" --lab @LAB@ --format prairielearn@GRADE_ARGS@ --out \"$RESULTS\" 2>\"$ERR\"\n"
    "rc=$?\n"
    "if [ ! -s \"$RESULTS\" ]; then\n" FALLBACK_MESSAGE
    "  printf '{\"succeeded\": true, \"gradable\": false, \"score\": 0, \"message\": \"lab could not grade this "
    "upload (exit %s):\\\\n%s\", \"tests\": []}\\n' \"$rc\" \"$msg\" >\"$RESULTS\"\n"
    "fi\n"
    "exit 0\n";

static const char prairielearn_question[] =
    "<pl-question-panel>\n"
    "  <p>Upload your submission for lab @LAB@ (@TITLE@). Make it from your finished run with\n"
    "  <code>lab submit RUN_DIR --student YOUR_ID -o submission.tar.gz</code>.</p>\n"
    "</pl-question-panel>\n"
    "<pl-file-upload file-names=\"submission.tar.gz\"></pl-file-upload>\n"
    "<pl-submission-panel>\n"
    "  <pl-external-grader-results></pl-external-grader-results>\n"
    "  <pl-file-preview></pl-file-preview>\n"
    "</pl-submission-panel>\n";

int ag_platform_parse(const char *name, enum ag_platform *out)
{
    if (name && strcmp(name, "gradescope") == 0)
        return *out = AG_GRADESCOPE, LAB_OK;
    if (name && strcmp(name, "prairielearn") == 0)
        return *out = AG_PRAIRIELEARN, LAB_OK;
    return lab_err(LAB_EUSAGE, "write lab autograder gradescope LAB or lab autograder prairielearn LAB",
                   "unknown platform '%s'", name ? name : "");
}

/* `tmpl` with every @KEY@ of `keys` replaced by its value; caller frees. */
static char *fill(const char *tmpl, const char *const keys[][2], size_t nkeys)
{
    size_t cap = strlen(tmpl) + 1;
    for (size_t k = 0; k < nkeys; k++)
        for (const char *p = strstr(tmpl, keys[k][0]); p; p = strstr(p + 1, keys[k][0]))
            cap += strlen(keys[k][1]);
    char *out = malloc(cap), *w = out;
    if (!out)
        return NULL;
    for (const char *p = tmpl; *p;) {
        size_t k = 0;
        while (k < nkeys && strncmp(p, keys[k][0], strlen(keys[k][0])) != 0)
            k++;
        if (k < nkeys) {
            w = stpcpy(w, keys[k][1]);
            p += strlen(keys[k][0]);
        } else {
            *w++ = *p++;
        }
    }
    *w = 0;
    return out;
}

/* The rubric as the grader will run it, for the instructor to set the
 * assignment's points from. */
static char *rubric_json(const char *lab, const char *title)
{
    const struct rubric *rb = rubric_find(lab);
    json_t *checks = json_array();
    for (size_t i = 0; rb && i < rb->n; i++) {
        const struct rubric_check *c = &rb->checks[i];
        json_array_append_new(checks, json_pack("{s:s, s:s, s:f, s:b, s:b, s:b}", "id", c->id, "name", c->name,
                                                "points", c->points, "per_model", (c->flags & RC_PER_MODEL) != 0,
                                                "submission_only", (c->flags & RC_SUBMISSION) != 0, "reeval_only",
                                                (c->flags & RC_REEVAL) != 0));
    }
    json_t *j = json_pack("{s:s, s:s, s:o}", "lab", lab, "title", title, "checks", checks);
    char *text = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    return text;
}

static int read_self(char **data, size_t *len, char *dir, size_t cap)
{
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return lab_err(LAB_EENV, NULL, "cannot find this lab binary (/proc/self/exe): %s", strerror(errno));
    exe[n] = 0;
    snprintf(dir, cap, "%s", exe);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    return lab_read_file(exe, 256u << 20, data, len);
}

struct ag_file {
    const char *name;
    char *data;
    size_t len;
    int perm;
};

static int write_zip(const char *out, const struct ag_file *files, size_t n)
{
    struct lab_atomic_file f;
    int rc = lab_atomic_open(&f, out);
    if (rc)
        return rc;
    struct archive *a = archive_write_new();
    archive_write_set_format_zip(a);
    archive_write_zip_set_compression_deflate(a);
    rc = archive_write_open_fd(a, f.fd) == ARCHIVE_OK ? LAB_OK
                                                      : lab_err(LAB_EENV, NULL, "zip: %s", archive_error_string(a));
    time_t now = time(NULL);
    for (size_t i = 0; !rc && i < n; i++)
        rc = pack_add_buffer(a, files[i].name, files[i].data, files[i].len, files[i].perm, now);
    if (archive_write_close(a) != ARCHIVE_OK && !rc)
        rc = lab_err(LAB_EENV, "check the disk space", "zip: %s", archive_error_string(a));
    archive_write_free(a);
    if (rc)
        lab_atomic_abort(&f);
    else
        rc = lab_atomic_commit(&f);
    return rc;
}

static int write_tree(const char *out, const struct ag_file *files, size_t n)
{
    if (lab_path_exists(out) && !(lab_is_dir(out) && lab_dir_is_empty(out)))
        return lab_err(LAB_EUSAGE, "remove it, or choose another directory with -o",
                       "%s exists and is not an empty directory", out);
    for (size_t i = 0; i < n; i++) {
        char path[4400], dir[4400];
        snprintf(path, sizeof path, "%s/%s", out, files[i].name);
        snprintf(dir, sizeof dir, "%s", path);
        *strrchr(dir, '/') = 0;
        int rc = lab_mkdir_p(dir);
        if (!rc)
            rc = lab_write_atomic(path, files[i].data, files[i].len);
        if (!rc && chmod(path, (mode_t)files[i].perm) != 0)
            rc = lab_err(LAB_EENV, NULL, "cannot make %s executable: %s", path, strerror(errno));
        if (rc)
            return rc;
    }
    return LAB_OK;
}

/* A version-4 UUID: PrairieLearn wants one per question. */
static void new_uuid(char *out, size_t cap)
{
    unsigned char b[16] = {0};
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (read(fd, b, sizeof b) != (ssize_t)sizeof b)
            memset(b, 0x5a, sizeof b);
        close(fd);
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, cap, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3],
             b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

static char *pl_info_json(const char *lab, const char *title)
{
    char uuid[40], full_title[400];
    new_uuid(uuid, sizeof uuid);
    snprintf(full_title, sizeof full_title, "Lab %s: %s", lab, title);
    json_t *j = json_pack("{s:s, s:s, s:s, s:[s], s:s, s:s, s:b, s:{s:b, s:s, s:s, s:i}}", "uuid", uuid, "title",
                          full_title, "topic", "Labs", "tags", "lab", "type", "v3", "gradingMethod", "External",
                          "singleVariant", 1, "externalGradingOptions", "enabled", 1, "image",
                          "REPLACE with an image holding lab's runtime libraries and `lab fetch` data "
                          "(see docs/grading.md)",
                          "entrypoint", "/grade/tests/run.sh", "timeout", 600);
    char *text = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    return text;
}

int ag_write(enum ag_platform p, const struct ag_opts *o, char *written, size_t cap)
{
    int rc = lab_registry_load();
    if (rc)
        return rc;
    const json_t *m = lab_registry_find(o->lab);
    if (!m)
        return lab_err(LAB_EUSAGE, "`lab list` shows the lab ids", "unknown lab '%s'", o->lab);
    if (!rubric_find(o->lab))
        return lab_err(LAB_EUSAGE, "only labs with a rubric can be graded on a platform (`lab list`)",
                       "lab %s has no rubric yet", o->lab);
    const char *title = lab_manifest_title(m);
    const char *keys[][2] = {{"@LAB@", o->lab},
                             {"@GRADE_ARGS@", o->reeval ? " --reeval --device cpu" : ""},
                             {"@TITLE@", title}};
    char bindir[4096], *self = NULL, *shim = NULL;
    size_t self_len = 0, shim_len = 0;
    if ((rc = read_self(&self, &self_len, bindir, sizeof bindir)))
        return rc;
    /* The shim, when it sits beside the binary, travels too (re-evaluation
     * also needs libtorch in the image). */
    char shim_path[4200];
    snprintf(shim_path, sizeof shim_path, "%s/liblabtorch.so", bindir);
    if (lab_path_exists(shim_path) && (rc = lab_read_file(shim_path, 256u << 20, &shim, &shim_len))) {
        free(self);
        return rc;
    }
    int gs = p == AG_GRADESCOPE;
    const char *prefix = gs ? "" : "tests/";
    char bin_name[64], shim_name[64];
    snprintf(bin_name, sizeof bin_name, "%sbin/lab", prefix);
    snprintf(shim_name, sizeof shim_name, "%sbin/liblabtorch.so", prefix);
    struct ag_file files[8];
    size_t n = 0;
    char *owned[8] = {0};
    size_t n_owned = 0;
#define OWNED(x) (owned[n_owned++] = (x))
    if (gs) {
        files[n++] = (struct ag_file){"run_autograder", OWNED(fill(gradescope_run, keys, 3)), 0, 0755};
        files[n++] = (struct ag_file){"setup.sh", OWNED(fill(gradescope_setup, keys, 3)), 0, 0755};
    } else {
        files[n++] = (struct ag_file){"info.json", OWNED(pl_info_json(o->lab, title)), 0, 0644};
        files[n++] = (struct ag_file){"question.html", OWNED(fill(prairielearn_question, keys, 3)), 0, 0644};
        files[n++] = (struct ag_file){"tests/run.sh", OWNED(fill(prairielearn_run, keys, 3)), 0, 0755};
    }
    files[n++] = (struct ag_file){gs ? "rubric.json" : "tests/rubric.json", OWNED(rubric_json(o->lab, title)), 0, 0644};
#undef OWNED
    for (size_t i = 0; i < n; i++) {
        if (!files[i].data) {
            rc = lab_err(LAB_EINTERNAL, NULL, "out of memory");
            break;
        }
        files[i].len = strlen(files[i].data);
    }
    files[n++] = (struct ag_file){bin_name, self, self_len, 0755};
    if (shim)
        files[n++] = (struct ag_file){shim_name, shim, shim_len, 0755};
    char def[256];
    snprintf(def, sizeof def, gs ? "autograder-%s-gradescope.zip" : "prairielearn-%s", o->lab);
    const char *out = o->out ? o->out : def;
    if (!rc)
        rc = gs ? write_zip(out, files, n) : write_tree(out, files, n);
    if (!rc)
        snprintf(written, cap, "%s", out);
    for (size_t i = 0; i < n_owned; i++)
        free(owned[i]);
    free(self);
    free(shim);
    return rc;
}
