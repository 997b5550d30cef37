/* The parameter store's layout, shared by params.cpp and optim.cpp. */
#ifndef TORCHSHIM_PARAMS_INTERNAL_H
#define TORCHSHIM_PARAMS_INTERNAL_H

#include "shim/internal.h"

#include <string>
#include <unordered_map>
#include <vector>

struct ts_param_entry {
    std::string name;
    ts_tensor *h; /* borrowed handle, owned by the store */
    int kind;
    int group;
};

struct ts_params {
    std::vector<ts_param_entry> entries;
    std::unordered_map<std::string, size_t> index;
};

#endif
