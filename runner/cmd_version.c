#include "runner/cli.h"
#include "runner/error.h"
#include "shim/torchshim.h"

#include <stdio.h>

int cmd_version(int argc, char **argv)
{
    (void)argv;
    if (argc > 1)
        return lab_cli_usage("version", "version takes no arguments");
    printf("lab %s\n", LAB_VERSION);
    printf("libtorch %s (%s build%s)\n", ts_libtorch_version(), LAB_TORCH_BUILD,
           ts_cuda_compiled() ? ", CUDA available" : ", CUDA not available");
    printf("compiler %s\n", __VERSION__);
    printf("flags %s\n", LAB_BUILD_FLAGS);
    return LAB_OK;
}
