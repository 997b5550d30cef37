#include "base/embedded.h"

#include <string.h>

const struct lab_embedded_file *lab_embedded_find(const char *name)
{
    for (const struct lab_embedded_file *f = lab_embedded; f->name; f++)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}
