/* JSON files through jansson: bounded reads, atomic writes. */
#ifndef LAB_JSONIO_H
#define LAB_JSONIO_H

#include <jansson.h>

#define LAB_JSON_MAX_BYTES (16u << 20)

/* Parses `path` (at most LAB_JSON_MAX_BYTES); the error names the file, line
 * and column. Caller owns *out (json_decref). */
int lab_json_load(const char *path, json_t **out);
int lab_json_parse(const char *text, size_t len, const char *what, json_t **out);

/* A JSON string of any text: bytes that are not UTF-8 are escaped
 * (base/utf8.h) instead of making jansson refuse the whole value; NULL text
 * is "". NULL only when out of memory. */
json_t *lab_json_text(const char *s);

/* Pretty-printed, keys in insertion order, trailing newline, atomic. */
int lab_json_save(const char *path, const json_t *value);

#endif
