#include "base/utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t lab_utf8_seq(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    if (n == 0)
        return 0;
    if (u[0] < 0x80)
        return 1;
    size_t len = u[0] >= 0xc2 && u[0] <= 0xdf ? 2 : u[0] >= 0xe0 && u[0] <= 0xef ? 3 : u[0] >= 0xf0 && u[0] <= 0xf4 ? 4 : 0;
    if (len == 0 || len > n)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((u[i] & 0xc0) != 0x80)
            return 0;
    if ((u[0] == 0xe0 && u[1] < 0xa0) || (u[0] == 0xed && u[1] > 0x9f) || (u[0] == 0xf0 && u[1] < 0x90) ||
        (u[0] == 0xf4 && u[1] > 0x8f))
        return 0; /* overlong, surrogate, past U+10FFFF */
    return len;
}

int lab_utf8_valid(const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0, l; i < n; i += l)
        if (!(l = lab_utf8_seq(s + i, n - i)))
            return 0;
    return 1;
}

char *lab_utf8_escape(const char *s)
{
    size_t n = strlen(s), o = 0;
    char *out = malloc(4 * n + 1);
    if (!out)
        return NULL;
    for (size_t i = 0; i < n;) {
        size_t l = lab_utf8_seq(s + i, n - i);
        if (l) {
            memcpy(out + o, s + i, l);
            o += l, i += l;
        } else {
            snprintf(out + o, 5, "\\x%02x", (unsigned char)s[i]);
            o += 4, i++;
        }
    }
    out[o] = '\0';
    return out;
}
