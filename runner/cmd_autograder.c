#include "base/error.h"
#include "grader/autograder.h"
#include "runner/cli.h"

#include <stdio.h>

enum { O_REEVAL = 1, O_OUT };

const struct lab_opt lab_autograder_options[] = {
    {O_REEVAL, "reeval", 0, LAB_OPT_FLAG, NULL, "the wrapper also re-runs the submitted weights (--device cpu)", 0, 0, NULL},
    {O_OUT, "out", 'o', LAB_OPT_STR, "PATH", "the zip (gradescope) or directory (prairielearn) to write", 0, 0, NULL},
    {0},
};

int cmd_autograder(int argc, char **argv)
{
    struct ag_opts o = {0};
    int c;
    struct lab_opts p;
    lab_opts_init(&p, "autograder", lab_autograder_options, argc, argv);
    while ((c = lab_opts_next(&p)) > 0) {
        if (c == O_REEVAL)
            o.reeval = 1;
        else if (c == O_OUT)
            o.out = p.value;
    }
    if (c < 0)
        return c;
    if (p.npos != 2)
        return lab_cli_usage("autograder", "give a platform and a lab, e.g. `lab autograder gradescope 2.2.1`");
    enum ag_platform platform;
    int rc = ag_platform_parse(p.pos[0], &platform);
    if (rc)
        return rc;
    o.lab = p.pos[1];
    char written[4200];
    if ((rc = ag_write(platform, &o, written, sizeof written)))
        return rc;
    if (platform == AG_GRADESCOPE)
        printf("wrote %s: upload it as the autograder of a Gradescope programming assignment (Ubuntu 24.04 base "
               "image); students upload their `lab submit` archive\n", written);
    else
        printf("wrote %s/: copy it into the course's questions/ and set externalGradingOptions.image in its "
               "info.json; students upload submission.tar.gz\n", written);
    return LAB_OK;
}
