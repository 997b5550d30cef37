/* The Ultralytics/YOLO dataset layout's text files, which a student brings
 * (`--set data.dataset=PATH`): labels/<split>/<image>.txt with one
 * `class cx cy w h` line per box, normalized by the image size, and
 * data.yaml (path, train, val, test, nc, names). Both are untrusted: every
 * number is range-checked, sizes are bounded, and errors name the line. */
#ifndef DS_YOLO_FORMAT_H
#define DS_YOLO_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#define YOLO_MAX_BOXES 4096   /* per label file */
#define YOLO_MAX_CLASSES 1024
#define YOLO_MAX_TEXT (1 << 20)

struct yolo_box {
    int64_t cls;
    float x1, y1, x2, y2; /* pixels of a width x height image */
};

/* Parses one label file's text for an image of width x height pixels and
 * nc classes. `what` names the file in messages. Empty text: no boxes.
 * *out is malloc'd (NULL when n is 0). */
int yolo_labels_parse(const char *text, size_t len, int64_t nc, int width, int height, const char *what,
                      struct yolo_box **out, size_t *n);

/* The inverse, for writing a dataset: "cls cx cy w h\n" lines, normalized,
 * 6 decimals, into a malloc'd string. */
int yolo_labels_format(const struct yolo_box *boxes, size_t n, int width, int height, char **out, size_t *len);

struct yolo_data {
    char path[1024], train[1024], val[1024], test[1024];
    int64_t nc;
    char **names; /* nc entries */
};

/* The subset of YAML data.yaml files use: `key: value` lines, comments,
 * names as an inline list [a, b], a block list (- a) or a block mapping
 * (0: a). nc defaults to the number of names; both must agree. */
int yolo_data_parse(const char *text, size_t len, const char *what, struct yolo_data *out);
void yolo_data_free(struct yolo_data *d);

#endif
