/* libFuzzer target for the LMS file-name parser (grader/lms_names.h): the
 * names come from students' uploads. Each input is parsed as one path
 * component; whatever it yields must be NUL-terminated, in bounds, and
 * consistent (a file offset inside the input, digits for ids).
 * Build: make fuzz; run: build-fuzz/fuzz_lms_names -max_total_time=60. The
 * unit tests replay inputs through this same function. */
#include "grader/lms_names.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = 0;
    struct lms_name n;
    if (lms_parse_name(s, &n)) {
        size_t len = strlen(s);
        if (n.file_off > len || !n.user_id[0] || strlen(n.user_id) >= LMS_ID_MAX || !n.name[0] ||
            strlen(n.name) >= LMS_NAME_MAX)
            abort();
        for (const char *p = n.user_id; *p; p++)
            if (*p < '0' || *p > '9')
                abort();
        if (n.kind == LMS_CANVAS && (!n.submission_id[0] || !s[n.file_off]))
            abort();
        char id[64];
        lms_student_id(&n, id, sizeof id);
        if (strncmp(id, lms_kind_name(n.kind), strlen(lms_kind_name(n.kind))) != 0)
            abort();
    } else if (n.kind != LMS_NONE) {
        abort();
    }
    free(s);
    return 0;
}
