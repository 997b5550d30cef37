/* lab predict: a lab's model on the user's own images (labs/predict.c). */
#include "base/error.h"
#include "labs/predict.h"
#include "runner/cli.h"

#include <getopt.h>
#include <stdio.h>

int cmd_predict(int argc, char **argv)
{
    enum { O_WEIGHTS = 1, O_SOURCE, O_MODEL, O_OUT, O_DEVICE };
    static const struct option opts[] = {{"weights", required_argument, NULL, O_WEIGHTS},
                                         {"source", required_argument, NULL, O_SOURCE},
                                         {"model", required_argument, NULL, O_MODEL},
                                         {"out", required_argument, NULL, O_OUT},
                                         {"device", required_argument, NULL, O_DEVICE},
                                         {NULL, 0, NULL, 0}};
    struct predict_opts o = {.device = "auto"};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_WEIGHTS: o.weights = optarg; break;
        case O_SOURCE: o.source = optarg; break;
        case O_MODEL: o.model = optarg; break;
        case O_OUT: o.out = optarg; break;
        case O_DEVICE: o.device = optarg; break;
        default: return lab_cli_bad_option("predict", argv);
        }
    }
    if (optind != argc - 1)
        return lab_cli_usage("predict", "predict takes one lab id, e.g. `lab predict 2.2.5 --weights RUN --source IMG --out DIR`");
    if (!o.weights || !o.source || !o.out)
        return lab_cli_usage("predict", "--weights, --source and --out are required");
    o.lab = argv[optind];
    int rc = lab_predict(&o, stdout);
    if (!rc)
        printf("wrote %s/predictions.json and %s/outputs.safetensors\n", o.out, o.out);
    return rc;
}
