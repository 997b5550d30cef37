/* Crafted data.pkl pickles for the unpickler's module-tree mode
 * (PTH_MODULES, the Ultralytics checkpoints), shared by the Check test that
 * replays them (tests/unit/test_yolo.c, 16-byte storages) and the fuzz
 * target, which writes them out as seeds. */
#ifndef LAB_PTH_MODULE_CASES_H
#define LAB_PTH_MODULE_CASES_H

#include <stddef.h>

struct pth_module_case {
    const char *name;
    const char *pickle;
    size_t len;         /* sizeof - 1 of the literal */
    int ok;
    const char *expect; /* ok: the one tensor's name, or NULL; else in the message */
};

#define PMK(s) s, sizeof(s) - 1
/* a 4-float tensor on storage '0' whose header claims NUMEL elements */
#define PM_TENSOR(numel)                                                                                         \
    "ctorch._utils\n_rebuild_tensor_v2\n((X\x07\0\0\0storagectorch\nFloatStorage\nX\x01\0\0\0" "0"             \
    "X\x03\0\0\0cpu" numel "tQK\x00(K\x04t(K\x01t\x89" "ccollections\nOrderedDict\n)RtR"
#define PM_OD "ccollections\nOrderedDict\n)R"
#define PM_CONV2D "ctorch.nn.modules.conv\nConv2d\n)\x81"

static const struct pth_module_case pth_module_cases[] = {
    {"module_with_weight",
     PMK("\x80\x02}(X\x05\0\0\0model" PM_CONV2D "}(X\x0b\0\0\0_parameters" PM_OD "(X\x06\0\0\0weight"
         PM_TENSOR("K\x04") "uX\x08\0\0\0_modules" PM_OD "ub" "u."),
     1, "model.weight"},
    {"namespace_args",
     PMK("\x80\x02}(X\x04\0\0\0args" "cultralytics.yolo.utils\nIterableSimpleNamespace\n)R}(X\x04\0\0\0task"
         "X\x06\0\0\0" "detectub" "u."),
     1, NULL},
    {"os_system", PMK("\x80\x02}(X\x01\0\0\0" "a" "cos\nsystem\nX\x02\0\0\0lsuR."), 0, "refused to load os.system"},
    {"builtins_eval", PMK("\x80\x02}(X\x01\0\0\0" "a" "cbuiltins\neval\nX\x01\0\0\0" "1" "\x85Ru."), 0,
     "builtins.eval"},
    {"class_called_with_args", PMK("\x80\x02}(X\x01\0\0\0" "a" "cultralytics.nn.modules.conv\nConv\nK\x01\x85Ru."),
     0, "with arguments"},
    {"newobj_of_function", PMK("\x80\x02}(X\x01\0\0\0" "a" "ctorch\nSize\n)\x81u."), 0, "NEWOBJ of something other"},
    {"unknown_ultralytics_class", PMK("\x80\x02}(X\x01\0\0\0" "a" "cultralytics.nn.modules\nEvil\n)\x81u."), 0,
     "ultralytics.nn.modules.Evil"},
    {"lookalike_module_path", PMK("\x80\x02}(X\x01\0\0\0" "a" "cultralyticsx.nn\nConv\n)\x81u."), 0,
     "ultralyticsx.nn.Conv"},
    {"build_with_list", PMK("\x80\x02}(X\x01\0\0\0" "a" PM_CONV2D "]bu."), 0, "state that is not a dict"},
    {"set_of_int", PMK("\x80\x02}(X\x01\0\0\0" "a" "c__builtin__\nset\nK\x01\x85Ru."), 0, "set() of something other"},
    {"oversized_storage", PMK("\x80\x02}(X\x01\0\0\0" "a" PM_TENSOR("J\0\0\0\x01") "u."), 0, "claims 16777216"},
    {"child_not_module",
     PMK("\x80\x02}(X\x01\0\0\0" "m" PM_CONV2D "}(X\x08\0\0\0_modules" PM_OD "(X\x01\0\0\0" "aK\x01uub" "u."), 0,
     "not a module"},
    {"parameter_not_tensor",
     PMK("\x80\x02}(X\x01\0\0\0" "m" PM_CONV2D "}(X\x0b\0\0\0_parameters" PM_OD "(X\x01\0\0\0" "wK\x01uub" "u."),
     0, "not a tensor"},
    {"module_holds_itself",
     PMK("\x80\x02}(X\x01\0\0\0" "m" "ctorch.nn.modules.container\nSequential\n)\x81q\x01}(X\x08\0\0\0_modules"
         PM_OD "(X\x01\0\0\0" "ah\x01uub" "u."),
     0, "nested more than"},
    {"newobj_ex", PMK("\x80\x02}(X\x01\0\0\0" "a" PM_CONV2D ")}\x92u."), 0, "NEWOBJ_EX"},
};
#define PTH_MODULE_NCASES (sizeof pth_module_cases / sizeof pth_module_cases[0])
#define PTH_MODULE_CASE_STORAGE_BYTES 16

#endif
