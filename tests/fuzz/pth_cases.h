/* Crafted data.pkl pickles for the .pth unpickler, shared by the Check test
 * that replays them (tests/unit/test_pth.c, through pth_load_pickle with
 * 16-byte storages) and the fuzz target, which writes them out as seeds. */
#ifndef LAB_PTH_CASES_H
#define LAB_PTH_CASES_H

#include <stddef.h>

struct pth_case {
    const char *name;
    const char *pickle;
    size_t len;        /* sizeof - 1 of the literal */
    int ok;
    const char *expect; /* in the message when !ok */
};

#define PK(s) s, sizeof(s) - 1

/* _rebuild_tensor_v2(storage('0', FloatStorage), 0, SIZE, STRIDE, False, OrderedDict()) */
#define TENSOR(size, stride)                                                                                     \
    "ctorch._utils\n_rebuild_tensor_v2\n((X\x07\0\0\0storagectorch\nFloatStorage\nX\x01\0\0\0" "0"               \
    "X\x03\0\0\0cpuK\x04tQK\x00" size stride "\x89" "ccollections\nOrderedDict\n)RtR"

static const struct pth_case pth_cases[] = {
    {"empty_dict", PK("\x80\x02}."), 1, NULL},
    {"one_tensor", PK("\x80\x02}(X\x01\0\0\0a" TENSOR("(K\x02K\x02t", "(K\x02K\x01t") "u."), 1, NULL},
    {"ordered_dict_with_metadata",
     PK("\x80\x02" "ccollections\nOrderedDict\n)R(X\x01\0\0\0w" TENSOR("(K\x04t", "(K\x01t")
        "u}X\x09\0\0\0_metadata}sb."),
     1, NULL},
    {"transposed_view", PK("\x80\x02}(X\x01\0\0\0t" TENSOR("(K\x02K\x02t", "(K\x01K\x02t") "u."), 1, NULL},
    {"int_key_and_list", PK("\x80\x02}(K\x07](K\x01G?\xb9\x99\x99\x99\x99\x99\x9a" "eu."), 1, NULL},

    {"whole_module", PK("\x80\x02" "c__main__\nNet\nq\x00)\x81q\x01."), 0, "holds Python objects"},
    {"os_system", PK("\x80\x02" "cos\nsystem\n(X\x02\0\0\0lstR."), 0, "it pickles os.system"},
    {"builtins_eval", PK("\x80\x02" "cbuiltins\neval\nX\x01\0\0\0" "1\x85R."), 0, "it pickles builtins.eval"},
    {"torchscript", PK("\x80\x02" "c__torch__\nNet\n)\x81."), 0, "TorchScript"},
    {"not_a_dict", PK("\x80\x02]."), 0, "holds no dict of tensors"},
    {"view_outside_storage", PK("\x80\x02}(X\x01\0\0\0a" TENSOR("(K\x04K\x04t", "(K\x04K\x01t") "u."), 0,
     "a tensor of shape [4, 4] lies outside its 4-element storage"},
    {"offset_outside_storage",
     PK("\x80\x02}(X\x01\0\0\0a" "ctorch._utils\n_rebuild_tensor_v2\n((X\x07\0\0\0storagectorch\nFloatStorage\n"
        "X\x01\0\0\0" "0X\x03\0\0\0cpuK\x04tQK\x04(K\x01t(K\x01t\x89" "ccollections\nOrderedDict\n)RtRu."),
     0, "lies outside its 4-element storage"},
    {"huge_stride", PK("\x80\x02}(X\x01\0\0\0a" TENSOR("(K\x02t", "(\x8a\x08\xff\xff\xff\xff\xff\xff\xff\x7ft") "u."),
     0, "lies outside"},
    {"sizes_strides_mismatch", PK("\x80\x02}(X\x01\0\0\0a" TENSOR("(K\x02K\x02t", "(K\x01t") "u."), 0,
     "2 sizes but 1 strides"},
    {"complex_storage",
     PK("\x80\x02}(X\x01\0\0\0a" "ctorch._utils\n_rebuild_tensor_v2\n((X\x07\0\0\0storage"
        "ctorch\nComplexFloatStorage\nX\x01\0\0\0" "0X\x03\0\0\0cpuK\x04tQ."),
     0, "tensors of type torch.ComplexFloatStorage are not supported"},
    {"duplicate_name", PK("\x80\x02}(X\x01\0\0\0a" TENSOR("(K\x04t", "(K\x01t") "X\x01\0\0\0a"
                          TENSOR("(K\x04t", "(K\x01t") "u."),
     0, "the name 'a' is given to two tensors"},
    {"truncated", PK("\x80\x02}(X\x05\0\0\0ab"), 0, "truncated"},
    {"string_past_end", PK("\x80\x02X\xff\xff\xff\x7f"), 0, "truncated"},
    {"no_stop", PK("\x80\x02}"), 0, "truncated"},
    {"setitems_without_mark", PK("\x80\x02}u."), 0, "MARK is missing"},
    {"setitem_underflow", PK("\x80\x02s."), 0, "stack underflows"},
    {"memo_to_nothing", PK("\x80\x02h\x05."), 0, "memo reference to nothing"},
    {"two_values_left", PK("\x80\x02}}."), 0, "ends with 2 values"},
    {"unknown_opcode", PK("\x80\x02\xff."), 0, "unsupported pickle opcode 0xff"},
    {"list_holds_itself", PK("\x80\x02}(X\x01\0\0\0l]q\x00h\x00" "au."), 0, "nested more than"},
    {"lists_hold_each_other", PK("\x80\x02}(X\x01\0\0\0l]q\x00]q\x01h\x00" "aau."), 0, "nested more than"},
};

#define PTH_NCASES (sizeof pth_cases / sizeof pth_cases[0])
#define PTH_CASE_STORAGE_BYTES 16

#endif
