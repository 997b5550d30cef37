/* `lab image`: the course image (containers/Containerfile, NGC base) and
 * the minimal local image made from this machine's lab. */
#ifndef LAB_IMAGE_H
#define LAB_IMAGE_H

#include "containers/engine.h"

#include <stddef.h>

struct lab_local_rootfs {
    size_t files;
    unsigned long long bytes;
    char library_path[4096]; /* the directories of the libraries, for LD_LIBRARY_PATH */
    char data_note[256];     /* "" or what is missing (data, font) */
    char font_note[256];
};

/* Writes the local image's root file system as an uncompressed tar. */
int lab_image_write_local_rootfs(const char *tar_path, struct lab_local_rootfs *info);

/* Asks the engine about `image`: *exists, and the lab version in its
 * `lab.version` label ("" when it has none). */
int lab_image_inspect(const struct lab_engine_choice *c, const char *image, int *exists, char *version,
                      size_t cap);

/* The engine for an image command: --engine, LAB_ENGINE or the config file
 * when they name docker or podman, else podman or docker, whichever is
 * installed (an image command has no native form). */
int lab_image_engine(const char *flag_engine, const char *flag_image, struct lab_engine_choice *c);

#endif
