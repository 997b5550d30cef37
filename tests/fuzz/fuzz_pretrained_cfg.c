/* libFuzzer target for timm's config.json parser (labs/pretrained_cfg.c):
 * the file comes from the Hugging Face Hub or a shared cache. Whatever it
 * accepts must be in range: 1 or 3 channels, sizes 1..4096, a crop fraction
 * in [0.1, 1], positive stds, a known interpolation.
 * Build: make fuzz; run: build-fuzz/fuzz_pretrained_cfg -max_total_time=60. */
#include "labs/pretrained.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    struct pretrained_cfg c;
    if (pretrained_cfg_parse((const char *)data, size, "fuzz", &c) != 0)
        return 0;
    if ((c.input_size[0] != 1 && c.input_size[0] != 3) || c.input_size[1] < 1 || c.input_size[1] > 4096 ||
        c.input_size[2] < 1 || c.input_size[2] > 4096 || !(c.crop_pct >= 0.1 && c.crop_pct <= 1.0) ||
        (c.channels != 1 && c.channels != 3))
        abort();
    for (int i = 0; i < c.channels; i++)
        if (!(c.std[i] > 0))
            abort();
    if (strcmp(c.interpolation, "bicubic") && strcmp(c.interpolation, "bilinear") && strcmp(c.interpolation, "nearest"))
        abort();
    if (pretrained_resize_of(&c) < 1)
        abort();
    return 0;
}
