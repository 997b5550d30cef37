/* Files compiled into the binary by scripts/embed.sh (lab manifests, dataset
 * manifests, troubleshooting entries), so an installed `lab` needs no data
 * directory. Each blob is NUL-terminated. */
#ifndef LAB_EMBEDDED_H
#define LAB_EMBEDDED_H

#include <stddef.h>

struct lab_embedded_file {
    const char *name; /* source path, e.g. "labs/2.2.1-cnn-architectures/lab.json" */
    const unsigned char *data;
    size_t size;
};

extern const struct lab_embedded_file lab_embedded[]; /* ends with name == NULL */

const struct lab_embedded_file *lab_embedded_find(const char *name);

#endif
