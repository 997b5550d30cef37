#include "base/error.h"
#include "runner/cli.h"
#include "shim/lazy.h"
#include "shim/torchshim.h"

#include <stdio.h>

int cmd_version(int argc, char **argv)
{
    struct lab_opts p;
    lab_opts_init(&p, "version", lab_no_options, argc, argv);
    int rc = lab_opts_rest(&p);
    if (rc)
        return rc;
    if (p.npos)
        return lab_cli_usage("version", "version takes no arguments");
    printf("lab %s\n", LAB_VERSION);
    if (ts_lazy_load() == 0)
        printf("libtorch %s (%s build%s) from %s\n", ts_libtorch_version(), LAB_TORCH_BUILD,
               ts_cuda_compiled() > 0 ? ", CUDA available" : ", CUDA not available", ts_lazy_path());
    else
        printf("libtorch not loaded: %s\n", ts_lazy_error());
    printf("compiler %s\n", __VERSION__);
    printf("flags %s\n", LAB_BUILD_FLAGS);
    return LAB_OK;
}
