#include "shim/torchshim.h"

#include <torch/torch.h>
#include <torch/version.h>

extern "C" const char *ts_libtorch_version(void) { return TORCH_VERSION; }

extern "C" int ts_cuda_compiled(void)
{
    try {
        return torch::cuda::is_available() || at::hasCUDA() ? 1 : 0;
    } catch (...) {
        return 0;
    }
}
