#include "base/error.h"
#include "grader/autograder.h"
#include "runner/cli.h"

#include <getopt.h>
#include <stdio.h>

int cmd_autograder(int argc, char **argv)
{
    enum { O_REEVAL = 1 };
    static const struct option opts[] = {
        {"reeval", no_argument, NULL, O_REEVAL}, {"out", required_argument, NULL, 'o'}, {NULL, 0, NULL, 0}};
    struct ag_opts o = {0};
    int c;
    while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        if (c == O_REEVAL)
            o.reeval = 1;
        else if (c == 'o')
            o.out = optarg;
        else
            return lab_cli_bad_option("autograder", argv);
    }
    if (optind + 2 != argc)
        return lab_cli_usage("autograder", "give a platform and a lab, e.g. `lab autograder gradescope 2.2.1`");
    enum ag_platform p;
    int rc = ag_platform_parse(argv[optind], &p);
    if (rc)
        return rc;
    o.lab = argv[optind + 1];
    char written[4200];
    if ((rc = ag_write(p, &o, written, sizeof written)))
        return rc;
    if (p == AG_GRADESCOPE)
        printf("wrote %s: upload it as the autograder of a Gradescope programming assignment (Ubuntu 24.04 base "
               "image); students upload their `lab submit` archive\n", written);
    else
        printf("wrote %s/: copy it into the course's questions/ and set externalGradingOptions.image in its "
               "info.json; students upload submission.tar.gz\n", written);
    return LAB_OK;
}
