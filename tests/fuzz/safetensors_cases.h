/* Crafted safetensors inputs shared by the Check test that replays them
 * (tests/unit/test_safetensors.c) and the fuzz target, which writes them out
 * as its seed corpus. Each is a header (with its declared length, normally
 * strlen) followed by `data_len` bytes, or a raw byte string. */
#ifndef LAB_SAFETENSORS_CASES_H
#define LAB_SAFETENSORS_CASES_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct st_case {
    const char *name;
    const char *header;   /* NULL: use raw */
    uint64_t declared;    /* header length written in the first 8 bytes; 0: strlen(header) */
    size_t data_len;
    const char *raw;      /* the whole file, when header is NULL */
    size_t raw_len;
    int ok;               /* 1: must open; 0: must fail with `expect` in the message */
    const char *expect;
};

#define F32_2(name, b, e) "\"" name "\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[" #b "," #e "]}"

static const struct st_case st_cases[] = {
    {"empty", "{}", 0, 0, NULL, 0, 1, NULL},
    {"one_f32", "{" F32_2("a", 0, 8) "}", 0, 8, NULL, 0, 1, NULL},
    {"metadata", "{\"__metadata__\":{\"format\":\"pt\",\"k\":\"v\"}," F32_2("a", 0, 8) "}", 0, 8, NULL, 0, 1, NULL},
    {"metadata_null", "{\"__metadata__\":null}", 0, 0, NULL, 0, 1, NULL},
    {"scalar_and_zero_size",
     "{\"s\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8]},"
     "\"z\":{\"dtype\":\"F32\",\"shape\":[0,4],\"data_offsets\":[8,8]}}",
     0, 8, NULL, 0, 1, NULL},
    {"padded_header", "{" F32_2("a", 0, 8) "}     ", 0, 8, NULL, 0, 1, NULL},
    {"header_order_differs", "{" F32_2("b", 8, 16) "," F32_2("a", 0, 8) "}", 0, 16, NULL, 0, 1, NULL},
    /* Legal in the format; the fuzzer found the writer refusing what the reader takes. */
    {"empty_name", "{" F32_2("", 0, 8) "}", 0, 8, NULL, 0, 1, NULL},
    {"extra_fields_ignored",
     "{\"a\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[0,3],\"comment\":\"x\"}}", 0, 3, NULL, 0, 1, NULL},

    {"short", NULL, 0, 0, "\x02\0\0\0\0", 5, 0, "shorter than the 8-byte header length"},
    {"zip", NULL, 0, 0, "PK\x03\x04\x14\0\0\0\0\0", 10, 0, "zip archive"},
    {"header_past_end", "{}", 1000, 0, NULL, 0, 0, "header length is 1000 bytes but only 2 bytes follow"},
    {"header_huge", "{}", 1ull << 62, 0, NULL, 0, 0, "exceeds the limit of 100000000 bytes"},
    {"not_object", "[1,2]", 0, 0, NULL, 0, 0, "does not start with '{'"},
    {"not_json", "{not json}", 0, 0, NULL, 0, 0, "not valid JSON"},
    {"truncated_json", "{\"a\":{\"dtype\":\"F32\"", 0, 0, NULL, 0, 0, "not valid JSON"},
    {"duplicate_name", "{" F32_2("a", 0, 8) "," F32_2("a", 0, 8) "}", 0, 8, NULL, 0, 0, "duplicate object key"},
    {"invalid_utf8", "{\"\xff\":1}", 0, 0, NULL, 0, 0, "not valid JSON"},
    {"nul_in_name", "{\"a\\u0000b\":{}}", 0, 0, NULL, 0, 0, "not valid JSON"},
    {"entry_not_object", "{\"a\":5}", 0, 0, NULL, 0, 0, "tensor 'a': the entry is not an object"},
    {"missing_dtype", "{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 0, 8, NULL, 0, 0,
     "tensor 'a': \"dtype\" is missing"},
    {"missing_shape", "{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 0, 8, NULL, 0, 0,
     "tensor 'a': \"shape\" is missing"},
    {"missing_offsets", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 0, 8, NULL, 0, 0,
     "tensor 'a': \"data_offsets\" is missing"},
    {"dtype_not_string", "{\"a\":{\"dtype\":4,\"shape\":[2],\"data_offsets\":[0,8]}}", 0, 8, NULL, 0, 0,
     "\"dtype\" is not a string"},
    {"unknown_dtype", "{\"a\":{\"dtype\":\"F33\",\"shape\":[2],\"data_offsets\":[0,8]}}", 0, 8, NULL, 0, 0,
     "tensor 'a': unknown dtype 'F33'"},
    {"negative_dim", "{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 0, 8, NULL, 0, 0,
     "\"shape\" entry 0 is not a non-negative integer"},
    {"real_dim", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}", 0, 8, NULL, 0, 0,
     "\"shape\" entry 0 is not a non-negative integer"},
    {"too_many_dims", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,1]}}", 0, 1, NULL,
     0, 0, "has 9 dimensions; at most 8"},
    {"overflowing_shape",
     "{\"a\":{\"dtype\":\"F32\",\"shape\":[9223372036854775807,4],\"data_offsets\":[0,8]}}", 0, 8, NULL, 0, 0,
     "shape [9223372036854775807, 4] of F32 overflows a 64-bit byte count"},
    {"elements_2_40", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1099511627776],\"data_offsets\":[0,8]}}", 0, 8, NULL, 0,
     0, "shape [1099511627776] of F32 needs 4398046511104 bytes but data_offsets [0, 8] span 8"},
    {"elements_2_40_offsets",
     "{\"a\":{\"dtype\":\"F32\",\"shape\":[1099511627776],\"data_offsets\":[0,4398046511104]}}", 0, 8, NULL, 0, 0,
     "data_offsets [0, 4398046511104] lie outside the 8-byte data buffer"},
    {"offsets_outside", "{" F32_2("a", 8, 16) "}", 0, 8, NULL, 0, 0,
     "tensor 'a': data_offsets [8, 16] lie outside the 8-byte data buffer"},
    {"offsets_reversed", "{" F32_2("a", 8, 0) "}", 0, 8, NULL, 0, 0, "data_offsets [8, 0] end before they begin"},
    {"offsets_negative", "{" F32_2("a", -8, 0) "}", 0, 8, NULL, 0, 0, "not two non-negative integers"},
    {"offsets_one", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8]}}", 0, 8, NULL, 0, 0,
     "\"data_offsets\" is not an array [begin, end]"},
    {"offsets_huge", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,99999999999999999999]}}", 0, 8,
     NULL, 0, 0, "not valid JSON"},
    {"overlap", "{" F32_2("a", 0, 8) "," F32_2("b", 4, 12) "}", 0, 12, NULL, 0, 0,
     "tensors 'a' [0, 8] and 'b' [4, 12] overlap"},
    {"same_bytes_twice", "{" F32_2("a", 0, 8) "," F32_2("b", 0, 8) "}", 0, 8, NULL, 0, 0, "overlap"},
    {"gap", "{" F32_2("a", 0, 8) "," F32_2("b", 12, 20) "}", 0, 20, NULL, 0, 0,
     "bytes [8, 12) of the data buffer, before tensor 'b', belong to no tensor"},
    {"gap_at_start", "{" F32_2("a", 4, 12) "}", 0, 12, NULL, 0, 0, "bytes [0, 4) of the data buffer"},
    {"trailing_bytes", "{" F32_2("a", 0, 8) "}", 0, 12, NULL, 0, 0,
     "the last 4 bytes of the 12-byte data buffer belong to no tensor"},
    {"byte_count_mismatch", "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 0, 8, NULL, 0, 0,
     "shape [3] of F32 needs 12 bytes but data_offsets [0, 8] span 8"},
    {"metadata_not_strings", "{\"__metadata__\":{\"epoch\":3}}", 0, 0, NULL, 0, 0,
     "\"__metadata__\" entry 'epoch' is not a string"},
    {"metadata_not_object", "{\"__metadata__\":[1]}", 0, 0, NULL, 0, 0, "\"__metadata__\" is not an object"},
    {"control_chars_in_name", "{\"a\\n\\u001b[31m\":5}", 0, 0, NULL, 0, 0, "tensor 'a??[31m'"},
};

#define ST_NCASES (sizeof st_cases / sizeof st_cases[0])

/* The case's bytes (malloc'd; the data buffer counts up from 0). */
static inline unsigned char *st_case_bytes(const struct st_case *c, size_t *len)
{
    if (!c->header) {
        unsigned char *b = malloc(c->raw_len ? c->raw_len : 1);
        memcpy(b, c->raw, c->raw_len);
        *len = c->raw_len;
        return b;
    }
    size_t h = strlen(c->header);
    uint64_t declared = c->declared ? c->declared : h;
    *len = 8 + h + c->data_len;
    unsigned char *b = malloc(*len);
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(declared >> (8 * i));
    memcpy(b + 8, c->header, h);
    for (size_t i = 0; i < c->data_len; i++)
        b[8 + h + i] = (unsigned char)i;
    return b;
}

#endif
