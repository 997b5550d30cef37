/* libFuzzer target for the YOLO-format label and data.yaml parsers
 * (datasets/yolo_format.c): the first byte picks the parser. Beyond "no
 * crash": accepted boxes lie inside the image with x1 <= x2, classes in
 * range, and formatting them again parses back to the same count.
 *
 *   make fuzz && FUZZ_SEEDS=corpus build-fuzz/fuzz_yolo_format corpus -max_total_time=60 */
#include "base/error.h"
#include "datasets/yolo_format.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *dir = getenv("FUZZ_SEEDS");
    if (!dir || !*dir)
        return 0;
    mkdir(dir, 0755);
    const char *seeds[] = {
        "L0 0.5 0.5 0.25 0.5\n3 0.125 0.25 0.25 0.5\r\n# c\n",
        "L0 32 16 8 8\n",
        "Ytrain: images/train\nval: images/val\nnc: 2\nnames: [a, 'b']\n",
        "Ytrain: a\nnames:\n  0: x\n  1: y\n",
        "Ytrain: a\nnames:\n  - x\n  - y\n",
        /* found by CI: a width of 2e-21 was written back as 0.000000, then refused */
        "L3 0.2 0.5 0.000000000000000000002 0.5\n0 0.5 0.5 0.25 0.5\n",
        "L1 0.999999 0.5 0.0000001 0.3\n2 0.0000000001 0.5 0.0000000002 0.1\n",
        /* and one whose centre, summed in float, moved by half a unit in the last place */
        "L3 0.1 0.5 0.00000001 0.5\n",
    };
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/seed-%zu", dir, i);
        FILE *f = fopen(path, "wb");
        if (f) {
            fwrite(seeds[i], 1, strlen(seeds[i]), f);
            fclose(f);
        }
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    if (data[0] == 'Y') {
        struct yolo_data d;
        if (yolo_data_parse(text, len, "fuzz.yaml", &d) == LAB_OK) {
            if (d.nc <= 0 || d.nc > YOLO_MAX_CLASSES)
                abort();
            for (int64_t i = 0; i < d.nc; i++)
                if (!d.names[i])
                    abort();
            yolo_data_free(&d);
        }
        return 0;
    }
    struct yolo_box *b;
    size_t n;
    if (yolo_labels_parse(text, len, 80, 640, 480, "fuzz.txt", &b, &n) != LAB_OK)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (b[i].cls < 0 || b[i].cls >= 80 || b[i].x1 > b[i].x2 || b[i].y1 > b[i].y2 || b[i].x1 < 0 ||
            b[i].x2 > 640 || b[i].y2 > 480)
            abort();
    char *s;
    size_t sl;
    if (yolo_labels_format(b, n, 640, 480, &s, &sl) == LAB_OK) {
        struct yolo_box *c;
        size_t m;
        /* a box clipped at the edge may round a hair past it: tolerated by the parser */
        if (yolo_labels_parse(s, sl, 80, 640, 480, "again.txt", &c, &m) != LAB_OK || m != n)
            abort();
        free(c);
        free(s);
    }
    free(b);
    return 0;
}
